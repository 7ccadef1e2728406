"""`fleetsim serve`: be the platform. Serves one or more platforms' APIs, each backed by a running scenario's
world, until Ctrl-C or SIGTERM (docs/serving.md; the platforms: simulator/servers/platforms.py).

    fleetsim serve [--api NAME[:PORT]]... [--scenario FILE] [--host 127.0.0.1] [--port N] [--settings FILE]
                   [--rate realtime|xN|max] [--tls [--tls-dir DIR] | --tls-cert FILE --tls-key FILE]
                   [platform options such as --profile, --keepalive]

--tls serves every platform over https (and wss) with a certificate of fleetsim's local CA (docs/tls.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

from ..errors import UsageError
from ..servers.platforms import PLATFORMS, ServeContext, Served, load_platform
from .common import SettingsFile, listen_port, rate
from .tls_options import add_tls_options, tls_note, tls_of

__all__ = ["add_parser", "run"]

#: served when no --api is given
DEFAULT_API = "traccar"


def _api(text: str) -> tuple[str, int | None]:
    """NAME or NAME:PORT, NAME one of the registered platforms."""
    name, colon, port = text.partition(":")
    if name not in PLATFORMS:
        raise argparse.ArgumentTypeError(
            f"unknown API {_clip(name)!r}: expected one of {', '.join(sorted(PLATFORMS))}, optionally :PORT")
    return name, listen_port(port) if colon else None


def add_parser(sub: Any) -> None:
    listing = "; ".join(f"{e.name} ({e.title}, port {e.default_port})" for e in PLATFORMS.values())
    p = sub.add_parser(
        "serve", help="be the platform: serve vendor APIs (Traccar REST and /api/socket, …) over a running scenario",
        description=f"Serve platforms' APIs over a running scenario's world. APIs: {listing}. Without --api: "
        f"{DEFAULT_API}. docs/serving.md lists every endpoint.",
    )
    p.add_argument("--api", type=_api, action="append", metavar="NAME[:PORT]",
                   help="a platform to serve, on its default port or PORT (0 picks a free one); repeatable "
                   f"(default: {DEFAULT_API})")
    p.add_argument("--scenario", metavar="FILE",
                   help="the scenario every served platform plays (default: each platform's shipped one)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=listen_port,
                   help="port to listen on when one API is served; 0 picks a free one (default: the API's own)")
    p.add_argument("--settings", action=SettingsFile, metavar="FILE",
                   help="settings file laid over the scenario's delivery.providers")
    p.add_argument("--rate", type=rate,
                   help="realtime | xN | max: how fast the world advances (default: the scenario's)")
    add_tls_options(p)
    owned: dict[str, list[tuple[str, str]]] = {}
    for entry in PLATFORMS.values():
        group = p.add_argument_group(f"{entry.name} options")
        load_platform(entry.name).add_options(group)
        # (dest, option) of each platform: an option of a platform that is not served is a mistake (run)
        owned[entry.name] = [(a.dest, a.option_strings[0]) for a in group._group_actions if a.option_strings]
    p.set_defaults(handler=run, platform_options=owned)


def _listen(args: argparse.Namespace) -> list[tuple[str, int]]:
    """(API, port) to serve, in the order given; a mistake is a UsageError (exit 2)."""
    apis: list[tuple[str, int | None]] = args.api or [(DEFAULT_API, None)]
    names = [name for name, _ in apis]
    if len(set(names)) != len(names):
        raise UsageError(f"serve: --api {sorted(n for n in set(names) if names.count(n) > 1)[0]} is given twice")
    if args.port is not None and len(apis) > 1:
        raise UsageError("serve: --port applies to one API; with several, give each its own as --api NAME:PORT")
    chosen = [(name, port if port is not None else args.port if args.port is not None
               else PLATFORMS[name].default_port) for name, port in apis]
    fixed = [port for _, port in chosen if port]
    if len(set(fixed)) != len(fixed):
        raise UsageError("serve: two APIs cannot listen on the same port; give each its own as --api NAME:PORT")
    return chosen


def run(args: argparse.Namespace) -> int:
    from ..resources import scenarios_dir
    from ..scenario.loader import load_scenario
    from ..settings import load_settings, merge_settings
    from .receiver_cmd import _loop_factory

    chosen = _listen(args)
    _refuse_options_of_unserved(args, {name for name, _ in chosen})
    tls = tls_of(args)
    overlay = load_settings(args.settings) if args.settings else None
    contexts = []
    for name, port in chosen:
        scenario = load_scenario(args.scenario or scenarios_dir() / PLATFORMS[name].default_scenario)
        settings: Any = scenario.delivery.providers
        if overlay is not None:
            settings = merge_settings(settings, overlay)
        contexts.append((name, ServeContext(scenario, settings, args.host, port, args.rate, args,
                                            ssl=tls.context if tls else None)))
    restore = _log_lines()
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_serve(contexts, tls_note(tls)))
    except KeyboardInterrupt:
        pass
    finally:
        restore()
    print("fleetsim serve: stopped", file=sys.stderr)  # Ctrl-C or SIGTERM alike
    return 0


def _log_lines() -> Callable[[], None]:
    """What the platforms log (warnings: a slow socket client's dropped frames, …) as one prefixed line each on
    stderr; the function returned undoes it (serve runs in-process in tests). aiohttp's warning for every
    WebSocket client that offers a subprotocol the server does not speak is not shown: the socket is answered
    without one, as Jetty answers it, and a client doing so at each reconnect would flood the terminal."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("fleetsim serve: %(message)s"))
    platforms, websocket = logging.getLogger("fleetsim.serve"), logging.getLogger("aiohttp.websocket")
    saved = platforms.level, platforms.propagate, websocket.level
    platforms.addHandler(handler)
    platforms.setLevel(logging.WARNING)
    platforms.propagate = False
    websocket.setLevel(logging.ERROR)

    def restore() -> None:
        platforms.removeHandler(handler)
        platforms.setLevel(saved[0])
        platforms.propagate = saved[1]
        websocket.setLevel(saved[2])

    return restore


def _refuse_options_of_unserved(args: argparse.Namespace, served: set[str]) -> None:
    """`--api smartgps --profile traccar-6` once started without a word, the --profile ignored: one line, exit 2."""
    for name, options in getattr(args, "platform_options", {}).items():
        if name in served:
            continue
        for dest, option in options:
            if getattr(args, dest, None) not in (None, False, []):
                raise UsageError(f"serve: {option} is a {name} option, and {name} is not served (add --api {name})")


async def _serve(contexts: list[tuple[str, ServeContext]], note: str | None = None) -> None:
    served: list[Served] = []
    stopping: asyncio.Task[bool] | None = None
    try:
        for name, context in contexts:
            served.append(await load_platform(name).start(context))
        for each in served:
            print(f"fleetsim serve on {each.url}  {each.banner}", flush=True)
        if note:
            print(note, flush=True)
        print("fleetsim serve: Ctrl-C stops", file=sys.stderr, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):  # no signal handlers on Windows
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        stopping = asyncio.create_task(stop.wait())
        worlds: dict[asyncio.Future[Any], Served] = {each.world: each for each in served if each.world is not None}
        while worlds:
            done, _ = await asyncio.wait({stopping, *worlds}, return_when=asyncio.FIRST_COMPLETED)
            if stopping in done:
                break
            for task in done:
                task.result()  # a failure of the world is fleetsim's own: raised, exit 3
                ended = worlds.pop(task)
                print(f"fleetsim serve: {ended.name}: {ended.ended()}; serving its final state until stopped",
                      file=sys.stderr, flush=True)
        await stopping
    finally:
        if stopping is not None:
            stopping.cancel()
        await asyncio.gather(*(each.stop() for each in reversed(served)))


def _clip(text: str) -> str:
    return text if len(text) <= 40 and text.isprintable() else f"{text[:40]!r}…"
