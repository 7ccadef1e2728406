"""Socket fan-out: every connected client gets every pushed frame, through a bounded queue of its own.

Policy for a slow client (docs/traccar-server.md, "Slow clients"): its queue holds at most `limit` frames; when a
new frame finds it full, the OLDEST queued frame is dropped and counted (`Client.dropped`, `Hub.dropped`, and
`Hub.stats()`). A slow client therefore never grows the server's memory and never delays the others; it sees the
newest state, with a gap it can back-fill over REST, as traccar-web does after a reconnect (provider-facts §1.2).

What is bounded, per client: the queue (`limit` references to frames every client shares) and the socket's
write buffer. The pump writes what is queued, then, when the socket's write buffer is above WRITE_BUFFER_BYTES
(the transport's high-water mark, set by the socket), waits for it to drain: a client that stops reading holds
about twice that in the server's memory at most, and meanwhile new frames fall off the front of its queue.
(aiohttp's own `send_str` waits the same way, but only after 64 KiB more has gone out since its last wait.)

Cost per frame and client: a frame is framed once, in `publish` — an unmasked, uncompressed, final text frame
(RFC 6455 §5.2), the same bytes for every client, which is why the socket negotiates no permessage-deflate — and
the pump writes everything a client has queued in one write (one system call for a burst, not one per frame).
aiohttp's `send_str` would encode, frame and write each frame for each client separately; with 1,000 clients
those writes were most of the server's time.
"""

from __future__ import annotations

import asyncio
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter

#: frames queued per client at most (a few seconds of a busy fleet)
QUEUE_LIMIT = 256
#: the socket's transport high-water mark, and the most one write gathers: a client that stops reading holds about
#: twice this in its write buffer at most
WRITE_BUFFER_BYTES = 16 * 1024
_TEXT_FIN = 0x81  # FIN bit and opcode 1 (text)


def text_frame(payload: bytes) -> bytes:
    """`payload` as one final text frame as a server writes it: unmasked, uncompressed (RFC 6455 §5.2)."""
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", _TEXT_FIN, size) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", _TEXT_FIN, 126, size) + payload
    return struct.pack("!BBQ", _TEXT_FIN, 127, size) + payload


class Client:
    __slots__ = ("active_at", "devices", "dropped", "offered", "queue", "sent", "transport", "wake", "writer", "ws")

    def __init__(self, ws: web.WebSocketResponse, devices: frozenset[int] | None = None) -> None:
        self.ws = ws
        #: the devices whose frames it gets (its user's linked devices, accounts.py); None: all
        self.devices = devices
        self.queue: deque[bytes] = deque()  # whole frames, as written (text_frame)
        self.wake = asyncio.Event()
        self.offered = 0  # frames meant for it: each ends sent, dropped, or still queued
        self.dropped = 0
        self.sent = 0
        self.active_at = 0.0  # loop time of the last frame either way (set by the socket when it opens)
        # set by the socket once the upgrade is done: where the pump writes, and what it waits on to drain
        self.transport: asyncio.Transport | None = None
        self.writer: AbstractStreamWriter | None = None

    @property
    def buffered(self) -> int:
        """Bytes waiting in the socket's write buffer (about 2 * WRITE_BUFFER_BYTES at most)."""
        return self.transport.get_write_buffer_size() if self.transport is not None else 0


@dataclass(frozen=True)
class HubStats:
    clients: int  # connected now
    published: int  # frames pushed to every client
    dropped: int  # frames dropped from a full queue, over all clients, including those gone
    queued: int  # frames waiting in the queues now
    deepest: int  # the longest queue now (never above the limit)
    limit: int


class Hub:
    def __init__(self, limit: int = QUEUE_LIMIT) -> None:
        if limit < 1:
            raise ValueError("a client's queue holds at least one frame")
        self.limit = limit
        self.clients: set[Client] = set()
        self.dropped = 0  # over all clients, including those gone
        self.published = 0
        #: called with each published frame's bytes before it is queued (the benchmark times publishing with it)
        self.observers: list[Callable[[bytes], None]] = []

    def join(self, ws: web.WebSocketResponse, devices: frozenset[int] | None = None) -> Client:
        client = Client(ws, devices)
        self.clients.add(client)
        return client

    def leave(self, client: Client) -> None:
        self.clients.discard(client)

    def offer(self, client: Client, frame: str | bytes) -> None:
        """Queue one frame (its text) for one client: its first frame, a keepalive."""
        self._queue(client, text_frame(frame.encode("utf-8") if isinstance(frame, str) else frame))

    def _queue(self, client: Client, data: bytes) -> None:
        queue = client.queue
        client.offered += 1
        if len(queue) >= self.limit:
            queue.popleft()
            client.dropped += 1
            self.dropped += 1
        queue.append(data)
        client.wake.set()

    def publish(self, text: str, device_id: int | None = None) -> None:
        """`text` to every client that sees `device_id` (None: a frame for everyone), framed once for all."""
        payload = text.encode("utf-8")
        self.published += 1
        for observer in self.observers:
            observer(payload)
        data = text_frame(payload)  # once for every client
        for client in self.clients:
            if device_id is None or client.devices is None or device_id in client.devices:
                self._queue(client, data)

    def stats(self) -> HubStats:
        lengths = [len(c.queue) for c in self.clients]
        return HubStats(clients=len(lengths), published=self.published, dropped=self.dropped,
                        queued=sum(lengths), deepest=max(lengths, default=0), limit=self.limit)

    async def pump(self, client: Client) -> None:
        """Write the client's queue to its socket until the socket closes (run as a task per client, once the
        socket set `transport` and `writer`). What is queued goes out in writes of up to WRITE_BUFFER_BYTES; while
        the write buffer is above that, the pump waits for it to drain, and new frames queue, or drop."""
        ws, transport, writer = client.ws, client.transport, client.writer
        if transport is None or writer is None:
            raise RuntimeError("the socket is not open")
        loop = asyncio.get_running_loop()
        queue = client.queue
        while True:
            await client.wake.wait()
            client.wake.clear()
            while queue:
                if ws.closed or transport.is_closing():  # closing: no data frame may follow the close frame
                    return
                first = queue.popleft()
                if not queue or len(first) >= WRITE_BUFFER_BYTES:
                    transport.write(first)
                    written = 1
                else:
                    batch, size = [first], len(first)
                    while queue and size < WRITE_BUFFER_BYTES:
                        batch.append(queue.popleft())
                        size += len(batch[-1])
                    transport.write(b"".join(batch))
                    written = len(batch)
                client.sent += written
                client.active_at = loop.time()
                if transport.get_write_buffer_size() > WRITE_BUFFER_BYTES:
                    try:
                        await writer.drain()  # until the peer reads (or goes away)
                    except (ConnectionError, RuntimeError):
                        return
