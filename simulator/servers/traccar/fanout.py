"""Socket fan-out: every connected client gets every pushed frame, through a bounded queue of its own.

Policy for a slow client (docs/traccar-server.md, "Slow clients"): its queue holds at most `limit` frames; when a
new frame finds it full, the OLDEST queued frame is dropped and counted (`Client.dropped`, `Hub.dropped`, and
`Hub.stats()`). A slow client therefore never grows the server's memory and never delays the others; it sees the
newest state, with a gap it can back-fill over REST, as traccar-web does after a reconnect (provider-facts §1.2).

What is bounded, per client: the queue (`limit` references to frames every client shares) and the socket's
write buffer. aiohttp's `send_frame` writes into the transport and only waits for it to drain once `writer_limit`
bytes went out since the last wait, and then only while the transport is paused (its buffer above the high-water
mark). The socket sets both to WRITE_BUFFER_BYTES, so a client that stops reading holds at most about twice that
in the server's memory: its pump then waits on the drain, and new frames fall off the front of its queue.

Cost per frame: it is encoded to UTF-8 once, in `publish`, and the same bytes object is queued for, and written
to, every client (aiohttp's `send_str` would encode it again for each one).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import WSMsgType, web

#: frames queued per client at most (a few seconds of a busy fleet)
QUEUE_LIMIT = 256
#: the socket's transport high-water mark and aiohttp's writer_limit (bytes written between drain waits): what a
#: client that stops reading can hold in its write buffer, about twice this at most
WRITE_BUFFER_BYTES = 16 * 1024


class Client:
    __slots__ = ("active_at", "dropped", "offered", "queue", "sent", "transport", "wake", "ws")

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.queue: deque[bytes] = deque()
        self.wake = asyncio.Event()
        self.offered = 0  # frames meant for it: each ends sent, dropped, or still queued
        self.dropped = 0
        self.sent = 0
        self.active_at = 0.0  # loop time of the last frame either way (set by the socket when it opens)
        self.transport: asyncio.Transport | None = None  # set by the socket, for `buffered`

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

    def join(self, ws: web.WebSocketResponse) -> Client:
        client = Client(ws)
        self.clients.add(client)
        return client

    def leave(self, client: Client) -> None:
        self.clients.discard(client)

    def offer(self, client: Client, frame: str | bytes) -> None:
        """Queue one frame for one client (its first frame, a keepalive)."""
        self._queue(client, frame.encode("utf-8") if isinstance(frame, str) else frame)

    def _queue(self, client: Client, data: bytes) -> None:
        queue = client.queue
        client.offered += 1
        if len(queue) >= self.limit:
            queue.popleft()
            client.dropped += 1
            self.dropped += 1
        queue.append(data)
        client.wake.set()

    def publish(self, text: str) -> None:
        data = text.encode("utf-8")  # once for every client
        self.published += 1
        for observer in self.observers:
            observer(data)
        for client in self.clients:
            self._queue(client, data)

    def stats(self) -> HubStats:
        lengths = [len(c.queue) for c in self.clients]
        return HubStats(clients=len(lengths), published=self.published, dropped=self.dropped,
                        queued=sum(lengths), deepest=max(lengths, default=0), limit=self.limit)

    async def pump(self, client: Client) -> None:
        """Write the client's queue to its socket until the socket closes (run as a task per client). Each write
        may wait for the socket to drain (see the module's docstring): meanwhile new frames queue, or drop."""
        ws = client.ws
        loop = asyncio.get_running_loop()
        while not ws.closed:
            await client.wake.wait()
            client.wake.clear()
            queue = client.queue
            while queue and not ws.closed:
                data = queue.popleft()
                try:
                    await ws.send_frame(data, WSMsgType.TEXT)
                except (ConnectionError, RuntimeError):  # the peer went away mid-write
                    return
                client.sent += 1
                client.active_at = loop.time()
