"""`fleetsim check --provider smartgps-api` through the real CLI: the integrator's service started by
--client-command behind --activate-url, an activation script run per activation, the reports, and every usage
mistake as one line with exit 2."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.test_hostile_options import HOSTILE
from tests.conftest import CliResult

from .integrator import ACTIVATE

ROOT = Path(__file__).resolve().parents[3]
SECRET = "integrator-s3cr3t-value"
MODULE = "tests.conformance.api_client.integrator"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def settings(tmp_path: Path) -> str:
    path = tmp_path / "smartgps.yaml"
    path.write_text(f"providers:\n  smartgps:\n    api_client_id: acme\n    api_client_secret: {SECRET}\n")
    return str(path)


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the integrator runs as `python -m tests....`


def service(*flaws: str) -> list[str]:
    port = free_port()
    command = [sys.executable, "-m", MODULE, "--port", str(port), *(f"--flaw={f}" for f in flaws)]
    return ["--client-command", shlex.join(command), "--activate-url", f"http://127.0.0.1:{port}{ACTIVATE}"]


def test_a_careful_service_passes_every_check_and_the_reports_hold_them(
        cli: Callable[..., CliResult], settings: str, tmp_path: Path) -> None:
    json_path, junit_path, html_path = tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "r.html"
    result = cli("check", "--provider", "smartgps-api", *service(), "--token-ttl", "2", "--settings", settings,
                 "--report", f"json:{json_path}", "--report", f"junit:{junit_path}", "--report", f"html:{html_path}")
    assert result.code == 0, result.out + result.err
    for check_id in ("API-01", "API-02", "API-03", "API-04", "API-05", "API-06"):
        assert f"PASS  {check_id}" in result.out
    assert "summary: 6 passed, 0 failed, 0 skipped, 0 errors" in result.out
    assert "FLEETSIM_SMARTGPS_URL" in result.err and "client 'acme'" in result.err
    report = json.loads(json_path.read_text())
    assert report["exit_code"] == 0 and report["totals"]["passed"] == 6
    assert [r["id"] for r in report["providers"][0]["results"]] == [f"API-0{n}" for n in range(1, 7)]
    assert 'name="API-03: A 401' in junit_path.read_text()
    assert "API-04" in html_path.read_text()
    for text in (result.out, result.err, json_path.read_text(), junit_path.read_text(), html_path.read_text()):
        assert SECRET not in text


def test_a_failure_says_what_happened_and_how_to_rerun_it(cli: Callable[..., CliResult], settings: str) -> None:
    result = cli("check", "--provider", "smartgps-api", *service("wrong-order"), "--token-ttl", "2",
                 "--settings", settings, "--only", "API-02,API-01", "--exclude", "API-02", "--seed", "1")
    assert result.code == 1, result.out + result.err
    assert "FAIL  API-01  the first activation called createObject → registerTracker → assignTracker" in result.out
    assert "Received:  first: answered 200" in result.out
    assert "Reproduce: fleetsim check --provider smartgps-api --activate-url http://127.0.0.1:" in result.out
    assert "--token-ttl 2 --settings " in result.out and "--only API-01 --seed 1" in result.out
    assert SECRET not in result.out + result.err


def test_an_https_activation_url_is_verified_with_the_ca_bundle(
        cli: Callable[..., CliResult], settings: str, tmp_path: Path) -> None:
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key, bundle = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    leaf.private_key_and_cert_chain_pem.write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(bundle))
    port = free_port()
    command = shlex.join([sys.executable, "-m", MODULE, "--port", str(port), "--tls", str(cert), str(key)])
    url = f"https://127.0.0.1:{port}{ACTIVATE}"
    base = ["check", "--provider", "smartgps-api", "--client-command", command, "--activate-url", url,
            "--settings", settings, "--only", "API-01,API-05"]
    trusted = cli(*base, "--ca-bundle", str(bundle))
    assert trusted.code == 0, trusted.out + trusted.err
    assert "PASS  API-01" in trusted.out and "PASS  API-05" in trusted.out
    # without the bundle the local CA is not trusted: the activations fail, and say what to give
    untrusted = cli(*base)
    assert untrusted.code == 1, untrusted.out + untrusted.err  # API-01 fails: no activation succeeded
    assert "PASS" not in untrusted.out and "give --ca-bundle FILE" in untrusted.out


def test_an_activation_script_run_per_activation(cli: Callable[..., CliResult]) -> None:
    command = shlex.join([sys.executable, "-m", MODULE, "--once"]) + " {imei} {plate}"
    result = cli("check", "--provider", "smartgps-api", "--client-command", command, "--only", "API-01,API-05")
    assert result.code == 0, result.out + result.err
    assert "PASS  API-01" in result.out and "PASS  API-05" in result.out
    assert "2 activations" in result.out


def test_a_script_that_creates_again_fails_idempotency(cli: Callable[..., CliResult]) -> None:
    command = shlex.join([sys.executable, "-m", MODULE, "--once", "{imei}", "{plate}", "--flaw", "duplicates"])
    result = cli("check", "--provider", "smartgps-api", "--client-command", command, "--only", "API-05")
    assert result.code == 1, result.out + result.err
    assert "FAIL  API-05" in result.out and "exit status 1: SmartGPS answered 409" in result.out


@pytest.mark.parametrize(("argv", "says"), [
    (["--target", "http://127.0.0.1:9"], "--target is for webhook receivers"),
    (["--app", "x:app"], "--app is for webhook receivers"),
    ([], "needs --activate-url URL"),
    (["--activate-url", "http://127.0.0.1:9/activate"], "cannot reach --activate-url 'http://127.0.0.1:9/activate'"),
    (["--client-command", "'unbalanced"], "--client-command"),
    (["--client-command", "   "], "--client-command is empty"),
    (["--client-command", "/nonexistent/fleetsim-client {imei}"], "cannot start --client-command"),
    (["--client-command", "no-such-fleetsim-client", "--activate-url", "http://127.0.0.1:9/a"], "no such program"),
    (["--client-command", "false", "--activate-url", "http://127.0.0.1:9/a"], "the client command exited with"),
    (["--client-command", "true", "--only", "SIG-01"], "leave no smartgps-api check"),
    # a typo would reach the client as literal text; a shell's own ${VAR} is left alone
    (["--client-command", "echo {IMEI} ${HOME}"], "unknown placeholder {IMEI} (known: {url}, {client_id}"),
])
def test_usage_mistakes_are_one_line_and_exit_2(cli: Callable[..., CliResult], argv: list[str], says: str) -> None:
    result = cli("check", "--provider", "smartgps-api", *argv)
    assert result.code == 2, result.out + result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fleetsim: error: ") and says in lines[0], result.err


def test_api_client_options_with_a_webhook_provider_are_exit_2(cli: Callable[..., CliResult]) -> None:
    result = cli("check", "--provider", "smartgps", "--token-ttl", "5")
    assert result.code == 2
    assert result.err.strip() == ("fleetsim: error: check: --token-ttl is for --provider smartgps-api (an API "
                                  "client), not for a webhook receiver")


def test_a_port_in_use_is_exit_2(cli: Callable[..., CliResult]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("check", "--provider", "smartgps-api", "--client-command", "true", "--api-port", str(port))
    assert result.code == 2 and f"cannot listen on 127.0.0.1:{port}" in result.err


def test_list_shows_the_api_client_checks(cli: Callable[..., CliResult]) -> None:
    result = cli("check", "--list")
    assert "API-03  A 401" in result.out and "providers: smartgps-api" in result.out


def test_sigterm_stops_the_run_and_the_client_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "client.pid"
    port = free_port()
    client = shlex.join([sys.executable, "-m", MODULE, "--port", str(port), "--pid-file", str(pid_file)])
    fleetsim = subprocess.Popen(
        [sys.executable, "-c", "import sys; from simulator.cli import main; sys.exit(main(sys.argv[1:]))", "check",
         "--provider", "smartgps-api", "--client-command", client,
         "--activate-url", f"http://127.0.0.1:{port}{ACTIVATE}", "--token-ttl", "60"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # the first activations are done; fleetsim waits for the token to expire
        client_pid = int(pid_file.read_text())
        started = time.monotonic()
        fleetsim.send_signal(signal.SIGTERM)
        _, err = fleetsim.communicate(timeout=10)
        took = time.monotonic() - started
    finally:
        if fleetsim.poll() is None:
            fleetsim.kill()
    assert fleetsim.returncode == 130, err
    assert "fleetsim: interrupted" in err and "Traceback" not in err
    assert took < 6.0
    with pytest.raises(ProcessLookupError):
        os.kill(client_pid, 0)


@pytest.mark.parametrize("option", ["--activate-url", "--client-command", "--token-ttl", "--api-port"])
@pytest.mark.parametrize("label", sorted(HOSTILE))
def test_hostile_values_with_smartgps_api_are_one_line_exit_2_or_run(
        cli: Callable[..., CliResult], option: str, label: str) -> None:
    # tests/cli/test_hostile_options.py walks these options next to a webhook provider; here they do their job
    baseline = {"--client-command": "false", "--only": "API-01", "--timeout": "5"}
    baseline[option] = HOSTILE[label]
    argv = [word for name, value in baseline.items() for word in (f"{name}={value}",)]
    result = cli("check", "--provider", "smartgps-api", *argv)
    shown = f"{option}={HOSTILE[label][:40]!a} exit={result.code} stderr={result.err[-400:]!a}"
    assert "Traceback" not in result.out + result.err and "internal error" not in result.err, shown
    assert result.code in (1, 2), shown  # 1: accepted, and `false` failed the activation
    if result.code == 2:
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("fleetsim: error: ") and len(lines[0]) <= 400, shown
