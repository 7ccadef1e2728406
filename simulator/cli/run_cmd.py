"""`fleetsim run` and `fleetsim replay`: real deliveries over HTTP, with accounting and reports."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import ssl
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TextIO, TypeVar

from ..delivery.capture import CaptureWriter
from ..delivery.health import DOWN_AFTER
from ..delivery.ledger import Snapshot
from ..delivery.reach import all_reachable, reachable
from ..delivery.reports import REPORTERS, RunReport, exit_code, progress_line, render_summary, stop_cost
from ..delivery.runner import RunConfig, Runner
from ..delivery.sending import trusting_sender
from ..delivery.urls import delivery_urls
from ..errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError
from ..scenario.loader import load_scenario
from ..settings import load_settings, merge_settings
from .common import (
    SettingsFile,
    add_ca_bundle,
    concurrency,
    distinct_outputs,
    listed,
    non_negative_int,
    note_fleet_size,
    output_path,
    positive_float,
    positive_int,
    rate,
    report_spec,
    seconds_arg,
    target_url,
)
from .receiver_view import fetch_receiver_view, render_receiver_view

T = TypeVar("T")


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "run", help="deliver a scenario's webhooks to a receiver and account for every event",
        description="Deliver SCENARIO over real HTTP: provider P's traffic goes to TARGET/P, or to P's url "
        "setting (a whole URL, or a path under TARGET). Without --target, fleetsim starts its reference receiver "
        "and delivers to it.")
    p.add_argument("scenario", help="a scenario YAML file, or a shipped scenario's name (demo-city)")
    p.add_argument("--target", type=target_url, metavar="URL", help="base URL of your receiver (http or https)")
    p.add_argument("--settings", action=SettingsFile, metavar="FILE",
                   help="provider settings: secrets, urls, retry (override the "
                   "scenario's delivery.providers)")
    p.add_argument("--provider", action="append", metavar="NAME",
                   help="deliver only this provider's webhooks (repeatable, or NAME,NAME); the others' devices are "
                   "not simulated (default: every provider of the scenario)")
    p.add_argument("--rate", type=rate, help="realtime | xN | max (default: the scenario's)")
    p.add_argument("--concurrency", type=concurrency, default=32, metavar="N",
                   help="parallel requests (default 32)")
    p.add_argument("--report", type=report_spec(REPORTERS), action="append", default=[], metavar="KIND:FILE",
                   help="write a report: json:FILE or junit:FILE (repeatable)")
    p.add_argument("--capture", type=output_path, metavar="FILE",
                   help="write every request sent (NDJSON) for `fleetsim replay`")
    p.add_argument("--limit", type=positive_int, metavar="N", help="stop after N generated events")
    p.add_argument("--time-scale", type=positive_float, metavar="F",
                   help="divide retry delays by F (default: the rate factor; 3600 for max)")
    p.add_argument("--timeout", type=seconds_arg, metavar="SECONDS",
                   help="total deadline per attempt (default: the provider's)")
    p.add_argument("--insecure", action="store_true", help="do not verify TLS certificates (test receivers)")
    add_ca_bundle(p)
    p.add_argument("--tls", action="store_true",
                   help="without --target: serve the reference receiver over https (a throwaway CA fleetsim trusts)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--down-after", type=non_negative_int, default=DOWN_AFTER, metavar="N",
                   help=f"mark an endpoint down after N attempts in a row get no HTTP response (timeouts, "
                   f"refused or reset connections) and skip its remaining events; 0 never (default {DOWN_AFTER})")
    p.add_argument("--grace", type=seconds_arg, default=10.0, metavar="SECONDS",
                   help="on Ctrl-C or SIGTERM, how long requests in flight may finish; a second Ctrl-C stops "
                   "at once (default 10)")
    p.add_argument("--generation", choices=("auto", "worker", "inline"), default="auto",
                   help="where traffic is generated: a worker process, so generating does not take the sending "
                   "core, or this one (default auto: a worker with --rate max)")
    p.set_defaults(handler=run)

    r = sub.add_parser("replay", help="re-send a capture byte for byte (optionally re-signed)")
    r.add_argument("capture", help="capture file written by `fleetsim run --capture`")
    r.add_argument("--target", type=target_url, metavar="URL", required=True,
                   help="where to send (the captured paths are kept)")
    r.add_argument("--resign", action="store_true", help="recompute signatures with fresh timestamps")
    r.add_argument("--settings", action=SettingsFile, metavar="FILE",
                   help="secrets for --resign, and each provider's url for the query values a capture masks")
    r.add_argument("--concurrency", type=concurrency, default=8, metavar="N", help="parallel requests (default 8)")
    r.add_argument("--timeout", type=seconds_arg, default=10.0, metavar="SECONDS",
                   help="total deadline per request (default 10)")
    r.add_argument("--insecure", action="store_true", help="do not verify TLS certificates (test receivers)")
    add_ca_bundle(r)
    r.add_argument("--down-after", type=non_negative_int, default=DOWN_AFTER, metavar="N",
                   help=f"stop after N requests in a row get no HTTP response; 0 never (default {DOWN_AFTER})")
    r.add_argument("--grace", type=seconds_arg, default=10.0, metavar="SECONDS",
                   help="on Ctrl-C or SIGTERM, how long requests in flight may finish (default 10)")
    r.set_defaults(handler=run_replay)


def _trust(args: argparse.Namespace) -> ssl.SSLContext | None:
    """The client TLS context --ca-bundle asks for (None: the system's CAs, SSL_CERT_FILE honoured)."""
    if args.ca_bundle is None:
        return None
    if args.insecure:
        raise UsageError("--ca-bundle and --insecure contradict each other: --ca-bundle verifies with FILE's CAs, "
                         "--insecure verifies nothing")
    from ..delivery.transport import trust_context

    return trust_context(args.ca_bundle)


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
    started: list[bool] = []  # appended to when the run's own stop handling takes over
    try:
        return _run(args, started)
    except KeyboardInterrupt:
        if not started:
            _write_unstarted(args)
        raise


def _write_unstarted(args: argparse.Namespace) -> None:
    """Ctrl-C or SIGTERM before the run began (while its scenario loads or a slow target's reachability is asked):
    the reports asked for still say so, exit 130, as a stopped run's do; never an absent or an earlier report."""
    from ..delivery.ledger import Ledger

    summary = Ledger().summary()
    summary["run"] = {"scenario": args.scenario, "interrupted": True}
    report = RunReport(summary, config=summary["run"], exit_code=EXIT_INTERRUPTED,
                       notes=("interrupted before the run began: nothing was generated or sent",))
    for kind, path in args.report:
        with contextlib.suppress(OSError):  # the stop is what is reported; a full disk is not a second error
            REPORTERS[kind](report, Path(path))


def _run(args: argparse.Namespace, started: list[bool]) -> int:
    # everything the user gave is checked before any work starts (exit 2, one line)
    scenario = load_scenario(args.scenario)
    settings: Any = scenario.delivery.providers
    if args.settings:
        # a shared settings file may name providers this run does not deliver: their secret variables need not
        # be set (a job's environment holds its own providers' secrets)
        chosen = _providers(args.provider)
        used = set(scenario.providers()) & chosen if chosen is not None else set(scenario.providers())
        given = load_settings(args.settings, used=used)
        unused = sorted(set(given.providers) - set(scenario.providers()))
        if unused:  # most often a settings file meant for another scenario: said, not silently ignored
            print(f"fleetsim: note: {args.settings} sets {', '.join(unused)}, which scenario {scenario.name!r} has "
                  f"no devices of (its providers: {', '.join(scenario.providers())}): not used", file=sys.stderr)
        settings = merge_settings(settings, given)
    # --target, --report and --capture were checked by their argparse types; the URLs a settings file gives
    # are checked by the Runner below, before anything is generated
    trust = _trust(args)
    own_tls = None
    if args.tls:
        if args.target:
            raise UsageError("--tls serves fleetsim's own receiver over https; for your https --target give "
                             "--ca-bundle FILE if its CA is not a public one")
        from ..delivery.transport import trust_context
        from ..servers.tls import self_trusted_tls

        trust = trust or trust_context()
        own_tls = self_trusted_tls(trust).context
    reports = [(kind, Path(path)) for kind, path in args.report]
    capture_path = Path(args.capture) if args.capture else None
    distinct_outputs([*((f"--report {kind}", path) for kind, path in reports), ("--capture", capture_path)])
    progress = Progress(quiet=args.quiet)
    run_rate = args.rate or scenario.delivery.rate
    worker = args.generation == "worker" or (args.generation == "auto" and run_rate.mode == "max")
    config = RunConfig(
        scenario=scenario, target=args.target or "", settings=settings, generation="worker" if worker else "inline",
        rate=run_rate, concurrency=args.concurrency, time_scale=args.time_scale,
        timeout_s=args.timeout, limit=args.limit, verify_tls=not args.insecure,
        on_progress=progress if progress.enabled else None, progress_every_s=progress.every_s,
        down_after=args.down_after, grace_s=args.grace, sender=trusting_sender(trust),
        providers=_providers(args.provider),
    )
    runner = Runner(config)  # checks every endpoint URL and retry setting
    note_fleet_size(scenario, runner.endpoints)
    for name, endpoint in runner.endpoints.items():
        # unsigned requests of a provider that signs: every one refused by a correct receiver (401), retried for
        # minutes, and the run's verdict about nothing but the missing secret (`check` refuses alike)
        if endpoint.signer.name != "none" and not endpoint.secrets:
            from ..scenario.provider_settings import secret_key

            raise UsageError(f"{name} signs its requests and no secret is configured for it: give one in the "
                             f"scenario's delivery.providers or in --settings FILE (providers: {{{name}: "
                             f"{{{secret_key(name)}: ...}}}}), or leave {name} out with --provider")
    # a receiver that is not there is one line and exit 2 before anything is generated (docs/delivery.md)
    all_reachable(delivery_urls(args.target or "", runner.endpoints, settings))
    capture = CaptureWriter(capture_path) if capture_path else None
    if capture is not None:
        runner.attach_capture(capture)
    receiver_view: dict[str, Any] = {}

    async def main() -> None:
        if args.target:
            await runner.run()
            return
        from ..servers.serving import start_receiver, stop_receiver
        from ..servers.store import Store

        store = Store()
        server, base_url = await start_receiver(settings, store, ssl_context=own_tls)
        print(f"no --target given: delivering to fleetsim's reference receiver at {base_url}", file=sys.stderr)
        runner.retarget(base_url)
        try:
            await runner.run()
            receiver_view.update(await fetch_receiver_view(base_url, trust))
        finally:
            await stop_receiver(server)
            await store.close()

    late: UsageError | None = None  # e.g. the disk filled up under the capture: still account and report
    started.append(True)
    try:
        run_async(main, runner.stop)
    except UsageError as exc:
        late = exc
    finally:
        progress.finish()
        if capture is not None:
            try:
                capture.close()
            except UsageError as exc:
                late = late or exc
    summary = runner.summary()
    code = EXIT_INTERRUPTED if runner.interrupted else exit_code(summary)
    if late is not None and code != EXIT_INTERRUPTED:
        code = EXIT_USAGE
    notes = tuple(runner.notes())
    print(render_summary(summary), end="")
    for note in notes:
        print(f"note: {note}")
    stopped_note = f"interrupted: {stop_cost(summary) or 'every event had ended'}"
    if runner.interrupted:  # said on stderr below too; the reports keep it with the other notes
        notes += (stopped_note,)
    if not args.target:
        print(render_receiver_view(summary, receiver_view))
    report = RunReport(summary, config=summary["run"], exit_code=code, notes=notes)
    for kind, path in reports:
        try:
            REPORTERS[kind](report, path)
        except OSError as exc:  # checked up front; the disk can still fill up or the directory vanish
            print(f"fleetsim: error: --report {kind}: cannot write {path} ({exc.strerror or exc})", file=sys.stderr)
            code = max(code, EXIT_USAGE) if code != EXIT_INTERRUPTED else code
    if runner.interrupted:
        print(stopped_note, file=sys.stderr)
    if late is not None:
        print(f"fleetsim: error: {late}", file=sys.stderr)
    return code


def _providers(given: list[str] | None) -> frozenset[str] | None:
    """--provider NAME, repeated or comma-separated; None when not given (every provider)."""
    if given is None:
        return None
    return frozenset(listed(given))


class Progress:
    """The run's status line on stderr: redrawn every second on a terminal; on a pipe or CI log, where a
    redrawn line is invisible until the end, one full line every 10 seconds (as pip and Locust do)."""

    def __init__(self, *, quiet: bool, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.enabled = not quiet
        self.every_s = 1.0 if self.tty else 10.0
        self._drawn = False

    def __call__(self, snapshot: Snapshot) -> None:
        if self.tty:
            print("\r" + progress_line(snapshot), end="", file=self.stream, flush=True)
            self._drawn = True
        else:
            print(progress_line(snapshot), file=self.stream, flush=True)

    def finish(self) -> None:
        if self._drawn:
            print(file=self.stream)
            self._drawn = False


def run_replay(args: argparse.Namespace) -> int:
    from ..delivery.replay import Replayer

    settings = load_settings(args.settings).providers if args.settings else {}
    if args.resign and not args.settings:
        raise UsageError("--resign needs --settings FILE with the providers' secrets")
    replayer = Replayer(args.capture, args.target, resign=args.resign, settings=settings,
                        concurrency=args.concurrency, timeout_s=args.timeout, verify_tls=not args.insecure,
                        down_after=args.down_after, grace_s=args.grace, ssl_context=_trust(args))
    replayer.check_capture()  # the capture's own mistakes first: they are the user's to fix either way
    reachable(args.target, "--target")
    result = run_async(replayer.run, replayer.stop)
    print(result.render())
    if result.interrupted:
        print("interrupted: requests not yet sent are counted as not sent (interrupted)", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK if result.all_ok else EXIT_FAILED
