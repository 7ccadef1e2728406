"""The Traccar server as a platform of `fleetsim serve` (simulator/servers/platforms.py)."""

from __future__ import annotations

import argparse
import sys

from ...cli.common import positive_float
from ..platforms import ServeContext, Served
from .accounts import DEMO_ACCOUNT, DEMO_EMAIL, DEMO_PASSWORD, Account
from .profiles import DEFAULT_PROFILE, PROFILES

__all__ = ["PLATFORM"]


class TraccarPlatform:
    def add_options(self, group: argparse._ArgumentGroup) -> None:
        group.add_argument("--profile", choices=sorted(PROFILES),
                           help="the Traccar version to behave as, server and frames alike (default: the provider's "
                           f"profile setting, else {DEFAULT_PROFILE}, PowUnity's)")
        group.add_argument("--keepalive", type=positive_float, metavar="SECONDS",
                           help="send a {} keepalive frame this often (default: the profile's: none under "
                           "traccar-4.12, 55 s under traccar-6)")

    async def start(self, context: ServeContext) -> Served:
        from .app import start_traccar_server, stop_traccar_server  # aiohttp: only when served

        options = context.options
        server = await start_traccar_server(
            context.scenario, context.settings, host=context.host, port=context.port,
            profile=getattr(options, "profile", None), rate=context.rate,
            keepalive_s=getattr(options, "keepalive", None), ssl_context=context.ssl)

        async def stop() -> None:
            stats = server.state.hub.stats()
            await stop_traccar_server(server)
            if stats.dropped:
                print(f"fleetsim serve: {stats.dropped} frames dropped from slow clients' full queues "
                      f"(bound {stats.limit} frames per client)", file=sys.stderr, flush=True)

        banner = (f"Traccar {server.state.profile.version} API at {server.url}/api, socket at /api/socket "
                  f"(scenario {context.scenario.name}; {_login_hint(server.state.accounts.accounts)})")
        return Served("traccar", server.url, banner, stop, world=server.task,
                      ended=lambda: f"the scenario has ended ({server.player.played} frames)")


def _login_hint(accounts: list[Account]) -> str:
    """The demo account's password is public; a configured account's is never printed."""
    if accounts == [DEMO_ACCOUNT]:
        return f"log in as {DEMO_EMAIL} / {DEMO_PASSWORD}"
    return f"{len(accounts)} account{'s' if len(accounts) != 1 else ''} from the settings, e.g. {accounts[0].email}"


PLATFORM = TraccarPlatform()
