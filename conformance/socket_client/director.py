"""The session director: the real `fleetsim serve` app (simulator/servers/traccar/, traccar-4.12, PowUnity's
version) with a recorder at its edge, driven phase by phase through what the catalogue's TRN-06…TRN-10 do to a
socket client, recording every HTTP request and socket upgrade, open and close the client makes.

The world does not advance by itself here: the director plays the scenario's frames when a phase needs them (the
first world before the client connects, positions while the client is away), so a session is the same whatever
the machine's speed. Times come from the event loop's clock, read at the edge (the recorder and the marks).
Every phase is bounded by the options' timeouts; a client that does not come back makes a phase end early, and
the phases after it find no connection and say so.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from aiohttp import WSCloseCode, hdrs, web

from simulator.errors import UsageError
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.servers.traccar.accounts import DEMO_ACCOUNT, DEMO_PASSWORD
from simulator.servers.traccar.app import build_app, with_settings
from simulator.servers.traccar.director_hooks import (
    abort,
    close,
    forget_sessions,
    go_half_open,
    push_raw,
    restore_sessions,
)
from simulator.servers.traccar.feed import Player, socket_frames
from simulator.servers.traccar.live import traccar_ms
from simulator.servers.traccar.masking import closed_unmasked
from simulator.servers.traccar.profiles import PROFILES
from simulator.servers.traccar.rest import COOKIE
from simulator.servers.traccar.state import SERVER, ServerState
from simulator.stream import Outgoing

from .recording import (
    CLOSE,
    DEAD_SESSION,
    HTTP,
    MARK,
    NO_SESSION,
    OPEN,
    PHASES,
    UNMASKED_FRAME,
    UPGRADE,
    VALID_SESSION,
    Record,
    Recording,
    uncovered,
)

#: the Traccar version played: PowUnity's (provider-facts §1.1)
PROFILE = "traccar-4.12"
SCENARIO = "powunity-ebike-theft.yaml"
#: close codes TRN-07 cycles through; 1006 is not sent (RFC 6455 forbids it on the wire): the TCP connection is
#: dropped without a close frame, which the client sees as 1006
CLOSE_CODES = (int(WSCloseCode.GOING_AWAY), int(WSCloseCode.INTERNAL_ERROR), int(WSCloseCode.SERVICE_RESTART), 1006)
ABRUPT = 1006
#: TRN-10's frames, in the order sent. The oversized one is 10 MB of valid JSON (unknown key), so a client that
#: takes big frames may parse it and skip it
OVERSIZED_BYTES = 10 * 1024 * 1024
GARBAGE: tuple[tuple[str, str | bytes], ...] = (
    ("not JSON", "this is not JSON {\"positions\":"),
    ("unknown keys", '{"logs":[{"deviceId":1,"message":"fleetsim"}],"fleetsimUnknown":{"a":[1,2]}}'),
    ("binary", b"\x00\x01\xfe\xff fleetsim binary frame"),
    ("oversized (10 MB)", '{"logs":["' + "x" * (OVERSIZED_BYTES - 12) + '"]}'),
)
#: positions played while the client is away in TRN-09 (about two per device of the shipped scenario)
GAP_POSITIONS = 12
#: TRN-10: how long a close may take to show after a small garbage frame, and after the 10 MB one
SMALL_WAIT_S = 0.15
OVERSIZED_WAIT_S = 0.5
#: how long a pong (or any frame from the client) may take after TRN-10's ping
PING_WAIT_S = 2.0


@dataclass(frozen=True)
class SocketOptions:
    """A session's timings. The defaults follow the catalogue (20 closures, a minute of outage, 10 connects a
    minute, a 30 s keepalive); tests pass short ones."""

    connect_timeout_s: float = 60.0  # for the client's first connection
    phase_timeout_s: float = 15.0  # for a reconnect after a closure, and for TRN-09's back-fill
    closures: int = 20
    outage_s: float = 60.0
    storm_limit: float = 10.0  # connects per minute while the server refuses, after the first few
    client_keepalive_s: float = 30.0  # the client's declared keepalive: TRN-08's limit is twice it
    gap_s: float = 1.0  # how long TRN-09 keeps the client away
    settle_s: float = 0.3  # quiet time after a connect, and after each TRN-10 frame
    first_delay_max_s: float = 5.0  # TRN-07: the first reconnect comes within this


@dataclass(eq=False)
class Conn:
    number: int
    request: web.Request
    ws: web.WebSocketResponse
    opened_at: float
    closed: bool = False
    by_server: bool = False


@dataclass
class Director:
    options: SocketOptions = field(default_factory=SocketOptions)
    host: str = "127.0.0.1"
    port: int = 0
    recording: Recording = field(default_factory=Recording)
    url: str = ""
    refusing: bool = False  # an outage: every upgrade is answered 503
    current: Conn | None = None
    exited: bool = False

    def __post_init__(self) -> None:
        self._changed = asyncio.Event()
        self._conns = 0
        self._runner: web.AppRunner | None = None
        self._state: ServerState | None = None
        self._frames: Iterator[Outgoing] = iter(())
        self._player: Player | None = None
        # per request in flight (by id: a Request is no dict key): its session as it came, its connection once open
        self._sessions: dict[int, str] = {}
        self._by_request: dict[int, Conn] = {}
        self.recording.options = {k: float(v) for k, v in asdict(self.options).items()}

    # -- the server ------------------------------------------------------------------------------------------

    async def start(self) -> str:
        scenario, profile = with_settings(load_scenario(scenarios_dir() / SCENARIO), None, PROFILE)
        # no keepalive (4.12 has none) and no idle timeout: the director decides when the socket goes quiet
        app = build_app(scenario, scenario.delivery.providers, PROFILES[profile], keepalive_s=None,
                        idle_timeout_s=None)
        app.middlewares.append(self._record)
        app.on_response_prepare.append(self._on_prepare)
        state = self._state = app[SERVER]
        self._player = Player(scenario, state.provider, state.world, state.hub)
        self._frames = socket_frames(scenario, state.provider)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as exc:
            await self._runner.cleanup()
            why = exc.strerror if isinstance(exc, socket.gaierror) or not exc.errno else os.strerror(exc.errno)
            raise UsageError(f"check: cannot listen on {self.host}:{self.port}: {why or exc}") from None
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{f'[{host}]' if ':' in str(host) else host}:{port}"
        self._emit(positions=len(state.world.devices) or 6)  # every device with a first position
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def state(self) -> ServerState:
        assert self._state is not None, "start() first"
        return self._state

    def _emit(self, positions: int) -> dict[int, list[int]]:
        """Play the scenario's next frames until `positions` position frames were played; the fix times (epoch
        ms) of those positions, per device."""
        assert self._player is not None
        fixes: dict[int, list[int]] = {}
        for item in self._frames:
            self._player.play(item.body)
            frame = orjson.loads(item.body)
            for position in frame.get("positions", []) if isinstance(frame, dict) else []:
                fix = traccar_ms(position.get("fixTime"))
                if isinstance(position.get("deviceId"), int) and fix is not None:
                    fixes.setdefault(position["deviceId"], []).append(fix)
                    positions -= 1
            if positions <= 0:
                break
        return fixes

    # -- the recorder, at the edge -----------------------------------------------------------------------------

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _add(self, record: Record) -> Record:
        self.recording.add(record)
        self._changed.set()
        return record

    def mark(self, label: str, **data: Any) -> Record:
        return self._add(Record(self._now(), MARK, label, data=data))

    def _session(self, request: web.Request) -> str:
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return NO_SESSION
        return VALID_SESSION if self.state.accounts.session_user(cookie) is not None else DEAD_SESSION

    @web.middleware
    async def _record(self, request: web.Request,
                      handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        now = self._now()
        upgrade = request.path == "/api/socket" and "websocket" in request.headers.get(hdrs.UPGRADE, "").lower()
        if upgrade:
            session = self._session(request)
            if self.refusing:  # an outage: as a Traccar that is down behind its proxy
                self._add(Record(now, UPGRADE, status=503, session=session, data={"outage": True}))
                return web.Response(status=503)
            self._sessions[id(request)] = session
        status = 500  # what aiohttp answers for an exception the handler did not expect
        try:
            response: web.StreamResponse = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            conn = self._by_request.pop(id(request), None)
            session = self._sessions.pop(id(request), NO_SESSION)
            if conn is not None:
                conn.closed = True
                if self.current is conn:
                    self.current = None
                self._add(Record(self._now(), CLOSE, conn=conn.number, code=conn.ws.close_code,
                                 by_server=conn.by_server,
                                 data={UNMASKED_FRAME: True} if closed_unmasked(conn.ws) else {}))
            elif upgrade:
                self._add(Record(now, UPGRADE, status=status, session=session))
            else:
                query = {k: request.query.getall(k) for k in ("deviceId", "from", "to", "type")
                         if k in request.query}
                if "token" in request.query:
                    query["token"] = ["<redacted>"]  # that one was given, never what it was
                self._add(Record(now, HTTP, f"{request.method} {request.path}", status=status, data=query))

    async def _on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        if isinstance(response, web.WebSocketResponse) and response.status == 101:
            now = self._now()
            self._conns += 1
            conn = Conn(self._conns, request, response, now)
            self._by_request[id(request)] = conn
            self.current = conn
            self._add(Record(now, UPGRADE, status=101, session=self._sessions.get(id(request), VALID_SESSION)))
            self._add(Record(now, OPEN, conn=conn.number))

    def client_ended(self, code: int | None, tail: str) -> None:
        """The launched client's process ended (a crash, or it gave up) before grading did."""
        self.exited = True
        self.recording.client_exit = (code, tail)
        self.recording.client_exit_t = self._now()
        self._changed.set()

    # -- waiting ---------------------------------------------------------------------------------------------

    async def until(self, done: Callable[[], bool], timeout_s: float) -> bool:
        """Wait until `done()` (re-asked after every record), at most `timeout_s`; False on timeout or when the
        client's process ended."""
        deadline = self._now() + timeout_s
        while not done():
            left = deadline - self._now()
            if self.exited or left <= 0:
                return done()
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                return done()
        return True

    async def _poll(self, done: Callable[[], bool], timeout_s: float, step_s: float = 0.02) -> bool:
        """Wait for a condition no record announces (a pong moves only the socket's activity time)."""
        deadline = self._now() + timeout_s
        while not done() and not self.exited and self._now() < deadline:
            await asyncio.sleep(step_s)
        return done()

    def _opened_after(self, t: float) -> bool:
        return self.recording.first_open_after(t) is not None

    def _opened_since(self, t: float) -> Callable[[], bool]:
        return lambda: self._opened_after(t)

    @staticmethod
    def _closed(conn: Conn) -> Callable[[], bool]:
        return lambda: conn.closed

    async def _connected(self, timeout_s: float | None = None) -> Conn | None:
        """The client's open connection, once it has one and has been left alone for settle_s; None (and a
        `not-connected` mark) when it has none within the timeout."""
        wait = self.options.phase_timeout_s if timeout_s is None else timeout_s
        if not await self.until(lambda: self.current is not None, wait):
            self.mark("not-connected")
            return None
        await asyncio.sleep(self.options.settle_s)
        if self.current is None:  # it went away by itself while settling: wait for it once more
            return await self._connected(timeout_s)
        return self.current

    async def _close(self, conn: Conn, code: int, reason: bytes = b"") -> None:
        conn.by_server = True
        if code == ABRUPT:
            abort(conn.request)
        else:
            await close(conn.ws, code, reason)

    async def _pause(self, seconds: float) -> None:
        """Sleep, ending early when the client's process ended."""
        await self.until(lambda: False, seconds)

    # -- the phases ------------------------------------------------------------------------------------------

    async def run(self, phases: Iterable[str]) -> Recording:
        """Play the phases asked for (always `auth`: the first connection) in PHASES' order."""
        wanted = set(phases) | {"auth"}
        for name in PHASES:
            if name not in wanted:
                continue
            if self.exited:
                break
            if name != "auth" and not any(r.kind == OPEN for r in self.recording.records):
                self.mark("no-client")  # nobody ever connected: no phase has anything to do
                break
            self.mark(f"start:{name}")
            try:
                await getattr(self, "_" + name.replace("-", "_"))()
            finally:
                self.mark(f"end:{name}")
        return self.recording

    async def _auth(self) -> None:
        """TRN-06: wait for the first connection (upgrades without a session are refused with 503 by the server
        itself); then forget every session, as a restart does, and close the socket (1001): the client must log
        in again, once, and reconnect. A client that does not is given its old session back, so the later
        phases can still run."""
        conn = await self._connected(self.options.connect_timeout_s)
        if conn is None:
            return
        saved = forget_sessions(self.state)
        expired = self.mark("expire")
        await self._close(conn, int(WSCloseCode.GOING_AWAY), b"server restarting")
        if not await self.until(lambda: self._opened_after(expired.t), self.options.phase_timeout_s):
            restore_sessions(self.state, saved)
            restored = self.mark("restored")
            await self.until(lambda: self._opened_after(restored.t), self.options.phase_timeout_s)

    async def _reconnect(self) -> None:
        """TRN-07: close the socket `closures` times cycling 1001, 1011, 1012 and an abrupt TCP close, each time
        waiting for the reconnect; then an outage: the socket is closed (1012) and every upgrade refused with
        503 for `outage_s`."""
        for number in range(self.options.closures):
            conn = await self._connected()
            if conn is None:
                return
            code = CLOSE_CODES[number % len(CLOSE_CODES)]
            closure = self.mark("closure", code=code, number=number + 1)
            await self._close(conn, code, b"fleetsim TRN-07")
            await self.until(self._opened_since(closure.t), self.options.phase_timeout_s)
        conn = await self._connected()
        if conn is None:
            return
        self.refusing = True
        self.mark("outage-start", seconds=self.options.outage_s)
        await self._close(conn, int(WSCloseCode.SERVICE_RESTART), b"fleetsim outage")
        await self._pause(self.options.outage_s)
        self.refusing = False
        ended = self.mark("outage-end")
        # a backoff that doubled through the outage may be waiting about as long as the outage lasted
        await self.until(lambda: self._opened_after(ended.t), self.options.phase_timeout_s + self.options.outage_s)

    async def _gap(self) -> None:
        """TRN-09: close the socket (1001) and keep refusing upgrades for `gap_s` while the world moves on
        (positions are played); after the reconnect, wait for the client to fetch what it missed."""
        conn = await self._connected()
        if conn is None:
            return
        self.refusing = True
        self.mark("gap-start")
        await self._close(conn, int(WSCloseCode.GOING_AWAY), b"fleetsim TRN-09")
        fixes = self._emit(GAP_POSITIONS)
        self.mark("gap-positions", fixes={str(d): [min(f), max(f)] for d, f in fixes.items()})
        await self._pause(self.options.gap_s)
        self.refusing = False
        ended = self.mark("gap-end")
        if await self.until(lambda: self._opened_after(ended.t), self.options.phase_timeout_s):
            await self.until(lambda: not uncovered(self.recording), self.options.phase_timeout_s)

    async def _half_open(self) -> None:
        """TRN-08: the socket goes silent without closing (nothing sent, nothing read, pings unanswered); wait for
        the client to open a new one, a little beyond twice its declared keepalive plus TRN-07's first delay; then
        drop the old one."""
        conn = await self._connected()
        if conn is None:
            return
        # detected within twice the keepalive (the catalogue's pass line), then reconnected after the random first
        # delay TRN-07 asks of every reconnect: fleetsim sees the reconnect, not the detection (it reads nothing)
        limit = 2 * self.options.client_keepalive_s + self.options.first_delay_max_s
        began = self.mark("half-open", limit_s=limit, keepalive_s=self.options.client_keepalive_s,
                          first_delay_s=self.options.first_delay_max_s)
        go_half_open(self.state, conn.request, conn.ws)
        noticed = await self.until(lambda: self._opened_after(began.t), limit + max(0.5, 0.1 * limit))
        conn.by_server = True
        abort(conn.request)
        released = self.mark("half-open-released")
        if not noticed:
            await self.until(lambda: self._opened_after(released.t), self.options.phase_timeout_s)

    async def _garbage(self) -> None:
        """TRN-10: a non-JSON text frame, a frame with unknown keys, a binary frame and a 10 MB frame, each on the
        open socket; after each, whether the socket stayed open (a close after the big one must be 1009, then a
        reconnect); at the end a real frame and a ping: the client must still be reading."""
        for name, frame in GARBAGE:
            conn = await self._connected()
            if conn is None:
                return
            sent = self.mark("garbage", frame=name)
            await push_raw(conn.ws, frame)
            # a close comes quickly after a small frame; the 10 MB one takes a moment to arrive
            wait = OVERSIZED_WAIT_S if isinstance(frame, str) and len(frame) >= OVERSIZED_BYTES else SMALL_WAIT_S
            await self.until(self._closed(conn), max(self.options.settle_s, wait))
            if conn.closed:
                await self.until(self._opened_since(sent.t), self.options.phase_timeout_s)
        conn = await self._connected()
        if conn is None:
            return
        self._emit(positions=1)
        await asyncio.sleep(self.options.settle_s)
        client = next((c for c in self.state.hub.clients if c.ws is conn.ws), None)
        pinged = self.mark("ping")
        with contextlib.suppress(ConnectionError, RuntimeError):
            await conn.ws.ping(b"fleetsim")
        # any frame from the client after the ping (its pong, or a ping of its own) shows it is still reading
        answered = await self._poll(lambda: client is not None and client.active_at > pinged.t, PING_WAIT_S)
        self.mark("pong" if answered else "no-pong")


def demo_credentials() -> dict[str, str]:
    """The account the client logs in with: fleetsim's documented demo account (docs/traccar-server.md)."""
    return {"email": DEMO_ACCOUNT.email, "password": DEMO_PASSWORD}  # public (README): printed, passed to the client


__all__ = ["CLOSE_CODES", "GARBAGE", "Director", "SocketOptions", "demo_credentials"]
