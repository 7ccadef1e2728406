"""The passwords and tokens of powunity's `accounts` setting (the users of `fleetsim serve`) never reach any
output: a run's capture and reports, a check's json/junit/html reports, serve's logs and stderr, an error line
about a bad setting. The receivers here are worse than any real one: they know the accounts and echo them back
in their bodies and headers, so only redaction by value can keep them out."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from simulator.delivery.redaction import Redactor, secrets_in_settings
from simulator.settings import load_settings
from simulator.signing import Secret
from tests.conftest import CliResult

from ..simulator.servers.serve_process import serving

PASSWORD = "acct-Passw0rd-7731"
TOKEN = "acct-token-5e9d0c"
OTHER_PASSWORD = "second-user-pw-2219"
FORMS = (PASSWORD, TOKEN, OTHER_PASSWORD, base64.b64encode(PASSWORD.encode()).decode().rstrip("="),
         base64.b64encode(f"ops@example.com:{PASSWORD}".encode()).decode())

SETTINGS = f"""
providers:
  powunity:
    psk: "Bearer psk-value-for-accounts"
    accounts:
      - {{email: ops@example.com, password: "{PASSWORD}", token: "{TOKEN}", administrator: true}}
      - {{email: viewer@example.com, password: "{OTHER_PASSWORD}", devices: [bikes/1]}}
"""

SCENARIO = """
name: account-leak
seed: 3
start: "2026-03-03T08:00:00"
duration: 1h
region: {city: chicago}
report_intervals: {moving: 5s}
fleet:
  - {name: bikes, count: 2, provider: powunity, profile: e-bike, risk: high}
injections:
  - {at: 1m, device: bikes/1, event: sos}
delivery: {rate: max}
"""


async def knowing_echo(request: web.Request) -> web.Response:
    """A receiver that knows the accounts (it shares the settings file) and quotes them at every chance."""
    await request.read()
    return web.Response(status=401, text=json.dumps({"users": [{"password": PASSWORD, "token": TOKEN},
                                                               {"password": OTHER_PASSWORD}],
                                                     "hint": f"try Bearer {TOKEN}"}),
                        headers={"X-Debug-Password": PASSWORD, "Location": f"/login?token={TOKEN}"})


def _write(tmp_path: Path) -> tuple[Path, Path]:
    scenario, settings = tmp_path / "scenario.yaml", tmp_path / "settings.yaml"
    scenario.write_text(SCENARIO)
    settings.write_text(SETTINGS)
    return scenario, settings


def _assert_clean(texts: dict[str, str]) -> None:
    for name, text in texts.items():
        for form in FORMS:
            assert form not in text, f"{form!r} leaked into {name}"


def test_the_loader_makes_every_password_and_token_a_secret_and_the_redactor_knows_them(tmp_path: Path) -> None:
    _, path = _write(tmp_path)
    accounts = load_settings(path).providers["powunity"]["accounts"]
    assert [type(a["password"]) for a in accounts] == [Secret, Secret]
    assert accounts[0]["token"] == Secret(TOKEN.encode()) and "email" in accounts[0]
    assert PASSWORD not in repr(accounts) and TOKEN not in str(accounts)
    found = secrets_in_settings(load_settings(path).providers)
    assert {PASSWORD.encode(), TOKEN.encode(), OTHER_PASSWORD.encode()} <= set(found)
    # settings built in code (plain text) are found at any depth too
    plain = {"powunity": {"accounts": [{"email": "a@b.c", "password": PASSWORD, "token": TOKEN}]}}
    redactor = Redactor.from_settings(plain)
    assert redactor.text(f"pw={PASSWORD} tok={TOKEN} a@b.c") == "pw=<redacted> tok=<redacted> a@b.c"


@pytest.fixture
def knowing_url() -> Iterator[str]:
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", knowing_echo)
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.run_until_complete(runner.cleanup())
    loop.close()


def test_a_run_against_a_knowing_receiver_leaks_no_account_into_capture_reports_or_terminal(
        tmp_path: Path, knowing_url: str, cli: Callable[..., CliResult]) -> None:
    scenario, settings = _write(tmp_path)
    outputs = [tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "capture.ndjson"]
    result = cli("run", str(scenario), "--target", knowing_url, "--settings", str(settings), "--limit", "20",
                 "--report", f"json:{outputs[0]}", "--report", f"junit:{outputs[1]}", "--capture", str(outputs[2]))
    assert result.code == 1, result.err  # every delivery was refused
    report = json.loads(outputs[0].read_text())
    bodies = [a["response_body"] for a in report["summary"]["failed_last_attempts"]]
    assert bodies and all('"users"' in b and "<redacted>" in b for b in bodies)  # the echo did arrive
    _assert_clean({"stdout": result.out, "stderr": result.err, **{p.name: p.read_text() for p in outputs}})


def test_a_check_against_a_knowing_receiver_leaks_no_account_into_any_report(
        tmp_path: Path, knowing_url: str, cli: Callable[..., CliResult]) -> None:
    _, settings = _write(tmp_path)
    reports = {kind: tmp_path / f"report.{kind}" for kind in ("json", "junit", "html")}
    result = cli("check", "--provider", "powunity", "--target", knowing_url, "--settings", str(settings),
                 "--only", "SIG-01,MAL-01", *[f"--report={kind}:{path}" for kind, path in reports.items()])
    assert result.code == 1, result.err  # a receiver that refuses everything fails SIG-01
    texts = {"stdout": result.out, "stderr": result.err, **{p.name: p.read_text() for p in reports.values()}}
    assert "<redacted>" in texts["report.json"]  # what the receiver said is in the report, scrubbed
    _assert_clean(texts)


async def test_serve_logs_and_stderr_never_show_an_account(tmp_path: Path) -> None:
    scenario, settings = _write(tmp_path)
    async with serving("--port", "0", "--scenario", str(scenario), "--settings", str(settings)) as served:
        url = served.line.split(" on ", 1)[1].split()[0].rstrip(",;")
        basic = "Basic " + base64.b64encode(f"ops@example.com:{PASSWORD}".encode()).decode()
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(f"{url}/api/session", data={"email": "ops@example.com", "password": PASSWORD}) as r:
                assert r.status == 200
                assert (await r.json())["token"] == TOKEN  # 4.12 shows a user its own token, and only there
            async with http.get(f"{url}/api/session", params={"token": TOKEN}) as r:
                assert r.status == 200
            async with http.get(f"{url}/api/devices", headers={"Authorization": basic}) as r:
                assert r.status == 200
            for wrong in (f"{PASSWORD}x", TOKEN):  # a failed login is not echoed either
                async with http.post(f"{url}/api/session", data={"email": "ops@example.com", "password": wrong}) \
                        as r:
                    assert r.status == 401
                    assert PASSWORD not in await r.text()
        await served.stop()
    served.assert_stopped_cleanly()
    _assert_clean({"first line": served.line, "stdout": served.out.decode(), "stderr": served.err.decode()})
    assert "ops@example.com" in served.line + served.out.decode()  # the banner names a login, never its password


@pytest.mark.parametrize("account", [
    f'{{email: a@b.c, password: ["{PASSWORD}"]}}',            # the wrong type
    f'{{email: a@b.c, password: "{PASSWORD}", tokn: "{TOKEN}"}}',  # an unknown key beside it
    f'{{email: a@b.c, password: "{PASSWORD}", token: ""}}',    # too short a token
    f'{{email: a@b.c, password: "{PASSWORD}", devices: [bikes/9]}}',  # a device the scenario lacks (serve)
    f'{{email: a@b.c, password: "{PASSWORD}", administrator: "{TOKEN}"}}',  # a secret where a flag belongs
    f'{{email: "{PASSWORD}"}}',                                 # no password: the message names the field
])
@pytest.mark.parametrize("command", ["serve", "run", "check"])
def test_a_bad_accounts_setting_is_one_line_and_exit_2_without_the_secret(
        tmp_path: Path, cli: Callable[..., CliResult], account: str, command: str) -> None:
    scenario = str(_write(tmp_path)[0])  # two bikes: bikes/9 is not one of them
    settings = tmp_path / "bad.yaml"
    settings.write_text(f"providers:\n  powunity:\n    accounts:\n      - {account}\n")
    args = {"serve": ["serve", "--port", "0", "--scenario", scenario],
            "run": ["run", scenario, "--target", "http://127.0.0.1:9"],
            "check": ["check", "--provider", "powunity", "--target", "http://127.0.0.1:9"]}[command]
    if command != "serve" and "bikes/9" in account:
        return  # only serve links devices to users: for run and check that setting is well-formed
    result = cli(*args, "--settings", str(settings))
    assert result.code == 2, (result.code, result.err)
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert "accounts[0]" in result.err or "bad.yaml" in result.err, result.err
    _assert_clean({"stdout": result.out, "stderr": result.err})


def test_a_yaml_mistake_on_a_password_line_does_not_quote_the_line(tmp_path: Path,
                                                                    cli: Callable[..., CliResult]) -> None:
    scenario = str(_write(tmp_path)[0])
    settings = tmp_path / "bad.yaml"
    settings.write_text(f'providers:\n  powunity:\n    accounts:\n      - {{email: a@b.c, password: "{PASSWORD}}}\n')
    result = cli("serve", "--port", "0", "--scenario", scenario, "--settings", str(settings))
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result.err
    _assert_clean({"stdout": result.out, "stderr": result.err})
