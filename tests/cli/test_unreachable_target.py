"""A receiver that is not there is a user's mistake (a wrong port, a host that does not resolve): every sending
command says so in one line and exits 2 before anything is generated, sent or written. A receiver that is there
but drops its connections is still graded (check: an error, exit 3; run: failed events, exit 1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from simulator.delivery.reach import all_reachable, reachable
from simulator.errors import UsageError
from tests.conftest import CliResult

from .listeners import closed_port, dropping
from .test_cli_errors import assert_usage_error

Cli = Callable[..., CliResult]
ROOT = Path(__file__).resolve().parents[2]
DEMO = str(ROOT / "scenarios" / "demo-city.yaml")


@pytest.mark.parametrize("command", [
    ("run", DEMO, "--limit", "3"),
    ("check", "--provider", "samsara"),
    ("check", "--provider", "all"),
    ("replay", "CAPTURE"),
    ("load", "--run-time", "5s"),
])
def test_nothing_listening_is_one_line_and_exit_2(cli: Cli, tmp_path: Path, command: tuple[str, ...]) -> None:
    capture = tmp_path / "c.ndjson"
    capture.write_text('{"method": "POST", "url": "http://x/samsara", "headers": {}, "body": "{}"}\n')
    args = [str(capture) if a == "CAPTURE" else a for a in command]
    url = f"http://127.0.0.1:{closed_port()}"
    result = cli(*args, "--target", url)
    assert_usage_error(result, "cannot reach", "127.0.0.1", "connection refused")
    assert result.out == ""  # no summary, no table: nothing was run


def test_a_run_that_cannot_reach_its_target_writes_no_capture_and_no_report(cli: Cli, tmp_path: Path) -> None:
    capture, report = tmp_path / "c.ndjson", tmp_path / "r.json"
    result = cli("run", DEMO, "--target", f"http://127.0.0.1:{closed_port()}", "--capture", str(capture),
                 "--report", f"json:{report}")
    assert_usage_error(result, "cannot reach --target")
    assert not capture.exists() and not report.exists()


def test_a_settings_url_is_asked_too_when_there_is_no_target(cli: Cli, tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"providers:\n  samsara:\n    url: http://127.0.0.1:{closed_port()}/hooks\n")
    result = cli("run", DEMO, "--settings", str(settings), "--limit", "3")
    assert_usage_error(result, "cannot reach samsara url", "/hooks")
    # check too: it ran every check against the dead url and exited 3 with a table of errors
    settings.write_text(settings.read_text().replace("samsara:\n", "samsara:\n    secret: c2VjcmV0\n"))
    checked = cli("check", "--provider", "samsara", "--settings", str(settings), "--only", "SIG-01")
    assert_usage_error(checked, "cannot reach samsara url", "/hooks")


def test_a_settings_url_beside_a_target_is_named_as_the_settings_url(cli: Cli, tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"providers:\n  samsara:\n    url: http://127.0.0.1:{closed_port()}/hooks\n")
    with dropping(must_be_used=False) as url:  # the --target is there; samsara's own url is not
        result = cli("run", DEMO, "--settings", str(settings), "--target", url, "--limit", "3")
    assert_usage_error(result, "cannot reach samsara url", "/hooks")


def test_a_host_that_does_not_resolve_says_so() -> None:
    with pytest.raises(UsageError, match="does not resolve"):
        reachable("http://no-such-host.invalid:8080/x", "--target")


def test_credentials_and_queries_stay_out_of_the_message() -> None:
    port = closed_port()
    with pytest.raises(UsageError) as caught:
        reachable(f"http://hooks:hunter2@127.0.0.1:{port}/in?token=s3cret", "--target")
    message = str(caught.value)
    assert f"127.0.0.1:{port}/in" in message
    assert "hunter2" not in message and "s3cret" not in message and "hooks:" not in message


def test_each_host_and_port_is_asked_once_and_the_first_missing_one_is_named() -> None:
    with dropping() as up:
        down = f"http://127.0.0.1:{closed_port()}"
        all_reachable([(f"{up}/a", "a url"), (f"{up}/b", "b url")])  # both there: no error
        with pytest.raises(UsageError, match="cannot reach c url"):
            all_reachable([(f"{up}/a", "a url"), (f"{down}/c", "c url"), (f"{down}/d", "d url")])


def test_a_receiver_that_drops_every_connection_is_graded_not_refused(cli: Cli) -> None:
    with dropping() as url:
        result = cli("check", "--provider", "smartgps", "--target", url, "--only", "SIG-01,MAL-01")
    assert result.code == 3, result  # errors (no HTTP answer), none failed: the harness could not judge
    assert "ERROR SIG-01" in result.out and "FAIL" not in result.out


def test_a_target_url_with_credentials_is_masked_when_refused(cli: Cli) -> None:
    result = cli("check", "--provider", "samsara", "--target", "http://hooks:hunter2@127.0.0.1:1/?token=s3cret")
    assert_usage_error(result, "argument --target", "<redacted>@127.0.0.1:1/?<redacted>", "without ?query")
    assert "hunter2" not in result.err and "s3cret" not in result.err
