"""Socket fan-out: every connected client gets every pushed frame, through a bounded queue of its own.

Policy for a slow client (docs/traccar-server.md, "Slow clients"): its queue holds at most `limit` frames; when a
new frame finds it full, the OLDEST queued frame is dropped and counted (`Client.dropped`, `Hub.dropped`). A slow
client therefore never grows the server's memory and never delays the others; it sees the newest state, with a
gap it can back-fill over REST, as traccar-web does after a reconnect (provider-facts §1.2).
"""

from __future__ import annotations

import asyncio
from collections import deque

from aiohttp import web

#: frames queued per client at most (a few seconds of a busy fleet)
QUEUE_LIMIT = 256


class Client:
    __slots__ = ("active_at", "devices", "dropped", "offered", "queue", "sent", "wake", "ws")

    def __init__(self, ws: web.WebSocketResponse, devices: frozenset[int] | None = None) -> None:
        self.ws = ws
        #: the devices whose frames it gets (its user's linked devices, accounts.py); None: all
        self.devices = devices
        self.queue: deque[str] = deque()
        self.wake = asyncio.Event()
        self.offered = 0  # frames meant for it: each ends sent, dropped, or still queued
        self.dropped = 0
        self.sent = 0
        self.active_at = 0.0  # loop time of the last frame either way (set by the socket when it opens)


class Hub:
    def __init__(self, limit: int = QUEUE_LIMIT) -> None:
        if limit < 1:
            raise ValueError("a client's queue holds at least one frame")
        self.limit = limit
        self.clients: set[Client] = set()
        self.dropped = 0  # over all clients, including those gone

    def join(self, ws: web.WebSocketResponse, devices: frozenset[int] | None = None) -> Client:
        client = Client(ws, devices)
        self.clients.add(client)
        return client

    def leave(self, client: Client) -> None:
        self.clients.discard(client)

    def offer(self, client: Client, text: str) -> None:
        queue = client.queue
        client.offered += 1
        if len(queue) >= self.limit:
            queue.popleft()
            client.dropped += 1
            self.dropped += 1
        queue.append(text)
        client.wake.set()

    def publish(self, text: str, device_id: int | None = None) -> None:
        """`text` (serialised once) to every client that sees `device_id` (None: a frame for everyone)."""
        for client in self.clients:
            if device_id is None or client.devices is None or device_id in client.devices:
                self.offer(client, text)

    async def pump(self, client: Client) -> None:
        """Write the client's queue to its socket until the socket closes (run as a task per client)."""
        ws = client.ws
        while not ws.closed:
            await client.wake.wait()
            client.wake.clear()
            while client.queue and not ws.closed:
                text = client.queue.popleft()
                try:
                    await ws.send_str(text)
                except (ConnectionError, RuntimeError):  # the peer went away mid-write
                    return
                client.sent += 1
                client.active_at = asyncio.get_running_loop().time()

