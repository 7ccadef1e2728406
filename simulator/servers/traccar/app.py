"""Building and running the emulated Traccar server in this event loop, on any port (0: a free one).

`start_traccar_server` loads nothing itself: it takes a loaded scenario and settings, so the CLI, tests and a
user's own code start it alike. The player task runs until the scenario ends; the server keeps serving the
final state after that, until it is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from aiohttp import WSCloseCode, web

from ...errors import UsageError
from ...providers import PROVIDERS
from ...scenario.model import Rate, Scenario
from ..listening import api_guard, listen
from ..protocol_log import protocol_logger
from ..timeouts import ConnectionGuard, track_requests
from .accounts import DEMO_ACCOUNT, Account, Accounts, accounts_from_settings
from .cors import cors
from .fanout import QUEUE_LIMIT, Hub
from .feed import Player, web_events
from .live import LiveWorld
from .openapi import add_openapi
from .profiles import DEFAULT_PROFILE, PROFILES, Profile
from .rest import add_routes
from .socket import CLOSE_TIMEOUT_S, IDLE_TIMEOUT_S, socket_handler
from .state import SERVER, ServerState, device_ids, geofences

__all__ = ["TraccarServer", "build_app", "start_traccar_server", "stop_traccar_server"]


def _socket_provider(scenario: Scenario) -> str:
    """The scenario's provider with a socket (a websocket-channel kind): the one whose frames are served."""
    found = [name for name in scenario.providers()
             if any(kind.channel == "websocket" for kind in PROVIDERS[name].kinds.values())]
    if not found:
        with_socket = sorted(n for n, p in PROVIDERS.items() if any(k.channel == "websocket" for k in p.kinds.values()))
        raise UsageError(f"scenario {scenario.name!r} has no device of a provider with a socket to serve "
                         f"(fleet[].provider: {', '.join(with_socket)})")
    return found[0]


def with_settings(scenario: Scenario, settings: Mapping[str, Mapping[str, Any]] | None,
                  profile: str | None) -> tuple[Scenario, str]:
    """The scenario as served: its socket provider rendering with `settings` (a settings file laid over the
    scenario's) and, when the provider takes a `profile` setting (the Traccar version its frames follow), with
    the server's profile, so frames and server behaviour are always of one version. The provider is asked
    through its settings schema, never by name."""
    provider = _socket_provider(scenario)
    providers = dict(scenario.delivery.providers if settings is None else settings)
    own = dict(providers.get(provider, {}))
    chosen = profile or own.get("profile") or DEFAULT_PROFILE
    if chosen not in PROFILES:
        raise UsageError(f"{provider} setting profile: {chosen!r} is not one of {', '.join(sorted(PROFILES))}")
    if "profile" in PROVIDERS[provider].settings_schema.get("properties", {}):
        own["profile"] = chosen
    providers[provider] = MappingProxyType(own)
    delivery = replace(scenario.delivery, providers=MappingProxyType(providers))
    return replace(scenario, delivery=delivery), str(chosen)


def build_app(scenario: Scenario, settings: Mapping[str, Mapping[str, Any]], profile: Profile, *,
              accounts: list[Account] | None = None, keepalive_s: float | None = None,
              queue_limit: int = QUEUE_LIMIT, idle_timeout_s: float | None = IDLE_TIMEOUT_S) -> web.Application:
    provider = _socket_provider(scenario)
    if accounts is None:  # code's accounts, else the provider's `accounts` setting, else the demo account
        accounts = accounts_from_settings(settings.get(provider, {}), device_ids(scenario, provider),
                                          f"{provider} setting") or [DEMO_ACCOUNT]
    state = ServerState(
        profile=profile,
        accounts=Accounts(accounts),
        world=LiveWorld(geofences(scenario, provider, settings.get(provider, {}))),
        hub=Hub(queue_limit),
        provider=provider,
        serialize=PROVIDERS[provider].serialize,
        keepalive_s=keepalive_s if keepalive_s is not None else profile.keepalive_s,
        idle_timeout_s=idle_timeout_s,
    )
    # track_requests outermost: the connection deadlines (LIM-06); cors: what Jersey adds to every REST answer
    app = web.Application(middlewares=[track_requests, cors])
    app[SERVER] = state
    add_routes(app)
    add_openapi(app)  # open to anyone, as on the other platforms
    app.router.add_get("/api/socket", socket_handler, allow_head=False)
    app.on_shutdown.append(_close_sockets)
    return app


async def _close_sockets(app: web.Application) -> None:
    """Going away (1001) for every open socket, all at once and each within CLOSE_TIMEOUT_S: a client that
    stopped reading cannot hold the stop up (its close frame may never be read)."""
    sockets = list(app[SERVER].sockets)

    async def close(ws: web.WebSocketResponse) -> None:
        with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
            await asyncio.wait_for(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping"),
                                   CLOSE_TIMEOUT_S)

    await asyncio.gather(*(close(ws) for ws in sockets))


@dataclass
class TraccarServer:
    runner: web.AppRunner
    url: str
    player: Player
    task: asyncio.Task[None]

    @property
    def state(self) -> ServerState:
        app = self.runner.app
        return app[SERVER]


async def start_traccar_server(
    scenario: Scenario, settings: Mapping[str, Mapping[str, Any]] | None = None, *, host: str = "127.0.0.1",
    port: int = 0, profile: str | None = None, rate: Rate | None = None, accounts: list[Account] | None = None,
    keepalive_s: float | None = None, queue_limit: int = QUEUE_LIMIT, idle_timeout_s: float | None = IDLE_TIMEOUT_S,
    ssl_context: ssl.SSLContext | None = None, guard: ConnectionGuard | None = None,
) -> TraccarServer:
    """Start serving `scenario` as a Traccar server; the world starts advancing at once, at `rate` (default:
    the scenario's). `settings` (default: the scenario's `delivery.providers`) are what the frames are rendered
    with. `profile` (default: the provider's `profile` setting when it has one, else traccar-4.12). With
    `ssl_context` it serves https and wss (simulator/servers/tls.py). `guard`: the connections' deadlines
    (default `listening.api_guard()`)."""
    scenario, profile = with_settings(scenario, settings, profile)
    app = build_app(scenario, scenario.delivery.providers, PROFILES[profile], accounts=accounts,
                    keepalive_s=keepalive_s, queue_limit=queue_limit, idle_timeout_s=idle_timeout_s)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0,
                           logger=protocol_logger("fleetsim.serve.traccar.http"))
    await runner.setup()
    url = await listen(runner, host, port, guard or api_guard(), ssl_context=ssl_context)
    state = app[SERVER]
    player = Player(scenario, state.provider, state.world, state.hub, rate=rate,
                    web_events=web_events(scenario.delivery.providers.get(state.provider, {}).get("web_notifications")))
    task = asyncio.create_task(player.run(), name="fleetsim-serve-player")
    return TraccarServer(runner, url, player, task)


async def stop_traccar_server(server: TraccarServer) -> None:
    """Stop the world, close every socket (1001) and release the port."""
    server.task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await server.task
    await server.runner.cleanup()

