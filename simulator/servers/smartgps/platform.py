"""The emulated SmartGPS REST API as a platform of `fleetsim serve` (simulator/servers/platforms.py)."""

from __future__ import annotations

import argparse

from ..platforms import ServeContext, Served

__all__ = ["PLATFORM"]


class SmartGpsPlatform:
    def add_options(self, group: argparse._ArgumentGroup) -> None:
        """None of its own: the OAuth2 client, token lifetime, rate limit and webhook URL are smartgps settings
        (--settings), as a real SmartGPS account's are its configuration."""

    async def start(self, context: ServeContext) -> Served:
        from .app import api_settings, start_smartgps_server, stop_smartgps_server  # aiohttp: only when served
        from .live import PROVIDER

        server = await start_smartgps_server(context.scenario, context.settings, host=context.host,
                                             port=context.port, rate=context.rate, ssl_context=context.ssl)

        async def stop() -> None:
            await stop_smartgps_server(server)

        own = context.settings.get(PROVIDER, {})
        client_id, _, ttl_s, limit = api_settings(own)
        # the secret is printed only while it is the demo default: one the user set is theirs to know
        secret = "fleetsim-demo-secret" if "api_client_secret" not in own else "<api_client_secret>"
        hooks = f"; webhooks to {server.state.webhooks.url}" if server.state.webhooks.url else ""
        banner = (f"SmartGPS API (scenario {context.scenario.name}; POST /auth/token with client_credentials "
                  f"{client_id} / {secret}; tokens {ttl_s} s; {limit or 'no'} requests/s limit{hooks})")
        return Served(PROVIDER, server.url, banner, stop, world=server.task,
                      ended=lambda: f"the scenario has ended ({server.state.player.played} events)")


PLATFORM = SmartGpsPlatform()
