"""/api/socket closes a client's socket at its first unmasked frame, as Traccar's Jetty does (RFC 6455 §5.1):
with a hand-written client on a raw TCP socket, and `MaskWatch` fed frames cut at every byte."""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit

import pytest

from simulator.servers.traccar.masking import UNMASKED_REASON, MaskWatch

from .support import serving
from .test_socket import STILL, _logged_in

CLOSE, TEXT, PING, PONG = 0x8, 0x1, 0x9, 0xA


def client_frame(opcode: int, payload: bytes, *, masked: bool = True) -> bytes:
    """One final frame as a client writes it: masked with a random key, or (a broken client) not."""
    size = len(payload)
    if size < 126:
        head = bytes([0x80 | opcode, (0x80 if masked else 0) | size])
    elif size < 1 << 16:
        head = bytes([0x80 | opcode, (0x80 if masked else 0) | 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, (0x80 if masked else 0) | 127]) + size.to_bytes(8, "big")
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


async def server_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first, second = await reader.readexactly(2)
    size = second & 0x7F
    if size == 126:
        size = int.from_bytes(await reader.readexactly(2), "big")
    elif size == 127:
        size = int.from_bytes(await reader.readexactly(8), "big")
    return first & 0x0F, await reader.readexactly(size)


async def raw_socket(url: str, cookie: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A hand-written client's upgrade, answered 101, and the server's first frame read."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(f"GET /api/socket HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                 f"Cookie: JSESSIONID={cookie}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    opcode, first = await server_frame(reader)
    assert opcode == TEXT and first.startswith(b'{"positions":'), first
    return reader, writer


async def session_cookie(url: str) -> str:
    http = await _logged_in(url)
    async with http:
        return next(c.value for c in http.cookie_jar if c.key == "JSESSIONID")


async def test_an_unmasked_frame_closes_the_socket_with_1002_and_jettys_reason() -> None:
    async with serving(rate=STILL) as server:
        reader, writer = await raw_socket(server.url, await session_cookie(server.url))
        try:
            # masked frames, a ping among them, are fine: the ping is answered
            writer.write(client_frame(TEXT, b'{"logs":true}') + client_frame(PING, b"p1"))
            async with asyncio.timeout(10):
                assert await server_frame(reader) == (PONG, b"p1")
            writer.write(client_frame(TEXT, b"hello", masked=False))  # what a client that forgot to mask sends
            async with asyncio.timeout(10):
                opcode, payload = await server_frame(reader)
                assert opcode == CLOSE
                assert (int.from_bytes(payload[:2], "big"), payload[2:].decode()) == (1002, UNMASKED_REASON)
                writer.write(client_frame(CLOSE, payload[:2]))  # the client's answer ends the handshake
                assert await reader.read() == b""  # and the server closes the connection
        finally:
            writer.close()


async def test_an_unmasked_ping_is_refused_too_and_a_silent_client_is_closed_within_the_close_timeout() -> None:
    async with serving(rate=STILL) as server:
        reader, writer = await raw_socket(server.url, await session_cookie(server.url))
        try:
            writer.write(client_frame(PING, b"", masked=False))
            async with asyncio.timeout(10):
                opcode, payload = await server_frame(reader)
                assert opcode == CLOSE and int.from_bytes(payload[:2], "big") == 1002
                assert await reader.read() == b""  # no answer to the close: closed after CLOSE_TIMEOUT_S
        finally:
            writer.close()


class Recorder:
    def __init__(self) -> None:
        self.fed = b""

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.fed += data
        return False, b""

    def feed_eof(self) -> None:
        self.fed += b"<eof>"


def stream(*frames: bytes) -> bytes:
    return b"".join(frames)


@pytest.mark.parametrize("size", [0, 5, 125, 126, 300, 65535, 65536, 70000])
def test_the_watch_follows_frames_of_every_length_cut_anywhere(size: int) -> None:
    good = stream(client_frame(TEXT, b"x" * size), client_frame(PING, b"hi"), client_frame(TEXT, b"y" * size))
    bad = stream(good, client_frame(TEXT, b"z", masked=False), client_frame(TEXT, b"after"))
    cuts = range(0, len(bad), max(1, len(bad) // 97)) if size > 300 else range(len(bad))
    for cut in cuts:
        for data, unmasked in ((good, False), (bad, True)):
            recorder, calls = Recorder(), list[int]()
            watch = MaskWatch(recorder, lambda calls=calls: calls.append(1))  # type: ignore[misc]
            watch.feed_data(data[:cut])
            watch.feed_data(data[cut:])
            watch.feed_eof()
            assert recorder.fed == data + b"<eof>"  # every byte passed on as it came, whatever the verdict
            assert (calls == [1]) == unmasked == watch.failed, (size, cut)


def test_the_watch_reports_the_unmasked_frame_once_and_at_its_header() -> None:
    recorder, calls = Recorder(), list[int]()
    watch = MaskWatch(recorder, lambda: calls.append(1))
    frames = stream(client_frame(TEXT, b"a" * 200), client_frame(TEXT, b"b", masked=False))
    first_unmasked = len(frames) - 3  # its 2-byte header and 1-byte payload
    watch.feed_data(frames[:first_unmasked + 1])  # the header's first byte alone says nothing yet
    assert calls == []
    watch.feed_data(frames[first_unmasked + 1:])
    watch.feed_data(client_frame(TEXT, b"c", masked=False))
    assert calls == [1]
