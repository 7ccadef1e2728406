"""`fleetsim run`/`replay` check everything the user gave before any work starts, and tell what they did."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from simulator.cli.run_cmd import Progress
from simulator.delivery.ledger import Ledger
from tests.conftest import CliResult

TINY = """
name: inputs
seed: 4
start: "2026-03-03T08:00:00"
duration: 1h
region: {city: chicago}
fleet:
  - {name: g, count: 2, provider: smartgps, profile: van}
delivery:
  rate: max
  providers:
    smartgps: {secret: "inputs-secret"}
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(TINY)
    return path


@pytest.mark.parametrize(("args", "expected"), [
    (["--report", "json:/nonexistent/dir/r.json"], "directory '/nonexistent/dir' does not exist"),
    (["--report", "junit:/"], "is a directory"),
    (["--capture", "/proc/version"], "kernel or device file"),
    (["--capture", "/nonexistent/c.ndjson"], "does not exist"),
    (["--target", "http://127.0.0.1:99999"], "--target"),
    (["--target", "http://[::1"], "--target"),
])
def test_mistakes_are_exit_2_before_anything_is_sent(cli: Callable[..., CliResult], scenario: Path,
                                                     args: list[str], expected: str) -> None:
    began = time.monotonic()
    result = cli("run", str(scenario), "--target", "http://127.0.0.1:9", *args)
    assert result.code == 2, result.err
    assert result.out == "" and len(result.err.splitlines()) == 1
    assert result.err.startswith("fleetsim: error:") and expected in result.err
    assert time.monotonic() - began < 5


def test_an_unknown_http_client_is_exit_2_before_anything_is_sent(cli: Callable[..., CliResult], scenario: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """FLEETSIM_TRANSPORT is read when the run sets up its sending: no summary of a run that never began."""
    monkeypatch.setenv("FLEETSIM_TRANSPORT", "curl")
    result = cli("run", str(scenario), "--target", "http://127.0.0.1:9")
    assert result.code == 2, result.err
    assert result.out == "" and len(result.err.splitlines()) == 1
    assert "FLEETSIM_TRANSPORT='curl': expected 'h1' or 'aiohttp'" in result.err


def test_a_bad_url_in_the_settings_file_is_exit_2(cli: Callable[..., CliResult], scenario: Path,
                                                  tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("providers:\n  smartgps: {url: 'http://127.0.0.1:70000/x'}\n")
    result = cli("run", str(scenario), "--settings", str(settings))
    assert result.code == 2 and "providers.smartgps.url" in result.err and len(result.err.splitlines()) == 1


def test_without_a_target_the_run_shows_what_the_reference_receiver_made_of_it(
        cli: Callable[..., CliResult], scenario: Path) -> None:
    result = cli("run", str(scenario), "--limit", "20", "--quiet")
    assert result.code == 0, result.out + result.err
    assert "what the reference receiver made of it:" in result.out
    view = result.out.split("what the reference receiver made of it:")[1]
    row = next(line for line in view.splitlines() if line.startswith("smartgps "))
    assert row.split()[1] == "20"  # accepted by the receiver, as delivered by fleetsim
    assert "verdict: PASS" in result.out


def test_progress_goes_to_ci_logs_as_whole_lines_every_10_seconds() -> None:
    stream = io.StringIO()
    progress = Progress(quiet=False, stream=stream)
    assert not progress.tty and progress.enabled and progress.every_s == 10.0
    progress(Ledger().snapshot(10.0))
    progress(Ledger().snapshot(20.0))
    progress.finish()
    lines = stream.getvalue().split("\n")
    assert len(lines) == 3 and lines[-1] == "" and "\r" not in stream.getvalue()
    assert lines[0].startswith("[    10.0s]")
    assert not Progress(quiet=True, stream=io.StringIO()).enabled


def test_progress_on_a_terminal_redraws_one_line() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    progress = Progress(quiet=False, stream=stream)
    assert progress.every_s == 1.0
    progress(Ledger().snapshot(1.0))
    progress(Ledger().snapshot(2.0))
    progress.finish()
    assert stream.getvalue().count("\r") == 2 and stream.getvalue().endswith("\n")


def test_replay_of_a_redacted_capture_says_resign_is_needed(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """PowUnity's PSK is redacted in captures; a byte-for-byte replay must say why the receiver answers 401."""
    scenario = tmp_path / "pow.yaml"
    scenario.write_text(TINY.replace("provider: smartgps, profile: van", "provider: powunity, profile: e-bike")
                        .replace('smartgps: {secret: "inputs-secret"}', 'powunity: {psk: "Bearer pow-psk-1"}'))
    capture = tmp_path / "c.ndjson"
    first = cli("run", str(scenario), "--limit", "5", "--quiet", "--capture", str(capture))
    assert first.code == 0, first.out + first.err
    lines = [json.loads(line) for line in capture.read_text().splitlines()]
    assert lines and all(line["headers"]["Authorization"] == "<redacted>" for line in lines)
    # replay against a receiver that requires the PSK: `fleetsim receiver` semantics, started in a thread
    from simulator.scenario.loader import load_scenario
    from simulator.servers.serving import start_receiver, stop_receiver
    from simulator.servers.store import Store

    settings = load_scenario(scenario).delivery.providers
    loop = asyncio.new_event_loop()
    store = Store()
    server, url = loop.run_until_complete(start_receiver(settings, store))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        result = cli("replay", str(capture), "--target", url)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(stop_receiver(server))
        loop.run_until_complete(store.close())
        loop.close()
    assert result.code == 1
    assert "HTTP 401 (its Authorization was redacted in the capture: use --resign --settings FILE)" in result.out
    assert "note: 5 requests had Authorization redacted in the capture" in result.out


TWO_PROVIDERS = TINY.replace(
    "  - {name: g, count: 2, provider: smartgps, profile: van}\n",
    "  - {name: g, count: 2, provider: smartgps, profile: van}\n"
    "  - {name: m, count: 2, provider: mettax, profile: van}\n")


@pytest.mark.parametrize(("given", "expected"), [
    ("smartgsp", "unknown provider 'smartgsp'; did you mean 'smartgps'?"),
    ("samsara", "--provider samsara: scenario 'inputs' has no samsara device (its providers: mettax, smartgps)"),
    (",", "--provider: give at least one provider"),
])
def test_a_provider_the_scenario_lacks_is_exit_2(cli: Callable[..., CliResult], tmp_path: Path, given: str,
                                                 expected: str) -> None:
    (tmp_path / "two.yaml").write_text(TWO_PROVIDERS)
    result = cli("run", str(tmp_path / "two.yaml"), "--provider", given, "--target", "http://127.0.0.1:9")
    assert result.code == 2 and len(result.err.splitlines()) == 1 and expected in result.err, result.err


def test_provider_delivers_only_the_providers_named(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    (tmp_path / "two.yaml").write_text(TWO_PROVIDERS)
    whole = cli("run", str(tmp_path / "two.yaml"), "--limit", "40", "--quiet", "--report", f"json:{tmp_path}/a.json")
    only = cli("run", str(tmp_path / "two.yaml"), "--provider", "mettax", "--limit", "40", "--quiet",
               "--report", f"json:{tmp_path}/m.json")
    assert whole.code == 0 and only.code == 0, only.out + only.err
    assert set(json.loads((tmp_path / "a.json").read_text())["summary"]["providers"]) == {"mettax", "smartgps"}
    report = json.loads((tmp_path / "m.json").read_text())
    assert set(report["summary"]["providers"]) == {"mettax"}
    assert report["summary"]["totals"]["generated"] == 40  # the limit counts the named provider's events only
    assert "note: left out with --provider: smartgps (their devices not simulated)" in only.out


def test_a_provider_whose_every_attempt_is_refused_gets_a_hint(cli: Callable[..., CliResult], scenario: Path) -> None:
    from aiohttp import web

    from tests.conformance.flawed import on_a_thread, serve

    async def not_here(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=404)

    app = web.Application()
    app.router.add_post("/elsewhere", not_here)
    with on_a_thread(serve(app)) as url:
        result = cli("run", str(scenario), "--target", url, "--limit", "3", "--quiet")
    assert result.code == 1
    assert (f"note: smartgps: every attempt was refused (4xx) and nothing was delivered: a 404/405 says your "
            f"receiver does not serve {url}/smartgps (give its path in the smartgps url setting") in result.out, \
        result.out


def test_a_mettax_token_is_probed_with_a_wrong_one(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # MettaX signs nothing: with a token configured, tamper_signature sends a wrong token of the same shape
    from simulator.servers.receiver import build_app
    from simulator.servers.store import Store
    from tests.conformance.flawed import on_a_thread, serve, settings

    token = "mettax-run-token-0123456789"
    (tmp_path / "token.yaml").write_text(f"providers:\n  mettax: {{token: {token}}}\n")
    args = ["demo-city", "--provider", "mettax", "--settings", str(tmp_path / "token.yaml"), "--limit", "300",
            "--quiet", "--rate", "max"]
    checked = cli("run", *args)  # the reference receiver, given the same settings, checks the token
    assert checked.code == 0 and "mettax    tampered_signature" in checked.out, checked.out
    store = Store()
    with on_a_thread(serve(build_app(settings(), store), store)) as url:  # no token there: it checks nothing
        ignored = cli("run", *args, "--target", url)
    assert ignored.code == 1 and "RECEIVER BUG" in ignored.out, ignored.out
    assert token not in checked.out + checked.err + ignored.out + ignored.err


def test_a_provider_that_signs_without_a_secret_is_exit_2(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # unsigned Samsara requests were refused (401) by every correct receiver and retried for over a minute
    (tmp_path / "nosecret.yaml").write_text(TINY.replace('smartgps: {secret: "inputs-secret"}', "smartgps: {}"))
    result = cli("run", str(tmp_path / "nosecret.yaml"), "--limit", "3")
    assert result.code == 2 and len(result.err.splitlines()) == 1, result.err
    assert "smartgps signs its requests and no secret is configured for it" in result.err
    assert "(providers: {smartgps: {secret: ...}})" in result.err
    # the hint names the key the provider takes: PowUnity's is psk ("secret" is an unknown field there)
    bikes = TINY.replace("provider: smartgps", "provider: powunity").replace(
        'smartgps: {secret: "inputs-secret"}', "powunity: {}").replace("profile: van", "profile: e-bike")
    (tmp_path / "nopsk.yaml").write_text(bikes)
    result = cli("run", str(tmp_path / "nopsk.yaml"), "--limit", "3")
    assert result.code == 2 and "(providers: {powunity: {psk: ...}})" in result.err, result.err


def test_generate_says_when_a_signing_provider_has_no_secret(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    (tmp_path / "nosecret.yaml").write_text(TINY.replace('smartgps: {secret: "inputs-secret"}', "smartgps: {}"))
    unsigned = cli("generate", "--scenario", str(tmp_path / "nosecret.yaml"), "--limit", "2")
    assert unsigned.code == 0 and len(unsigned.lines) == 2
    assert "note: smartgps signs its requests, and the scenario gives it no secret" in unsigned.err
    assert "X-SmartGPS-Signature" not in unsigned.out
    (tmp_path / "signed.yaml").write_text(TINY)
    with_secret = cli("generate", "--scenario", str(tmp_path / "signed.yaml"), "--limit", "1")
    assert with_secret.err == "" and "X-SmartGPS-Signature" in with_secret.out


def test_settings_for_a_provider_the_scenario_lacks_are_named(cli: Callable[..., CliResult], scenario: Path,
                                                              tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text("providers:\n  mettax: {token: mettax-token-of-another-scenario}\n")
    result = cli("run", str(scenario), "--settings", str(tmp_path / "other.yaml"), "--limit", "2", "--quiet")
    assert result.code == 0, result.err
    assert "sets mettax, which scenario 'inputs' has no devices of (its providers: smartgps): not used" in result.err
    assert "mettax-token-of-another-scenario" not in result.out + result.err


BIG = TINY.replace("  - {name: g, count: 2, provider: smartgps, profile: van}",
                   "  - {name: g, count: 2, provider: smartgps, profile: van}\n"
                   "  - {name: vans, count: 2000, provider: mettax, profile: van}")


def test_a_large_fleet_is_said_to_cost_memory_and_start_up(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # 2,000 devices keep their planned trips in memory (docs/architecture.md, "Large fleets"): said before the work
    (tmp_path / "big.yaml").write_text(BIG)
    whole = cli("generate", "--scenario", str(tmp_path / "big.yaml"), "--limit", "1")
    assert whole.code == 0 and len(whole.lines) == 1
    assert "note: scenario 'inputs' simulates 2,002 devices: each keeps its planned trip in memory (about 0.15 MB, " \
           "so about 0.3 GB here)" in whole.err
    # only the devices a command simulates count: the vans are not simulated for smartgps alone
    one = cli("generate", "smartgps", "--scenario", str(tmp_path / "big.yaml"), "--limit", "1")
    assert one.code == 0 and "devices" not in one.err


def test_the_large_fleet_note_starts_at_2000_devices(capsys: pytest.CaptureFixture[str]) -> None:
    from simulator.cli.common import note_fleet_size
    from simulator.scenario.loader import load_scenario_text

    for vans, said in ((1997, False), (1998, True), (9998, True)):  # and 2 smartgps devices
        note_fleet_size(load_scenario_text(BIG.replace("count: 2000", f"count: {vans}"), "<big>"))
        err = capsys.readouterr().err
        assert ("simulates" in err) is said, (vans, err)
    assert "simulates 10,000 devices" in err and "about 1.5 GB here" in err
    note_fleet_size(load_scenario_text(BIG.replace("count: 2000", "count: 9998"), "<big>"), {"mettax"})
    assert "simulates 9,998 devices" in capsys.readouterr().err
    note_fleet_size(load_scenario_text(BIG.replace("count: 2000", "count: 9998"), "<big>"), {"smartgps"})
    assert capsys.readouterr().err == ""


def test_run_needs_only_its_own_providers_secret_variables(cli: Callable[..., CliResult], scenario: Path,
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI_SAMSARA_SECRET", raising=False)
    shared = tmp_path / "shared.yaml"
    shared.write_text("providers:\n  samsara: {secret_env: CI_SAMSARA_SECRET}\n")
    result = cli("run", str(scenario), "--settings", str(shared), "--limit", "2", "--quiet")
    assert result.code == 0 and "CI_SAMSARA_SECRET" not in result.err, result.err


def test_a_request_re_sent_after_a_dropped_keep_alive_connection_is_said(
        cli: Callable[..., CliResult], scenario: Path, tmp_path: Path) -> None:
    # a receiver that reads the second request of each connection and drops it without an answer: the transport
    # sends that request again on a fresh connection (catalogue H-3.5); the receiver read it twice, and the run
    # said it had sent each event once
    received = []

    async def drop_every_second(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for turn in (1, 2):
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            await reader.readexactly(length)
            received.append(turn)
            if turn == 2:
                break
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n")
            await writer.drain()
        writer.close()

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(asyncio.start_server(drop_every_second, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    report = tmp_path / "r.json"
    try:
        result = cli("run", str(scenario), "--target", f"http://127.0.0.1:{port}", "--limit", "20",
                     "--concurrency", "1", "--report", f"json:{report}")
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    summary = json.loads(report.read_text())["summary"]
    attempts = summary["totals"]["attempts"]
    resends = summary["run"]["stale_resends"].get("smartgps", 0)
    assert resends > 0 and len(received) == attempts + resends, (len(received), attempts, resends)
    assert (f"note: re-sent once on a fresh connection after a reused keep-alive connection closed with no answer: "
            f"smartgps {resends} request(s)") in result.out


def test_replay_resign_refuses_a_line_it_cannot_sign_before_sending(cli: Callable[..., CliResult],
                                                                   tmp_path: Path) -> None:
    # it sent the line with its old signature and reported the receiver's 401, exit 1
    scenario = tmp_path / "s.yaml"
    scenario.write_text(TINY)
    capture = tmp_path / "c.ndjson"
    assert cli("run", str(scenario), "--limit", "2", "--quiet", "--capture", str(capture)).code == 0
    record = json.loads(capture.read_text().splitlines()[0])
    typo = tmp_path / "typo.ndjson"
    typo.write_text(json.dumps({**record, "provider": "smartgsp"}) + "\n")
    settings = tmp_path / "settings.yaml"
    settings.write_text('providers:\n  smartgps: {secret: "inputs-secret"}\n')
    refused = cli("replay", str(typo), "--target", "http://127.0.0.1:9", "--resign", "--settings", str(settings))
    assert refused.code == 2 and refused.err.count("\n") == 1, refused.err
    assert f"{typo}:1: provider: unknown provider 'smartgsp'" in refused.err
    no_secret = tmp_path / "other.yaml"
    no_secret.write_text('providers:\n  samsara: {secret: "c2Ftc2FyYS10ZXN0LXNlY3JldC0wMDAx"}\n')
    refused = cli("replay", str(capture), "--target", "http://127.0.0.1:9", "--resign", "--settings", str(no_secret))
    assert refused.code == 2 and "--resign: the settings have no smartgps secret" in refused.err, refused.err
