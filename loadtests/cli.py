"""`fleetsim load`: a thin wrapper over Locust in headless mode (docs/load-testing.md).

Registered as a `fleetsim.commands` entry point, like `fleetsim check`. Locust runs in a subprocess
(`python -m locust -f loadtests/locustfile.py ...`), so gevent's monkey-patching never touches the rest of
fleetsim: this module never imports Locust. Without --target the reference receiver runs in a process of its
own (loadtests/serve.py) and its state probe (conformance/probes/reference.yaml) is read after the run.

Exit codes: 0 the run completed and every SLO was met, 1 an SLO failed, 2 a usage mistake or an unreachable
target, 3 Locust or the receiver failed (the harness's trouble), 130 interrupted: Ctrl-C or SIGTERM stops
Locust's whole process group (`_stop_group`) and the reference receiver.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from conformance.state import (
    REFERENCE_PROBE,
    FileStateProbe,
    Readings,
    command_ca_file,
    load_state_probe,
    runs_commands,
    take_readings,
)
from simulator.cli.common import (
    SettingsFile,
    add_ca_bundle,
    distinct_outputs,
    int_range,
    note_fleet_size,
    positive_float,
    report_spec,
    shown,
    target_url,
)
from simulator.delivery.reach import reachable
from simulator.delivery.urls import masked_url_password, url_base
from simulator.errors import EXIT_FAILED, EXIT_OK, HarnessError, UsageError
from simulator.providers import PROVIDERS
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.scenario.model import Scenario
from simulator.servers.receiver import endpoint_paths
from simulator.settings import load_settings, merge_settings

from .pools import device_weights, loadable, request_paths
from .readiness import FLUSH_WAIT_S, POOLS_WAIT_S
from .records import STOP_TIMEOUT_S, read_records, senders
from .shapes import SHAPES
from .summary import Slo, Summary, asks, judge, needs_probe, parse_slo, summarize, table

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
REPORT_KINDS = ("html", "json")
DEFAULT_USERS = 10
DEFAULT_RUN_TIME = "10s"
#: how long the reference receiver may take to say where it listens
RECEIVER_START_S = 30.0
#: acknowledged events read back at most (evenly sampled beyond): reading costs about a millisecond each
VERIFY_MAX = 20_000
#: how long an interrupted Locust run has to stop on SIGTERM before what is left of it is killed
STOP_WAIT_S = 5.0
#: how long a worker waits for its master to listen
MASTER_WAIT_S = 10.0
#: how long a master waits for its --expect-workers workers to connect (--workers-wait)
WORKERS_WAIT_S = 60
#: what Locust logs when a master gives up waiting for its workers (--expect-workers-max-wait)
_GAVE_UP = "Gave up waiting for workers to connect"
_RUN_TIME = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")

#: Locust's own default for a master's port (--master, --worker)
MASTER_PORT = 5557


#: the longest --run-time: a week, well past any load test and short of what Locust's timers can hold
MAX_RUN_TIME_S = 7 * 24 * 3600


def run_time(text: str) -> str:
    """Locust's run time (20s, 1m30s, 1h), checked here so a typo is exit 2 before anything starts."""
    value = text.strip()
    match = _RUN_TIME.match(value)
    # plain digits are seconds, but go through the same zero check: `--run-time 0` would start Locust with
    # nothing to run and hang until the run's bound
    plain = value.isascii() and value.isdigit()  # not "²", which isdigit() takes and int() refuses
    if not (plain or (match and any(match.groups()))) or seconds(value) == 0:
        raise argparse.ArgumentTypeError(f"expected a run time such as 20s, 1m30s or 1h, got {shown(text)}")
    if seconds(value) > MAX_RUN_TIME_S:  # Locust's timers overflow past a few hundred hours
        raise argparse.ArgumentTypeError(f"expected a run time of at most {MAX_RUN_TIME_S // 3600}h, got {shown(text)}")
    return f"{int(value)}s" if plain else value


def seconds(text: str) -> int:
    if text.isascii() and text.isdigit():
        return int(text)
    match = _RUN_TIME.match(text)
    assert match is not None
    h, m, s = (int(g or 0) for g in match.groups())
    return h * 3600 + m * 60 + s


#: what a run must meet when --slo is not given: every request acknowledged with a 2xx
DEFAULT_SLOS = parse_slo("fail=0")


def slo_spec(text: str) -> list[Slo]:
    try:
        return parse_slo(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "load", help="load-test a webhook receiver with Locust (realistic signed traffic, SLO gates)",
        description="Run Locust headless against TARGET/<provider> with every provider's realistic signed "
        "traffic (weighted by the scenario's fleet), then ask the receiver's state probe what it stored: lost "
        "and duplicated events per provider and device, ack latency p95. Without --target the reference "
        "receiver is started in its own process and loaded.")
    p.add_argument("--scenario", metavar="FILE", help="scenario to render and weight providers by "
                   "(default: scenarios/demo-city.yaml)")
    p.add_argument("--provider", metavar="P|all", default="all", help="load one provider only (default all)")
    p.add_argument("--settings", action=SettingsFile, metavar="FILE",
                   help="provider settings (secrets) over the scenario's")
    p.add_argument("--users", type=int_range(1, 100_000), default=DEFAULT_USERS, metavar="N",
                   help=f"concurrent users at the peak (default {DEFAULT_USERS})")
    p.add_argument("--spawn-rate", type=positive_float, metavar="R", help="users started per second (default: all "
                   "at once)")
    p.add_argument("--run-time", type=run_time, default=DEFAULT_RUN_TIME, metavar="T",
                   help=f"how long to load, e.g. 20s, 1m30s (default {DEFAULT_RUN_TIME})")
    p.add_argument("--shape", choices=sorted(SHAPES), default="steady", help="load shape (default steady)")
    p.add_argument("--target", type=target_url, metavar="URL", help="base URL of your receiver")
    p.add_argument("--state-probe", metavar="FILE", help="how to read the receiver's state (docs/state-probes.md); "
                   "default without --target: the reference receiver's")
    p.add_argument("--processes", type=int_range(1, 1024), metavar="N",
                   help="N Locust worker processes on this machine (one per usable core)")
    role = p.add_mutually_exclusive_group()
    role.add_argument("--master", action="store_true", help="be Locust's master; wait for --expect-workers workers")
    role.add_argument("--worker", action="store_true", help="be a Locust worker of --master-host")
    p.add_argument("--expect-workers", type=int_range(1, 1024), default=None, metavar="N",
                   help="--master: workers to wait for before starting (default 1)")
    # whole seconds: Locust's --expect-workers-max-wait counts them, and 0 there would mean for ever
    p.add_argument("--workers-wait", type=int_range(1, 86_400), default=None, metavar="SECONDS",
                   help=f"--master: give up (exit 2) when fewer workers have connected after this long "
                   f"(default {WORKERS_WAIT_S})")
    p.add_argument("--master-host", default=None, metavar="H", help="--worker: the master's address (default "
                   "127.0.0.1)")
    p.add_argument("--master-port", type=int_range(1, 65535), default=None, metavar="PORT",
                   help=f"the master's port (default {MASTER_PORT} with --master and --worker; with --processes a "
                   "free loopback port)")
    p.add_argument("--slo", type=slo_spec, metavar="SLOS",
                   help="exit 1 unless these hold, e.g. 'p95<200ms,fail<0.1%%,lost=0' (metrics: p50 p90 p95 p99 "
                   "fail lost dup reordered rps); default fail=0, as Locust's own exit code")
    p.add_argument("--report", type=report_spec(REPORT_KINDS), action="append", default=[], metavar="KIND:FILE",
                   help="html:FILE Locust's HTML report (the correctness summary is written beside it as "
                   "FILE.correctness.json); json:FILE the correctness summary")
    p.add_argument("--devices", action="store_true", help="also print one row per device")
    add_ca_bundle(p)
    p.set_defaults(handler=run)


def _role_options(args: argparse.Namespace) -> None:
    """An option of a role not taken is a mistake said, never ignored (`--expect-workers 3` without --master
    once ran one local Locust); then the defaults are filled in."""
    for option, value, role, taken in (("--expect-workers", args.expect_workers, "--master", args.master),
                                       ("--workers-wait", args.workers_wait, "--master", args.master),
                                       ("--master-host", args.master_host, "--worker", args.worker),
                                       ("--master-port", args.master_port, "--master, --worker or --processes",
                                        args.master or args.worker or args.processes)):
        if value is not None and not taken:
            raise UsageError(f"{option} is for {role} (this run is not one)")
    args.expect_workers = args.expect_workers or 1
    args.workers_wait = args.workers_wait or WORKERS_WAIT_S
    args.master_host = args.master_host or "127.0.0.1"


def run(args: argparse.Namespace) -> int:
    html = _html_report(args)
    distinct_outputs([*((f"--report {kind}", path) for kind, path in args.report),
                      *([("the correctness summary beside the HTML report", _correctness_path(html))] if html else [])])
    scenario_file = args.scenario or str(scenarios_dir() / "demo-city.yaml")
    loaded, scenario = _check_provider(args.provider, scenario_file)
    note_fleet_size(scenario)  # each Locust process renders the whole scenario's traffic for its pools
    settings = scenario.delivery.providers
    if args.settings:  # a broken settings file is exit 2 here, not inside Locust
        settings = merge_settings(settings, load_settings(args.settings))
    probe_file = args.state_probe or (None if args.target else str(REFERENCE_PROBE))
    probe = load_state_probe(probe_file) if probe_file else None
    if args.slo and needs_probe(args.slo) and probe is None and not args.worker:
        raise UsageError("--slo with lost, dup or reordered needs the receiver's state: give --state-probe FILE")
    if args.master and args.processes:
        raise UsageError("--master and --processes do not go together: --processes runs its own master")
    _role_options(args)
    with contextlib.ExitStack() as stack:
        if args.worker:  # a worker loads the host its master names
            target = ""
            # workers are often started first: give the master a moment to listen
            reachable(f"tcp://{_bracketed(args.master_host)}:{_master_port(args)}", what="the master",
                      wait_s=MASTER_WAIT_S, listener="`fleetsim load --master`")
        else:
            if not args.target:  # two providers on one path: said here, not by the receiver's process
                endpoint_paths(dict.fromkeys(loaded), settings)
            target = args.target or stack.enter_context(reference_receiver(scenario_file, args.settings))
            request_paths(target, loaded, settings)  # a url elsewhere is exit 2 now, not in Locust's workers
            reachable(target, handshake=True, ca_bundle=args.ca_bundle)
        records_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fleetsim-load-")))
        if not args.worker:
            _unfinished_reports(args, html)
        try:
            locust(args, target, scenario_file, records_dir, html)
        finally:  # a run that failed or was interrupted may have written its report too
            if html:
                _mask_report(Path(html))
        if args.worker:
            return EXIT_OK
        records = list(read_records(records_dir))
        summary = _summary(records, probe, target, args.ca_bundle)
        summary.processes = senders(records_dir)
        _note_unloaded(summary, loaded, args.users)
    return _finish(args, summary, html)


#: what a --report file says until the run has finished: a run stopped half way (Ctrl-C, a CI job's timeout,
#: SIGKILL) leaves this, never an earlier run's green report at the same path
UNFINISHED = {"complete": False, "interrupted": True,
              "note": "the run did not finish (stopped, or still running): no summary was written"}


def _unfinished_reports(args: argparse.Namespace, html: str | None) -> None:
    """Each report path says "unfinished" before Locust starts, and an earlier Locust HTML report is removed;
    `_finish` writes the real ones."""
    for path in _json_outputs(args, html):
        Path(path).write_bytes(orjson.dumps(UNFINISHED, option=orjson.OPT_INDENT_2))
    if html:
        with contextlib.suppress(FileNotFoundError):
            Path(html).unlink()


def _html_report(args: argparse.Namespace) -> str | None:
    return next((path for kind, path in args.report if kind == "html"), None)


def _correctness_path(html: str) -> str:
    """Where the correctness summary is written beside Locust's HTML report."""
    return str(Path(html).with_suffix(".correctness.json"))


def _json_outputs(args: argparse.Namespace, html: str | None) -> list[str]:
    """The JSON files a run writes: each --report json:FILE, and the correctness summary beside an HTML report."""
    outputs = [path for kind, path in args.report if kind == "json"]
    if html:
        outputs.append(_correctness_path(html))
    return outputs


def _note_unloaded(summary: Summary, loaded: Sequence[str], users: int) -> None:
    """Say which providers sent nothing: Locust gives each user to one provider's class, weighted by the
    scenario's devices, so `--provider all --users 1` loads one provider alone, silently."""
    missing = [name for name in loaded if name not in summary.providers]
    if not missing or not summary.sent:
        return
    got = ", ".join(name for name in loaded if name not in missing)
    why = (f"Locust gave its {users} user(s) to {got} (users go to providers weighted by the scenario's devices); "
           f"give --users {len(loaded)} or more to load every provider") if users < len(loaded) else (
           "none of their requests was recorded")
    summary.notes.append(f"no traffic for {', '.join(missing)}: {why}")


def _check_provider(name: str, scenario_file: str) -> tuple[list[str], Scenario]:
    """The providers this run loads, and the scenario; a broken scenario or an unknown provider is exit 2 here,
    not inside Locust."""
    scenario = load_scenario(scenario_file)
    weights = device_weights(scenario)
    if name == "all":
        if not weights:
            raise UsageError(f"scenario {scenario.name} has no provider fleetsim can load")
        return sorted(weights), scenario
    if name not in PROVIDERS or not loadable(PROVIDERS[name]):
        choices = ", ".join(p for p, v in sorted(PROVIDERS.items()) if loadable(v))
        raise UsageError(f"unknown provider {shown(name)} for load (choose from {choices}, or all)")
    if name not in weights:
        raise UsageError(f"scenario {scenario.name} has no {name} devices; choose one that has (--scenario)")
    return [name], scenario


@contextlib.contextmanager
def reference_receiver(scenario_file: str, settings: str | None) -> Iterator[str]:
    """The reference receiver in its own process, for as long as the context lasts; its base URL."""
    argv = [sys.executable, "-m", "loadtests.serve", "--scenario", scenario_file,
            *(["--settings", settings] if settings else [])]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        line = _first_line(process)
        if not line.startswith("http"):
            raise HarnessError(f"the reference receiver did not start (exit {process.poll()})")
        yield line
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _first_line(process: subprocess.Popen[str]) -> str:
    import selectors

    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(RECEIVER_START_S):
            return ""
    return process.stdout.readline().strip()


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def locust_argv(args: argparse.Namespace, target: str, scenario_file: str, records_dir: Path,
                html: str | None) -> list[str]:
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
            "--loglevel", "WARNING", "--fleetsim-scenario", scenario_file, "--fleetsim-provider", args.provider,
            "--fleetsim-shape", args.shape, "--fleetsim-records", str(records_dir), "--exit-code-on-error", "0"]
    if args.settings:
        argv += ["--fleetsim-settings", args.settings]
    if getattr(args, "ca_bundle", None):
        argv += ["--fleetsim-ca-bundle", args.ca_bundle]
    if args.worker:
        return [*argv, "--worker", "--master-host", args.master_host, "--master-port", str(_master_port(args))]
    argv += ["--host", target, "-u", str(args.users), "-r", str(args.spawn_rate or args.users),
             "-t", args.run_time, "--stop-timeout", f"{STOP_TIMEOUT_S:g}"]
    if html:
        argv += ["--html", html]
    if args.processes:
        # Locust's defaults would have this run's master listen on every interface at 5557 and its forked
        # workers connect to 127.0.0.1:5557: two runs at once on one machine (parallel CI jobs) then meet there,
        # the second master fails to bind and its workers join the first run. Its own free loopback port keeps
        # each run to itself and off the network
        port = str(args.master_port or _free_loopback_port())
        argv += ["--processes", str(args.processes), "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
                 "--master-port", port]
    if args.master:
        argv += ["--master", "--expect-workers", str(args.expect_workers), "--expect-workers-max-wait",
                 str(args.workers_wait),
                 "--master-bind-port", str(_master_port(args))]
    return argv


def _master_port(args: argparse.Namespace) -> int:
    """--master-port, else Locust's default, for a master and workers started by hand."""
    return int(args.master_port or MASTER_PORT)


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def locust(args: argparse.Namespace, target: str, scenario_file: str, records_dir: Path, html: str | None) -> None:
    argv = locust_argv(args, target, scenario_file, records_dir, html)
    # a bound on the whole run: its length, plus time to start, gather workers (a master: their connecting, their
    # pools, their records) and write the records
    limit: float | None = seconds(args.run_time) + 120
    if args.worker:
        limit = None  # as long as its master runs
    elif args.master:
        limit = seconds(args.run_time) + args.workers_wait + POOLS_WAIT_S + FLUSH_WAIT_S + 120
    # its own session, so that stopping it reaches every process of the run: `--processes N` forks workers that
    # outlive a killed master (they went on sending until their --run-time ended)
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        _stop_group(process)
        raise HarnessError(f"Locust did not finish within {limit:g} s") from None
    except BaseException:  # Ctrl-C or SIGTERM (cli.main makes it a KeyboardInterrupt): the whole run stops
        _stop_group(process)
        raise
    done = subprocess.CompletedProcess(argv, process.returncode, output)
    if args.master and _GAVE_UP in done.stdout:
        raise UsageError(f"fewer than {args.expect_workers} worker(s) connected within {args.workers_wait} s "
                         f"(--workers-wait): start them with fleetsim load --worker --master-host HOST "
                         f"--master-port {_master_port(args)}")
    if done.returncode not in (0, 1):  # 1: Locust saw failed requests, which the summary reports
        tail = " | ".join(line for line in done.stdout.strip().splitlines()[-3:])
        raise HarnessError(f"Locust exited with {done.returncode}: {tail}")


def _stop_group(process: subprocess.Popen[str]) -> None:
    """Stop a Locust run and every process it started: SIGTERM to its process group (Locust's own clean stop),
    SIGKILL for what is left after STOP_WAIT_S."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=STOP_WAIT_S)
            if sig == signal.SIGTERM:  # the leader is gone; its forked workers may not be: one last sweep
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            return
        except subprocess.TimeoutExpired:
            continue


def _summary(records: list[Any], probe: Any, target: str, ca_bundle: str | None = None) -> Summary:
    if probe is None:
        return summarize(records, None, probe=None)
    wanted = sorted(asks(records))
    step = max(1, -(-len(wanted) // VERIFY_MAX))
    trust = None
    if ca_bundle:  # the state probe reads the same https receiver
        from simulator.delivery.transport import trust_context

        trust = trust_context(ca_bundle)
    # a probe command is told to trust the same CAs (SSL_CERT_FILE and kin), as `fleetsim check` tells it
    state = FileStateProbe(probe, ssl_context=trust)
    with command_ca_file(ca_bundle if runs_commands(state) else None, None) as ca_file:
        sample = wanted[::step]
        readings: Readings = asyncio.run(take_readings(state.trusting(None, ca_file), url_base(target), sample))
    arrivals = None
    if Path(probe.source).resolve() == REFERENCE_PROBE.resolve():
        providers = sorted({r.provider for r in records})
        arrivals = asyncio.run(arrival_order(url_base(target), providers))
    summary = summarize(records, readings, probe=f"state probe {Path(probe.source).name}", arrivals=arrivals,
                        asked=set(sample) if step > 1 else None)
    if arrivals is None:
        summary.notes.append("reordered: not measured (only the reference receiver tells its arrival order)")
    if step > 1:
        summary.notes.append(f"read back one acknowledged event in {step} ({len(sample)} of {len(wanted)}): lost "
                             "and duplicated count those only, and a % SLO is a share of them")
    if readings.errors:
        first = next(iter(readings.errors.values()))
        summary.notes.append(f"{len(readings.errors)} readings failed, e.g. {first}")
    return summary


async def arrival_order(base: str, providers: Sequence[str]) -> dict[tuple[str, str], int] | None:
    """(provider, event key) -> position in the reference receiver's arrival order (GET /state/arrivals), or
    None when it cannot be read."""
    import aiohttp

    order: dict[tuple[str, str], int] = {}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            for provider in providers:
                after: int | None = 0
                while after is not None:
                    async with session.get(f"{base}/state/arrivals/{provider}", params={"after": str(after)}) as r:
                        if r.status != 200:
                            return None
                        page = await r.json()
                    for key in page["arrivals"]:
                        order[(provider, key)] = len(order)
                    after = page["next"]
    except (aiohttp.ClientError, TimeoutError, KeyError, ValueError):
        return None
    return order


def _mask_report(path: Path) -> None:
    """Locust's HTML report names its host whole: a password in --target (user:password@, sent as Basic auth)
    is masked there as in every fleetsim output (docs/delivery.md, "Secrets")."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return  # no report written (Locust failed; that is reported): nothing to mask
    masked = masked_url_password(text)
    if masked != text:
        try:
            path.write_text(masked, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--report html:{path}: cannot write the report ({exc.strerror or exc})") from None


def _finish(args: argparse.Namespace, summary: Summary, html: str | None) -> int:
    document = summary.as_dict()
    # no --slo: Locust's own rule (its --exit-code-on-error) that a run with any failed request exits 1, so a
    # CI job gating on `fleetsim load` alone does not pass against a receiver answering 500
    given = bool(args.slo)
    verdicts = judge(args.slo if given else DEFAULT_SLOS, summary)
    document["slo"] = [{"slo": s.text, "met": ok, "measured": measured, "default": not given}
                       for s, ok, measured in verdicts]
    outputs = _json_outputs(args, html)
    for path in outputs:
        Path(path).write_bytes(orjson.dumps({**document, "complete": True}, option=orjson.OPT_INDENT_2))
    print(table(summary, devices=args.devices))
    for slo, ok, measured in verdicts:
        default = "" if given else " (the default without --slo)"
        print(f"SLO {slo.text}{default}: {'met' if ok else 'FAILED'} ({measured})")
    for path in ([html] if html else []) + outputs:
        print(f"report: {path}")
    return EXIT_FAILED if any(not ok for _, ok, _ in verdicts) else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover  (fleetsim load is the way in)
    from simulator.cli import main as fleetsim

    return fleetsim(["load", *(argv or sys.argv[1:])])
