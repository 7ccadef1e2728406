"""Building and running the emulated SmartGPS API in this event loop, on any port (0: a free one).

`start_smartgps_server` loads nothing itself: it takes a loaded scenario and settings, so the CLI, tests and a
user's own code start it alike. The player runs until the scenario ends; the server then keeps serving the final
state until it is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ...delivery.sending import http_sender
from ...delivery.urls import is_path
from ...errors import UsageError
from ...scenario.model import Rate, Scenario
from ..listening import api_guard, listen
from ..protocol_log import protocol_logger
from ..timeouts import ConnectionGuard, track_requests
from .auth import Clients, RateLimiter
from .context import SERVER, Call, ServerState
from .feed import Player
from .live import PROVIDER, LiveFleet
from .rest import add_routes, middleware
from .webhooks import Delivered, Webhooks

__all__ = ["DEMO_CLIENT_ID", "DEMO_CLIENT_SECRET", "SmartGpsServer", "start_smartgps_server",
           "stop_smartgps_server"]

DEMO_CLIENT_ID = "fleetsim-demo"
DEMO_CLIENT_SECRET = "fleetsim-demo-secret"  # a demo default, printed in the banner; set api_client_secret
TOKEN_TTL_S = 3600
RATE_LIMIT = 20


def api_settings(own: Mapping[str, Any]) -> tuple[str, str, int, int]:
    return (str(own.get("api_client_id", DEMO_CLIENT_ID)), str(own.get("api_client_secret", DEMO_CLIENT_SECRET)),
            int(own.get("api_token_ttl_s", TOKEN_TTL_S)), int(own.get("api_rate_limit", RATE_LIMIT)))


@dataclass
class SmartGpsServer:
    runner: web.AppRunner
    url: str
    task: asyncio.Task[None]
    exits: contextlib.AsyncExitStack

    @property
    def state(self) -> ServerState:
        return self.runner.app[SERVER]

    @property
    def calls(self) -> list[Call]:
        """Every request made so far, in order: what the API-client checks grade."""
        return self.state.calls

    @property
    def deliveries(self) -> list[Delivered]:
        return self.state.webhooks.delivered


async def start_smartgps_server(
    scenario: Scenario, settings: Mapping[str, Mapping[str, Any]] | None = None, *, host: str = "127.0.0.1",
    port: int = 0, rate: Rate | None = None, clock: Callable[[], float] = time.monotonic,
    ssl_context: ssl.SSLContext | None = None, guard: ConnectionGuard | None = None,
) -> SmartGpsServer:
    """Serve `scenario`'s SmartGPS devices; `settings` (default: the scenario's `delivery.providers`) give the
    OAuth2 client, token lifetime, rate limit, and the webhook `url` and `secret`. With `ssl_context` it serves
    https (simulator/servers/tls.py): the client secret and the bearer tokens never cross in clear text.
    `guard`: the connections' deadlines (default `listening.api_guard()`)."""
    providers = scenario.delivery.providers if settings is None else settings
    own = providers.get(PROVIDER, {})
    fleet = LiveFleet(scenario, own)
    if not fleet.devices:
        raise UsageError(f"scenario {scenario.name!r} has no {PROVIDER} device to serve "
                         f"(fleet[].provider: {PROVIDER})")
    client_id, client_secret, ttl_s, limit = api_settings(own)
    url = own.get("url")
    if isinstance(url, str) and is_path(url):  # the server has no --target to put it under
        raise UsageError(f"{PROVIDER} url: the server posts its webhooks to a whole URL "
                         f"(http://host:port{url}); a path alone has no host")
    exits = contextlib.AsyncExitStack()
    sender = await exits.enter_async_context(http_sender(1, True)) if own.get("url") else None
    webhooks = Webhooks(PROVIDER, own, sender)
    state = ServerState(fleet, Clients(client_id, client_secret, ttl_s), RateLimiter(limit), webhooks,
                        Player(fleet, webhooks, rate=rate), clock, time.time)
    app = web.Application(middlewares=[track_requests, middleware])  # track_requests: deadlines (LIM-06)
    app[SERVER] = state
    add_routes(app)
    from .openapi import add_openapi

    add_openapi(app)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0,
                           logger=protocol_logger("fleetsim.serve.smartgps.http"))
    await runner.setup()
    try:
        url = await listen(runner, host, port, guard or api_guard(), ssl_context=ssl_context)
    except UsageError:
        await exits.aclose()
        raise
    webhooks.start()
    task = asyncio.create_task(state.player.run(), name="fleetsim-serve-smartgps-player")
    return SmartGpsServer(runner, url, task, exits)


async def stop_smartgps_server(server: SmartGpsServer) -> None:
    """Stop the world and the webhooks, and release the port."""
    server.task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await server.task
    await server.state.webhooks.stop()
    await server.runner.cleanup()
    await server.exits.aclose()

