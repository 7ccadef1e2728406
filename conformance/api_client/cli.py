"""The `fleetsim check --provider smartgps-api` route: conformance/cli.py hands its parsed arguments here.

Exit codes as for every check: 0 every check passed (or was skipped), 1 one failed, 2 a usage mistake (a bad
option, an activation URL nothing answers at, a command that cannot start), 3 harness trouble.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

from simulator.cli.common import shown
from simulator.delivery.redaction import Redactor, secrets_in_settings
from simulator.delivery.transport import trust_context
from simulator.errors import EXIT_FAILED, EXIT_HARNESS, EXIT_OK, UsageError
from simulator.servers.smartgps.app import stop_smartgps_server

from ..registry import CheckResult
from ..report import Failure, Invocation, Reporter, totals
from ..run import ProviderRun
from ..stopping import run_until_stopped
from . import checks as _checks  # noqa: F401  (registers the checks)
from .registry import API_CHECKS, Activation, ApiCheck, ApiContext
from .runner import PROVIDER, ApiOptions, Trigger, api_settings, run_api_client, start_server
from .trigger import ClientProcess, Endpoint, ScriptTrigger, UrlTrigger, command_words, wait_reachable

__all__ = ["DEFAULT_TIMEOUT_S", "DEFAULT_TOKEN_TTL_S", "ApiReporter", "run_api"]

DEFAULT_TOKEN_TTL_S = 20
DEFAULT_TIMEOUT_S = 30.0
#: options of `fleetsim check` that have no meaning for an API client
WEBHOOK_ONLY = (("target", "--target"), ("app", "--app"), ("tls", "--tls"), ("state_probe", "--state-probe"))


class ApiReporter(Reporter):
    """The webhook reporter, with a reproduction line and Sent / Received that speak of activations."""

    def __init__(self, invocation: Invocation, redactor: Redactor, words: list[str]) -> None:
        super().__init__(invocation, redactor, {}, Path("."))
        self.words = words  # how the integrator's code was given: --activate-url URL and/or --client-command CMD
        self.activations: tuple[Activation, ...] = ()

    def command(self, provider: str, check_id: str, copy: str | None = None) -> str:
        inv = self.invocation
        words = ["fleetsim", "check", "--provider", provider, *self.words]
        if inv.settings_path:
            words += ["--settings", inv.settings_path]
        if inv.timeout_s is not None:
            words += ["--timeout", f"{inv.timeout_s:g}"]
        return self.redactor.text(shlex.join([*words, "--only", check_id, "--seed", str(inv.seed)]))

    def failure(self, result: CheckResult) -> Failure:
        sent = [f"{a.phase} activation: IMEI {a.imei}, plate {a.plate}" for a in self.activations]
        received = "; ".join(f"{a.phase}: {a.outcome}" for a in self.activations) or "-"
        return Failure(sent, self.redactor.text(received), result.expected or "-",
                       self.command(result.provider, result.check_id), None, None)


def _refuse_webhook_options(args: argparse.Namespace) -> None:
    for dest, option in WEBHOOK_ONLY:
        if getattr(args, dest, None):
            raise UsageError(f"check: {option} is for webhook receivers; --provider {PROVIDER} checks your API "
                             "client: give --activate-url URL or --client-command CMD")


def _selected(args: argparse.Namespace) -> list[ApiCheck]:
    excluded = set(args.exclude or [])
    chosen = [c for c in API_CHECKS.values()
              if (c.id in args.only if args.only else True) and c.id not in excluded]
    if not chosen:
        raise UsageError(f"check: --only/--exclude leave no {PROVIDER} check to run (its checks: "
                         f"{', '.join(API_CHECKS)})")
    return chosen


def run_api(args: argparse.Namespace, settings: Mapping[str, Mapping[str, Any]]) -> int:
    _refuse_webhook_options(args)
    if not args.activate_url and not args.client_command:
        raise UsageError(f"check: --provider {PROVIDER} needs --activate-url URL (your activation endpoint) or "
                         "--client-command CMD (your activation script), or both (CMD starts the server behind URL)")
    if args.client_command:
        command_words(args.client_command)  # a quoting mistake is exit 2 before anything starts
    checks = _selected(args)
    options = ApiOptions(token_ttl_s=args.token_ttl or DEFAULT_TOKEN_TTL_S,
                         activation_timeout_s=args.timeout or DEFAULT_TIMEOUT_S, port=args.api_port or 0,
                         seed=args.seed, per_process=not args.activate_url)
    own = api_settings(settings, options)
    redactor = Redactor([*secrets_in_settings(settings), str(own["api_client_secret"]).encode()])
    words = (["--activate-url", args.activate_url] if args.activate_url else []) + \
        (["--client-command", args.client_command] if args.client_command else []) + \
        (["--token-ttl", str(args.token_ttl)] if args.token_ttl else []) + \
        (["--api-port", str(args.api_port)] if args.api_port else []) + \
        (["--ca-bundle", args.ca_bundle] if getattr(args, "ca_bundle", None) else [])
    reporter = ApiReporter(Invocation(args.activate_url, args.settings, args.seed, args.timeout, suite=args.suite),
                           redactor, words)
    run_, context = run_until_stopped(_go(args, settings, checks, options))
    reporter.activations = context.activations
    counts = totals([run_])
    code = EXIT_FAILED if counts["failed"] else EXIT_HARNESS if counts["error"] else EXIT_OK
    _print(reporter, run_, context)
    print(f"summary: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped, "
          f"{counts['error']} error{'s' if counts['error'] != 1 else ''} (seed {args.seed}, "
          f"{'--only' if args.only else 'all ' + PROVIDER + ' checks'})")
    for kind, path in args.report:
        reporter.write(kind, Path(path), [run_], code)
    return code


async def _go(args: argparse.Namespace, settings: Mapping[str, Mapping[str, Any]], checks: list[ApiCheck],
              options: ApiOptions) -> tuple[ProviderRun, ApiContext]:
    server = await start_server(settings, options)
    process: ClientProcess | None = None
    try:
        own = api_settings(settings, options)
        endpoint = Endpoint(server.url, str(own["api_client_id"]), str(own["api_client_secret"]))
        # an https --activate-url is verified with the system's CAs and --ca-bundle's (a local CA, trustme's)
        bundle = getattr(args, "ca_bundle", None)
        connector = aiohttp.TCPConnector(ssl=trust_context(bundle)) if bundle else None
        async with aiohttp.ClientSession(connector=connector) as session:
            trigger: Trigger
            if args.activate_url:
                if args.client_command:
                    process = ClientProcess(args.client_command, endpoint)
                    await process.start()
                await wait_reachable(args.activate_url, options.activation_timeout_s if process else 2.0, process)
                trigger = UrlTrigger(args.activate_url, options.activation_timeout_s, session)
                shown_as = args.activate_url
            else:
                trigger = ScriptTrigger(args.client_command, endpoint, options.activation_timeout_s)
                shown_as = f"--client-command {shown(command_words(args.client_command)[0])}"
            # only now: a usage mistake found above stays the one line on stderr
            print(f"{PROVIDER}: fleetsim's SmartGPS API is at {server.url} (client {shown(endpoint.client_id)}; "
                  f"tokens live {options.token_ttl_s} s): your code gets it as FLEETSIM_SMARTGPS_URL / _CLIENT_ID / "
                  "_CLIENT_SECRET (and _IMEI, _PLATE), or {url} {client_id} {client_secret} {imei} {plate} in "
                  "--client-command", file=sys.stderr, flush=True)
            live = _Say()
            try:
                return await run_api_client(server, trigger, checks, options, shown_as, live.show)
            finally:
                live.clear()
    finally:
        if process is not None:
            await process.stop()
        await stop_smartgps_server(server)


class _Say:
    """The phase under way, on one terminal line (nothing when stderr is not a terminal)."""

    def __init__(self) -> None:
        from ..cli import Live  # conformance.cli is loaded already: it is what called us

        self.live = Live(sys.stderr)

    def show(self, text: str) -> None:
        self.live.show(f"{PROVIDER}: {text} ...")

    def clear(self) -> None:
        self.live.clear()


def _print(reporter: ApiReporter, run_: ProviderRun, context: ApiContext) -> None:
    from ..cli import MARK

    print(f"{run_.provider}: {reporter.redactor.text(run_.url)} (seed {reporter.invocation.seed}, "
          f"{len(context.activations)} activations, {len(context.calls)} calls, {run_.elapsed_s:.2f} s)")
    for r in run_.results:
        print(f"  {MARK[r.status]:<5} {r.check_id}  {reporter.redactor.text(r.reason)}")
        if r.status == "failed":
            for line in reporter.failure_lines(r):
                print(f"          {line}")
