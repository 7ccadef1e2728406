"""POST /drivers/{id}/send-test-event: a real, signed sample event delivered over real HTTPS (a trustme CA) to
receivers that are good, slow, refuse gzip, answer 500, or cannot be reached, graded exactly as seed 002 shows."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web

from simulator.delivery.transport import trust_context
from simulator.servers.serving import start_receiver, stop_receiver
from simulator.servers.store import Store
from simulator.servers.timeouts import ConnectionGuard
from simulator.signing import SIGNERS, CIHeaders, Secret

from .support import MANAGE, READ, Api, demo, serving

SEED_OK = {"data": {"success": True, "checks": {
    "valid_url": {"result": "succeeded", "message": "URL é válida"},
    "https": {"result": "succeeded", "message": "URL usa HTTPS"},
    "gzip": {"result": "succeeded", "message": "Servidor aceita compressão gzip"},
    "timeout": {"result": "succeeded", "message": "Timeout adequado"},
    "post_success": {"result": "succeeded", "message": "POST retornou código 2xx"}}}}
SEED_HTTP = {"data": {"success": False, "checks": {
    "valid_url": {"result": "succeeded", "message": "URL é válida"},
    "https": {"result": "failed", "message": "URL deve usar HTTPS"},
    "gzip": {"result": "skipped", "message": None},
    "timeout": {"result": "skipped", "message": None},
    "post_success": {"result": "skipped", "message": None}}}}
SMARTGPS_SECRET = Secret(b"fleetsim-demo-smartgps-secret")  # demo-city.yaml's


@dataclass
class Seen:
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


Behaviour = Callable[[web.Request, Seen], Awaitable[web.Response]]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@asynccontextmanager
async def receiver(ca: trustme.CA, behaviour: Behaviour) -> AsyncIterator[tuple[str, Seen]]:
    """A plain aiohttp HTTPS server with a certificate of `ca` for 127.0.0.1."""
    seen = Seen()

    async def handle(request: web.Request) -> web.Response:
        seen.requests.append((dict(request.headers), await request.read()))  # aiohttp inflates gzip bodies
        return await behaviour(request, seen)

    app = web.Application()
    app.router.add_post("/webhooks", handle)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    try:
        yield f"https://127.0.0.1:{runner.addresses[0][1]}/webhooks", seen
    finally:
        await runner.cleanup()


@asynccontextmanager
async def drivers_api(ca: trustme.CA, **options: Any) -> AsyncIterator[Api]:
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    async with serving(ssl_context=trusted, **options) as api:
        yield api


async def fire(api: Api, slug: str, url: str, event: str, headers: dict[str, str] | None = None,
                     ) -> tuple[int, Any]:
    driver = await api.driver(slug)
    return await api.call("POST", "/drivers/{id}/send-test-event", id=driver["id"], headers=headers,
                          json={"webhook_url": url, "event_name": event})


async def ok(request: web.Request, seen: Seen) -> web.Response:
    return web.json_response({"ok": True})


async def test_a_good_https_receiver_gets_a_signed_event_and_all_checks_succeed(ca: trustme.CA) -> None:
    async with drivers_api(ca) as api, receiver(ca, ok) as (url, seen):
        status, body = await fire(api, "smartgps", url, "event")
    assert (status, body) == (200, SEED_OK)
    assert len(seen.requests) == 1  # the compressed delivery was taken: nothing more to send
    headers, raw = seen.requests[0]
    assert headers["Content-Encoding"] == "gzip"
    document = json.loads(raw)
    assert document["event"]  # a SmartGPS event, as the provider renders it
    verdict = SIGNERS["smartgps"].verify(raw, _ci(headers), [SMARTGPS_SECRET], now=0, tolerance=10**10)
    assert verdict.ok, verdict.reason


@pytest.mark.parametrize(("slug", "event"), [("smartgps", "event"), ("samsara", "alert_v1"), ("mettax", "gps")])
async def test_fleetsims_own_reference_receiver_passes_every_check(ca: trustme.CA, slug: str, event: str) -> None:
    """The reference receiver, over https with the same settings: it decodes the gzip delivery, verifies its
    signature over the decoded bytes and processes the event."""
    settings, _ = demo()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    store = Store()
    runner, base = await start_receiver(settings, store, ssl_context=context)
    try:
        async with drivers_api(ca) as api:
            status, body = await fire(api, slug, f"{base}/{slug}", event)
        counts = (await store.counts([slug]))[slug]
    finally:
        await stop_receiver(runner)
        await store.close()
    assert (status, body) == (200, SEED_OK)
    assert counts["accepted"] + counts["ignored"] == 1 and counts["rejected"] == {}


def _ci(headers: dict[str, str]) -> CIHeaders:
    return CIHeaders(list(headers.items()))


async def test_each_test_event_is_a_new_sample(ca: trustme.CA) -> None:
    async with drivers_api(ca) as api, receiver(ca, ok) as (url, seen):
        await fire(api, "samsara", url, "alert_v1")
        await fire(api, "samsara", url, "alert_v1")
    assert seen.requests[0][1] != seen.requests[1][1]


async def test_an_http_url_fails_https_and_skips_the_rest_exactly_as_the_seed(ca: trustme.CA) -> None:
    async with drivers_api(ca) as api, receiver(ca, ok) as (url, seen):
        status, body = await fire(api, "smartgps", url.replace("https://", "http://"), "event")
    assert (status, body) == (400, SEED_HTTP)
    assert seen.requests == []


@pytest.mark.parametrize("url", ["not a url", "https://", "mailto:ops@example.com", "https://x.example:99999/",
                                 "https://exa\x00mple.com/hook", f"https://{'a' * 64}.example.com/hook",
                                 "https://-x.example.com/hook", "https://a..example.com/hook"])
async def test_an_invalid_url_fails_valid_url(ca: trustme.CA, url: str) -> None:
    async with drivers_api(ca) as api:
        status, body = await fire(api, "smartgps", url, "event")
    assert status == 400
    assert body["data"]["checks"]["valid_url"] == {"result": "failed", "message": "URL inválida"}
    assert all(c == {"result": "skipped", "message": None} for n, c in body["data"]["checks"].items()
               if n != "valid_url")


async def refuses_gzip(request: web.Request, seen: Seen) -> web.Response:
    if request.headers.get("Content-Encoding") == "gzip":
        return web.json_response({"error": "unsupported encoding"}, status=415, headers={"Accept-Encoding": "identity"})
    return web.json_response({"ok": True})


async def garbles_gzip(request: web.Request, seen: Seen) -> web.Response:
    # a receiver behind a proxy that passes the compressed bytes through, then cannot parse them
    return web.json_response({}, status=400 if request.headers.get("Content-Encoding") == "gzip" else 200)


@pytest.mark.parametrize(("behaviour", "code"), [(refuses_gzip, 415), (garbles_gzip, 400)])
async def test_a_receiver_that_refuses_gzip_fails_gzip(ca: trustme.CA, behaviour: Behaviour, code: int) -> None:
    async with drivers_api(ca) as api, receiver(ca, behaviour) as (url, seen):
        status, body = await fire(api, "smartgps", url, "event")
    assert status == 400
    checks = body["data"]["checks"]
    assert checks["https"]["result"] == "succeeded"
    assert checks["gzip"] == {"result": "failed", "message": f"Servidor não aceita compressão gzip (código {code})"}
    assert checks["timeout"] == checks["post_success"] == {"result": "skipped", "message": None}
    assert [h.get("Content-Encoding") for h, _ in seen.requests] == ["gzip", None]


async def slow(request: web.Request, seen: Seen) -> web.Response:
    await asyncio.sleep(2)
    return web.json_response({})


async def test_a_slow_receiver_fails_timeout(ca: trustme.CA) -> None:
    async with drivers_api(ca, test_timeout_s=0.3) as api, receiver(ca, slow) as (url, seen):
        status, body = await fire(api, "smartgps", url, "event")
    assert status == 400
    checks = body["data"]["checks"]
    assert [checks[n]["result"] for n in checks] == ["succeeded", "succeeded", "succeeded", "failed", "skipped"]
    assert checks["timeout"]["message"] == "Servidor não respondeu dentro do tempo limite (0.3 s)"
    assert len(seen.requests) == 1  # not sent again: the answer comes within the limit it names


async def test_an_endpoint_that_never_completes_the_tls_handshake_fails_gzip_within_the_limit(
        ca: trustme.CA) -> None:
    """It accepts the TCP connection and says nothing: no certificate was seen, no request made. One attempt,
    answered within the limit (not twice it), `gzip` failed as "could not connect"."""
    silent: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with drivers_api(ca, test_timeout_s=0.5) as api:
            started = time.monotonic()
            status, body = await fire(api, "smartgps", f"https://127.0.0.1:{port}/webhooks", "event")
            took = time.monotonic() - started
    finally:
        for writer in silent:
            writer.close()
        server.close()
        await server.wait_closed()
    assert status == 400
    checks = body["data"]["checks"]
    assert checks["gzip"] == {"result": "failed",
                              "message": "Não foi possível conectar ao servidor (sem resposta em 0.5 s)"}
    assert checks["timeout"] == checks["post_success"] == {"result": "skipped", "message": None}
    assert len(silent) == 1 and took < 0.5 + 0.9  # one connection; a second attempt would take 1.0 s or more


async def test_a_slow_receiver_is_waited_for_past_the_servers_own_body_timeout(ca: trustme.CA) -> None:
    """The request to the drivers API arrived whole; its handler waits on the slow endpoint for longer than the
    API's connection deadlines (LIM-06), and the grade is still answered, not cut off with a 408."""
    guard = ConnectionGuard(0.3, body_timeout_s=0.3)
    async with drivers_api(ca, test_timeout_s=1.0, guard=guard) as api, receiver(ca, slow) as (url, _):
        status, body = await fire(api, "smartgps", url, "event")
    assert status == 400
    assert body["data"]["checks"]["timeout"]["message"] == "Servidor não respondeu dentro do tempo limite (1 s)"
    assert guard.header_timeouts == guard.body_timeouts == 0


async def error_500(request: web.Request, seen: Seen) -> web.Response:
    return web.json_response({"error": "boom"}, status=500)


async def test_a_500_fails_post_success_with_the_real_code(ca: trustme.CA) -> None:
    async with drivers_api(ca) as api, receiver(ca, error_500) as (url, _):
        status, body = await fire(api, "smartgps", url, "event")
    assert status == 400
    checks = body["data"]["checks"]
    assert [checks[n]["result"] for n in checks] == ["succeeded"] * 4 + ["failed"]
    assert checks["post_success"] == {"result": "failed", "message": "POST retornou código 500"}


async def no_content(request: web.Request, seen: Seen) -> web.Response:
    return web.Response(status=204)


async def test_success_is_the_providers_own(ca: trustme.CA) -> None:
    # PowUnity (Traccar) counts only 200 and 201 as delivered; SmartGPS any 2xx
    async with drivers_api(ca) as api, receiver(ca, no_content) as (url, _):
        _, powunity = await fire(api, "powunity", url, "webhook")
        status, smartgps = await fire(api, "smartgps", url, "event")
    assert powunity["data"]["checks"]["post_success"] == {"result": "failed", "message": "POST retornou código 204"}
    assert (status, smartgps) == (200, SEED_OK)


async def test_an_untrusted_certificate_fails_https(ca: trustme.CA) -> None:
    async with serving() as api, receiver(ca, ok) as (url, seen):  # the system's CAs do not know trustme's
        status, body = await fire(api, "smartgps", url, "event")
    assert status == 400
    assert body["data"]["checks"]["https"] == {"result": "failed",
                                               "message": "Certificado TLS inválido ou não confiável"}
    assert seen.requests == []


async def test_nothing_listening_fails_gzip_with_what_happened(ca: trustme.CA) -> None:
    async with receiver(ca, ok) as (url, _):
        pass  # closed: its port is free again
    async with drivers_api(ca) as api:
        status, body = await fire(api, "smartgps", url, "event")
    assert status == 400
    assert body["data"]["checks"]["gzip"] == {"result": "failed", "message": "Não foi possível conectar ao servidor"}


async def test_a_ca_bundle_file_is_trusted(ca: trustme.CA, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    async with serving(ssl_context=trust_context(str(bundle))) as api, receiver(ca, ok) as (url, _):
        status, body = await fire(api, "smartgps", url, "event")
    assert (status, body) == (200, SEED_OK)


@pytest.mark.parametrize(("body", "errors"), [
    ({}, ["webhook_url", "event_name"]),
    ({"webhook_url": "https://x.example/h", "event_name": "order.paid"}, ["event_name"]),
    ({"webhook_url": 5, "event_name": "event"}, ["webhook_url"]),
])
async def test_a_bad_request_is_a_422(ca: trustme.CA, body: dict[str, Any], errors: list[str]) -> None:
    async with drivers_api(ca) as api:
        driver = await api.driver("smartgps")
        status, answer = await api.call("POST", "/drivers/{id}/send-test-event", id=driver["id"], json=body)
    assert status == 422 and list(answer["errors"]) == errors


async def test_sending_needs_drivers_manage(ca: trustme.CA) -> None:
    async with drivers_api(ca) as api, receiver(ca, ok) as (url, seen):
        assert await fire(api, "smartgps", url, "event", headers=READ) == (
            403, {"error": "This action is unauthorized."})
        assert (await fire(api, "smartgps", url, "event", headers={}))[0] == 401
        assert (await fire(api, "smartgps", url, "event", headers=MANAGE))[0] == 200
    assert len(seen.requests) == 1
