"""A Locust user for a Traccar server's /api/socket (`fleetsim serve`, or a real Traccar): log in, hold the socket
open, and report every frame received through Locust's request events.

    locust -f loadtests/socket_locustfile.py --host http://127.0.0.1:8082 [--fleetsim-email E]
           [--fleetsim-password P] [--fleetsim-reconnect-s SECONDS]

Each user logs in with `POST /api/session` (a form, as traccar-web does; reported as an HTTP request), opens
`ws(s)://HOST/api/socket` with the session cookie through `websocket-client` (plain sockets, which gevent's
monkey-patching makes cooperative), and then reads frames for as long as it runs. Every frame is one request
event:

| field | value |
|---|---|
- request_type `WS`;
- name: the frame's key, `positions`, `devices` or `events`; `keepalive` for `{}`; `other` for anything else;
  `connect` for opening the socket;
- response_length: the frame's length in bytes;
- response_time: ms the user waited for this frame since the previous one (the frame interval). The frames'
  own times are the scenario's, not the wall clock, so publish-to-receive latency cannot be read from them; `make
  bench` measures it with a hook in the server (simulator/benchmarks/socket_fanout.py);
- exception: when the socket closed or broke (name `connection`), or a frame is not a JSON object (`garbage`).

A user whose socket closed logs in again and reconnects after `--fleetsim-reconnect-s` (1 s by default), as
traccar-web does, so a server restart shows as a run of `connection` failures, then frames again.

This module and loadtests/locustfile.py are the only ones of fleetsim that import Locust (and so gevent).
"""

from __future__ import annotations

import json
import time

import websocket
from locust import HttpUser, constant, events, task
from locust.argument_parser import LocustArgumentParser

DEMO_EMAIL, DEMO_PASSWORD = "demo@fleetsim.local", "demo"  # fleetsim serve's demo account (docs/traccar-server.md)
FRAME_KEYS = frozenset({"positions", "devices", "events"})


def _options(parser: LocustArgumentParser) -> None:
    parser.add_argument("--fleetsim-email", default=DEMO_EMAIL, include_in_web_ui=False,
                        help=f"account to log in with (default {DEMO_EMAIL}, fleetsim serve's demo account)")
    parser.add_argument("--fleetsim-password", default=DEMO_PASSWORD, include_in_web_ui=False, is_secret=True,
                        help="its password (default: the demo account's)")
    parser.add_argument("--fleetsim-reconnect-s", type=float, default=1.0, include_in_web_ui=False,
                        help="seconds before a user whose socket closed logs in and reconnects (default 1)")


events.init_command_line_parser.add_listener(_options)  # type: ignore[no-untyped-call]


def frame_name(text: str) -> tuple[str, Exception | None]:
    """The request name of a frame, and the exception to report when it is not a frame of the socket."""
    try:
        frame = json.loads(text)
    except ValueError as exc:
        return "garbage", exc
    if not isinstance(frame, dict):
        return "garbage", ValueError(f"a frame is a JSON object, not {type(frame).__name__}")
    if not frame:
        return "keepalive", None
    keys = [k for k in frame if k in FRAME_KEYS]
    return (keys[0] if len(keys) == 1 and len(frame) == 1 else "other"), None


def socket_url(host: str) -> str:
    return ("wss://" + host.removeprefix("https://") if host.startswith("https://")
            else "ws://" + host.removeprefix("http://")).rstrip("/") + "/api/socket"


class TraccarSocketUser(HttpUser):
    """One integrator's socket: log in, then one task reads one frame at a time (wait_time 0: it blocks in recv)."""

    wait_time = constant(0)
    ws: websocket.WebSocket | None = None

    def on_start(self) -> None:
        self.ws = None
        self.last = time.monotonic()

    def on_stop(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None

    def _connect(self) -> bool:
        options = self.environment.parsed_options
        email = getattr(options, "fleetsim_email", DEMO_EMAIL)
        password = getattr(options, "fleetsim_password", DEMO_PASSWORD)
        with self.client.post("/api/session", data={"email": email, "password": password}, name="/api/session",
                              catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"login answered {response.status_code}")
                return False
        cookie = self.client.cookies.get("JSESSIONID")
        started = time.monotonic()
        try:
            self.ws = websocket.create_connection(socket_url(self.host or ""), cookie=f"JSESSIONID={cookie}",
                                                  timeout=30, enable_multithread=False)
        except (OSError, websocket.WebSocketException) as exc:
            self._report("connect", started, 0, exc)
            return False
        self._report("connect", started, 0, None)
        self.last = time.monotonic()
        return True

    def _report(self, name: str, started: float, length: int, exception: Exception | None) -> None:
        self.environment.events.request.fire(request_type="WS", name=name, response_length=length,
                                             response_time=(time.monotonic() - started) * 1000,
                                             exception=exception, context={})

    def _pause(self) -> None:
        # Locust has monkey-patched time.sleep: this greenlet waits, the others run
        time.sleep(getattr(self.environment.parsed_options, "fleetsim_reconnect_s", 1.0))

    @task
    def read(self) -> None:
        if self.ws is None and not self._connect():
            self._pause()
            return
        assert self.ws is not None
        try:
            opcode, data = self.ws.recv_data()
        except websocket.WebSocketTimeoutException:
            return  # a quiet fleet (4.12 sends no keepalive): wait on
        except (OSError, websocket.WebSocketException) as exc:
            self._report("connection", self.last, 0, exc)
            self._drop()
            return
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
            self._report("connection", self.last, 0, ConnectionError(f"the server closed the socket ({code})"))
            self._drop()
            return
        text = data.decode("utf-8", "replace")
        name, problem = frame_name(text)
        self._report(name, self.last, len(data), problem)
        self.last = time.monotonic()

    def _drop(self) -> None:
        if self.ws is not None:
            self.ws.close()
        self.ws = None
        self._pause()

