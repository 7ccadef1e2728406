"""The reference receiver over real sockets: requests built with fleetsim's own providers and signers."""

from __future__ import annotations

import asyncio
import base64
import gzip
import logging
import random
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from simulator.cli import _Parser
from simulator.cli.receiver_cmd import add_parser
from simulator.errors import UsageError
from simulator.generation import generate_one
from simulator.providers import PROVIDERS
from simulator.providers.receiving import Fix, parse_json
from simulator.servers.receiver import MAX_DEPTH, WEBHOOK_PROVIDERS
from simulator.servers.serving import start_receiver, stop_receiver
from simulator.servers.store import Store
from simulator.signing import SIGNERS, Secret

from ...conftest import CliResult

SAMSARA_KEY = b"receiver-test-samsara-key-0001"
SECRET_TEXT = {
    "samsara": base64.b64encode(SAMSARA_KEY).decode(),
    "smartgps": "receiver-test-smartgps-secret",
    "powunity": "Bearer receiver-test-psk",
}
METTAX_TOKEN = "receiver-test-mettax-token"
#: strings that must never appear in a response body (SIG-10)
NEVER_ECHOED = (*SECRET_TEXT.values(), SAMSARA_KEY.decode(), "receiver-test-psk", METTAX_TOKEN)
WEBHOOK_KINDS = [(p, k) for p in ("mettax", "smartgps", "samsara", "powunity")
                 for k, spec in PROVIDERS[p].kinds.items() if spec.channel == "webhook"]


def _secret(provider: str, text: str | None = None) -> Secret:
    return SIGNERS[PROVIDERS[provider].signing].parse_secret(text or SECRET_TEXT[provider])


SETTINGS: dict[str, Mapping[str, Any]] = {name: {"secret": _secret(name)} for name in SECRET_TEXT}
SETTINGS["mettax"] = {}


def signed(provider: str, kind: str | None = None, payload: Any = None, *, index: int = 0, ts: int | None = None,
           mid: str | None = None, secret: str | None = None, settings: Mapping[str, Any] | None = None,
           body: bytes | None = None) -> tuple[bytes, dict[str, str]]:
    """A request exactly as the provider sends it: envelope + signature over the exact bytes."""
    p = PROVIDERS[provider]
    if payload is None and body is None:
        assert kind is not None
        payload = generate_one(p, kind, seed=11, index=index).payload
    mid = mid or f"msg-{provider}-{index}"
    if body is None:
        env = p.envelope(kind or "", payload, message_id=mid, settings=settings or {})
        body, headers = env.body, dict(env.headers)
    else:
        headers = {"Content-Type": "application/json"}
    if provider != "mettax":
        secrets = [_secret(provider, secret)]
        headers.update(SIGNERS[p.signing].sign(body, secrets, timestamp=int(time.time()) if ts is None else ts,
                                               message_id=mid))
    return body, headers


@dataclass
class Rx:
    url: str
    session: aiohttp.ClientSession
    store: Store
    bodies: list[str] = field(default_factory=list)

    async def post(self, provider: str, body: bytes, headers: Mapping[str, str], path: str = "") -> tuple[int, Any]:
        async with self.session.post(f"{self.url}{path or '/' + provider}", data=body, headers=headers) as resp:
            text = await resp.text()
            self.bodies.append(text)
            try:
                return resp.status, orjson.loads(text)
            except orjson.JSONDecodeError:
                return resp.status, text

    async def get(self, path: str) -> tuple[int, Any]:
        await self.idle()
        async with self.session.get(f"{self.url}{path}") as resp:
            text = await resp.text()
            self.bodies.append(text)
            return resp.status, orjson.loads(text)

    async def idle(self) -> None:
        """Wait until background processing is done (the state API reports it)."""
        for _ in range(200):
            async with self.session.get(f"{self.url}/state") as resp:
                if (await resp.json())["processing"] == 0:
                    return
            await asyncio.sleep(0.01)
        raise AssertionError("background processing did not finish")

    async def counts(self, provider: str) -> dict[str, Any]:
        _, state = await self.get("/state")
        counts: dict[str, Any] = state["counts"][provider]
        return counts


async def _serving(store: Store, settings: Mapping[str, Mapping[str, Any]] = SETTINGS,
                   **kwargs: Any) -> AsyncIterator[Rx]:
    runner, url = await start_receiver(settings, store, **kwargs)
    try:
        async with aiohttp.ClientSession() as session:
            rx = Rx(url, session, store)
            yield rx
            for text in rx.bodies:  # SIG-10, checked on every response any test saw
                assert not any(secret in text for secret in NEVER_ECHOED), text
    finally:
        await stop_receiver(runner)


@pytest.fixture
async def rx() -> AsyncIterator[Rx]:
    store = Store()
    async for client in _serving(store):
        yield client
    await store.close()


# --- SIG-01: the baseline -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("provider", "kind"), WEBHOOK_KINDS)
async def test_a_valid_signed_request_is_accepted_and_counted(rx: Rx, provider: str, kind: str) -> None:
    body, headers = signed(provider, kind)
    status, reply = await rx.post(provider, body, headers)
    assert (status, reply["status"]) == (200, "accepted"), reply
    counts = await rx.counts(provider)
    assert counts["accepted"] == 1 and counts["duplicate"] == 0 and counts["rejected"] == {}


async def test_webhooks_prefix_and_mettax_form_envelope(rx: Rx) -> None:
    body, headers = signed("mettax", "gps", settings={"envelope": "form"})
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert (await rx.post("mettax", body, headers, path="/webhooks/mettax"))[0] == 200
    assert (await rx.counts("mettax"))["accepted"] == 1


async def test_unknown_extra_fields_are_tolerated(rx: Rx) -> None:
    payload = generate_one(PROVIDERS["samsara"], "alert_v1", seed=3, index=0).payload
    payload["addedInAFutureVersion"] = {"x": 1}
    status, reply = await rx.post("samsara", *signed("samsara", "alert_v1", payload))
    assert (status, reply["status"]) == (200, "accepted")


@pytest.mark.parametrize("change", [
    {"speed": 301.5}, {"num": 65}, {"deviceId": "A-105045"}, {"id": "gps-7"}, {"reportCt": 10_000_000_000},
    {"deviceCt": 1e20}, {"reportCt": 1724822445.5},
])
async def test_what_only_fleetsim_bounds_is_acknowledged(rx: Rx, change: dict[str, Any]) -> None:
    # x-inferred (docs/schema-conventions.md): a device may report 65 satellites, and a platform retries a refusal
    # for ever; the reference receiver refuses only what the vendor rules out (lat 91 is 400 above)
    body = _mettax(orjson.dumps({**_gps(), **change}).decode())
    status, reply = await rx.post("mettax", *signed("mettax", body=body))
    assert (status, reply["status"]) == (200, "accepted"), reply


# --- authentication (SIG-02..05, SIG-09, RPL-01..04) -----------------------------------------------------------


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() != name.lower()}


def _rejection(case: str) -> tuple[str, tuple[bytes, dict[str, str]]]:
    """(provider, request) for one way of failing authentication, built when the test runs (fresh clock)."""
    now = int(time.time())
    sam, smart, pow_ = signed("samsara", "alert_v1"), signed("smartgps", "event"), signed("powunity", "webhook")
    flipped = bytearray(sam[0])
    flipped[len(flipped) // 2] ^= 1
    upper = sam[1]["X-Samsara-Signature"].upper().replace("V1=", "v1=")
    cases: dict[str, tuple[str, tuple[bytes, dict[str, str]]]] = {
        "samsara no signature": ("samsara", (sam[0], _without(sam[1], "X-Samsara-Signature"))),
        "samsara no timestamp": ("samsara", (sam[0], _without(sam[1], "X-Samsara-Timestamp"))),
        "samsara wrong secret": ("samsara", signed("samsara", "alert_v1",
                                                   secret=base64.b64encode(b"k" * 30).decode())),
        "samsara body changed": ("samsara", (bytes(flipped), sam[1])),
        # 10 s outside the 300 s window: a future timestamp 1 s outside fell inside it when the request went out
        # a second late on a loaded machine (a CI run saw 200)
        "samsara stale timestamp": ("samsara", signed("samsara", "alert_v1", ts=now - 310)),
        "samsara future timestamp": ("samsara", signed("samsara", "alert_v1", ts=now + 310)),
        "samsara timestamp in ms": ("samsara", signed("samsara", "alert_v1", ts=now * 1000)),
        "samsara timestamp altered": ("samsara", (sam[0], {**sam[1], "X-Samsara-Timestamp": str(now - 1)})),
        "samsara upper-case hex": ("samsara", (sam[0], {**sam[1], "X-Samsara-Signature": upper})),
        "smartgps no signature": ("smartgps", (smart[0], _without(smart[1], "X-SmartGPS-Signature"))),
        "smartgps body changed": ("smartgps", (smart[0] + b" ", smart[1])),
        "smartgps wrong secret": ("smartgps", signed("smartgps", "event", secret="another-tenants-secret")),
        "powunity wrong psk": ("powunity", signed("powunity", "webhook", secret="Bearer wrong")),
        "powunity psk scheme case": ("powunity", signed("powunity", "webhook", secret="bearer receiver-test-psk")),
        "powunity no Authorization": ("powunity", (pow_[0], _without(pow_[1], "Authorization"))),
        "powunity no X-PowTxn": ("powunity", (pow_[0], _without(pow_[1], "X-PowTxn"))),
        "powunity psk with spaces": ("powunity", (pow_[0], {**pow_[1],
                                                             "Authorization": "Bearer  receiver-test-psk"})),
    }
    return cases[case]


REJECTION_CASES = [
    "samsara no signature", "samsara no timestamp", "samsara wrong secret", "samsara body changed",
    "samsara stale timestamp", "samsara future timestamp", "samsara timestamp in ms", "samsara timestamp altered",
    "samsara upper-case hex", "smartgps no signature", "smartgps body changed", "smartgps wrong secret",
    "powunity wrong psk", "powunity psk scheme case", "powunity no Authorization", "powunity no X-PowTxn",
    "powunity psk with spaces",
]


@pytest.mark.parametrize("case", REJECTION_CASES)
async def test_bad_authentication_is_401_without_side_effect(rx: Rx, case: str) -> None:
    provider, request_ = _rejection(case)
    status, reply = await rx.post(provider, *request_)
    assert status == 401, (case, reply)
    assert reply["error"].startswith("auth_")
    counts = await rx.counts(provider)
    assert counts["accepted"] == 0 and sum(counts["rejected"].values()) == 1
    assert await rx.store.pending() == []
    # neither the signature the receiver expected nor the PSK is in the answer
    for value in request_[1].values():
        if len(value) > 30:
            assert value not in rx.bodies[-1]


def _expected_signatures(provider: str, body: bytes, headers: Mapping[str, str]) -> list[str]:
    """The signature digests the receiver computes for this request with the configured secret and that the
    sender did not send itself (SIG-10: never shown to the sender, nor logged)."""
    if provider not in ("samsara", "smartgps"):
        return []
    ts = headers.get("X-Samsara-Timestamp", "")
    expected = SIGNERS[PROVIDERS[provider].signing].sign(body, [_secret(provider)],
                                                          timestamp=int(ts) if ts.isdigit() else 0, message_id="m")
    digests = [value.split("=", 1)[1] for name, value in expected.items() if name.endswith("Signature")]
    return [d for d in digests if not any(d in value for value in headers.values())]


async def test_failing_authentication_leaks_no_secret_to_responses_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level: whatever the receiver or aiohttp writes
    store = Store()
    settings = {**SETTINGS, "mettax": {"token": METTAX_TOKEN}}
    mettax_body, mettax_headers = signed("mettax", "gps", settings=settings["mettax"])
    mettax_cases = {"mettax wrong token": (mettax_body, {**mettax_headers, "Authorization": METTAX_TOKEN[:-1]}),
                    "mettax no token": (mettax_body, _without(mettax_headers, "Authorization"))}
    cases = [*REJECTION_CASES, *mettax_cases]
    forbidden = set(NEVER_ECHOED)
    seen: list[str] = []
    async for rx in _serving(store, settings=settings):
        for case in cases:
            # built right before it is sent: the stale and future requests are only just outside the window
            provider, (body, headers) = ("mettax", mettax_cases[case]) if case in mettax_cases else _rejection(case)
            forbidden.update(_expected_signatures(provider, body, headers))
            async with rx.session.post(f"{rx.url}/{provider}", data=body, headers=headers) as resp:
                assert resp.status == 401, (provider, headers)
                seen.append(await resp.text())
                seen.extend(f"{name}: {value}" for name, value in resp.headers.items())
    await store.close()
    # the output was really observed: one log line per rejection, naming its reason
    rejections = [r.getMessage() for r in caplog.records if r.name == "fleetsim.receiver" and " 401 auth_" in
                  r.getMessage()]
    assert len(rejections) == len(cases)
    assert any("auth_mismatch" in line for line in rejections) and any("auth_stale" in line for line in rejections)
    seen += [r.getMessage() for r in caplog.records] + [caplog.text]
    for secret in forbidden:
        assert not any(secret in text for text in seen), secret


async def test_timestamps_just_inside_the_window_are_accepted(rx: Rx) -> None:
    now = int(time.time())
    for i, ts in enumerate((now - 290, now + 290)):
        status, reply = await rx.post("samsara", *signed("samsara", "alert_v1", index=i, ts=ts))
        assert status == 200, reply


async def test_signed_providers_without_a_secret_refuse_everything() -> None:
    store = Store()
    async for rx in _serving(store, settings={}):
        status, reply = await rx.post("samsara", *signed("samsara", "alert_v1"))
        assert (status, reply["error"]) == (401, "auth_not_configured")
        # PowUnity without a PSK only requires X-PowTxn (the provider documents no signature)
        body, headers = signed("powunity", "webhook")
        assert (await rx.post("powunity", body, _without(headers, "Authorization")))[0] == 200
    await store.close()


async def test_mettax_token_when_configured() -> None:
    store = Store()
    settings = {**SETTINGS, "mettax": {"token": METTAX_TOKEN, "token_header": "X-Token"}}
    async for rx in _serving(store, settings=settings):
        body, headers = signed("mettax", "gps", settings=settings["mettax"])
        assert headers["X-Token"] == METTAX_TOKEN
        assert (await rx.post("mettax", body, _without(headers, "X-Token")))[0] == 401
        assert (await rx.post("mettax", body, {**headers, "X-Token": "nope"}))[0] == 401
        assert (await rx.post("mettax", body, headers))[0] == 200
    await store.close()


# --- malformed input (MAL-*) -----------------------------------------------------------------------------------


def _mettax(data: str) -> bytes:
    return orjson.dumps({"data": data})


def _gps() -> dict[str, Any]:
    payload: dict[str, Any] = generate_one(PROVIDERS["mettax"], "gps", seed=5, index=0).payload
    return payload


@pytest.mark.parametrize(("provider", "body", "error"), [
    ("samsara", b'{"eventId": "a", "eventMs": 1', "malformed_json"),
    ("samsara", b"null", "wrong_type"),
    ("samsara", b"", "malformed_json"),
    ("samsara", b'[{"eventId": "x"}]', "wrong_type"),
    ("samsara", b'{"eventId": "x"} trailing', "malformed_json"),
    ("smartgps", b'{"event": "SPEEDING", "event": "SOS"}', "duplicate_keys"),
    ("smartgps", b'{"event": "SPEEDING", "objectId": "SGO-A", "lat": "abc", "lng": 1, "severity": "INFO", '
                 b'"timestamp": "2026-03-03T10:32:00Z"}', "schema"),
    ("powunity", b'{"event": {"type": 5}, "device": {}}', "schema"),
    ("mettax", _mettax("{not json"), "malformed_json"),
    ("mettax", _mettax("[1, 2]"), "wrong_type"),
    ("mettax", _mettax('"a string"'), "wrong_type"),
    ("mettax", b'{"data": {"actual": true}}', "bad_envelope"),
    ("mettax", b'{"data": 5}', "bad_envelope"),
    ("mettax", _mettax(orjson.dumps({**_gps(), "lat": "abc"}).decode()), "schema"),
    ("mettax", _mettax(orjson.dumps({**_gps(), "num": -1}).decode()), "schema"),
    ("mettax", _mettax(orjson.dumps({**_gps(), "lat": 91}).decode()), "schema"),
])
async def test_malformed_bodies_are_400(rx: Rx, provider: str, body: bytes, error: str) -> None:
    status, reply = await rx.post(provider, *signed(provider, body=body))
    assert (status, reply["error"]) == (400, error), reply
    assert (await rx.counts(provider))["accepted"] == 0


async def test_mettax_form_without_json_data_is_400(rx: Rx) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for body in (b"data=%7Bnot-json", b"other=1", b"data=1&data=2", b"data=%ED%A0%80", b"\xff\xfe"):
        status, _ = await rx.post("mettax", body, headers)
        assert status == 400, body


async def test_unsupported_content_type_and_encoding_are_415(rx: Rx) -> None:
    body, headers = signed("smartgps", "event")
    for changed in ({"Content-Type": "text/plain"}, {"Content-Type": "application/json; charset=latin-1"},
                    {"Content-Encoding": "deflate"}, {"Content-Encoding": "br"}, {"Content-Encoding": "gzip, br"}):
        status, _ = await rx.post("smartgps", body, {**headers, **changed})
        assert status == 415, changed
    assert (await rx.post("samsara", b"data=x", {"Content-Type": "application/x-www-form-urlencoded"}))[0] == 415
    async with rx.session.post(f"{rx.url}/smartgps", data=body, headers={**headers, "Content-Encoding": "br"}) as resp:
        assert resp.headers["Accept-Encoding"] == "gzip"  # what to send instead (RFC 7694)


async def test_a_gzip_body_is_decoded_and_its_signature_checked_over_the_decoded_bytes(rx: Rx) -> None:
    """TRN-04: the signature covers the event as signed, before compression; the compressed bytes' own is refused."""
    body, headers = signed("samsara", "alert_v1", index=1, mid="gzip-1")
    packed = gzip.compress(body, mtime=0)
    assert await rx.post("samsara", packed, {**headers, "Content-Encoding": "gzip"}) == (200, {"status": "accepted"})
    assert (await rx.post("samsara", packed, {**headers, "Content-Encoding": "x-gzip"}))[1]["status"] == "duplicate"
    over_wire_body, over_wire = signed("samsara", "alert_v1", index=2, mid="gzip-2")
    _, wrong = signed("samsara", body=gzip.compress(over_wire_body, mtime=0))
    status, answer = await rx.post("samsara", gzip.compress(over_wire_body, mtime=0),
                                   {**over_wire, **wrong, "Content-Encoding": "gzip"})
    assert status == 401, answer
    counts = await rx.counts("samsara")
    assert counts["accepted"] == 1 and counts["duplicate"] == 1 and counts["rejected"] == {"auth_mismatch": 1}


async def test_a_gzip_body_that_is_not_gzip_or_inflates_past_the_limit_is_refused() -> None:
    store = Store()
    async for rx in _serving(store, max_body_bytes=4096):
        body, headers = signed("smartgps", "event")
        packed = gzip.compress(body, mtime=0)
        gz = {**headers, "Content-Encoding": "gzip"}
        assert (await rx.post("smartgps", body, gz))[1]["error"] == "bad_encoding"  # not gzip at all
        assert (await rx.post("smartgps", packed[:-6], gz))[1]["error"] == "bad_encoding"  # truncated
        assert (await rx.post("smartgps", packed + b"junk", gz))[1]["error"] == "bad_encoding"  # trailing bytes
        # a bomb: 4 MB of whitespace in front of the event, ~4 KB compressed, inflated one byte past 4096 at most
        bomb = gzip.compress(b" " * 4_000_000 + body, mtime=0)
        assert len(bomb) < 4096
        status, answer = await rx.post("smartgps", bomb, gz)
        assert (status, answer["error"]) == (413, "too_large")
        assert (await rx.counts("smartgps"))["rejected"] == {"bad_encoding": 3, "too_large": 1}


async def test_non_post_methods_are_405_with_allow(rx: Rx) -> None:
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        async with rx.session.request(method, f"{rx.url}/samsara") as resp:
            assert resp.status == 405 and resp.headers["Allow"] == "POST"
    assert (await rx.counts("samsara"))["rejected"] == {"method_not_allowed": 4}


async def test_oversize_bodies_are_413_by_length_and_by_streamed_bytes() -> None:
    store = Store()
    async for rx in _serving(store, max_body_bytes=4096):
        body, headers = signed("mettax", "gps")
        assert (await rx.post("mettax", body, headers))[0] == 200
        big = _mettax("x" * 4096)
        assert (await rx.post("mettax", big, {"Content-Type": "application/json"}))[0] == 413

        async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length to check up front
            for _ in range(64):
                yield b" " * 1024

        async with rx.session.post(f"{rx.url}/mettax", data=chunks(), headers={"Content-Type": "application/json"}) \
                as resp:
            assert resp.status == 413
        assert (await rx.counts("mettax"))["rejected"] == {"too_large": 2}
    await store.close()


async def _raw(rx: Rx, head: bytes, body: bytes, *, close: bool) -> bytes:
    """Send a hand-made request over a plain socket (to break the protocol in ways clients refuse to)."""
    host, port = rx.url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(head + body)
    await writer.drain()
    reply = b"" if close else await reader.read(65536)
    writer.close()
    return reply


async def test_a_body_cut_off_mid_way_has_no_effect_and_its_retry_counts_once(rx: Rx) -> None:
    body, headers = signed("samsara", "alert_v1")
    head = (f"POST /samsara HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()
    await _raw(rx, head, body[: len(body) // 2], close=True)
    for _ in range(100):  # the receiver notices the closed connection
        if (await rx.counts("samsara"))["rejected"]:
            break
        await asyncio.sleep(0.01)
    assert (await rx.counts("samsara"))["rejected"] == {"incomplete_body": 1}
    assert (await rx.post("samsara", body, headers))[1]["status"] == "accepted"
    assert (await rx.counts("samsara"))["accepted"] == 1


async def test_a_stalled_body_is_408() -> None:
    store = Store()
    async for rx in _serving(store, body_timeout_s=0.2):
        head = b"POST /mettax HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
        reply = await _raw(rx, head, b'{"data": ', close=False)
        assert reply.startswith(b"HTTP/1.1 408 ")
    await store.close()


def _garbage() -> list[bytes]:
    rng = random.Random(1)
    return [
        *(rng.randbytes(rng.randint(1, 2000)) for _ in range(20)),
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
        b'{"eventId": 1e400}', b'{"eventId": 18446744073709551617}', b"-0", b"1e999999",
        b'{"eventId": "\xff\xfe"}', b'{"eventId": "\\ud800"}', b"\xef\xbb\xbf{}", b'{"a": NaN}', b'"\x00"',
        b'{"data": "\\u0000"}', b'{"data": "' + b"[" * 5000 + b'"}', b'{"event": {"type": "alarm", "id": []}}',
        b'{"eventType": "Alert"}', b'{"eventType": "Future", "eventId": ""}', b'{"event": "SOS"}',
        b'{"eventId": "' + b"a" * 100_000 + b'", "eventType": "Future"}',
    ]


async def test_no_5xx_for_any_garbage_and_the_receiver_stays_up(rx: Rx) -> None:
    statuses: list[int | str] = []
    for body in _garbage():
        for provider in ("samsara", "smartgps", "powunity", "mettax"):
            signed_body = body if provider != "mettax" else _mettax(body.decode("utf-8", "replace"))
            for raw in (body, signed_body):
                status, reply = await rx.post(provider, *signed(provider, body=raw))
                # a well-formed object of no known kind (e.g. {"eventType": "Alert"} inside a MettaX data
                # string) is acknowledged and ignored; everything else is refused
                statuses.append("ignored" if status == 200 and reply["status"] == "ignored" else status)
    assert all(s == "ignored" or 400 <= int(s) < 500 for s in statuses), sorted(set(map(str, statuses)))
    # header edge cases: repeated signature headers, a 16 KiB header line
    body, headers = signed("smartgps", "event")
    async with rx.session.post(f"{rx.url}/smartgps", data=body, headers=[*headers.items(),
                               ("X-SmartGPS-Signature", headers["X-SmartGPS-Signature"])]) as resp:
        assert resp.status == 401
    async with rx.session.post(f"{rx.url}/smartgps", data=body, headers={**headers, "X-Big": "a" * 16384}) as resp:
        assert 400 <= resp.status < 500
    assert (await rx.get("/healthz")) == (200, {"status": "ok"})
    assert (await rx.counts("samsara"))["accepted"] == 0


async def test_parse_json_limits() -> None:
    assert parse_json(b'{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    assert parse_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None


# --- unknown event types (MAL-03) ------------------------------------------------------------------------------


async def test_an_unknown_samsara_event_type_is_acknowledged_and_ignored(rx: Rx) -> None:
    payload = {"eventId": "7d6c1b0e-8b8c-4f43-9df5-3d7a0b0c0d01", "eventTime": "2026-03-03T10:00:00.000Z",
               "eventType": "HoverboardLaunched", "orgId": 4000, "webhookId": "1411751028848270", "data": {}}
    body, headers = signed("samsara", "event_v2", payload)
    assert (await rx.post("samsara", body, headers)) == (200, {"status": "ignored",
                                                               "message": "unknown event type: acknowledged and "
                                                                          "ignored"})
    assert (await rx.post("samsara", *signed("samsara", "event_v2", payload)))[1]["status"] == "duplicate"
    counts = await rx.counts("samsara")
    assert (counts["accepted"], counts["ignored"], counts["duplicate"]) == (0, 1, 1)


async def test_unknown_types_of_the_other_providers_are_ignored(rx: Rx) -> None:
    smart = generate_one(PROVIDERS["smartgps"], "event", seed=1, index=0).payload
    smart["event"] = "TELEPORTED"
    pow_ = generate_one(PROVIDERS["powunity"], "webhook", seed=1, index=0).payload
    pow_["event"]["type"] = "deviceLevitating"
    for provider, payload in (("smartgps", smart), ("powunity", pow_), ("mettax", {"id": "1_2", "newKind": 1})):
        status, reply = await rx.post(provider, *signed(provider, "unknown", payload))
        assert (status, reply["status"]) == (200, "ignored"), (provider, reply)


# --- duplicates (RPL-06, IDM-01/02/06) --------------------------------------------------------------------------


async def test_a_duplicate_is_200_and_counted_once(rx: Rx) -> None:
    body, headers = signed("powunity", "webhook")
    assert (await rx.post("powunity", body, headers))[1]["status"] == "accepted"
    # a retry: same event, new delivery id and a fresh Authorization/X-PowTxn
    retry = signed("powunity", "webhook", mid="another-delivery")
    assert (await rx.post("powunity", *retry)) == (200, {"status": "duplicate", "message": "already processed"})
    counts = await rx.counts("powunity")
    assert (counts["accepted"], counts["duplicate"]) == (1, 1)


async def test_distinct_events_with_equal_bodies_are_both_processed(rx: Rx) -> None:
    payload = generate_one(PROVIDERS["powunity"], "webhook", seed=1, index=0).payload
    second = orjson.loads(orjson.dumps(payload))
    second["event"]["id"] = payload["event"]["id"] + 1
    for p in (payload, second):
        assert (await rx.post("powunity", *signed("powunity", "webhook", p)))[1]["status"] == "accepted"


async def test_ten_concurrent_duplicates_make_exactly_one_event(rx: Rx) -> None:
    body, headers = signed("samsara", "alert_v1")
    results = await asyncio.gather(*(rx.post("samsara", body, headers) for _ in range(10)))
    assert all(status == 200 for status, _ in results)
    assert sorted(reply["status"] for _, reply in results) == ["accepted"] + ["duplicate"] * 9
    counts = await rx.counts("samsara")
    assert (counts["accepted"], counts["duplicate"]) == (1, 9)


async def test_duplicates_are_caught_across_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "receiver.db"
    body, headers = signed("mettax", "alarm")
    store = Store(db)
    async for rx in _serving(store):
        assert (await rx.post("mettax", body, headers))[1]["status"] == "accepted"
        await rx.idle()
    await store.close()

    store = Store(db)  # a new process, the same --db file
    async for rx in _serving(store):
        assert (await rx.post("mettax", body, headers))[1]["status"] == "duplicate"
        counts = await rx.counts("mettax")
        assert (counts["accepted"], counts["duplicate"]) == (1, 1)
        _, devices = await rx.get("/state/devices")
        assert len(devices["devices"]) == 1  # the state survived too
    await store.close()


async def test_events_acknowledged_before_a_crash_are_processed_at_the_next_start(tmp_path: Path) -> None:
    db = tmp_path / "receiver.db"
    gps = {**_gps(), "deviceId": "105045133913", "lat": 10.5, "lon": 20.25}
    store = Store(db)
    assert await store.claim("mettax", "gps:" + gps["id"], "gps", orjson.dumps(gps))  # acked, then "crash"
    await store.close()
    store = Store(db)
    async for rx in _serving(store):
        status, device = await rx.get("/state/devices/105045133913")
        assert status == 200 and (device["lat"], device["lon"]) == (10.5, 20.25)
        assert await store.pending() == []
    await store.close()


# --- ordering (ORD-02, ORD-04) and face checks -----------------------------------------------------------------


def _fix(device: str, n: int, device_ct: int, *, actual: bool = True,
         lat: float = 10.0) -> tuple[bytes, dict[str, str]]:
    gps = {**_gps(), "deviceId": device, "id": f"{device}_{1_000_000 + n}", "deviceCt": device_ct,
           "reportCt": device_ct + 3600, "actual": actual, "lat": lat, "lon": 20.0}
    return signed("mettax", "gps", gps)


async def test_a_back_filled_position_does_not_regress_the_latest_one(rx: Rx) -> None:
    device = "333777444585"
    t = 1_760_000_000
    assert (await rx.post("mettax", *_fix(device, 1, t, lat=11.0)))[0] == 200
    assert (await rx.post("mettax", *_fix(device, 2, t - 600, actual=False, lat=-5.0)))[0] == 200
    status, latest = await rx.get(f"/state/devices/{device}")
    assert status == 200 and latest["lat"] == 11.0 and latest["device_time"] == "2025-10-09T08:53:20.000Z"
    assert latest["provider"] == "mettax" and latest["device"] == device
    assert (await rx.post("mettax", *_fix(device, 3, t + 60, lat=12.0)))[0] == 200
    assert (await rx.get(f"/state/devices/{device}"))[1]["lat"] == 12.0
    _, listing = await rx.get("/state/devices")
    assert [d["device"] for d in listing["devices"]] == [device]
    assert (await rx.get("/state"))[1]["devices"] == 1


async def test_a_time_no_calendar_has_is_400_not_an_event_that_fails_later(rx: Rx) -> None:
    payload = generate_one(PROVIDERS["powunity"], "webhook", seed=11, index=0).payload
    text = orjson.dumps(payload).decode()
    # February 30: the pattern lets it through, the date-time format beside it does not (Traccar writes RFC 3339
    # times, and a receiver reads them so), so it is refused before it is acknowledged, never failed later
    impossible = re.sub(r'"(\d{4})-\d{2}-\d{2}T', r'"\1-02-30T', text)
    assert impossible != text
    status, answer = await rx.post("powunity", *signed("powunity", "webhook", orjson.loads(impossible)))
    assert (status, answer["error"]) == (400, "schema"), answer
    assert any("date-time" in problem for problem in answer["problems"]), answer
    counts = await rx.counts("powunity")
    assert counts["accepted"] == 0 and counts["rejected"]["schema"] == 1, counts


async def test_equal_device_times_are_broken_the_same_way_whatever_the_order() -> None:
    finals = []
    for order in ((1, 2), (2, 1)):
        store = Store()
        async for rx in _serving(store):
            for n in order:
                assert (await rx.post("mettax", *_fix("105045133913", n, 1_760_000_000, lat=float(n))))[0] == 200
                await rx.idle()
            finals.append((await rx.get("/state/devices/105045133913"))[1]["lat"])
        await store.close()
    assert finals[0] == finals[1]


async def test_a_face_check_pairs_in_either_order(rx: Rx) -> None:
    result = generate_one(PROVIDERS["mettax"], "face_check_result", seed=2, index=0).payload
    picture = generate_one(PROVIDERS["mettax"], "face_check_picture", seed=2, index=0).payload
    picture["id"], picture["deviceId"] = result["id"], result["deviceId"]
    assert (await rx.post("mettax", *signed("mettax", "face_check_picture", picture)))[1]["status"] == "accepted"
    _, check = await rx.get(f"/state/face-checks/{result['id']}")
    assert check["complete"] is False and check["picture"] == picture and check["result"] is None
    assert (await rx.get("/state"))[1]["face_checks"] == {"complete": 0, "pending": 1}
    assert (await rx.post("mettax", *signed("mettax", "face_check_result", result)))[1]["status"] == "accepted"
    _, check = await rx.get(f"/state/face-checks/{result['id']}")
    assert check["complete"] is True and check["result"] == result and check["picture"] == picture
    assert (await rx.get("/state"))[1]["face_checks"] == {"complete": 1, "pending": 0}
    assert (await rx.counts("mettax"))["accepted"] == 2  # one id, two messages


async def test_state_api_misses(rx: Rx) -> None:
    assert (await rx.get("/state/devices/nope"))[0] == 404
    assert (await rx.get("/state/face-checks/nope"))[0] == 404
    state = (await rx.get("/state"))[1]
    assert set(state["counts"]) == set(WEBHOOK_PROVIDERS) >= {"mettax", "smartgps", "samsara", "powunity"}


def _position(provider: str, payload: dict[str, Any]) -> tuple[str, float, float, float]:
    """(device, lat, lon, device time as epoch seconds) that a message of `provider` reports."""
    if provider == "smartgps":
        return payload["objectId"], payload["lat"], payload["lng"], _epoch(payload["timestamp"])
    if provider == "powunity":
        position = payload["position"]
        device = str(payload["device"].get("uniqueId") or payload["device"]["id"])
        return device, position["latitude"], position["longitude"], _epoch(position["fixTime"])
    return payload["deviceId"], float(payload["lat"]), float(payload["lon"]), float(payload["deviceCt"])


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


async def test_positions_of_each_provider_reach_the_state(rx: Rx) -> None:
    expected: dict[str, tuple[str, float, float, float]] = {}
    for provider, kind in (("smartgps", "event"), ("powunity", "webhook"), ("mettax", "alarm")):
        # the first generated message that carries a position (PowUnity status events carry none)
        payloads = (generate_one(PROVIDERS[provider], kind, seed=4, index=i).payload for i in range(50))
        payload = next(p for p in payloads if provider != "powunity" or "position" in p)
        expected[provider] = _position(provider, payload)
        status, reply = await rx.post(provider, *signed(provider, kind, payload))
        assert (status, reply["status"]) == (200, "accepted"), (provider, reply)
    _, listing = await rx.get("/state/devices")
    got = {d["provider"]: (d["device"], d["lat"], d["lon"], _epoch(d["device_time"])) for d in listing["devices"]}
    assert set(got) == set(expected)
    for provider, (device, lat, lon, device_time) in expected.items():
        assert got[provider][:3] == (device, lat, lon), provider
        assert got[provider][3] == pytest.approx(device_time, abs=0.001), provider  # shown to the millisecond


def test_mettax_kinds_are_recognised_by_their_fields() -> None:
    adapter = PROVIDERS["mettax"].adapter
    for kind in PROVIDERS["mettax"].kinds:
        for i in range(10):
            assert adapter.classify(generate_one(PROVIDERS["mettax"], kind, seed=9, index=i).payload) == kind
    assert adapter.classify({"messageType": "9"}) is None
    # every registered provider with webhook kinds gets an endpoint, with no list kept by hand
    assert set(WEBHOOK_PROVIDERS) == {n for n, p in PROVIDERS.items() if "webhook" in p.channels}


# --- a failing database (503) and the catch-all (400, never 5xx) ----------------------------------------------


class BrokenDiskStore(Store):
    """A Store whose database fails while `broken` (disk full, file locked...): every query raises the way
    sqlite3 does, on the store's worker thread, so the store's own translation to StoreUnavailable runs."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = False

    def _db(self) -> sqlite3.Connection:
        if self.broken:
            raise sqlite3.OperationalError("disk I/O error")
        return super()._db()


class BuggyStore(Store):
    """A Store whose claim fails with an error nobody foresaw (a bug, not a database failure)."""

    async def claim(self, provider: str, event_key: str, kind: str, payload: bytes | None, *,
                    delivery_id: str | None = None, ignored: bool = False) -> bool:
        raise KeyError(f"no column for {kind}")


async def test_a_failing_database_is_503_with_retry_after_and_the_retry_succeeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = BrokenDiskStore()
    body, headers = signed("powunity", "webhook")  # the PSK travels in the Authorization header
    async for rx in _serving(store):
        store.broken = True
        for path in ("/powunity", "/webhooks/powunity"):
            async with rx.session.post(f"{rx.url}{path}", data=body, headers=headers) as resp:
                assert (resp.status, resp.headers["Retry-After"]) == (503, "5")
                assert await resp.json() == {"status": "error", "message": "storage unavailable; retry later"}
        for path in ("/healthz", "/state", "/state/devices"):  # the state API too: its middleware answers 503
            async with rx.session.get(f"{rx.url}{path}") as resp:
                assert (resp.status, resp.headers.get("Retry-After")) == (503, "5"), path
        store.broken = False
        # nothing was recorded while the disk was failing: the sender's retry is new, not a duplicate
        assert (await rx.post("powunity", body, headers)) == (200, {"status": "accepted"})
        counts = await rx.counts("powunity")
        assert (counts["accepted"], counts["duplicate"], counts["rejected"]) == (1, 0, {})
    await store.close()
    failures = [r for r in caplog.records if r.name == "fleetsim.receiver" and r.levelno == logging.ERROR]
    webhook_failure = "powunity: database failure; answering 503 so the sender retries"
    assert [r.getMessage() for r in failures] == [webhook_failure] * 2 + ["database failure"] * 3
    assert all(r.exc_info for r in failures)
    assert not any(secret in caplog.text for secret in NEVER_ECHOED)


@pytest.mark.parametrize("provider", ["samsara", "smartgps", "powunity", "mettax"])
async def test_an_unexpected_error_is_400_never_5xx_and_logged_without_secrets(
    caplog: pytest.LogCaptureFixture, provider: str,
) -> None:
    store = BuggyStore()
    settings = {**SETTINGS, "mettax": {"token": METTAX_TOKEN}}
    kind = {"samsara": "alert_v1", "smartgps": "event", "powunity": "webhook", "mettax": "gps"}[provider]
    body, headers = signed(provider, kind, settings=settings["mettax"] if provider == "mettax" else None)
    async for rx in _serving(store, settings=settings):
        for _ in range(2):
            async with rx.session.post(f"{rx.url}/{provider}", data=body, headers=headers) as resp:
                assert resp.status == 400
                reply = await resp.json()
                rx.bodies.append(await resp.text())  # checked for secrets like every response
            assert reply == {"status": "rejected", "error": "bad_request",
                             "message": "the request could not be processed"}
        counts = await rx.counts(provider)
        assert (counts["accepted"], counts["rejected"]) == (0, {"unexpected": 2})
        assert (await rx.get("/healthz")) == (200, {"status": "ok"})  # and the receiver stays up
    await store.close()
    errors = [r for r in caplog.records if r.name == "fleetsim.receiver" and r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert all(r.getMessage() == f"{provider}: unexpected error; answering 400" and r.exc_info for r in errors)
    assert "KeyError" in caplog.text  # the traceback is logged (for the operator)...
    for secret in NEVER_ECHOED:  # ...but no credential of the request or the settings
        assert secret not in caplog.text, secret
    for name, value in headers.items():
        if name.lower() in ("authorization", "x-samsara-signature", "x-smartgps-signature"):
            assert value not in caplog.text, name


# --- store and CLI edges --------------------------------------------------------------------------------------


async def test_store_ties_and_history() -> None:
    store = Store()
    assert await store.claim("mettax", "k1", "gps", b"{}")
    await store.apply("mettax", "k1", fix=Fix("d", 1.0, 2.0, 100.0))
    await store.apply("mettax", "k0", fix=Fix("d", 3.0, 4.0, 100.0))  # same time, smaller key: loses
    await store.apply("mettax", "k2", fix=Fix("d", 5.0, 6.0, 99.0))  # older: loses
    assert [(d["lat"], d["lon"]) for d in await store.devices("d")] == [(1.0, 2.0)]
    await store.close()
    await store.close()  # idempotent


def test_an_unusable_db_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot open the receiver database"):
        Store(tmp_path / "missing-dir" / "x.db")
    (tmp_path / "junk.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(UsageError):
        Store(tmp_path / "junk.db")


async def test_a_port_in_use_is_a_one_line_usage_error() -> None:
    store = Store()
    runner, url = await start_receiver({}, store)
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{port}") as info:
        await start_receiver({}, store, port=port)
    assert "\n" not in str(info.value)
    await stop_receiver(runner)
    await store.close()


def test_cli_parser_and_bad_host(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = _Parser(prog="fleetsim")  # the real CLI's parser class: usage errors become UsageError
    add_parser(parser.add_subparsers(parser_class=_Parser))
    args = parser.parse_args(["receiver", "--host", "no-such-host.invalid", "--port", "0"])
    assert (args.host, args.port, args.max_body, args.db) == ("no-such-host.invalid", 0, 1 << 20, None)
    with pytest.raises(UsageError, match=r"cannot listen on no-such-host\.invalid:0"):
        args.handler(args)
    settings = tmp_path / "s.yaml"
    settings.write_text(f"providers:\n  samsara: {{secret: {SECRET_TEXT['samsara']}}}\n")
    with pytest.raises(UsageError, match="--port"):
        parser.parse_args(["receiver", "--port", "70000"])
    args = parser.parse_args(["receiver", "--settings", str(settings), "--host", "256.0.0.1"])
    with pytest.raises(UsageError) as failed:
        args.handler(args)
    assert SECRET_TEXT["samsara"] not in str(failed.value)


def test_a_receiver_that_cannot_start_prints_no_secret(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    """What a user sees (stdout and stderr of `fleetsim receiver`) when it fails after reading the secrets."""
    settings = tmp_path / "s.yaml"
    settings.write_text(f"providers:\n  samsara: {{secret: {SECRET_TEXT['samsara']}}}\n"
                        f"  powunity: {{psk: \"{SECRET_TEXT['powunity']}\"}}\n"
                        f"  mettax: {{token: {METTAX_TOKEN}}}\n")
    result = cli("receiver", "--settings", str(settings), "--host", "256.0.0.1", "--port", "0")
    assert result.code == 2
    assert result.err.startswith("fleetsim: error: ") and "cannot listen on 256.0.0.1:0" in result.err
    assert len(result.err.splitlines()) == 1
    for secret in NEVER_ECHOED:
        assert secret not in result.out + result.err, secret


async def test_receiver_takes_a_scenarios_secrets_and_settings_override_them(tmp_path: Path) -> None:
    """`fleetsim receiver --scenario demo-city` accepts what `fleetsim run demo-city` signs; --settings laid over
    it replaces a provider's secret key by key (a real process, stopped with SIGTERM)."""
    import signal
    import sys

    from simulator.resources import scenarios_dir
    from simulator.scenario.loader import load_scenario

    demo = load_scenario(scenarios_dir() / "demo-city.yaml").delivery.providers
    settings = tmp_path / "s.yaml"
    settings.write_text(f"providers:\n  samsara: {{secret: {SECRET_TEXT['samsara']}}}\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "receiver", "--port", "0", "--scenario", "demo-city",
        "--settings", str(settings), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        base = re.search(r"on (http://\S+)", line)
        assert base, line
        async with aiohttp.ClientSession() as session:
            async def status(provider: str, secret: Secret) -> int:
                body, headers = signed(provider, "alert_v1" if provider == "samsara" else "event",
                                       index=3, settings=demo[provider])
                headers.update(SIGNERS[PROVIDERS[provider].signing].sign(
                    body, [secret], timestamp=int(time.time()), message_id="m-1"))
                async with session.post(f"{base.group(1)}/{provider}", data=body, headers=headers) as response:
                    return response.status

            assert await status("smartgps", demo["smartgps"]["secret"]) == 200  # the scenario's secret
            assert await status("samsara", _secret("samsara")) == 200  # --settings' secret ...
            assert await status("samsara", demo["samsara"]["secret"]) == 401  # ... replaced the scenario's
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err
    assert err.rstrip().endswith(b"fleetsim receiver: stopped"), err  # said on SIGTERM as on Ctrl-C
    assert b"no secret configured for samsara" not in err and b"no secret configured for smartgps" not in err
