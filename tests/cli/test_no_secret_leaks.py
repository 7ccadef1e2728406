"""No configured secret reaches any output, even when the receiver echoes what it was sent: its 401 body quotes
every request header, and its response headers repeat the credential. Every artifact is searched for every form
a secret can take (raw, base64, the token word of "Bearer <token>")."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.conftest import CliResult

PSK_TOKEN = "powunityPSKvalue42"
PSK = f"Bearer {PSK_TOKEN}"
METTAX_TOKEN = "mettax-static-token-77"
SMARTGPS_SECRET = "smartgps-shared-secret-9"
SAMSARA_KEY = b"samsara-raw-key-bytes-01"
SAMSARA_SECRET = base64.b64encode(SAMSARA_KEY).decode()
FORMS = (PSK, PSK_TOKEN, METTAX_TOKEN, SMARTGPS_SECRET, SAMSARA_SECRET, SAMSARA_SECRET.rstrip("="),
         SAMSARA_KEY.decode())

SCENARIO = """
name: leak-test
seed: 2
start: "2026-03-03T08:00:00"
duration: 2h
region: {city: chicago}
report_intervals: {moving: 5s}
fleet:
  - {name: bikes, count: 2, provider: powunity, profile: e-bike, risk: high}
  - {name: vans, count: 2, provider: mettax, profile: van, risk: high, features: [dms]}
  - {name: trucks, count: 2, provider: smartgps, profile: truck, risk: high}
  - {name: reefers, count: 2, provider: samsara, profile: truck, risk: high, features: [reefer]}
injections:
  - {at: 1m, device: bikes/1, event: sos}
  - {at: 2m, device: trucks/1, event: sos}
delivery:
  rate: max
  faults: {tamper_signature: 0.2, duplicate: 0.1}
"""

SETTINGS = f"""
providers:
  powunity: {{psk: "{PSK}"}}
  mettax: {{token: "{METTAX_TOKEN}", token_header: X-Api-Token}}
  smartgps: {{secret: "{SMARTGPS_SECRET}"}}
  samsara: {{secret: "{SAMSARA_SECRET}"}}
"""


async def echo(request: web.Request) -> web.Response:
    """The worst receiver: rejects everything and quotes the request back, headers and all."""
    headers = dict(request.headers)
    credential = headers.get("Authorization") or headers.get("X-Api-Token") or "none"
    return web.Response(status=401, text=json.dumps({"you_sent": headers, "body": await request.text()}),
                        headers={"X-Request-Id": credential, "Location": f"/login?token={credential}"})


@pytest.fixture
def echo_url() -> Iterator[str]:
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.run_until_complete(runner.cleanup())
    loop.close()


def test_an_echoing_receiver_cannot_leak_a_secret_into_any_output(
        tmp_path: Path, echo_url: str, cli: Callable[..., CliResult]) -> None:
    scenario = tmp_path / "leak.yaml"
    scenario.write_text(SCENARIO)
    settings = tmp_path / "settings.yaml"
    settings.write_text(SETTINGS)
    outputs = [tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "capture.ndjson"]
    result = cli("run", str(scenario), "--target", echo_url, "--settings", str(settings), "--limit", "60",
                 "--time-scale", "1000000", "--report", f"json:{outputs[0]}", "--report", f"junit:{outputs[1]}",
                 "--capture", str(outputs[2]))
    assert result.code == 1  # everything was refused
    report = json.loads(outputs[0].read_text())
    # the echo did reach fleetsim (so this test can see a leak if redaction breaks)
    bodies = [a["response_body"] for a in report["summary"]["failed_last_attempts"]]
    assert bodies and all("you_sent" in b for b in bodies)
    assert any("<redacted>" in b for b in bodies)
    texts = {"stdout": result.out, "stderr": result.err, **{p.name: p.read_text() for p in outputs}}
    for name, text in texts.items():
        for form in FORMS:
            assert form not in text, f"{form!r} leaked into {name}"
    # the capture redacts credential headers by value, whatever their name
    lines = [json.loads(line) for line in outputs[2].read_text().splitlines()]
    mettax = [line for line in lines if line["provider"] == "mettax"]
    powunity = [line for line in lines if line["provider"] == "powunity"]
    assert mettax and all(line["headers"]["X-Api-Token"] == "<redacted>" for line in mettax)
    assert powunity and all(line["headers"]["Authorization"] == "<redacted>" for line in powunity)
    # signatures are not secrets: they stay, so the capture can be checked and replayed
    smartgps = [line for line in lines if line["provider"] == "smartgps"]
    assert smartgps and all(line["headers"]["X-SmartGPS-Signature"].startswith("sha256=") for line in smartgps)


def test_a_short_token_echoed_back_is_scrubbed_too(
        tmp_path: Path, echo_url: str, cli: Callable[..., CliResult]) -> None:
    # a 4-character MettaX token is a weak secret, but still one: the echo quotes it as a header value, in the
    # Location query and inside the JSON of the 401 body, each a token of its own
    short = "7Qk2"
    scenario = tmp_path / "leak.yaml"
    scenario.write_text(SCENARIO)
    settings = tmp_path / "settings.yaml"
    settings.write_text(SETTINGS.replace(METTAX_TOKEN, short))
    outputs = [tmp_path / "r.json", tmp_path / "capture.ndjson"]
    result = cli("run", str(scenario), "--target", echo_url, "--settings", str(settings),
                 "--limit", "60", "--time-scale", "1000000", "--report", f"json:{outputs[0]}",
                 "--capture", str(outputs[1]))
    assert result.code == 1
    report = json.loads(outputs[0].read_text())
    bodies = [a["response_body"] for a in report["summary"]["failed_last_attempts"]]
    # the MettaX requests' echoes reached fleetsim, token and all (so a leak would show)
    assert any('"X-Api-Token": "<redacted>"' in b for b in bodies)
    for name, text in {"stdout": result.out, "stderr": result.err, **{p.name: p.read_text() for p in outputs}}.items():
        assert short not in text, f"the short token leaked into {name}"


URL_PASSWORD = "url-pass@word-5150"  # an '@' a user did not percent-encode: URL parsers take the last one
URL_TOKEN = "query-token-8086"


async def echo_basic(request: web.Request) -> web.Response:
    """Refuses every delivery, quoting its Basic credentials back: as sent, and decoded."""
    sent = request.headers.get("Authorization", "")
    decoded = base64.b64decode(sent.removeprefix("Basic ")).decode() if sent.startswith("Basic ") else ""
    return web.Response(status=401, text=json.dumps({"authorization": sent, "decoded": decoded,
                                                     "password": decoded.partition(":")[2]}))


def test_credentials_in_the_target_url_are_sent_but_never_shown(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    # the target's user:password@ goes out as Basic auth: a receiver echoing it, and the run's own notes
    # (the "every attempt was refused" hint names the endpoint), must not show the password or its Basic form
    from tests.conformance.flawed import on_a_thread, serve

    app = web.Application()
    app.router.add_post("/{tail:.*}", echo_basic)
    scenario = tmp_path / "leak.yaml"
    # PowUnity and MettaX send an Authorization header of their own, which credentials in a URL cannot go with
    scenario.write_text("\n".join(line for line in SCENARIO.splitlines()
                                  if "bikes" not in line and "vans" not in line))
    settings = tmp_path / "settings.yaml"
    settings.write_text(f'providers:\n  smartgps: {{secret: "{SMARTGPS_SECRET}"}}\n'
                        f'  samsara: {{secret: "{SAMSARA_SECRET}", url: "URL/samsara?api_key={URL_TOKEN}"}}\n')
    with on_a_thread(serve(app)) as url:
        settings.write_text(settings.read_text().replace("URL", url))
        with_password = url.replace("http://", f"http://hook:{URL_PASSWORD}@")
        report = tmp_path / "r.json"
        result = cli("run", str(scenario), "--target", with_password, "--settings", str(settings), "--limit", "20",
                     "--time-scale", "1000000", "--report", f"json:{report}")
    assert result.code == 1, result.out + result.err
    bodies = [a["response_body"] for a in json.loads(report.read_text())["summary"]["failed_last_attempts"]]
    assert any('"authorization": "Basic <redacted>"' in b for b in bodies), bodies  # the echo did come back
    assert "every attempt was refused" in result.out and "http://hook:***@" in result.out
    basic = base64.b64encode(f"hook:{URL_PASSWORD}".encode()).decode()
    for name, text in {"stdout": result.out, "stderr": result.err, "r.json": report.read_text()}.items():
        for form in (URL_PASSWORD, basic, URL_TOKEN, "word-5150"):
            assert form not in text, f"{form!r} leaked into {name}"
