"""`fleetsim check` from the command line: exit codes, --list, reports, reproduction lines, and no secret in
anything it prints or writes."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from conformance import docs
from conformance.cli import Live
from conformance.registry import CHECKS
from simulator import __version__
from tests.conftest import CliResult

from .flawed import flawed, on_a_thread, serve, settings

Cli = Callable[..., CliResult]
DEMO_SECRETS = ["fleetsim-demo-psk", "fleetsim-demo-smartgps-secret", "ZmxlZXRzaW0tZGVtby1zYW1zYXJhLWtleQ=="]


def serving(flaw: str) -> contextlib.AbstractContextManager[str]:
    return on_a_thread(flawed(flaw))


def test_list_shows_every_check_with_its_rule_providers_and_needs(cli: Cli) -> None:
    result = cli("check", "--list")
    assert result.code == 0
    for c in CHECKS.values():
        assert f"{c.id}  {c.rule}" in result.out
    assert "providers: mettax, powunity; needs: psk_variants, tampered_signature" in result.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--provider P|all is required"),
        (("--provider", "nosuch"), "unknown provider"),
        (("--provider", "samsara", "--only", "NOPE"), "unknown check"),
        (("--provider", "standard_webhooks"), "no secret is configured"),
        (("--provider", "samsara", "--only", "SIG-01", "--exclude", "SIG-01"), "leave no check"),
        (("--provider", "samsara", "--report", "xml:r.xml"),
         "unknown report kind 'xml'; did you mean 'html'? (known: html, json, junit)"),
    ],
)
def test_usage_mistakes_exit_2(cli: Cli, args: tuple[str, ...], message: str) -> None:
    result = cli("check", *args)
    assert result.code == 2, result
    assert message in result.err


def test_the_reference_receiver_passes_and_exits_0(cli: Cli) -> None:
    result = cli("check", "--provider", "samsara", "--only", "SIG-01,RPL-01,RPL-07", "--seed", "1")
    assert result.code == 0, result
    assert "PASS  SIG-01" in result.out and "PASS  RPL-01" in result.out and "SKIP  RPL-07" in result.out
    assert "IDM-01" not in result.out
    assert "summary: 2 passed, 0 failed, 1 skipped, 0 errors (seed 1, --only)" in result.out


def test_a_run_given_no_seed_draws_its_own_and_says_it(cli: Cli) -> None:
    # a fixed default would re-send the same event ids to a receiver that keeps earlier runs' events
    seeds = []
    for _ in range(2):
        result = cli("check", "--provider", "samsara", "--only", "SIG-01")
        assert result.code == 0, result
        seeds.append(result.out.split("(seed ", 1)[1].split(",", 1)[0])
    assert seeds[0] != seeds[1] and all(1 <= int(s) <= 999_999 for s in seeds), seeds
    assert f"summary: 1 passed, 0 failed, 0 skipped, 0 errors (seed {seeds[1]}, --only)" in result.out


def test_several_providers_may_be_named(cli: Cli) -> None:
    # repeated or comma-separated, as `run --provider` takes them: each is checked, none silently dropped
    for given in (("--provider", "samsara", "--provider", "smartgps"), ("--provider", "samsara,smartgps")):
        result = cli("check", *given, "--only", "SIG-01", "--seed", "2")
        assert result.code == 0, result
        assert "samsara: http" in result.out and "smartgps: http" in result.out, result.out
    alone = cli("check", "--provider", "all", "--provider", "samsara", "--only", "SIG-01")
    assert alone.code == 2 and alone.err.strip() == "fleetsim: error: check: --provider all stands alone, not " \
        "beside samsara", alone.err


def test_a_receiver_that_is_not_there_is_a_usage_error_before_anything_runs(cli: Cli) -> None:
    # one that is there and never answers is graded: tests/cli/test_unreachable_target.py (errors, exit 3)
    with serving("slow") as url:
        pass
    result = cli("check", "--provider", "smartgps", "--target", url, "--only", "SIG-01,MAL-01")
    assert result.code == 2, result
    assert result.out == "" and f"cannot reach --target '{url}/smartgps'" in result.err


def test_a_mistake_still_writes_the_reports_saying_what_it_was(cli: Cli, tmp_path: Path) -> None:
    """Exit 2 (an unreachable target, a settings file that does not load) writes every report asked for, with the
    error and no verdict of this run: a CI job must not read an earlier run's report (left here on purpose) or
    none as this one's result."""
    with serving("slow") as url:
        pass
    stale = json.dumps({"exit_code": 0, "totals": {"passed": 40, "failed": 0}})
    reports = {kind: tmp_path / f"report.{kind}" for kind in ("json", "junit", "html")}
    for path in reports.values():
        path.write_text(stale)
    bad = tmp_path / "settings.yaml"
    bad.write_text("providers: {smartgps: {secret: [unclosed\n")
    for args, says in (
        (["--target", url.replace("http://", "http://user:pa55word@")], "cannot reach --target"),
        (["--settings", str(bad)], str(bad)),
    ):
        result = cli("check", "--provider", "smartgps", "--only", "SIG-01", *args,
                     *[f"--report={kind}:{path}" for kind, path in reports.items()])
        assert result.code == 2 and says in result.err, result
        report = json.loads(reports["json"].read_text())
        assert report["exit_code"] == 2 and report["providers"] == [] and says in report["error"], report
        suite = ET.parse(reports["junit"]).getroot().find("testsuite")
        assert suite is not None and suite.get("errors") == "1" and suite.get("failures") == "0"
        error = suite.find("testcase/error")
        assert error is not None and error.get("type") == "usage" and says in (error.get("message") or "")
        page = reports["html"].read_text()
        assert 'data-exit-code="2"' in page and ">ERROR<" in page and says in page
        for path in reports.values():
            assert "pa55word" not in path.read_text()  # the target's password, as everywhere


def test_a_failure_prints_sent_received_expected_and_a_reproduction_and_writes_reports(
        cli: Cli, tmp_path: Path) -> None:
    with serving("no_verify") as url:
        result = cli("check", "--provider", "samsara", "--target", url, "--seed", "5",
                     "--report", f"json:{tmp_path / 'r.json'}", "--report", f"junit:{tmp_path / 'r.xml'}")
        assert result.code == 1, result
        assert "FAIL  SIG-04" in result.out
        for label in ("Sent:", "Received:  200", "Expected:  a 4xx rejection", "Reproduce: fleetsim check"):
            assert label in result.out
        repro = next(line.split("Reproduce: ", 1)[1] for line in result.lines if "Reproduce: " in line
                     and "--only RPL-01" in line)
        assert repro == f"fleetsim check --provider samsara --target {url} --only RPL-01 --seed 5"
        at = next(i for i, line in enumerate(result.lines) if "Reproduce: " in line and "--only RPL-01" in line)
        curl = result.lines[at + 1].strip()  # RPL-01's curl (SIG-02's, earlier, leaves the signature out)
        body_file = Path(shlex.split(curl)[-1].removeprefix("@"))
        assert body_file.parent == tmp_path / "fleetsim-check-bodies" and body_file.read_bytes()
        assert f"failure bodies: {tmp_path / 'fleetsim-check-bodies'}" in result.out
        assert "X-Samsara-Signature: v1=" in curl or "x-samsara-signature: v1=" in curl.lower()

        again = cli(*shlex.split(repro)[1:])  # the reproduction re-runs just that check
    assert again.code == 1
    assert [line.split()[1] for line in again.lines if line.startswith("  ") and line.split()[0] in
            ("PASS", "FAIL", "SKIP", "ERROR")] == ["RPL-01"]

    report = json.loads((tmp_path / "r.json").read_text())
    assert report["exit_code"] == 1 and report["seed"] == 5 and report["suite"] == "standard"
    assert report["tool"] == "fleetsim check" and report["fleetsim_version"] == __version__
    statuses = {r["id"]: r["status"] for r in report["providers"][0]["results"]}
    # TIM-04's audit sees the forged deliveries' 2xx too; TRN-04, a gzip body acknowledged under both readings
    # of its signature
    assert {i for i, s in statuses.items() if s == "failed"} == {"SIG-02", "SIG-03", "SIG-04", "SIG-05", "RPL-01",
                                                                 "RPL-02", "RPL-04", "RPL-05", "TIM-04", "TRN-04"}
    failed = next(r for r in report["providers"][0]["results"] if r["id"] == "SIG-04")
    assert failed["reproduce"]["command"].endswith("--only SIG-04 --seed 5") and failed["sent"]

    suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    standard = {c.id for c in CHECKS.values() if c.in_suite("standard")}
    assert suite is not None and suite.get("tests") == str(len(standard)) and suite.get("failures") == "10"
    cases = {c.get("name", "").split(":")[0]: c for c in suite.iter("testcase")}
    assert set(cases) == standard
    assert cases["SIG-04"].find("failure") is not None
    skipped = cases["SIG-09"].find("skipped")
    assert skipped is not None and "pre-shared" in skipped.get("message", "")


def test_no_secret_in_any_output(cli: Cli, tmp_path: Path) -> None:
    with serving("no_verify") as url:
        result = cli("check", "--provider", "all", "--target", url, "--only", "SIG-04,SIG-09",
                     "--report", f"json:{tmp_path / 'r.json'}", "--report", f"junit:{tmp_path / 'r.xml'}")
    assert result.code == 1
    assert "Authorization: <redacted>" in result.out  # the PSK header is shown, its value never
    assert "credential headers are shown as <redacted>" in result.out
    written = [result.out, result.err] + [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    for secret in DEMO_SECRETS:
        forms = {secret, base64.b64encode(secret.encode()).decode(), secret.split()[-1]}
        for text in written:
            for form in forms:
                assert form not in text


def test_docs_checks_md_is_generated_from_the_registry() -> None:
    assert docs.PATH.read_text() == docs.render(), "run: python -m conformance.docs"


def test_checks_print_in_catalogue_order_and_several_providers_get_a_table(cli: Cli) -> None:
    result = cli("check", "--provider", "all", "--only", "TIM-01,SIG-01,MAL-01,RPL-07")
    assert result.code == 0, result
    samsara = result.out.split("samsara: ", 1)[1].split("smartgps: ", 1)[0]
    order = [line.split()[1] for line in samsara.splitlines() if line.startswith("  ")]
    assert order == ["SIG-01", "RPL-07", "MAL-01", "TIM-01"]  # the catalogue's families: SIG, RPL, ... MAL, TIM
    table = result.out.split("provider ", 1)[1].splitlines()
    assert table[0].split() == ["passed", "failed", "skipped", "error", "time"]
    rows = {line.split()[0]: line.split()[1:5] for line in table[1:] if line and not line.startswith("summary")}
    assert rows["samsara"] == ["3", "0", "1", "0"] and rows["mettax"] == ["3", "0", "1", "0"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_live_line_is_drawn_on_a_terminal_and_erased_before_results() -> None:
    terminal, log = _Terminal(), io.StringIO()
    for stream in (terminal, log):
        live = Live(stream)
        live.show("samsara: sending 73 probe requests ...")
        live.show("samsara: judging ...")
        live.clear()
    drawn = terminal.getvalue()
    assert drawn.startswith("\rsamsara: sending 73 probe requests ...")
    assert "\rsamsara: judging ..." + " " * (len("sending 73 probe requests") - len("judging")) in drawn
    assert drawn.endswith("\r" + " " * len("samsara: judging ...") + "\r")
    assert log.getvalue() == ""  # a log or a pipe gets only the results


@pytest.mark.parametrize(("userinfo", "shown"), [("hooks:hunter2pass@", "hooks:***@"),
                                                  ("hunter2pass@", "http://***@")])  # a token as the user
def test_a_password_in_the_target_is_sent_but_never_printed_or_reported(
        cli: Cli, tmp_path: Path, userinfo: str, shown: str) -> None:
    reports = [tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "r.html"]
    with serving("no_verify") as url:
        with_password = url.replace("http://", f"http://{userinfo}")
        result = cli("check", "--provider", "samsara", "--target", with_password, "--only", "SIG-04,RPL-01",
                     *(f"--report={kind}:{path}" for kind, path in zip(("json", "junit", "html"), reports,
                                                                        strict=True)))
    assert result.code == 1, result  # it was checked (the flawed receiver ignores the Basic credentials)
    assert "FAIL  SIG-04" in result.out and shown in result.out  # the curl and the header line
    bodies = tmp_path / "fleetsim-check-bodies"
    for text in [result.out, result.err, *(p.read_text() for p in reports),
                 *(p.read_text(errors="replace") for p in bodies.iterdir())]:
        assert "hunter2pass" not in text


@contextlib.contextmanager
def serving_with_settings(path: Path) -> Iterator[str]:
    """The reference receiver with the demo's settings and `path` laid over them, on a thread; its URL."""
    from simulator.servers.receiver import build_app
    from simulator.servers.store import Store
    from simulator.settings import load_settings, merge_settings

    store = Store()
    with on_a_thread(serve(build_app(merge_settings(settings(), load_settings(str(path))), store), store)) as url:
        yield url


def test_genuine_deliveries_refused_without_settings_point_at_the_demo_secrets(cli: Cli, tmp_path: Path) -> None:
    # a receiver with a secret of its own: every genuine delivery, signed with demo-city's secret, is a 401
    own = tmp_path / "own.yaml"
    own.write_text("providers:\n  samsara:\n    secret: b3duLXJlY2VpdmVyLXNlY3JldA==\n")
    wrong = tmp_path / "wrong.yaml"  # another secret than the receiver's
    wrong.write_text("providers:\n  samsara:\n    secret: YW5vdGhlci1zZWNyZXQtYWx0b2dldGhlcg==\n")
    with serving_with_settings(own) as url:
        bare = cli("check", "--provider", "samsara", "--target", url, "--only", "SIG-01")
        given = cli("check", "--provider", "samsara", "--target", url, "--only", "SIG-01", "--settings", str(own))
        mismatched = cli("check", "--provider", "samsara", "--target", url, "--settings", str(wrong))
    # the whole suite fails with 401s, RPL-03 among them: the note once blamed a tight replay tolerance
    assert mismatched.code == 1 and "FAIL  RPL-03" in mismatched.out
    assert f"genuine deliveries, signed when sent with the secrets of --settings {wrong}, were refused as " \
           "unauthenticated: the likeliest cause is that the receiver holds another secret" in mismatched.out
    assert "beside RPL-03" not in mismatched.out and "YW5vdGhlci1zZWNyZXQ" not in mismatched.out
    assert bare.code == 1 and "FAIL  SIG-01  a genuine delivery was answered 401" in bare.out
    assert "note: samsara: genuine deliveries were refused as unauthenticated. Without --settings, fleetsim " \
           "signs with the demo scenario's secrets" in bare.out
    assert "b3duLXJlY2VpdmVyLXNlY3JldA" not in bare.out + bare.err  # no secret named, neither one
    assert given.code == 0 and "note:" not in given.out, given.out


def test_a_powunity_receiver_that_ignores_x_powtxn_passes_sig_02(cli: Cli) -> None:
    # X-PowTxn identifies a delivery and authenticates nothing: only a missing Authorization must be refused
    result = cli("check", "--provider", "powunity", "--app", "tests.conformance.psk_only:app", "--only",
                 "SIG-01,SIG-02,SIG-09")
    assert result.code == 0, result.out
    assert "PASS  SIG-02  1/1 deliveries without an authentication header rejected (401)" in result.out


def test_failure_bodies_without_a_report_go_to_a_directory_of_this_user() -> None:
    # one fixed /tmp/fleetsim-check-bodies was another user's on a shared machine: not writable, or read by them
    import argparse
    import os
    import tempfile

    from conformance.cli import _reports

    _, body_dir = _reports(argparse.Namespace(report=[]))
    assert body_dir == Path(tempfile.gettempdir()) / f"fleetsim-check-bodies-{os.getuid()}"


def test_a_declared_body_limit_is_used_and_kept_in_the_reproduction(cli: Cli) -> None:
    from simulator.servers.receiver import build_app
    from simulator.servers.store import Store

    store = Store()
    with on_a_thread(serve(build_app(settings(), store, max_body_bytes=4 << 20), store)) as url:
        result = cli("check", "--provider", "smartgps", "--target", url, "--only", "LIM-01",
                     "--body-limit", str(2 << 20))
    assert result.code == 1 and f"a {(2 << 20) + 1} bytes body was answered 200" in result.out, result.out
    repro = next(line.split("Reproduce: ", 1)[1] for line in result.lines if "Reproduce: " in line)
    assert f"--body-limit {2 << 20}" in repro
    too_small = cli("check", "--provider", "smartgps", "--target", url, "--body-limit", "10")
    assert too_small.code == 2 and "--body-limit" in too_small.err


def test_a_shared_settings_file_needs_only_the_checked_providers_secrets(cli: Cli, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared.yaml"
    shared.write_text("providers:\n  samsara: {secret_env: CI_SAMSARA_SECRET}\n"
                      "  smartgps: {secret_env: CI_SMARTGPS_SECRET}\n")
    monkeypatch.setenv("CI_SAMSARA_SECRET", base64.b64encode(b"demo-samsara-secret-0001").decode())
    monkeypatch.delenv("CI_SMARTGPS_SECRET", raising=False)
    # the samsara job has no smartgps secret in its environment: not its business
    result = cli("check", "--provider", "samsara", "--settings", str(shared), "--only", "SIG-01", "--seed", "1")
    assert result.code != 2 and "CI_SMARTGPS_SECRET" not in result.err, result
    # checking smartgps, its variable must be set: one line, exit 2
    result = cli("check", "--provider", "smartgps", "--settings", str(shared), "--only", "SIG-01")
    assert result.code == 2 and "environment variable CI_SMARTGPS_SECRET is not set" in result.err, result


def test_failures_that_share_a_tight_tolerance_are_named_as_one() -> None:
    # a 1 s tolerance failed 12 checks with 401 and nothing said they had one cause (RPL-03's)
    from conformance.cli import _tolerance_hint
    from conformance.registry import CheckResult
    from conformance.run import ProviderRun
    from simulator.delivery.model import Attempt

    def refused(check_id: str, status: int = 401) -> CheckResult:
        a = Attempt(event_id="e", provider="samsara", kind="alert_v1", copy="x", attempt=1, url="http://r/samsara",
                    sent_at=0.0, latency_s=0.01, outcome="4xx", status=status)
        return CheckResult("failed", "answered 401", a, check_id=check_id, provider="samsara")

    def run_of(*results: CheckResult) -> ProviderRun:
        return ProviderRun("samsara", "http://r/samsara", results, (), 1.0)

    hint = _tolerance_hint([run_of(refused("RPL-03"), refused("SIG-05"), refused("IDM-02"), refused("TIM-04"))])
    assert hint is not None and hint.startswith("note: samsara (IDM-02, SIG-05) failed with 401/403 beside RPL-03")
    assert _tolerance_hint([run_of(refused("SIG-05"), refused("IDM-02"))]) is None  # RPL-03 passed: other causes
    assert _tolerance_hint([run_of(refused("RPL-03"), refused("SIG-05"), refused("IDM-02", 500))]) is None
    # genuine deliveries refused too: signed as they were sent, no tolerance explains them (the secret does)
    assert _tolerance_hint([run_of(refused("SIG-01"), refused("RPL-03"), refused("SIG-05"), refused("IDM-02"))]) \
        is None


@pytest.mark.parametrize(("argv", "says"), [
    (["--provider", "samsara", "--only", "TRN-06"], "--only TRN-06 applies to none of the providers checked (samsara); "
     "TRN-06 would be skipped: grades a socket client, not a webhook receiver"),
    (["--provider", "smartgps", "--only", "RPL-03,RPL-04"], "smartgps signs no timestamp"),
])
def test_only_checks_that_apply_to_no_provider_are_a_usage_error_not_a_pass(cli: Cli, argv: list[str],
                                                                           says: str) -> None:
    # "0 passed, 0 failed, 1 skipped" and exit 0: a CI job gating on it passed though nothing was checked
    result = cli("check", *argv, "--target", "http://127.0.0.1:9")
    assert result.code == 2 and says in result.err and len(result.err.strip().splitlines()) == 1, result
