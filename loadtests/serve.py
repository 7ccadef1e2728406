"""The reference receiver in a process of its own, for `fleetsim load` without --target:

    python -m loadtests.serve [--scenario FILE] [--settings FILE]

It receives with the scenario's provider settings (the secrets the load is signed with), listens on a free
loopback port, prints its base URL as its first line and serves until SIGTERM or SIGINT. Its own process, so the
receiver never shares a core's event loop with Locust's greenlets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from simulator.cli.receiver_cmd import _loop_factory
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.servers.serving import start_receiver, stop_receiver
from simulator.servers.store import Store
from simulator.settings import load_settings, merge_settings


async def serve(scenario: str, settings_file: str | None) -> None:
    settings = load_scenario(scenario).delivery.providers
    if settings_file:
        settings = merge_settings(settings, load_settings(settings_file))
    store = Store()
    runner, url = await start_receiver(settings, store)
    print(url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await stop_receiver(runner)
        await store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.serve")
    parser.add_argument("--scenario", default=str(scenarios_dir() / "demo-city.yaml"))
    parser.add_argument("--settings")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(serve(args.scenario, args.settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
