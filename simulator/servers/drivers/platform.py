"""The drivers control API as a platform of `fleetsim serve` (simulator/servers/platforms.py)."""

from __future__ import annotations

import argparse

from ...cli.common import ca_bundle, positive_float
from ...errors import UsageError
from ..platforms import ServeContext, Served
from .catalogue import webhook_providers
from .tokens import TokenFile, load_token_file

__all__ = ["PLATFORM"]


def token_file(text: str) -> TokenFile:
    """--token-file FILE: read and checked while the arguments are parsed (a mistake is exit 2 before anything
    listens); the tokens stay out of the parsed arguments' repr."""
    try:
        return load_token_file(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--token-file ")) from None


class DriversPlatform:
    def add_options(self, group: argparse._ArgumentGroup) -> None:
        group.add_argument("--test-event-timeout", type=positive_float, metavar="SECONDS",
                           help="send-test-event's timeout check: how long the receiver may take (default: the "
                           "driver's provider's own delivery timeout)")
        group.add_argument("--test-event-ca-bundle", type=ca_bundle, metavar="FILE",
                           help="also trust the CAs in this PEM file when send-test-event delivers over https, e.g. "
                           "the ca.pem `fleetsim receiver --tls` prints (the system's CAs are always trusted)")
        group.add_argument("--oauth-driver", action="append", choices=[p.name for p in webhook_providers()],
                           metavar="NAME", help="a driver that takes seed 002's OAuth settings (redirect_url, "
                           "custom_oauth); repeatable (default: none)")
        group.add_argument("--token-file", type=token_file, metavar="FILE",
                           help="the API's Bearer tokens, one a line as \"manage TOKEN\" or \"read TOKEN\", instead "
                           "of the demo tokens; never printed (docs/drivers-api.md, Authentication)")
        group.add_argument("--links-keep-query", action="store_true",
                           help="GET /drivers pagination links keep the whole query (Laravel's withQueryString), "
                           "not only ?page=N as the seed's sample shows")

    async def start(self, context: ServeContext) -> Served:
        from ...delivery.transport import trust_context
        from .app import DEMO_TOKENS, start_drivers_server, stop_drivers_server  # aiohttp: only when served

        options = context.options
        bundle = getattr(options, "test_event_ca_bundle", None)
        tokens: TokenFile | None = getattr(options, "token_file", None)
        server = await start_drivers_server(
            context.settings, set(context.scenario.providers()), host=context.host, port=context.port,
            ssl_context=trust_context(bundle) if bundle else None, server_ssl=context.ssl,
            tokens=tokens.tokens if tokens is not None else None,
            test_timeout_s=getattr(options, "test_event_timeout", None),
            keep_query=bool(getattr(options, "links_keep_query", False)),
            oauth=frozenset(getattr(options, "oauth_driver", None) or ()))

        async def stop() -> None:
            await stop_drivers_server(server)

        if tokens is not None:  # the user's own tokens: how many, never which
            who = tokens.describe()
        else:  # the demo tokens are public (docs/drivers-api.md)
            manage, read = list(DEMO_TOKENS)
            who = f"Bearer {manage} may manage them, Bearer {read} only read"
        banner = (f"drivers API at {server.url}/drivers, OpenAPI at /openapi.json (drivers enabled: "
                  f"{', '.join(sorted(context.scenario.providers())) or 'none'}; {who})")
        return Served("drivers", server.url, banner, stop)


PLATFORM = DriversPlatform()
