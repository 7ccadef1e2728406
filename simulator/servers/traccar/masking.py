"""A client of `/api/socket` must mask every frame it sends, as Traccar's Jetty requires (RFC 6455 §5.1;
docs/traccar-server.md, "The socket"): an unmasked frame closes the socket with 1002 and Jetty's reason.

aiohttp's server accepts unmasked client frames, so a hand-written client that forgot to mask passed against
fleetsim and failed against a real server. `require_masked_frames` puts `MaskWatch` in front of the connection's
frame parser: it follows the client's frame headers as the bytes arrive (the payloads are skipped, never copied)
and passes every byte on unchanged; the first unmasked frame starts the close. aiohttp has no public seam for
this: the parser is the request handler's `_payload_parser` slot, so a test keeps the check honest across
aiohttp releases (tests/simulator/servers/traccar/test_socket_masking.py).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, Final

from aiohttp import WSCloseCode, web

__all__ = ["UNMASKED_REASON", "MaskWatch", "closed_unmasked", "require_masked_frames"]

#: Jetty's ProtocolException message for an unmasked client frame, sent as the close reason with 1002
UNMASKED_REASON: Final = "Client MUST mask all frames (RFC-6455: Section 5.1)"
#: the sockets closed for an unmasked frame, for a conformance director recording a session (`closed_unmasked`)
_CLOSED_UNMASKED: Final[weakref.WeakSet[web.WebSocketResponse]] = weakref.WeakSet()

_MASK_BIT: Final = 0x80
_LENGTH_BITS: Final = 0x7F


class MaskWatch:
    """Stands in for aiohttp's frame parser on one connection: `feed_data` scans the frame headers in `data` and
    hands `data` to the parser as it is; `on_unmasked` is called once, at the first frame without a mask."""

    def __init__(self, parser: Any, on_unmasked: Callable[[], None]) -> None:
        self._parser = parser
        self._on_unmasked = on_unmasked
        self._head = b""  # the current frame's header, while it arrives in pieces
        self._skip = 0  # payload bytes of the current frame still to come
        self.failed = False

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if not self.failed and self._unmasked_in(data):
            self.failed = True
            self._on_unmasked()
        result: tuple[bool, bytes] = self._parser.feed_data(data)
        return result

    def feed_eof(self) -> None:
        self._parser.feed_eof()

    def _unmasked_in(self, data: bytes) -> bool:
        pos, end = 0, len(data)
        while pos < end:
            if self._skip:
                step = min(self._skip, end - pos)
                self._skip -= step
                pos += step
                continue
            take = self._header_size() - len(self._head)
            self._head += data[pos:pos + take]
            pos += take
            if len(self._head) >= 2 and not self._head[1] & _MASK_BIT:
                return True
            if len(self._head) == self._header_size():
                self._skip, self._head = self._payload_length(), b""
        return False

    def _header_size(self) -> int:
        """2 bytes, then as many as the second says: the extended length (2 or 8 bytes) and the 4-byte mask."""
        if len(self._head) < 2:
            return 2
        length = self._head[1] & _LENGTH_BITS
        return 2 + (2 if length == 126 else 8 if length == 127 else 0) + 4

    def _payload_length(self) -> int:
        length = self._head[1] & _LENGTH_BITS
        if length == 126:
            return int.from_bytes(self._head[2:4], "big")
        if length == 127:
            return int.from_bytes(self._head[2:10], "big")
        return length


def require_masked_frames(request: web.Request, ws: web.WebSocketResponse,
                          closing: set[asyncio.Task[Any]]) -> MaskWatch | None:
    """Watch the frames of `ws` (just prepared) for a missing mask; the close, when one comes, is a task kept in
    `closing` until it ends. The watch, whose `failed` says to answer nothing more (a ping after the close frame
    would be a frame after Close); None if this aiohttp keeps its parser elsewhere (then nothing is watched). Frames
    that came in the same read as the upgrade request were parsed during `prepare` and are not watched: a client
    may not send any before the server's handshake answer (RFC 6455 §4.1)."""
    protocol = request.protocol
    parser = getattr(protocol, "_payload_parser", None)
    if parser is None or isinstance(parser, MaskWatch):
        return None

    def close() -> None:
        _CLOSED_UNMASKED.add(ws)
        task = asyncio.get_running_loop().create_task(
            ws.close(code=WSCloseCode.PROTOCOL_ERROR, message=UNMASKED_REASON.encode()))
        closing.add(task)
        task.add_done_callback(closing.discard)

    watch = MaskWatch(parser, close)
    protocol._payload_parser = watch
    return watch


def closed_unmasked(ws: web.WebSocketResponse) -> bool:
    """Whether `ws` was closed (1002) because its client sent an unmasked frame."""
    return ws in _CLOSED_UNMASKED
