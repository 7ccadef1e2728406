"""`fleetsim receiver`: run the reference webhook receiver (simulator.servers.receiver) until Ctrl-C.

    fleetsim receiver [--host 127.0.0.1] [--port 8080] [--settings FILE] [--scenario FILE|NAME] [--db FILE]
                      [--max-body BYTES] [--header-timeout SECONDS] [--body-timeout SECONDS]
                      [--max-connections N] [--tls [--tls-dir DIR] | --tls-cert FILE --tls-key FILE]

Secrets come from the settings file (the same one `fleetsim run` uses), laid over a scenario's when --scenario
is given, and are never printed. Without --db the receiver keeps its state in memory; with it, deduplication and
state survive restarts.
`start_receiver`/`stop_receiver` run it in-process on any port (0 = a free one), e.g. for the demo and tests.
With --tls it serves HTTPS with a certificate of fleetsim's local CA (simulator/servers/tls.py, docs/tls.md) and
prints the CA file a client passes as --ca-bundle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Mapping
from typing import Any

from ..scenario.loader import load_scenario
from ..servers.receiver import (
    BODY_TIMEOUT_S,
    MAX_BODY_BYTES,
    RECEIVER,
    TOLERANCE_S,
    WEBHOOK_PROVIDERS,
    endpoint_paths,
    provider_paths,
)
from ..servers.serving import start_receiver, stop_receiver
from ..servers.store import MEMORY, Store
from ..servers.timeouts import HEADER_TIMEOUT_S, MAX_CONNECTIONS
from ..servers.tls import ServerTLS
from ..settings import load_settings, merge_settings
from .common import SettingsFile, listen_port, non_negative_int, positive_int, seconds_arg
from .tls_options import add_tls_options, tls_note, tls_of

__all__ = ["add_parser", "run", "start_receiver", "stop_receiver"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "receiver", help="run the reference webhook receiver",
        description="Receive webhooks the way a correct receiver does: verify, deduplicate, acknowledge fast, "
        "keep the latest state per device. POST /mettax /smartgps /samsara /powunity (or /webhooks/<provider>, or a "
        "provider's url path from --settings or --scenario); "
        "GET /state, /state/devices, /healthz.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=listen_port, default=8080,
                   help="port to listen on; 0 picks a free one (default 8080)")
    p.add_argument("--settings", action=SettingsFile, metavar="FILE",
                   help="settings file with the providers' secrets")
    p.add_argument("--scenario", metavar="FILE|NAME",
                   help="take the providers' secrets from this scenario's delivery.providers, e.g. demo-city to "
                   "receive what `fleetsim run demo-city --target ...` sends; --settings overrides it key by key")
    p.add_argument("--db", metavar="FILE", help="SQLite file for deduplication and state (default: in memory)")
    p.add_argument("--max-body", type=positive_int, default=MAX_BODY_BYTES, metavar="BYTES",
                   help=f"largest request body accepted (default {MAX_BODY_BYTES})")
    p.add_argument("--tolerance", type=non_negative_int, default=TOLERANCE_S, metavar="SECONDS",
                   help=f"allowed age of signed timestamps (default {TOLERANCE_S})")
    p.add_argument("--header-timeout", type=seconds_arg, default=HEADER_TIMEOUT_S, metavar="SECONDS",
                   help="time a connection has to send a complete request head (request line and headers), from "
                   "when it opens or its previous response was sent; a late one is answered 408 and closed, an "
                   f"idle one closed (slowloris defence; default {HEADER_TIMEOUT_S:g})")
    p.add_argument("--body-timeout", type=seconds_arg, default=BODY_TIMEOUT_S, metavar="SECONDS",
                   help=f"time a request body has to arrive once its head is in; later: 408 and closed "
                   f"(slow-POST defence; default {BODY_TIMEOUT_S:g})")
    p.add_argument("--max-connections", type=positive_int, default=MAX_CONNECTIONS, metavar="N",
                   help=f"open connections at most; more are closed on arrival (default {MAX_CONNECTIONS})")
    add_tls_options(p)
    p.set_defaults(handler=run)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover  (uvloop is not available on Windows)
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


class _OneLine(logging.Handler):
    """aiohttp's own request errors (bad framing, client gone) as one line each, without the traceback."""

    def emit(self, record: logging.LogRecord) -> None:
        detail = f": {record.exc_info[1]}" if record.exc_info and record.exc_info[1] else ""
        print(f"fleetsim receiver: http: {record.getMessage()}{detail}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    settings: Mapping[str, Mapping[str, Any]] = load_scenario(args.scenario).delivery.providers \
        if args.scenario else {}
    if args.settings:
        settings = merge_settings(settings, load_settings(args.settings))
    tls = tls_of(args)
    store = Store(args.db or MEMORY)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("fleetsim receiver: %(message)s"))
    logger = logging.getLogger("fleetsim.receiver")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    # aiohttp answers garbage HTTP framing with 400 itself and logs it with a traceback; one line is enough
    server_log = logging.getLogger("aiohttp.server")
    server_log.addHandler(_OneLine())
    server_log.propagate = False
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_serve(args, settings, store, tls))
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a server is meant to end, as SIGTERM is (which returns from _serve)
    finally:
        logger.removeHandler(handler)
    print("fleetsim receiver: stopped", file=sys.stderr)  # either way: the sockets are closed, the port free
    return 0


async def _serve(args: argparse.Namespace, settings: Mapping[str, Mapping[str, Any]], store: Store,
                 tls: ServerTLS | None = None) -> None:
    try:
        runner, url = await start_receiver(settings, store, args.host, args.port, max_body_bytes=args.max_body,
                                           tolerance_s=args.tolerance, header_timeout_s=args.header_timeout,
                                           body_timeout_s=args.body_timeout, max_connections=args.max_connections,
                                           ssl_context=tls.context if tls else None)
        try:
            receiver = runner.app[RECEIVER]
            paths = endpoint_paths(receiver.endpoints, settings)  # a provider's own path (settings url) too
            endpoints = " ".join(f"/{name}" + ("" if paths.get(name, f"/{name}") in provider_paths(name)
                                               else f" {paths[name]}") for name in WEBHOOK_PROVIDERS)
            print(f"fleetsim receiver on {url}  POST {endpoints} (or /webhooks/<provider>)  "
                  f"GET /state /state/devices /healthz  (db: {store.path}; timeouts: header {args.header_timeout:g} s, "
                  f"body {args.body_timeout:g} s; at most {args.max_connections} connections; Ctrl-C stops)",
                  flush=True)
            note = tls_note(tls)
            if note:
                print(note, flush=True)
            refused = [e.name for e in receiver.endpoints.values() if e.unconfigured]
            if refused:
                print(f"fleetsim receiver: warning: no secret configured for {', '.join(refused)}: their requests "
                      "are refused with 401 (give secrets in --settings, or --scenario NAME for a scenario's)",
                      file=sys.stderr, flush=True)
            open_ = [e.name for e in receiver.endpoints.values() if e.unauthenticated]
            if open_:
                print(f"fleetsim receiver: note: {', '.join(open_)} requests are not authenticated (no psk/token "
                      "configured; these providers sign nothing)", file=sys.stderr, flush=True)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            with contextlib.suppress(NotImplementedError, RuntimeError):  # no signal handlers on Windows
                loop.add_signal_handler(signal.SIGTERM, stop.set)
            await stop.wait()  # Ctrl-C cancels this; SIGTERM sets the event
        finally:
            await stop_receiver(runner)
    finally:
        await store.close()
