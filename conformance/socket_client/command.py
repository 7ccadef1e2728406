"""`fleetsim check --provider powunity-socket`: grade a socket client of PowUnity's Traccar server (TRN-06…TRN-10,
docs/socket-client-checks.md). conformance/cli.py adds these options to `fleetsim check` and hands the run here.

fleetsim serves; the client is launched (`--client-command`) or connects by itself to the URL printed. The
options here only mean something for a socket client: given with a webhook provider they are a usage mistake,
and so are `--target`, `--app`, `--state-probe` and `--settings` with this one.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

from simulator.cli.common import int_range, listen_port, positive_float, seconds_arg, shown
from simulator.errors import UsageError

from . import SOCKET_PROVIDER
from .director import SocketOptions

T = TypeVar("T")
_seconds = seconds_arg


def _per_minute(text: str) -> float:
    value = positive_float(text)
    if value > 100_000:
        raise argparse.ArgumentTypeError(f"expected connects a minute from 0 to 100000, got {shown(text.strip())}")
    return value


#: option, SocketOptions field (None: not a timing), argparse type, help
OPTIONS: tuple[tuple[str, str | None, Callable[[str], Any] | None, str], ...] = (
    ("--client-command", None, None,
     "CMD: launch your client (split like a shell line; {url}, {email}, {password} are filled in and "
     "FLEETSIM_TRACCAR_URL/_EMAIL/_PASSWORD set); stopped with SIGTERM when grading ends. Without it fleetsim "
     "prints the URL and waits for your client"),
    ("--port", None, listen_port, "N: the port fleetsim serves on (default: a free one)"),
    ("--client-keepalive", "client_keepalive_s", _seconds,
     "SECONDS: your client's keepalive interval; TRN-08 allows twice it (default 30)"),
    ("--closures", "closures", int_range(1, 1000), "N: TRN-07's closures (default 20)"),
    ("--outage", "outage_s", _seconds, "SECONDS: TRN-07's outage, upgrades refused with 503 (default 60)"),
    ("--storm-limit", "storm_limit", _per_minute,
     "N: TRN-07: connects a minute allowed during the outage, after the first 3 (default 10)"),
    ("--connect-timeout", "connect_timeout_s", _seconds,
     "SECONDS: wait for the client's first connection (default 60)"),
    ("--phase-timeout", "phase_timeout_s", _seconds,
     "SECONDS: wait for each reconnect, and for TRN-09's back-fill (default 15)"),
)


def _dest(option: str) -> str:
    return option.lstrip("-").replace("-", "_")


#: declared once by `fleetsim check` itself: --provider smartgps-api launches its client with it too
SHARED = frozenset({"--client-command"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(f"socket client (--provider {SOCKET_PROVIDER}: TRN-06..TRN-10)")
    for option, _, kind, text in OPTIONS:
        if option in SHARED:
            continue
        metavar, _, about = text.partition(": ")
        group.add_argument(option, type=kind or str, metavar=metavar, help=about)  # default None: "not given"


def given(args: argparse.Namespace) -> list[str]:
    return [option for option, *_ in OPTIONS if getattr(args, _dest(option), None) is not None]


def refuse_options(args: argparse.Namespace) -> None:
    """The socket options are a mistake with a webhook provider: one line, exit 2."""
    found = [option for option in given(args) if option not in SHARED]
    if found:
        raise UsageError(f"check: {found[0]} is for --provider {SOCKET_PROVIDER} (a socket client), not for "
                         f"--provider {str(args.provider)[:40]}")


def options_of(args: argparse.Namespace) -> SocketOptions:
    names = {f.name for f in fields(SocketOptions)}
    chosen = {field: getattr(args, _dest(option)) for option, field, *_ in OPTIONS
              if field in names and getattr(args, _dest(option), None) is not None}
    return SocketOptions(**chosen)


def check_invocation(args: argparse.Namespace) -> None:
    for value, flag in ((args.target, "--target"), (args.app, "--app"), (args.state_probe, "--state-probe"),
                        (args.settings, "--settings"), (getattr(args, "tls", False), "--tls"),
                        (getattr(args, "ca_bundle", None), "--ca-bundle")):
        if value:
            raise UsageError(f"check: --provider {SOCKET_PROVIDER} grades a socket client that fleetsim serves "
                             f"itself: {flag} is for webhook receivers (leave it out)")


def reproduction(args: argparse.Namespace) -> tuple[str, ...]:
    """The socket options as given, for a failure's reproduction line."""
    words: list[str] = []
    for option in given(args):
        value = getattr(args, _dest(option))
        words += [option, f"{value:g}" if isinstance(value, float) else str(value)]
    return tuple(words)


def announce(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


__all__ = ["OPTIONS", "add_arguments", "check_invocation", "given", "options_of", "refuse_options",
           "reproduction"]
