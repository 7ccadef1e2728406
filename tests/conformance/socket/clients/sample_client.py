"""A Traccar socket client as an honest integrator writes it with aiohttp, and the naive variants the socket
checks must catch (`--flaw`).

The well-behaved client logs in (POST /api/session) and opens /api/socket with the JSESSIONID cookie; after a
refused upgrade it logs in again before the next attempt; it reconnects after a random first delay, then with
exponential backoff and jitter, truncated at a cap; it pings every `--keepalive` seconds and gives up on a socket
whose pong does not come; after a reconnect it fetches each device's positions between the last fix it saw and
the first it sees again; it skips what it cannot parse and keys it does not know, and frames over 4 MB close the
socket with 1009 (aiohttp's limit). Timings are arguments so that tests run in seconds.

Flaws, one each: `no-relogin` (keeps its first cookie forever), `storm` (reconnects at once, always),
`no-keepalive` (never pings: a silent socket goes unnoticed), `no-backfill` (ignores what it missed),
`crash-on-garbage` (json.loads and a strict key dispatch without a guard: the first odd frame kills it),
`unmasked` (writes a ping of its own without the mask RFC 6455 requires of every client frame, after each
socket's first frame: a real Traccar closes every socket it opens at once).

Run: python sample_client.py --url URL --email E --password P [--flaw F] [timings]; or `run(Config(...))` from a
test's event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

FLAWS = ("no-relogin", "storm", "no-keepalive", "no-backfill", "crash-on-garbage", "unmasked")


@dataclass
class Config:
    url: str
    email: str
    password: str
    flaw: str | None = None
    jitter_s: float = 5.0  # the first reconnect delay is uniform in [0, jitter_s]
    base_s: float = 1.0  # backoff: base * 2**failures, with jitter, at most cap
    cap_s: float = 60.0
    keepalive_s: float = 30.0


@dataclass
class Client:
    config: Config
    last_fix: dict[int, str] = field(default_factory=dict)  # deviceId -> fixTime of the last position seen
    positions: dict[int, dict[str, Any]] = field(default_factory=dict)  # by position id: the client's store
    frames: int = 0

    # -- frames --------------------------------------------------------------------------------------------

    def take(self, text: str) -> dict[int, str]:
        """Take one text frame into the store; the fix times it brought, per device."""
        if self.config.flaw == "crash-on-garbage":
            frame = json.loads(text)  # the naive way: no guard
            handlers = {"positions": self._positions, "devices": self._ignore, "events": self._ignore}
            seen: dict[int, str] = {}
            for key, value in frame.items():
                seen.update(handlers[key](value))  # an unknown key is a KeyError
            return seen
        try:
            frame = json.loads(text)
        except ValueError:
            return {}  # not JSON: skipped
        if not isinstance(frame, dict):
            return {}
        positions = frame.get("positions")  # unknown keys are left alone
        return self._positions(positions) if isinstance(positions, list) else {}

    def _ignore(self, value: Any) -> dict[int, str]:
        return {}

    def _positions(self, positions: list[Any]) -> dict[int, str]:
        seen: dict[int, str] = {}
        for position in positions:
            if isinstance(position, dict) and isinstance(position.get("deviceId"), int):
                self.positions[position.get("id", len(self.positions))] = position
                seen[position["deviceId"]] = str(position.get("fixTime"))
        self.frames += 1
        return seen

    # -- the connection ------------------------------------------------------------------------------------

    async def login(self, http: aiohttp.ClientSession) -> None:
        http.cookie_jar.clear()
        async with http.post(f"{self.config.url}/api/session",
                             data={"email": self.config.email, "password": self.config.password}) as response:
            response.raise_for_status()

    async def backfill(self, http: aiohttp.ClientSession, before: dict[int, str], now: dict[int, str]) -> None:
        """Every device's positions from the last fix seen before the break to the first seen after it."""
        for device, since in before.items():
            until = now.get(device) or datetime.now(UTC).isoformat()
            params = {"deviceId": str(device), "from": since, "to": until}
            async with http.get(f"{self.config.url}/api/positions", params=params) as response:
                if response.status == 200:
                    self._positions(await response.json())

    async def run(self) -> None:
        config = self.config
        heartbeat = None if config.flaw == "no-keepalive" else config.keepalive_s
        failures = 0
        logged_in = False
        connected_before = False
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            while True:
                try:
                    if not logged_in:
                        await self.login(http)
                        logged_in = True
                    async with http.ws_connect(f"{config.url}/api/socket", heartbeat=heartbeat,
                                               max_msg_size=4 * 1024 * 1024) as ws:
                        failures = 0
                        before = dict(self.last_fix)
                        first = True
                        async for message in ws:
                            if message.type != aiohttp.WSMsgType.TEXT:
                                continue  # binary frames carry nothing Traccar sends
                            seen = self.take(message.data)
                            if first and config.flaw == "unmasked":
                                # a hand-written client's ping without the mask every client frame needs: an
                                # empty ping frame (0x89, length 0) straight onto the connection
                                ws._writer.transport.write(b"\x89\x00")
                            if first and connected_before and config.flaw != "no-backfill":
                                await self.backfill(http, before, seen)
                            first = False
                            self.last_fix.update(seen)
                        connected_before = True
                    delay = 0.0 if config.flaw == "storm" else random.uniform(0, config.jitter_s)
                except aiohttp.WSServerHandshakeError:
                    # refused: the session may be gone (Traccar answers 503 without one): log in again first
                    if config.flaw != "no-relogin":
                        logged_in = False
                    failures += 1
                    delay = self._backoff(failures)
                except (TimeoutError, aiohttp.ClientError, OSError):
                    failures += 1
                    delay = self._backoff(failures)
                await asyncio.sleep(delay)

    def _backoff(self, failures: int) -> float:
        if self.config.flaw == "storm":
            return 0.0
        ceiling = min(self.config.cap_s, self.config.base_s * 2.0 ** failures)
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # "equal jitter": never 0, never in lockstep


async def run(config: Config) -> None:
    await Client(config).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=os.environ.get("FLEETSIM_TRACCAR_URL"))
    parser.add_argument("--email", default=os.environ.get("FLEETSIM_TRACCAR_EMAIL"))
    parser.add_argument("--password", default=os.environ.get("FLEETSIM_TRACCAR_PASSWORD"))
    parser.add_argument("--flaw", choices=FLAWS)
    parser.add_argument("--jitter", type=float, default=5.0)
    parser.add_argument("--base", type=float, default=1.0)
    parser.add_argument("--cap", type=float, default=60.0)
    parser.add_argument("--keepalive", type=float, default=30.0)
    args = parser.parse_args(argv)
    if not (args.url and args.email and args.password):
        parser.error("--url, --email and --password (or the FLEETSIM_TRACCAR_* variables) are required")
    config = Config(args.url, args.email, args.password, args.flaw, args.jitter, args.base, args.cap, args.keepalive)
    try:
        asyncio.run(run(config))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
