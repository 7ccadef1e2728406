"""`fleetsim check`: run the conformance checks against a receiver (or fleetsim's reference receiver).

Registered as a `fleetsim.commands` entry point (pyproject.toml), which `simulator.cli` discovers: the
dependency runs conformance -> simulator only.

Secrets: the demo secrets of the shipped scenarios/demo-city.yaml are used unless `--settings FILE` gives
others (it is laid over them, key by key). A provider that signs its requests and has no secret either way
(the generic Standard Webhooks profile) is an exit-2 error when asked for by name, and is left out of
`--provider all` with a note.

Exit codes: 0 every check passed (or was skipped), 1 a check failed, 2 a usage or settings mistake or a
--target nothing listens at (simulator/delivery/reach.py), 3 a check ended in error (harness or network trouble)
and none failed, 130 interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import ssl
import sys
import tempfile
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from simulator.cli.common import (
    SettingsFile,
    add_ca_bundle,
    distinct_outputs,
    int_range,
    listed,
    report_spec,
    seconds_arg,
    seed,
    shown,
    target_url,
)
from simulator.delivery.reach import all_reachable
from simulator.delivery.redaction import Redactor
from simulator.delivery.sending import SenderFactory, http_sender
from simulator.delivery.transport import trust_context
from simulator.delivery.urls import check_url_credentials, delivery_urls, endpoint_url, url_named
from simulator.errors import (
    EXIT_FAILED,
    EXIT_HARNESS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    UnknownNameError,
    UsageError,
)
from simulator.providers import Provider
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.servers.tls import self_trusted_tls
from simulator.settings import load_settings, merge_settings

from .checks import signs
from .checks_fuzz import DATABASE_DIR, FuzzSettings
from .inprocess import APP_URL, serve_app
from .probing import BODY_LIMIT, MAX_BODY_LIMIT
from .registry import CHECKS, MORE_RULES, SUITES, Check, catalogue_order
from .report import REPORT_KINDS, Invocation, Reporter, totals
from .run import ProviderRun, has_secret, reference_receiver, run_provider, webhook_providers
from .socket_client import SOCKET_PROVIDER
from .socket_client import command as socket_command
from .state import REFERENCE_PROBE, FileStateProbe, StateProbe, command_ca_file, load_state_probe, runs_commands
from .stopping import run_until_stopped

#: a seed drawn for a run given none is at most this (short enough to read and type back)
MAX_FRESH_SEED = 999_999
DEFAULT_SUITE = "standard"
MARK = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP", "error": "ERROR"}


def _ids(text: str) -> list[str]:
    given = [part.strip() for part in text.split(",") if part.strip()]
    ids = [part.upper() for part in given]
    for part, check_id in zip(given, ids, strict=True):
        if check_id not in CHECKS and check_id not in MORE_RULES:
            # the message quotes what was typed (so a very long value is clipped like any other echo)
            raise argparse.ArgumentTypeError(str(UnknownNameError("check", part, {**CHECKS, **MORE_RULES},
                                                                  "fleetsim check --list")))
    if not ids:
        raise argparse.ArgumentTypeError(f"expected check ids such as SIG-01,RPL-01, got {shown(text)}")
    return ids


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "check", help="check a webhook receiver against the conformance checks (SIG, RPL, IDM, MAL, TIM)",
        description="Deliver a small scenario of provider P, with the probes the selected checks need, to "
        "TARGET/P (or P's url setting: a whole URL, or a path under TARGET or the --app) and grade every answer. "
        "Without --target, fleetsim's reference receiver is started and "
        "checked. Secrets: the demo ones of scenarios/demo-city.yaml unless --settings gives others.")
    p.add_argument("--provider", metavar="P|all", action="append",
                   help=f"a provider name (repeatable, or several comma-separated), or all; {SOCKET_PROVIDER}: grade "
                   "your socket client of PowUnity's Traccar server instead (TRN-06..TRN-10, fleetsim serves)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--target", type=target_url, metavar="URL", help="base URL of your receiver (http or https)")
    where.add_argument("--app", metavar="MODULE:ATTR",
                       help="check a Python ASGI/WSGI app in-process, loaded like uvicorn's main:app (a factory: "
                       "main:create_app()); checks that need a real socket are skipped")
    p.add_argument("--settings", action=SettingsFile, metavar="FILE",
                   help="provider settings: secrets, urls (over the demo ones)")
    p.add_argument("--suite", choices=SUITES, default=DEFAULT_SUITE,
                   help=f"which checks to run (default {DEFAULT_SUITE}); each suite holds the smaller ones, fuzz is "
                   "full plus schema-driven fuzzing (FUZ-01)")
    p.add_argument("--only", type=_ids, metavar="IDS",
                   help="run only these checks (comma-separated ids), whatever their suite")
    p.add_argument("--exclude", type=_ids, metavar="IDS", help="leave these checks out (comma-separated ids)")
    p.add_argument("--seed", type=seed, metavar="S",
                   help="seed of the planned traffic: the same seed sends the same events again (default: a new one "
                   "each run, printed with the results, so a receiver that keeps earlier runs' events sees new ones)")
    p.add_argument("--timeout", type=seconds_arg, metavar="SECONDS",
                   help="per-request deadline, also TIM-01's budget (default: the provider's timeout)")
    p.add_argument("--body-limit", type=int_range(1024, MAX_BODY_LIMIT), default=BODY_LIMIT, metavar="BYTES",
                   help=f"the largest body your receiver takes by design: LIM-01 sends one byte more (default "
                   f"{BODY_LIMIT}, the catalogue's 1 MiB)")
    p.add_argument("--fuzz-examples", type=int_range(1, 100_000), default=FuzzSettings.examples, metavar="N",
                   help=f"FUZ-01: documents to generate per provider (default {FuzzSettings.examples})")
    p.add_argument("--quarantine", action="store_true",
                   help="FUZ-01: the receiver acknowledges schema-invalid documents and quarantines them (MAL-02), "
                   "so a 2xx for one is no finding")
    p.add_argument("--report", type=report_spec(REPORT_KINDS), action="append", default=[], metavar="KIND:FILE",
                   help="write a report: json:FILE, junit:FILE or html:FILE (one self-contained page with "
                   "plots; repeatable)")
    p.add_argument("--state-probe", metavar="FILE",
                   help="how to read the receiver's state (docs/state-probes.md), so that effects are checked too; "
                   "default without --target: the reference receiver's")
    add_ca_bundle(p)
    p.add_argument("--tls", action="store_true",
                   help="without --target: serve the reference receiver over https (a throwaway CA fleetsim trusts), "
                   "so TRN-01/02 run too")
    p.add_argument("--list", action="store_true", help="list the checks (id, rule, providers, needs) and exit")
    p.add_argument("--client-command", metavar="CMD",
                   help="your client program, for --provider powunity-socket (your socket client: {url} {email} "
                   "{password} are filled in, FLEETSIM_TRACCAR_* set; without it fleetsim waits for your client) or "
                   "--provider smartgps-api (with --activate-url the server behind it, started once; alone a script "
                   "run once per activation: {url} {client_id} {client_secret} {imei} {plate}, FLEETSIM_SMARTGPS_* "
                   "set); split like a shell line, stopped with SIGTERM when grading ends")
    socket_command.add_arguments(p)
    _add_api_client_options(p)
    p.set_defaults(handler=run)


def _add_api_client_options(p: argparse.ArgumentParser) -> None:
    """--provider smartgps-api: the integrator's API client, graded on its calls (docs/api-client-checks.md)."""
    api = p.add_argument_group("API client (--provider smartgps-api)")
    api.add_argument("--activate-url", type=target_url, metavar="URL",
                     help="your activation endpoint (as POST /api/integrations/smartgps/activate): fleetsim POSTs "
                     "each activation to it")
    api.add_argument("--token-ttl", type=int_range(1, 86_400), metavar="SECONDS",
                     help="lifetime of the tokens fleetsim's SmartGPS issues (default 20): longer than your client's "
                     "refresh leeway")
    api.add_argument("--api-port", type=int_range(0, 65_535), metavar="PORT",
                     help="port of fleetsim's SmartGPS API (default: a free one), for code configured in advance")


def list_checks() -> int:
    for c in CHECKS.values():
        needs = ", ".join(sorted(c.needs)) or "-"
        print(f"{c.id}  {c.rule}")
        print(f"        providers: {', '.join(c.providers()) or '-'}; needs: {needs}; suite: {c.suite}")
    from .api_client.registry import API_CHECKS

    for a in API_CHECKS.values():
        print(f"{a.id}  {a.rule}")
        print(f"        providers: smartgps-api; phases: {', '.join(a.needs)}")
    return EXIT_OK


def _settings(path: str | None, used: Collection[str] | None = None) -> Mapping[str, Mapping[str, Any]]:
    """The demo settings with `path`'s laid over them; `used`, the providers checked (None: any may be), whose
    secret variables must be set: another provider's may be unset (one settings file for several jobs)."""
    settings: Mapping[str, Mapping[str, Any]] = load_scenario(scenarios_dir() / "demo-city.yaml").delivery.providers
    if path:
        settings = merge_settings(settings, load_settings(path, used=used))
    return settings


def _providers(name: str | list[str], settings: Mapping[str, Mapping[str, Any]]) -> tuple[list[Provider], list[str]]:
    """The providers to check, and notes about those left out."""
    webhook = {p.name: p for p in webhook_providers()}
    if isinstance(name, list):
        return [provider for one in name for provider in _providers(one, settings)[0]], []
    if name != "all":
        if name not in webhook:
            raise UnknownNameError("provider", name, webhook)
        provider = webhook[name]
        if signs(provider) and not has_secret(provider, settings):
            from simulator.scenario.provider_settings import secret_key

            raise UsageError(f"check: {name} signs its requests and no secret is configured for it: give one in "
                             f"--settings FILE (providers: {{{name}: {{{secret_key(name)}: ...}}}})")
        return [provider], []
    chosen, notes = [], []
    for provider in webhook.values():
        if signs(provider) and not has_secret(provider, settings):
            notes.append(f"{provider.name}: not checked: no secret configured (give one in --settings FILE)")
        else:
            chosen.append(provider)
    return chosen, notes


def _credential_headers(providers: list[Provider], settings: Mapping[str, Mapping[str, Any]]) -> dict[str, set[str]]:
    """Per provider, the request headers that carry a credential as it is (a pre-shared header, a token): all
    its authentication headers where nothing is signed over the body, else its static credential headers."""
    return {provider.name: {name.lower() for name in provider.plain_credentials(settings.get(provider.name, {}))}
            for provider in providers}


def fresh_seed() -> int:
    """A seed of its own for a run given none: the planned events are new to a receiver that keeps what earlier runs
    sent (a staging receiver), where a fixed default would re-send the same event ids with other meanings and
    fail a correct receiver on the second run. Printed with the results; `--seed` repeats the run."""
    return secrets.randbelow(MAX_FRESH_SEED) + 1


def _one_provider(given: list[str]) -> str | list[str]:
    """--provider's values: one name (or all, or a client mode) as given; several webhook providers as a list."""
    names = listed(given)
    if not names:
        raise UsageError("check: --provider needs a provider name, or all")
    alone = [n for n in names if n in ("all", SOCKET_PROVIDER, "smartgps-api")]
    if len(names) > 1 and alone:
        others = ", ".join(n for n in names if n != alone[0])
        raise UsageError(f"check: --provider {alone[0]} stands alone, not beside {others}")
    return names[0] if len(names) == 1 else names


def run(args: argparse.Namespace) -> int:
    if args.list:
        return list_checks()
    if not args.provider:
        raise UsageError("check: --provider P|all is required (or --list)")
    args.provider = _one_provider(args.provider)
    if args.seed is None:
        args.seed = fresh_seed()
    if args.provider == SOCKET_PROVIDER:
        return _check_socket_client(args)
    socket_command.refuse_options(args)
    if args.provider == "smartgps-api":
        from .api_client.cli import run_api

        return run_api(args, _settings(args.settings, ["smartgps"]))
    reports, body_dir = _reports(args)  # checked first: a mistake found after this is written into them
    made = _Made()
    try:
        return _check_receivers(args, reports, body_dir, made)
    except UsageError as err:
        _write_mistake(args, made, reports, body_dir, str(err))
        raise


class _Made:
    """What a receiver check has made so far: what a mistake's reports are written with."""

    def __init__(self) -> None:
        self.reporter: Reporter | None = None
        self.finished: list[ProviderRun] = []


def _write_mistake(args: argparse.Namespace, made: _Made, reports: list[tuple[str, Path]], body_dir: Path,
                   error: str) -> None:
    """A check ended by the user's mistake (exit 2: an unreachable target, a settings file that does not load,
    …) still writes the reports asked for, saying so: a CI job must not read an earlier run's report, or none,
    as this one's verdict."""
    reporter = made.reporter or Reporter(_invocation(args, []), Redactor.from_settings({}, [args.target]), {},
                                         body_dir)
    for kind, path in reports:
        with contextlib.suppress(OSError):  # the mistake is what is reported; a full disk is not a second error
            reporter.write(kind, path, made.finished, EXIT_USAGE, error)


def _invocation(args: argparse.Namespace, extra: list[str]) -> Invocation:
    return Invocation(args.target, args.settings, args.seed, args.timeout, args.app, args.suite, args.fuzz_examples,
                      args.quarantine, tuple(extra))


def _check_receivers(args: argparse.Namespace, reports: list[tuple[str, Path]], body_dir: Path,
                     made: _Made) -> int:
    named = [args.provider] if isinstance(args.provider, str) else args.provider
    settings = _settings(args.settings, None if "all" in named else named)
    given = [o for o, v in (("--activate-url", args.activate_url), ("--client-command", args.client_command),
                            ("--token-ttl", args.token_ttl), ("--api-port", args.api_port)) if v is not None]
    if given:
        who = "powunity-socket (a socket client) or smartgps-api" if given[0] == "--client-command" else "smartgps-api"
        raise UsageError(f"check: {given[0]} is for --provider {who} (an API client), not for a webhook receiver")
    providers, notes = _providers(args.provider, settings)
    if not providers:
        raise UsageError("check: no provider can be checked: " + "; ".join(notes))
    excluded = set(args.exclude or [])
    selected = sorted((c for c in CHECKS.values()
                       if (c.id in args.only if args.only else c.in_suite(args.suite)) and c.id not in excluded),
                      key=lambda c: catalogue_order(c.id))
    if not selected:
        raise UsageError("check: --suite/--only and --exclude leave no check to run")
    if args.only and not any(c.applies(p) for c in selected for p in providers):
        # every check named skipped as not applicable: a summary of "0 passed, 0 failed" and exit 0 would read as
        # a receiver that passed in a CI job, though nothing was checked
        first = selected[0]
        names = ", ".join(p.name for p in providers)
        raise UsageError(f"check: --only {','.join(c.id for c in selected)} applies to none of the providers "
                         f"checked ({names}); {first.id} would be skipped: "
                         f"{first.not_applicable.format(provider=providers[0].name)}")
    fuzz = FuzzSettings(examples=args.fuzz_examples, quarantine=args.quarantine)
    if any(c.suite == "fuzz" for c in selected) and not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        # Hypothesis's own files (and its .gitignore) go beside the example database, not into ./.hypothesis
        from hypothesis.configuration import set_hypothesis_home_dir  # loaded only when fuzzing

        set_hypothesis_home_dir(Path.cwd() / DATABASE_DIR)
    # what changes a check's verdict goes into its reproduction: the state probe grades effects, the CA bundle
    # lets an https receiver be reached at all, --tls serves the reference receiver as TRN-01/02 need
    extra = [*(["--state-probe", args.state_probe] if args.state_probe else []),
             *(["--ca-bundle", args.ca_bundle] if args.ca_bundle else []), *(["--tls"] if args.tls else []),
             *(["--body-limit", str(args.body_limit)] if args.body_limit != BODY_LIMIT else [])]
    reporter = Reporter(_invocation(args, extra), Redactor.from_settings(settings, [args.target]),
                        _credential_headers(providers, settings), body_dir)
    made.reporter = reporter
    finished = made.finished
    try:  # from here a stop writes the reports, however early it comes (a slow target's reachability probe)
        state = _state_probe(args.state_probe, args.target or args.app)
        live = Live(sys.stderr)
        trust = trust_context(args.ca_bundle) if args.ca_bundle else None
        own_tls, own_ca = None, None
        if args.tls:
            if args.target or args.app:
                raise UsageError("check: --tls serves fleetsim's own receiver over https; for your https --target "
                                 "give --ca-bundle FILE if its CA is not a public one")
            trust = trust or trust_context()
            served = self_trusted_tls(trust)
            own_tls, own_ca = served.context, served.ca_pem
        if args.target:  # a receiver that is not there is one line and exit 2, not a table of errors
            for provider in providers:
                own = settings.get(provider.name, {})
                check_url_credentials(endpoint_url(args.target, provider.name, own), url_named(provider.name, own),
                                      provider.name, provider.auth_header_names(own))
        if not args.app:  # without --target too: a provider's own settings url is checked, as run checks it
            all_reachable(delivery_urls(args.target or "", (p.name for p in providers), settings))
        for note in notes:
            print(note, file=sys.stderr)
        # a probe command is told to trust the same CAs (SSL_CERT_FILE and kin) through a file living for the run
        wanted = runs_commands(state) and (args.ca_bundle is not None or own_tls is not None)
        with command_ca_file(args.ca_bundle if wanted else None, own_ca if wanted else None) as ca_file:
            if isinstance(state, FileStateProbe):
                state = state.trusting(trust, ca_file)  # its GETs and commands go to the same https receiver

            def done(run_: ProviderRun) -> None:
                _print_run(reporter, run_, args.seed, live)
                finished.append(run_)

            runs = run_until_stopped(_check_all(
                providers, selected, args.target, settings, args.seed, args.timeout, fuzz, args.app, state, live,
                done, ssl_context=trust, own_tls=own_tls, body_limit=args.body_limit))
    except KeyboardInterrupt:
        _write_interrupted(reporter, finished, reports)
        raise
    return _conclude(args, reporter, runs, body_dir, reports)


def _write_interrupted(reporter: Reporter, finished: list[ProviderRun], reports: list[tuple[str, Path]]) -> None:
    """A stopped check still writes the reports asked for, with the providers it finished and exit code 130: a CI
    job stopped by its timeout keeps what was judged, and no report reads as a pass (JUnit holds an error)."""
    for kind, path in reports:
        with contextlib.suppress(OSError):  # the stop is what is reported; a full disk is not a second error
            reporter.write(kind, path, finished, EXIT_INTERRUPTED)
    if reports:
        print(f"interrupted: the reports hold the {len(finished)} provider{'s' if len(finished) != 1 else ''} "
              "checked before the stop", file=sys.stderr)


def _reports(args: argparse.Namespace) -> tuple[list[tuple[str, Path]], Path]:
    """The reports asked for, and where failure bodies go (beside the first report, else in the temp dir, one
    directory per user: on a shared machine another user's would not be writable)."""
    reports = [(kind, Path(path)) for kind, path in args.report]
    distinct_outputs((f"--report {kind}", path) for kind, path in reports)
    body_dir = reports[0][1].resolve().parent / "fleetsim-check-bodies" if reports else default_body_dir()
    return reports, body_dir


def default_body_dir() -> Path:
    """Where failure bodies go without a report: a directory of this user's in the temp dir."""
    uid = getattr(os, "getuid", lambda: None)()
    return Path(tempfile.gettempdir()) / ("fleetsim-check-bodies" + (f"-{uid}" if uid is not None else ""))


def _conclude(args: argparse.Namespace, reporter: Reporter, runs: list[ProviderRun], body_dir: Path,
              reports: list[tuple[str, Path]]) -> int:
    """The table, the summary line, the reports; the exit code."""
    counts = totals(runs)
    code = EXIT_FAILED if counts["failed"] else EXIT_HARNESS if counts["error"] else EXIT_OK
    if len(runs) > 1:
        _print_table(runs)
    print(f"summary: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped, "
          f"{counts['error']} error{'s' if counts['error'] != 1 else ''} (seed {args.seed}, "
          f"{'--only' if args.only else 'suite ' + args.suite})")
    # only where a failure has a request whose body was written (socket and API-client checks write none)
    if any(r.status == "failed" and r.exchange is not None for run in runs for r in run.results):
        print(f"failure bodies: {body_dir}")
    for hint in (_secrets_hint(args, runs), _path_hint(runs), _tolerance_hint(runs)):
        if hint:
            print(hint)
    for kind, path in reports:
        reporter.write(kind, path, runs, code)
    return code


def _genuine_refused(runs: list[ProviderRun], statuses: tuple[int, ...]) -> list[tuple[ProviderRun, int]]:
    """The runs whose SIG-01 failed on a genuine delivery answered with one of `statuses`, and that status."""
    return [(run, r.exchange.status) for run in runs for r in run.results
            if r.check_id == "SIG-01" and r.status == "failed" and r.exchange is not None
            and r.exchange.status in statuses]


def _secrets_hint(args: argparse.Namespace, runs: list[ProviderRun]) -> str | None:
    """When genuine deliveries were refused as unauthenticated, the likeliest cause is that the receiver holds
    other secrets than fleetsim signed with (the demo's without --settings, else the file's): say so, naming no
    secret."""
    refused = sorted(run.provider for run, _ in _genuine_refused(runs, (401, 403)))
    if not refused:
        return None
    if args.settings:
        return (f"note: {', '.join(refused)}: genuine deliveries, signed when sent with the secrets of --settings "
                f"{args.settings}, were refused as unauthenticated: the likeliest cause is that the receiver holds "
                "another secret than that file gives (or verifies otherwise: SIG-01's reason shows what was sent); "
                "the checks failing with 401/403 after it follow from the same cause")
    return (f"note: {', '.join(refused)}: genuine deliveries were refused as unauthenticated. Without --settings, "
            "fleetsim signs with the demo scenario's secrets (scenarios/demo-city.yaml, delivery.providers); if "
            "your receiver has secrets of its own, give them with --settings FILE (README, \"Settings files\")")


#: failed checks answered 401/403 beside a failed RPL-03 from which one cause (a tight replay tolerance) is named
TOLERANCE_FOLLOWERS = 2


def _tolerance_hint(runs: list[ProviderRun]) -> str | None:
    """When RPL-03 failed (timestamps 290 s off refused) and other checks failed with 401/403 too, the likeliest
    single cause is a replay tolerance so tight that fleetsim's probes, sent a second or two after they are signed,
    are refused as well: say so, so that one fix is not read as many."""
    found = []
    unauthenticated = {run.provider for run, _ in _genuine_refused(runs, (401, 403))}
    for run in runs:
        failed = {r.check_id: r for r in run.results if r.status == "failed"}
        # genuine deliveries, signed as they are sent, refused too: no tolerance explains that (_secrets_hint)
        if "RPL-03" not in failed or run.provider in unauthenticated:
            continue
        followers = sorted(c for c, r in failed.items() if c not in ("RPL-03", "TIM-04") and r.exchange is not None
                           and r.exchange.status in (401, 403))
        if len(followers) >= TOLERANCE_FOLLOWERS:
            found.append(f"{run.provider} ({', '.join(followers)})")
    if not found:
        return None
    return (f"note: {'; '.join(found)} failed with 401/403 beside RPL-03: a replay tolerance of a few seconds also "
            "refuses fleetsim's probes, which go out a second or two after they are signed. Widen the tolerance "
            "(RPL-03 asks for 290 s either way) and run again before reading those failures one by one")


def _path_hint(runs: list[ProviderRun]) -> str | None:
    """When genuine deliveries were answered 404 or 405, the likeliest cause is an endpoint at another path than
    the one fleetsim posted to (TARGET/<provider> by default): say where fleetsim posted and how to move it."""
    lost = {run.provider: (urlsplit(run.url).path or "/", status) for run, status in _genuine_refused(runs, (404, 405))}
    if not lost:
        return None
    where = ", ".join(f"{name} to {path} ({status})" for name, (path, status) in lost.items())
    first = next(iter(lost))
    return (f"note: genuine deliveries were answered as if nothing were there: fleetsim posted {where}. If your "
            f"endpoint has another path, give it in --settings (providers: {{{first}: {{url: /your/path}}}}; a path "
            "goes under --target or --app: README, \"Settings files\")")


def _check_socket_client(args: argparse.Namespace) -> int:
    """--provider powunity-socket: fleetsim serves, the client's checks (TRN-06..TRN-10) grade the session."""
    from .socket_client.runner import run_socket_client

    socket_command.check_invocation(args)
    excluded = set(args.exclude or [])
    selected = sorted((c for c in CHECKS.values() if c.client and c.id not in excluded
                       and (c.id in args.only if args.only else c.in_suite(args.suite))),
                      key=lambda c: catalogue_order(c.id))
    if not selected:
        raise UsageError(f"check: --provider {SOCKET_PROVIDER} runs TRN-06..TRN-10 and --suite/--only/--exclude "
                         "leave none of them")
    reports, body_dir = _reports(args)
    reporter = Reporter(Invocation(None, None, args.seed, None, suite=args.suite,
                                   extra=socket_command.reproduction(args)),
                        Redactor.from_settings({}), {}, body_dir)
    run_ = run_until_stopped(run_socket_client(
        selected, socket_command.options_of(args), command=args.client_command, port=args.port or 0,
        announce=socket_command.announce))
    _print_run(reporter, run_, args.seed)
    return _conclude(args, reporter, [run_], body_dir, reports)


def _state_probe(path: str | None, target: str | None) -> StateProbe | None:
    """The state probe file given (read and checked now: a mistake is exit 2 before anything is sent), or the
    reference receiver's when it is the one checked (no --target, no --app); None: graded on HTTP only."""
    if path:
        return FileStateProbe(load_state_probe(path))
    return None if target else FileStateProbe(load_state_probe(REFERENCE_PROBE))


async def _check_all(providers: list[Provider], checks: list[Check], target: str | None,
                     settings: Mapping[str, Mapping[str, Any]], seed_: int,
                     timeout_s: float | None, fuzz: FuzzSettings, app: str | None = None,
                     state: StateProbe | None = None, live: Live | None = None,
                     done: Callable[[ProviderRun], None] | None = None,
                     ssl_context: ssl.SSLContext | None = None,
                     own_tls: ssl.SSLContext | None = None, body_limit: int = BODY_LIMIT) -> list[ProviderRun]:
    """Check every provider in turn; `live` shows each one's phase while it runs, `done` hears each finished run;
    https requests trust `ssl_context` (--ca-bundle; None: the system's CAs). `own_tls`: the reference receiver
    started without a target serves https with it (--tls)."""
    async def each(url: str, sender: SenderFactory = http_sender, in_process: bool = False) -> list[ProviderRun]:
        runs = []
        for p in providers:
            progress = (lambda phase, name=p.name: live.show(f"{name}: {phase} ...")) if live else None
            run_ = await run_provider(p, checks, target=url, settings=settings, seed=seed_, timeout_s=timeout_s,
                                      sender=sender, in_process=in_process, state=state, fuzz=fuzz,
                                      progress=progress, ssl_context=ssl_context, body_limit=body_limit)
            if live:
                live.clear()
            if done:
                done(run_)
            runs.append(run_)
        return runs

    if target:
        return await each(target)
    if app:
        async with serve_app(app) as served:
            print(f"checking {app} in-process ({served.kind.upper()}; checks that need a socket are skipped)",
                  file=sys.stderr)
            return await each(APP_URL, served.factory, in_process=True)
    async with reference_receiver(settings, own_tls) as url:
        print(f"no --target given: checking fleetsim's reference receiver at {url}", file=sys.stderr)
        return await each(url)


class Live:
    """One transient status line on a terminal (rewritten in place, erased before results print); nothing when
    the stream is not a terminal, so logs and pipes get only the results."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.on = stream.isatty()
        self.width = 0

    def show(self, text: str) -> None:
        if self.on:
            text = text[: shutil.get_terminal_size().columns - 1]
            self.stream.write("\r" + text.ljust(self.width))
            self.stream.flush()
            self.width = len(text)

    def clear(self) -> None:
        if self.on and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0


def _print_table(runs: list[ProviderRun]) -> None:
    """Per provider: how its checks ended and how long it took."""
    columns = ("passed", "failed", "skipped", "error")
    width = max(len("provider"), *(len(r.provider) for r in runs))
    print(f"{'provider':<{width}}  " + "  ".join(f"{c:>7}" for c in columns) + "     time")
    for run_ in runs:
        counts = totals([run_])
        print(f"{run_.provider:<{width}}  " + "  ".join(f"{counts[c]:>7}" for c in columns)
              + f"  {run_.elapsed_s:6.2f} s")


def _print_run(reporter: Reporter, run_: ProviderRun, seed_: int, live: Live | None = None) -> None:
    if live:
        live.clear()
    print(f"{run_.provider}: {run_.url} (seed {seed_}, {len(run_.exchanges)} exchanges, {run_.elapsed_s:.2f} s)")
    for r in run_.results:
        print(f"  {MARK[r.status]:<5} {r.check_id}  {reporter.redactor.text(r.reason)}")
        if r.status == "failed":
            for line in reporter.failure_lines(r):
                print(f"          {line}")
