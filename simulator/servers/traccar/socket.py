"""/api/socket: a session (or, under a profile with tokens, `?token=`) opens it; then the latest position of
every device, then every frame the world pushes, and `{}` keepalives where the profile has them
(provider-facts §1.1, §1.2). What the client sends is read and ignored, as Traccar does.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import WSCloseCode, WSMsgType, web

from .fanout import Client, Hub
from .rest import COOKIE
from .state import SERVER

#: Jetty's answer when Traccar's socket creator returns null for want of a session: 503 "Endpoint Creation
#: Failed" (provider-facts §1.1 records 500 and 503 from the field; Jetty 9's WebSocketServerFactory sends 503)
NO_SESSION_STATUS = 503
#: how long a closing handshake may take (the client's close frame in answer to ours)
CLOSE_TIMEOUT_S = 1.0
#: Traccar's `web.timeout` (default 300000 ms) is the socket's idle timeout (provider-facts §1.1): a socket that
#: neither sent nor received a frame for that long is closed. Under 4.12, which sends no keepalive, a quiet fleet
#: loses its clients unless they ping. The close is 1001 "Idle Timeout": Jetty 9.4's
#: AbstractWebSocketConnection.onReadTimeout closes with StatusCode.SHUTDOWN and that reason
IDLE_TIMEOUT_S = 300.0


async def socket_handler(request: web.Request) -> web.StreamResponse:
    state = request.app[SERVER]
    account = state.accounts.session_user(request.cookies.get(COOKIE))
    token = request.query.get("token")
    if account is None and token is not None and state.profile.tokens:
        account = state.accounts.by_token(token)
    # pings are answered here, not by aiohttp, so that they count as activity against the idle timeout
    ws = web.WebSocketResponse(autoping=False, timeout=CLOSE_TIMEOUT_S)
    if not ws.can_prepare(request).ok:
        return web.Response(status=405)  # a plain GET: Jetty's WebSocketServlet leaves it to HttpServlet
    if account is None:
        return web.Response(status=NO_SESSION_STATUS, text="Endpoint Creation Failed")
    await ws.prepare(request)
    hub = state.hub
    client = hub.join(ws)
    client.active_at = asyncio.get_running_loop().time()
    state.sockets.add(ws)
    # the first frame: the latest positions, queued ahead of anything pushed from now on (AsyncSocket.onConnect)
    hub.offer(client, state.serialize({"positions": state.world.latest_positions()}).decode("utf-8"))
    pump = asyncio.create_task(hub.pump(client))
    keepalive = asyncio.create_task(_keepalive(state.keepalive_s, hub, client)) if state.keepalive_s else None
    idle = asyncio.create_task(_idle_watch(state.idle_timeout_s, client)) if state.idle_timeout_s else None
    try:
        async for message in ws:  # read and ignored, as Traccar does (it reads only {"logs":...}, since 5.11)
            client.active_at = asyncio.get_running_loop().time()
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
