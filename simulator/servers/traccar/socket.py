"""/api/socket: a session (or, under a profile with tokens, `?token=`) opens it; then the latest position of
every device, then every frame the world pushes, and `{}` keepalives where the profile has them
(provider-facts §1.1, §1.2). What the client sends is read and ignored, as Traccar does, but it must be masked
(masking.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from .fanout import WRITE_BUFFER_BYTES, Client, Hub
from .masking import require_masked_frames
from .rest import COOKIE, session_account
from .state import SERVER

#: Jetty's answer when Traccar's socket creator returns null for want of a session: 503 "Endpoint Creation
#: Failed" (Jetty 9.4's WebSocketServerFactory). provider-facts §1.1 records 500 and 503 from the field: the 500s
#: are the creator failing (see _refusal)
NO_SESSION_STATUS = 503
#: the creator throwing: a servlet error
CREATOR_FAILED_STATUS = 500
#: how long a closing handshake may take (the client's close frame in answer to ours)
CLOSE_TIMEOUT_S = 1.0
#: Traccar's `web.timeout` (default 300000 ms) is the socket's idle timeout (provider-facts §1.1): a socket that
#: neither sent nor received a frame for that long is closed. Under 4.12, which sends no keepalive, a quiet fleet
#: loses its clients unless they ping. The close is 1001 "Idle Timeout": Jetty 9.4's
#: AbstractWebSocketConnection.onReadTimeout closes with StatusCode.SHUTDOWN and that reason
IDLE_TIMEOUT_S = 300.0

log = logging.getLogger("fleetsim.serve.socket")


async def socket_handler(request: web.Request) -> web.StreamResponse:
    state = request.app[SERVER]
    session_id = request.cookies.get(COOKIE)
    account = session_account(request)  # under 6.12's Origin check, a foreign Origin: as without a session
    token = request.query.get("token") if state.profile.tokens else None
    if token is not None:  # 6.x: a token, when given, decides alone
        account = state.accounts.by_token(token)
    # pings are answered here, not by aiohttp, so that they count as activity against the idle timeout
    # no permessage-deflate: every client gets the same framed bytes (fanout.py)
    ws = web.WebSocketResponse(autoping=False, timeout=CLOSE_TIMEOUT_S, compress=False)
    if not ws.can_prepare(request).ok:
        return web.Response(status=405)  # a plain GET: Jetty's WebSocketServlet leaves it to HttpServlet
    if account is None:
        return web.Response(status=_refusal(state.profile.tokens, token is not None,
                                             state.accounts.has_session(session_id)))
    writer = await ws.prepare(request)
    transport = request.transport
    if transport is None:  # the client left during the upgrade
        return ws
    transport.set_write_buffer_limits(high=WRITE_BUFFER_BYTES)  # what a client that stops reading holds (fanout.py)
    closing: set[asyncio.Task[Any]] = set()  # the 1002 close of a client that sent an unmasked frame
    watch = require_masked_frames(request, ws, closing)
    hub = state.hub
    # ConnectionManager pushes a device's frames to the users linked to it (PermissionsManager.getDeviceUsers)
    client = hub.join(ws, account.devices)
    client.transport, client.writer = transport, writer
    client.active_at = asyncio.get_running_loop().time()
    state.sockets.add(ws)
    # the first frame: the latest positions, queued ahead of anything pushed from now on (AsyncSocket.onConnect)
    initial = [p for p in state.world.latest_positions() if account.linked(p.get("deviceId"))]  # getInitialState
    hub.offer(client, state.serialize({"positions": initial}).decode("utf-8"))
    pump = asyncio.create_task(hub.pump(client))
    keepalive = asyncio.create_task(_keepalive(state.keepalive_s, hub, client)) if state.keepalive_s else None
    idle = asyncio.create_task(_idle_watch(state.idle_timeout_s, client)) if state.idle_timeout_s else None
    try:
        async for message in ws:  # read and ignored, as Traccar does (it reads only {"logs":...}, since 5.11)
            client.active_at = asyncio.get_running_loop().time()
            if watch is not None and watch.failed:  # closing with 1002: nothing more is answered
                continue
            if message.type == WSMsgType.PING:
                await ws.pong(message.data)
            elif message.type == WSMsgType.ERROR:
                break
    finally:
        hub.leave(client)
        state.sockets.discard(ws)
        for task in (pump, keepalive, idle):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await asyncio.gather(*closing, return_exceptions=True)  # its close handshake (CLOSE_TIMEOUT_S at most)
        if client.dropped:  # a warning, so that it shows without any logging set up (logging's last resort)
            log.warning("socket of %s closed: %d frames sent, %d dropped from its full queue (bound %d frames)",
                        request.remote, client.sent, client.dropped, hub.limit)
    return ws


async def _keepalive(interval: float, hub: Hub, client: Client) -> None:
    while True:
        await asyncio.sleep(interval)
        hub.offer(client, "{}")


async def _idle_watch(timeout: float, client: Client) -> None:
    loop = asyncio.get_running_loop()
    while True:
        idle_for = loop.time() - client.active_at
        if idle_for >= timeout:
            await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"Idle Timeout")
            return
        await asyncio.sleep(timeout - idle_for)


def _refusal(tokens: bool, token_given: bool, session_exists: bool) -> int:
    """Why Traccar refuses the upgrade, as a status. 4.12's creator unboxes the session's user id into a `long`:
    a session without a user (logged out) is a NullPointerException, 500; no session at all, 503. 6.x logs a
    token in with LoginService, which fails (500) for a bad token; otherwise no user is 503."""
    if tokens:
        return CREATOR_FAILED_STATUS if token_given else NO_SESSION_STATUS
    return CREATOR_FAILED_STATUS if session_exists else NO_SESSION_STATUS
