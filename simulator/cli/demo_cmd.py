"""`fleetsim demo`: the whole job in about thirty seconds, with nothing to configure.

Starts the reference receiver in-process on a free port, plays the demo-city scenario (every provider, with
delivery faults on) against it over real HTTP, then shows what happened from both sides: what fleetsim
delivered and what the receiver made of it (duplicates caught, tampered requests rejected). Nothing is left
running afterwards.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import aiohttp

from ..delivery.reports import exit_code, render_summary
from ..delivery.runner import RunConfig, Runner
from ..resources import scenarios_dir
from ..scenario.durations import parse_rate
from ..scenario.loader import load_scenario
from ..servers.store import Store
from .common import rate_text
from .receiver_cmd import start_receiver, stop_receiver
from .run_cmd import EXIT_INTERRUPTED, print_progress, run_async

DEMO_SCENARIO = "demo-city.yaml"


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="play the demo scenario against the built-in reference receiver (~30 s)")
    # checked here with run --rate's rules, so a bad rate is a usage error before anything starts (run()
    # parses the checked text again)
    p.add_argument("--rate", type=rate_text, default=None,
                   help="override the demo's rate: realtime | xN | max (default x240: 2 h in 30 s)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    scenario = load_scenario(scenarios_dir() / DEMO_SCENARIO)
    rate = parse_rate(args.rate) if args.rate else scenario.delivery.rate
    settings = scenario.delivery.providers
    progress = None if args.quiet or not sys.stderr.isatty() else print_progress
    config = RunConfig(scenario=scenario, target="", settings=settings, rate=rate, concurrency=16,
                       on_progress=progress)
    runner = Runner(config)
    receiver_view: dict[str, Any] = {}

    async def main() -> None:
        store = Store()
        server, url = await start_receiver(settings, store)
        print(f"fleetsim demo: {scenario.description}", file=sys.stderr)
        print(f"reference receiver listening on {url}; delivering at {rate.describe()} "
              f"({scenario.duration_s / 3600:g} h of traffic)\n", file=sys.stderr)
        runner.retarget(url)
        try:
            await runner.run()
            async with aiohttp.ClientSession() as session, session.get(f"{url}/state") as response:
                receiver_view.update(await response.json())
        finally:
            await stop_receiver(server)
            await store.close()

    run_async(main, runner.stop)
    if progress:
        print(file=sys.stderr)
    summary = runner.summary()
    print(render_summary(summary))
    print(render_receiver_view(summary, receiver_view))
    if runner.interrupted:
        return EXIT_INTERRUPTED
    return exit_code(summary)


def render_receiver_view(summary: dict[str, Any], view: dict[str, Any]) -> str:
    """What the receiver saw, next to what was sent: the part the HTTP status codes alone cannot show."""
    totals = summary["totals"]
    counts: dict[str, Any] = view.get("counts", {})
    lines = ["", "what the reference receiver made of it:", ""]
    header = f"{'provider':<10}{'accepted':>10}{'duplicates caught':>19}{'rejected':>10}  rejected because"
    lines += [header, "-" * len(header)]
    for provider, c in sorted(counts.items()):
        rejected = c.get("rejected", {})
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(rejected.items())) or "-"
        lines.append(f"{provider:<10}{c.get('accepted', 0):>10}{c.get('duplicate', 0):>19}"
                     f"{sum(rejected.values()):>10}  {reasons}")
    dup_sent = totals.get("duplicates_sent", 0)
    dup_caught = sum(c.get("duplicate", 0) for c in counts.values())
    lines.append("")
    lines.append(f"duplicates: fleetsim re-sent {dup_sent} events (same id, fresh signature); "
                 f"the receiver recognised {dup_caught} deliveries as already processed")
    for probe, p in sorted(totals.get("probes", {}).items()):
        lines.append(f"{probe.replace('_', ' ')}: sent {p['sent']}, rejected {p['rejected_4xx']}, "
                     f"accepted {p['accepted_2xx']}")
    lines.append("(PowUnity's WebSocket frames are socket traffic, not webhooks: they are not part of this run)")
    lines.append(f"devices with a latest position at the receiver: {view.get('devices', 0)}")
    return "\n".join(lines)
