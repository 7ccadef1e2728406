"""`fleetsim serve`: be the platform. A Traccar-compatible server (REST and /api/socket) backed by a running
scenario's world, until Ctrl-C or SIGTERM (docs/traccar-server.md).

    fleetsim serve [--scenario FILE] [--host 127.0.0.1] [--port 8082] [--settings FILE]
                   [--profile traccar-4.12|traccar-6] [--rate realtime|xN|max] [--keepalive SECONDS]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Any

from ..resources import scenarios_dir
from ..scenario.loader import load_scenario
from ..servers.traccar import PROFILES, start_traccar_server, stop_traccar_server
from ..servers.traccar.accounts import DEMO_EMAIL, DEMO_PASSWORD
from ..servers.traccar.profiles import DEFAULT_PROFILE
from ..settings import load_settings, merge_settings
from .common import listen_port, positive_float, rate
from .receiver_cmd import _loop_factory

__all__ = ["add_parser", "run", "start_traccar_server"]

#: what `fleetsim serve` plays without --scenario
DEFAULT_SCENARIO = "powunity-ebike-theft.yaml"
#: Traccar's own default port (provider-facts §1.1)
DEFAULT_PORT = 8082


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve", help="be a Traccar (PowUnity) server: REST API and /api/socket over a running scenario",
        description="Serve a scenario's world as a Traccar server: POST/GET/DELETE /api/session, GET /api/server, "
        "/api/devices, /api/positions, /api/events/{id}, /api/geofences, /api/reports/events, and the WebSocket "
        f"/api/socket. Log in as {DEMO_EMAIL} / {DEMO_PASSWORD}.",
    )
    p.add_argument("--scenario", metavar="FILE",
                   help="scenario with devices of a provider that has a socket "
                   f"(default: the shipped {DEFAULT_SCENARIO})")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=listen_port, default=DEFAULT_PORT,
                   help=f"port to listen on; 0 picks a free one (default {DEFAULT_PORT}, Traccar's)")
    p.add_argument("--settings", metavar="FILE", help="settings file laid over the scenario's delivery.providers")
    p.add_argument("--profile", choices=sorted(PROFILES),
                   help="the Traccar version to behave as, server and frames alike (default: the provider's "
                   f"profile setting, else {DEFAULT_PROFILE}, PowUnity's)")
    p.add_argument("--rate", type=rate,
                   help="realtime | xN | max: how fast the world advances (default: the scenario's)")
    p.add_argument("--keepalive", type=positive_float, metavar="SECONDS",
                   help="send a {} keepalive frame this often (default: the profile's: none under traccar-4.12, "
                   "55 s under traccar-6)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario or scenarios_dir() / DEFAULT_SCENARIO)
    settings: Any = scenario.delivery.providers
    if args.settings:
        settings = merge_settings(settings, load_settings(args.settings))
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_serve(args, scenario, settings))
    except KeyboardInterrupt:
        print("fleetsim serve: stopped", file=sys.stderr)
    return 0


async def _serve(args: argparse.Namespace, scenario: Any, settings: Any) -> None:
    server = await start_traccar_server(scenario, settings, host=args.host, port=args.port, profile=args.profile,
                                        rate=args.rate, keepalive_s=args.keepalive)
    try:
        print(f"fleetsim serve on {server.url}  Traccar {server.state.profile.version} API at /api, socket at "
              f"/api/socket  (scenario {scenario.name}; log in as {DEMO_EMAIL} / {DEMO_PASSWORD}; Ctrl-C stops)",
              flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):  # no signal handlers on Windows
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({stopping, server.task}, return_when=asyncio.FIRST_COMPLETED)
        if server.task in done:
            server.task.result()  # a failure of the world is fleetsim's own: raised, exit 3
            print(f"fleetsim serve: the scenario has ended ({server.player.played} frames); serving its final "
                  "state until stopped", file=sys.stderr, flush=True)
            await stopping
        stopping.cancel()
    finally:
        stats = server.state.hub.stats()
        await stop_traccar_server(server)
        if stats.dropped:
            print(f"fleetsim serve: {stats.dropped} frames dropped from slow clients' full queues "
                  f"(bound {stats.limit} frames per client)", file=sys.stderr, flush=True)
