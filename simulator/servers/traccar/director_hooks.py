"""Hooks through which a conformance director (conformance/socket_client/) makes the emulated Traccar server
misbehave on purpose: forget its sessions as a restart does, close a socket with a chosen code or abruptly, go
half-open, push raw frames. Kept apart from socket.py and fanout.py, which stay what a client of `fleetsim serve`
meets; these functions only act on what those modules hold.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from .state import ServerState

__all__ = ["abort", "close", "forget_sessions", "go_half_open", "push_raw", "restore_sessions"]


def forget_sessions(state: ServerState) -> dict[str, int | None]:
    """Every session forgotten (a Traccar restart): their cookies then open nothing (503 on the socket)."""
    return state.accounts.forget_sessions()


def restore_sessions(state: ServerState, sessions: dict[str, int | None]) -> None:
    state.accounts.restore_sessions(sessions)


async def close(ws: web.WebSocketResponse, code: int, reason: bytes = b"", timeout_s: float = 1.0) -> None:
    """A clean close with `code`; a peer that does not answer within `timeout_s` is dropped anyway."""
    with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
        await asyncio.wait_for(ws.close(code=code, message=reason), timeout_s)


def abort(request: web.Request) -> None:
    """An abrupt TCP close, no close frame: the client sees 1006."""
    if request.transport is not None:
        request.transport.abort()


def go_half_open(state: ServerState, request: web.Request, ws: web.WebSocketResponse) -> None:
    """The socket stays open but goes silent: nothing more is sent to it (it leaves the fan-out) and nothing it
    sends is read, so its pings are never answered (a toxiproxy `timeout` toxic with timeout 0)."""
    for client in list(state.hub.clients):
        if client.ws is ws:
            state.hub.leave(client)
    if request.transport is not None:
        request.transport.pause_reading()


async def push_raw(ws: web.WebSocketResponse, frame: str | bytes) -> bool:
    """Send one frame as it is (text or binary) straight to one socket; False when it is already gone."""
    try:
        if isinstance(frame, bytes):
            await ws.send_bytes(frame)
        else:
            await ws.send_str(frame)
    except (ConnectionError, RuntimeError):
        return False
    return True
