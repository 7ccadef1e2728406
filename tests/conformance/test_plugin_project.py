"""The pytest plugin as an integrator meets it: a small project of its own (sample_project/, copied to a
temporary directory) runs `python -m pytest --fleetsim-app receiver:app ...` in a subprocess."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from conformance import catalogue
from conformance.registry import CHECKS

SAMPLE = Path(__file__).parent / "sample_project"
REPO = Path(__file__).resolve().parents[2]
STANDARD = [c.id for c in CHECKS.values() if c.in_suite("standard")]
assert catalogue and STANDARD  # the catalogue registers the checks
OWN_TESTS = 3  # tests/check_receiver.py


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SAMPLE, tmp_path / "sample"))


def pytest_in(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # the outer run's pytest settings (xdist worker ids, PYTEST_ADDOPTS) must not leak into the project's run;
    # fleetsim itself is importable as installed (editable) or from the repository
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    # hypothesis's plugin (a second of imports) is installed for fleetsim's tests, not the sample project's
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-rA", *args]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_one_test_per_check_with_junit(project: Path) -> None:
    done = pytest_in(project, "--fleetsim-app", "receiver:app", "--fleetsim-provider", "smartgps",
                     "--junitxml", "out.xml", "-v")
    assert done.returncode == 0, done.stdout + done.stderr
    for check_id in STANDARD:
        assert f"fleetsim/check/smartgps::fleetsim[smartgps-{check_id}]" in done.stdout
    assert ("fleetsim: checking smartgps at --fleetsim-app receiver:app (suite standard, seed 1; no "
            "--fleetsim-state-probe: the state checks are graded on HTTP answers only)") in done.stdout
    suite = ET.parse(project / "out.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    assert suite.get("tests") == str(len(STANDARD) + OWN_TESTS)
    cases = {c.get("name"): c for c in suite.iter("testcase") if c.get("classname") == "fleetsim.check.smartgps"}
    assert set(cases) == {f"fleetsim[smartgps-{check_id}]" for check_id in STANDARD}
    skipped = cases["fleetsim[smartgps-RPL-01]"].find("skipped")
    assert skipped is not None and "signs no timestamp" in skipped.get("message", "")


def test_k_selects_one_check(project: Path) -> None:
    done = pytest_in(project, "--fleetsim-app", "receiver:app", "--fleetsim-provider", "smartgps", "-k", "SIG-04")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASSED fleetsim/check/smartgps::fleetsim[smartgps-SIG-04]" in done.stdout
    assert f"1 passed, {len(STANDARD) + OWN_TESTS - 1} deselected" in done.stdout


def test_a_broken_receiver_fails_its_checks_with_a_reproduction(project: Path) -> None:
    done = pytest_in(project, "--fleetsim-app", "broken:app", "--fleetsim-provider", "smartgps",
                     "-k", "fleetsim")
    assert done.returncode == 1, done.stdout + done.stderr
    failed = {line.split()[1] for line in done.stdout.splitlines() if line.startswith("FAILED ")}
    # it verifies nothing and guards nothing: every signature check fails, and the input and transport ones
    assert failed == {f"fleetsim/check/smartgps::fleetsim[smartgps-{check_id}]" for check_id in
                      ("SIG-02", "SIG-03", "SIG-04", "SIG-05", "MAL-04", "LIM-01", "TIM-04", "TRN-03", "TRN-04")}
    for label in ("SIG-04 failed: accepted tampered signatures", "Received:  200", "Expected:  a 4xx rejection",
                  "Reproduce: fleetsim check --provider smartgps --app broken:app --only SIG-04 --seed 1"):
        assert label in done.stdout


def test_without_options_the_plugin_adds_nothing_and_mistakes_are_usage_errors(project: Path) -> None:
    plain = pytest_in(project, "--collect-only", "-q")
    assert plain.returncode == 0 and f"{OWN_TESTS} tests collected" in plain.stdout, plain.stdout
    assert "fleetsim[" not in plain.stdout
    wrong = pytest_in(project, "--fleetsim-app", "receiver:nope", "--collect-only")
    assert wrong.returncode == 4 and "fleetsim: --app receiver:nope: module 'receiver' has no attribute" in wrong.stderr
    small = pytest_in(project, "--fleetsim-app", "receiver:app", "--fleetsim-body-limit", "10", "--collect-only")
    assert small.returncode == 4 and "--fleetsim-body-limit must be 1024.." in small.stderr


def test_a_target_url_is_checked_over_the_network(project: Path, fleetsim_receiver: str) -> None:
    done = pytest_in(project, "--fleetsim-target", fleetsim_receiver, "--fleetsim-provider", "samsara",
                     "-k", "fleetsim")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"fleetsim: checking samsara at {fleetsim_receiver}" in done.stdout
    assert "PASSED fleetsim/check/samsara::fleetsim[samsara-RPL-01]" in done.stdout


def test_the_header_masks_a_target_password_and_a_bad_target_is_a_usage_error(
        project: Path, fleetsim_receiver: str) -> None:
    with_password = fleetsim_receiver.replace("http://", "http://hook:S3cret-pw-77@")
    done = pytest_in(project, "--fleetsim-target", with_password, "--fleetsim-provider", "samsara", "--collect-only")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"fleetsim: checking samsara at {fleetsim_receiver.replace('http://', 'http://hook:***@')}" \
        in done.stdout
    assert "S3cret-pw-77" not in done.stdout + done.stderr
    bad = pytest_in(project, "--fleetsim-target", "http://hook:pw/77@127.0.0.1:1", "--collect-only")
    assert bad.returncode == 4 and "INTERNALERROR" not in bad.stdout + bad.stderr, bad.stdout + bad.stderr
    assert "must be percent-encoded" in bad.stderr and "pw/77" not in bad.stdout + bad.stderr


def test_a_target_nothing_listens_at_is_an_error_of_each_test_not_a_failed_check(project: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    done = pytest_in(project, "--fleetsim-target", url, "--fleetsim-provider", "smartgps", "-k", "SIG-01 or SIG-04")
    assert done.returncode == 1, done.stdout + done.stderr
    # the header counts the checks it adds (it said "collected 3 items / 43 deselected / -40 selected")
    assert f"collected {OWN_TESTS + len(STANDARD)} items / {OWN_TESTS + len(STANDARD) - 2} deselected / 2 selected" \
        in done.stdout
    assert "ERROR fleetsim/check/smartgps::fleetsim[smartgps-SIG-01]" in done.stdout
    assert "ERROR fleetsim/check/smartgps::fleetsim[smartgps-SIG-04]" in done.stdout
    assert f"fleetsim: cannot reach --fleetsim-target '{url}/smartgps': connection refused" in done.stdout
    assert "FAILED" not in done.stdout and "Traceback" not in done.stdout and "2 errors" in done.stdout


def test_a_check_that_ends_in_error_fails_as_a_harness_error(project: Path) -> None:
    with socket.socket() as listener:  # something listens, and drops every connection unanswered
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        stop = threading.Event()

        def drop() -> None:
            listener.settimeout(0.1)
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    listener.accept()[0].close()

        dropper = threading.Thread(target=drop, daemon=True)
        dropper.start()
        try:
            done = pytest_in(project, "--fleetsim-target", url, "--fleetsim-provider", "smartgps", "-k", "SIG-01")
        finally:
            stop.set()
            dropper.join()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED fleetsim/check/smartgps::fleetsim[smartgps-SIG-01] - harness error: " in done.stdout


def test_a_state_probe_grades_what_the_receiver_did(project: Path, fleetsim_receiver: str) -> None:
    # without it, a receiver applying every duplicate twice passed every state test of the plugin
    from conformance.state import REFERENCE_PROBE

    # the project's own probe file (a path outside the project would move pytest's rootdir: pytest's doing)
    shutil.copy(REFERENCE_PROBE, project / "probe.yaml")
    done = pytest_in(project, "--fleetsim-target", fleetsim_receiver, "--fleetsim-provider", "samsara",
                     "--fleetsim-state-probe", "probe.yaml", "-k", "RPL-06 or IDM-01")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(suite standard, seed 1; state probe probe.yaml)" in done.stdout
    assert "PASSED fleetsim/check/samsara::fleetsim[samsara-RPL-06]" in done.stdout
    wrong = pytest_in(project, "--fleetsim-target", fleetsim_receiver, "--fleetsim-state-probe", "nope.yaml",
                      "--collect-only")
    assert wrong.returncode == 4 and "fleetsim:" in wrong.stderr and "nope.yaml" in wrong.stderr, wrong.stderr


def test_a_failing_assert_on_a_record_does_not_print_the_credential_it_carries(project: Path) -> None:
    # a PowUnity record carries the PSK it is sent with (Authorization: Bearer ...); pytest prints the repr of
    # whatever a failing assert compared, into a test log a CI keeps
    (project / "tests" / "check_record.py").write_text(
        "def test_kind(fleetsim_stream):\n"
        "    record = next(fleetsim_stream('powunity'))\n"
        "    assert record == 'a webhook'\n")
    done = pytest_in(project, "tests/check_record.py", "-vv")  # -vv: the whole repr, as a CI log has it
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Outgoing(seq=1, " in done.stdout and "'Authorization': '<redacted>'" in done.stdout, done.stdout
    assert "fleetsim-demo-psk" not in done.stdout + done.stderr
