"""`fleetsim run` and `fleetsim replay`: real deliveries over HTTP, with accounting and reports."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from ..delivery.capture import CaptureWriter
from ..delivery.ledger import Snapshot
from ..delivery.reports import REPORTERS, RunReport, exit_code, progress_line, render_summary
from ..delivery.runner import RunConfig, Runner
from ..errors import EXIT_FAILED, EXIT_OK, UnknownNameError, UsageError
from ..scenario.loader import load_scenario
from ..settings import load_settings, merge_settings
from .common import check_output_path, concurrency, output_path, positive_float, positive_int, rate, shown, target_url

T = TypeVar("T")
EXIT_INTERRUPTED = 130


def _report(text: str) -> tuple[str, str]:
    """KIND:FILE, both checked now: a typo in either would otherwise surface only after the whole run."""
    kind, sep, path = text.partition(":")
    if not sep or not kind or not path:
        raise argparse.ArgumentTypeError(f"expected KIND:FILE such as json:report.json, got {shown(text)}")
    try:
        if kind not in REPORTERS:
            raise UnknownNameError("report kind", kind, REPORTERS)
        check_output_path(path)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return kind, path


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "run", help="deliver a scenario's webhooks to a receiver and account for every event",
        description="Deliver SCENARIO over real HTTP: provider P's traffic goes to TARGET/P (or the settings "
        "file's url for P). Without --target, fleetsim starts its reference receiver and delivers to it.")
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--target", type=target_url, metavar="URL", help="base URL of your receiver (http or https)")
    p.add_argument("--settings", metavar="FILE", help="provider settings: secrets, urls, retry (override the "
                   "scenario's delivery.providers)")
    p.add_argument("--rate", type=rate, help="realtime | xN | max (default: the scenario's)")
    p.add_argument("--concurrency", type=concurrency, default=32, metavar="N",
                   help="parallel requests (default 32)")
    p.add_argument("--report", type=_report, action="append", default=[], metavar="KIND:FILE",
                   help="write a report: json:FILE or junit:FILE (repeatable)")
    p.add_argument("--capture", type=output_path, metavar="FILE",
                   help="write every request sent (NDJSON) for `fleetsim replay`")
    p.add_argument("--limit", type=positive_int, metavar="N", help="stop after N generated events")
    p.add_argument("--time-scale", type=positive_float, metavar="F",
                   help="divide retry delays by F (default: the rate factor; 3600 for max)")
    p.add_argument("--timeout", type=positive_float, metavar="SECONDS",
                   help="total deadline per attempt (default: the provider's)")
    p.add_argument("--insecure", action="store_true", help="do not verify TLS certificates (test receivers)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(handler=run)

    r = sub.add_parser("replay", help="re-send a capture byte for byte (optionally re-signed)")
    r.add_argument("capture", help="capture file written by `fleetsim run --capture`")
    r.add_argument("--target", type=target_url, metavar="URL", required=True,
                   help="where to send (the captured paths are kept)")
    r.add_argument("--resign", action="store_true", help="recompute signatures with fresh timestamps")
    r.add_argument("--settings", metavar="FILE", help="secrets for --resign")
    r.add_argument("--concurrency", type=concurrency, default=8, metavar="N", help="parallel requests (default 8)")
    r.add_argument("--timeout", type=positive_float, default=10.0, metavar="SECONDS",
                   help="total deadline per request (default 10)")
    r.add_argument("--insecure", action="store_true", help="do not verify TLS certificates (test receivers)")
    r.set_defaults(handler=run_replay)


def _check_target(url: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--target expects an http:// or https:// URL, got {url!r}")


def _check_reports(reports: list[tuple[str, str]]) -> None:
    for kind, _ in reports:
        if kind not in REPORTERS:
            raise UnknownNameError("report kind", kind, REPORTERS)


def run_async(main: Callable[[], Coroutine[Any, Any, T]], on_interrupt: Callable[[], None]) -> T:
    """Run `main` on uvloop when available; SIGINT/SIGTERM call `on_interrupt` (a graceful stop)."""
    try:
        import uvloop

        loop_factory: Any = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a Linux/macOS dependency
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        loop = runner.get_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, on_interrupt)
        return runner.run(main())


def run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    settings: Any = scenario.delivery.providers
    if args.settings:
        settings = merge_settings(settings, load_settings(args.settings))
    if args.target:
        _check_target(args.target)
    _check_reports(args.report)
    capture = CaptureWriter(args.capture) if args.capture else None
    progress = None if args.quiet or not sys.stderr.isatty() else print_progress
    config = RunConfig(
        scenario=scenario, target=args.target or "", settings=settings,
        rate=args.rate or scenario.delivery.rate, concurrency=args.concurrency, time_scale=args.time_scale,
        timeout_s=args.timeout, limit=args.limit, capture=capture, verify_tls=not args.insecure,
        on_progress=progress,
    )
    runner = Runner(config)

    def interrupt() -> None:
        runner.stop()

    async def main() -> None:
        if args.target:
            await runner.run()
            return
        from ..servers.store import Store
        from .receiver_cmd import start_receiver, stop_receiver

        store = Store()
        server, base_url = await start_receiver(settings, store)
        print(f"no --target given: delivering to fleetsim's reference receiver at {base_url}", file=sys.stderr)
        runner.retarget(base_url)
        try:
            await runner.run()
        finally:
            await stop_receiver(server)
            await store.close()

    try:
        run_async(main, interrupt)
    finally:
        if capture is not None:
            capture.close()
    if progress:
        print(file=sys.stderr)
    summary = runner.summary()
    report = RunReport(summary, config=summary["run"], notes=tuple(runner.notes()))
    for kind, path in args.report:
        REPORTERS[kind](report, Path(path))
    print(render_summary(summary))
    if runner.interrupted:
        print("interrupted: events not yet delivered are accounted as skipped (interrupted)", file=sys.stderr)
        return EXIT_INTERRUPTED
    return exit_code(summary)


def print_progress(snapshot: Snapshot) -> None:
    print("\r" + progress_line(snapshot), end="", file=sys.stderr, flush=True)


def run_replay(args: argparse.Namespace) -> int:
    from ..delivery.replay import replay

    _check_target(args.target)
    settings = load_settings(args.settings).providers if args.settings else {}
    if args.resign and not args.settings:
        raise UsageError("--resign needs --settings FILE with the providers' secrets")
    result = run_async(
        lambda: replay(args.capture, args.target, resign=args.resign, settings=settings,
                       concurrency=args.concurrency, timeout_s=args.timeout, verify_tls=not args.insecure),
        lambda: None,
    )
    print(result.render())
    return EXIT_OK if result.all_ok else EXIT_FAILED
