"""`fleetsim demo`: the whole job in about thirty seconds, with nothing to configure.

Starts the reference receiver in-process on a free port, plays the demo-city scenario (every provider, with
delivery faults on) against it over real HTTP, then shows what happened from both sides: what fleetsim
delivered and what the receiver made of it (duplicates caught, tampered requests rejected). Nothing is left
running afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import ssl
import sys
from collections.abc import Callable, Iterator
from typing import Any

from ..delivery.reports import exit_code, render_summary
from ..delivery.runner import RunConfig, Runner
from ..delivery.sending import trusting_sender
from ..errors import EXIT_INTERRUPTED
from ..resources import scenarios_dir
from ..scenario.loader import load_scenario
from ..servers.serving import start_receiver, stop_receiver
from ..servers.store import Store
from .common import rate
from .receiver_view import fetch_receiver_view, render_receiver_view
from .run_cmd import Progress, run_async

DEMO_SCENARIO = "demo-city.yaml"


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="play the demo scenario against the built-in reference receiver (~30 s)")
    # run --rate's rules, so a bad rate is a usage error before anything starts
    p.add_argument("--rate", type=rate, default=None,
                   help="override the demo's rate: realtime | xN | max (default x240: 2 h in 30 s)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--tls", action="store_true",
                   help="serve the reference receiver over https (a throwaway CA the demo trusts, nothing written)")
    p.set_defaults(handler=run)


class _Stop:
    """What SIGINT and SIGTERM do during the demo: stop the runner gracefully; one that comes before the runner
    exists stops it as soon as it does (it then sends nothing, and the demo still ends with its summary)."""

    def __init__(self) -> None:
        self.runner: Runner | None = None
        self.requested = False

    def __call__(self) -> None:
        self.requested = True
        if self.runner is not None:
            self.runner.stop()

    def attach(self, runner: Runner) -> None:
        self.runner = runner
        if self.requested:
            runner.stop()


@contextlib.contextmanager
def _stopped_by_signals(stop: Callable[[], None]) -> Iterator[Callable[[], None]]:
    """SIGINT and SIGTERM call `stop` for as long as the context lasts, outside the event loop too: before it
    starts (the scenario and the runner are built: seconds on a loaded machine) and after it has closed (the
    loop takes its handlers with it, and SIGTERM's default would kill the process: no summary, exit -15, not
    130). Inside the loop `run_async` installs the loop's own; the context yields what puts these back."""
    signals = (signal.SIGINT, signal.SIGTERM)
    before = {sig: signal.getsignal(sig) for sig in signals}

    def install() -> None:
        for sig in signals:
            signal.signal(sig, lambda _sig, _frame: stop())

    install()
    try:
        yield install
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """--tls: what the demo's clients trust and what its receiver serves, as `fleetsim run --tls` makes them: a
    throwaway CA in memory, certificates verified as against any receiver (docs/tls.md)."""
    from ..delivery.transport import trust_context
    from ..servers.tls import self_trusted_tls

    trust = trust_context()
    return trust, self_trusted_tls(trust).context


def run(args: argparse.Namespace) -> int:
    stop = _Stop()
    with _stopped_by_signals(stop) as reinstall:  # first thing: a signal at any moment ends in exit 130
        return _demo(args, stop, reinstall)


def _demo(args: argparse.Namespace, stop: _Stop, reinstall: Callable[[], None]) -> int:
    scenario = load_scenario(scenarios_dir() / DEMO_SCENARIO)
    speed = args.rate or scenario.delivery.rate
    settings = scenario.delivery.providers
    progress = Progress(quiet=args.quiet)
    trust, own_tls = _tls() if getattr(args, "tls", False) else (None, None)
    config = RunConfig(scenario=scenario, target="", settings=settings, rate=speed, concurrency=16,
                       on_progress=progress if progress.enabled else None, progress_every_s=progress.every_s,
                       sender=trusting_sender(trust))
    runner = Runner(config)
    stop.attach(runner)
    receiver_view: dict[str, Any] = {}

    async def main() -> None:
        store = Store()
        server, url = await start_receiver(settings, store, ssl_context=own_tls)
        print(f"fleetsim demo: {scenario.description}", file=sys.stderr)
        print(f"reference receiver listening on {url}; delivering at {speed.describe()} "
              f"({scenario.duration_s / 3600:g} h of traffic)\n", file=sys.stderr)
        runner.retarget(url)
        try:
            await runner.run()
            receiver_view.update(await fetch_receiver_view(url, trust))
        finally:
            await stop_receiver(server)
            await store.close()

    try:
        run_async(main, stop)
    finally:
        reinstall()
        progress.finish()
    summary = runner.summary()
    print(render_summary(summary), end="")
    for note in runner.notes():
        print(f"note: {note}")
    print(render_receiver_view(summary, receiver_view))
    if runner.interrupted:
        return EXIT_INTERRUPTED
    return exit_code(summary)
