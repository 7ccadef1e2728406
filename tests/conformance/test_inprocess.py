"""In-process receivers (`fleetsim check --app`): loading MODULE:ATTR, the ASGI lifespan, the sender's outcomes
(as HttpTransport classifies them), and verdicts on receivers written as integrators would."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.inprocess import APP_URL, InProcessApp, app_kind, load_app, serve_app
from simulator.delivery.transport import KEEP_CAP, READ_CAP, Response
from simulator.errors import UsageError
from tests.conftest import CliResult

from .apps import odd

Cli = Callable[..., CliResult]
APPS = "tests.conformance.apps"


async def post(spec: str, *, deadline_s: float = 2.0, method: str = "POST", path: str = "/smartgps",
               headers: dict[str, str] | None = None) -> Response:
    async with serve_app(spec) as app, app.sender(2, True) as sender:
        return await sender.post(APP_URL + path, b'{"a": 1}', headers or {"Content-Type": "application/json"},
                                 deadline_s=deadline_s, method=method)


# --- loading ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tests.conformance.apps.odd", "expected MODULE:ATTR"),
        ("no_such_module_here:app", "no module named 'no_such_module_here'"),
        (f"{APPS}.odd:nothing", "has no attribute 'nothing'"),
        (f"{APPS}.odd:not_an_app", "int object is not an ASGI app"),
        (f"{APPS}.odd:create_app", "for a factory, write create_app()"),  # the factory itself takes no args
        (f"{APPS}.odd:not_an_app()", "int object is not callable"),
    ],
)
def test_loading_mistakes_are_usage_errors(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        load_app(spec)


def test_asgi_and_wsgi_are_told_apart() -> None:
    from .apps import fastapi_receiver, flask_receiver

    assert app_kind(fastapi_receiver.app) == app_kind(odd.echo) == "asgi"
    assert app_kind(flask_receiver.app) == app_kind(odd.slow_wsgi) == "wsgi"
    assert app_kind(odd.create_app) is None and app_kind(odd) is None and app_kind(odd.not_an_app) is None
    assert load_app(f"{APPS}.odd:create_app()")[1] == "wsgi"


async def test_the_lifespan_runs_once_around_the_check() -> None:
    async with serve_app(f"{APPS}.odd:with_lifespan") as app:
        assert odd.started
        for _ in range(2):  # the runner and the probe phase each open a sender: one startup serves both
            async with app.sender(1, True) as sender:
                response = await sender.post(APP_URL + "/x", b"{}", {}, deadline_s=2)
            assert response.status == 200
    assert not odd.started  # shut down at the end


async def test_an_app_without_lifespan_support_is_served_without_it() -> None:
    response = await post(f"{APPS}.odd:echo", path="/samsara", headers={"X-Sig": "v1=ab"})
    assert response.outcome == "2xx"
    assert response.body.startswith(b"POST /samsara\n")
    # what HttpTransport sends unasked is sent here too; the caller's headers arrive as given
    assert b"user-agent: fleetsim" in response.body and b"accept-encoding: identity" in response.body
    assert b"x-sig: v1=ab" in response.body and response.body.endswith(b'{"a": 1}')


async def test_a_failing_startup_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=re.escape("startup (ASGI lifespan) failed: cannot reach the database")):
        async with serve_app(f"{APPS}.odd:failing_startup"):
            pass


async def test_an_app_exiting_in_its_startup_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=re.escape("startup (ASGI lifespan) failed: it called sys.exit(0)")):
        async with serve_app(f"{APPS}.odd:exiting_startup"):
            pass


# --- outcomes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["raising", "raising_wsgi"])
async def test_an_exception_in_the_app_is_the_500_a_server_would_send(name: str) -> None:
    response = await post(f"{APPS}.odd:{name}")
    assert (response.outcome, response.status) == ("5xx", 500)
    assert response.error is not None and response.error.startswith("the app raised ")
    assert ("RuntimeError: database is locked" if name == "raising" else "KeyError") in response.error


@pytest.mark.parametrize("name", ["exiting", "exiting_wsgi"])
async def test_sys_exit_in_the_app_is_a_500_not_the_commands_exit(name: str) -> None:
    response = await post(f"{APPS}.odd:{name}")
    assert (response.outcome, response.status) == ("5xx", 500)
    assert response.error == "the app raised SystemExit: 0"


@pytest.mark.parametrize("name", ["slow_asgi", "slow_wsgi"])
async def test_the_deadline_covers_the_call(name: str) -> None:
    started = time.perf_counter()
    response = await post(f"{APPS}.odd:{name}", deadline_s=0.2)
    assert response.outcome == "timeout_total" and response.status is None
    assert "0.2 s deadline" in (response.error or "")
    assert time.perf_counter() - started < 0.9  # a WSGI call runs on in its thread; the answer does not wait


async def test_status_classes_headers_and_retry_after_as_over_a_socket() -> None:
    limited = await post(f"{APPS}.odd:limited")
    assert (limited.outcome, limited.status, limited.retry_after_s, limited.body) == ("429", 429, 7.0, b"slow down")
    # as HttpTransport keeps them: an error answer keeps every header (SIG-10 judges them too)
    assert limited.headers == {"retry-after": "7", "x-other": "dropped"}
    moved = await post(f"{APPS}.odd:redirect")
    assert (moved.outcome, moved.status) == ("3xx", 302)  # never followed


async def test_a_long_body_is_capped_and_not_read_to_the_end() -> None:
    odd.chunks_served = 0
    response = await post(f"{APPS}.odd:big_wsgi")
    assert response.outcome == "2xx" and len(response.body) == KEEP_CAP
    assert odd.chunks_served <= READ_CAP // 1024 + 1 < odd.BIG_CHUNKS


async def test_method_and_path_reach_the_app() -> None:
    response = await post(f"{APPS}.fastapi_receiver:app", method="GET")
    assert (response.status, response.outcome) == (405, "4xx")


def test_an_in_process_app_is_a_sender_factory() -> None:
    app, kind = load_app(f"{APPS}.odd:echo")
    assert InProcessApp("x:y", app, kind).factory(1, True) is not None


# --- fleetsim check --app ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("app", "provider"), [("fastapi_receiver", "smartgps"), ("flask_receiver", "samsara")])
def test_receivers_written_as_integrators_would_pass(cli: Cli, app: str, provider: str) -> None:
    result = cli("check", "--provider", provider, "--app", f"{APPS}.{app}:app")
    assert result.code == 0, result
    assert "PASS  SIG-04" in result.out and "PASS  IDM-01" in result.out and "FAIL" not in result.out
    assert f"{provider}: {APP_URL}/{provider}" in result.out
    assert "in-process" in result.err


def test_a_receiver_that_skips_verification_fails_sig_04_and_exits_1(cli: Cli, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    result = cli("check", "--provider", "smartgps", "--app", f"{APPS}.broken_receiver:app", "--seed", "3",
                 "--report", f"json:{report}")
    assert result.code == 1, result
    written = json.loads(report.read_text())
    assert (written["app"], written["target"]) == (f"{APPS}.broken_receiver:app", None)
    assert "FAIL  SIG-04" in result.out and "PASS  SIG-01" in result.out
    repro = [line.split("Reproduce: ", 1)[1] for line in result.lines if "Reproduce: " in line]
    assert f"fleetsim check --provider smartgps --app {APPS}.broken_receiver:app --only SIG-04 --seed 3" in repro


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--app", f"{APPS}.odd:nothing"), "has no attribute 'nothing'"),
        (("--app", "no_such_module_here:app"), "no module named"),
        (("--app", f"{APPS}.odd:echo", "--target", "http://127.0.0.1:9"), "not allowed with argument"),
    ],
)
def test_app_mistakes_exit_2(cli: Cli, args: tuple[str, ...], message: str) -> None:
    result = cli("check", "--provider", "smartgps", *args)
    assert result.code == 2, result
    assert message in result.err and "Traceback" not in result.err


def test_a_check_that_needs_a_socket_is_skipped_in_process() -> None:
    from conformance.registry import Check, CheckResult, Context
    from simulator.providers import PROVIDERS

    raw = Check("X-01", "needs a raw socket", frozenset(), lambda p: True, "", lambda c: CheckResult("passed", "ok"),
                socket=True)
    skipped = raw.run(Context(PROVIDERS["smartgps"], (), 10.0, in_process=True))
    assert skipped.status == "skipped" and "--app" in skipped.reason
    assert raw.run(Context(PROVIDERS["smartgps"], (), 10.0)).status == "passed"


def test_an_endpoint_at_another_path_is_given_as_a_path_setting(cli: Cli, tmp_path: Path) -> None:
    spec = f"{APPS}.moved:app"
    lost = cli("check", "--provider", "smartgps", "--app", spec, "--only", "SIG-01,IDM-01,SIG-04,MAL-01,SIG-10")
    assert lost.code == 1 and "FAIL  SIG-01" in lost.out, lost
    # a receiver that acknowledged nothing shows nothing by refusing forgeries: those checks are not passed
    for check_id in ("SIG-04", "MAL-01"):
        assert f"SKIP  {check_id}  not judged: no genuine delivery was acknowledged (answered 404, SIG-01)" in lost.out
    assert "PASS  SIG-10" in lost.out  # what error answers show stands on its own
    # the summary says where fleetsim posted and how to move it
    assert "note: genuine deliveries were answered as if nothing were there: fleetsim posted smartgps to " \
           "/smartgps (404)" in lost.out and "{smartgps: {url: /your/path}}" in lost.out
    settings = tmp_path / "settings.yaml"
    settings.write_text("providers:\n  smartgps: {url: /hooks/gps}\n")
    found = cli("check", "--provider", "smartgps", "--app", spec, "--settings", str(settings))
    assert found.code == 0, found
    assert f"smartgps: {APP_URL}/hooks/gps" in found.out and "PASS  SIG-01" in found.out
    assert "as if nothing were there" not in found.out


@pytest.mark.parametrize("seed", ["1", "2", "4"])
def test_a_message_of_a_kind_to_come_is_no_known_kind_however_kinds_are_told_apart(cli: Cli, seed: str) -> None:
    # MAL-03's MettaX message once kept a known kind's other fields (a GPS fix's `course`, a DeviceInfo's `acc`)
    # with only fleetsim's own markers taken out: a receiver recognising kinds by those refused it as that kind
    # missing a required field, and failed
    result = cli("check", "--provider", "mettax", "--app", f"{APPS}.mettax_by_fields:app", "--only", "MAL-03",
                 "--seed", seed)
    assert result.code == 0 and "PASS  MAL-03" in result.out, result.out


def test_a_mettax_token_in_the_settings_is_probed_and_a_receiver_ignoring_it_fails(cli: Cli, tmp_path: Path) -> None:
    # the token was sent but never left out nor got wrong: a receiver that ignores it passed every check
    settings = tmp_path / "settings.yaml"
    settings.write_text('providers:\n  mettax: {token: "Bearer mx-t0ken-4f7a9c2e1b", token_header: X-Api-Token}\n')
    result = cli("check", "--provider", "mettax", "--app", f"{APPS}.mettax_by_fields:app", "--settings",
                 str(settings), "--only", "SIG-01,SIG-02,SIG-09")
    assert result.code == 1, result.out
    assert "PASS  SIG-01" in result.out and "FAIL  SIG-02" in result.out and "FAIL  SIG-09" in result.out
    assert "mx-t0ken" not in result.out + result.err  # the token, never shown
    unconfigured = cli("check", "--provider", "mettax", "--app", f"{APPS}.mettax_by_fields:app",
                       "--only", "SIG-01,SIG-02,SIG-09")
    assert unconfigured.code == 0 and "SKIP  SIG-02  mettax authenticates nothing as configured" in unconfigured.out
