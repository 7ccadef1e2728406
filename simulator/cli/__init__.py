"""The `fleetsim` command: argument parsing and the one place errors become messages and exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..errors import EXIT_HARNESS, EXIT_USAGE, FleetsimError, UsageError
from . import demo_cmd, gen_cmd, providers_cmd, receiver_cmd, run_cmd, schemas_cmd, sign_cmd


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake becomes a UsageError (one line, exit 2) instead of printing usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fleetsim",
        description="Fleet-telematics webhook simulator and receiver conformance harness.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    providers_cmd.add_parser(sub)
    gen_cmd.add_parser(sub)
    sign_cmd.add_parsers(sub)
    schemas_cmd.add_parser(sub)
    run_cmd.add_parsers(sub)
    receiver_cmd.add_parser(sub)
    demo_cmd.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        code: int = args.handler(args)
        sys.stdout.flush()
        return code
    except FleetsimError as exc:
        print(f"fleetsim: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): not an error; keep Python from complaining at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("fleetsim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line, the real traceback only on request
        if os.environ.get("FLEETSIM_DEBUG"):
            raise
        print(
            f"fleetsim: internal error: {type(exc).__name__}: {exc} (set FLEETSIM_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return EXIT_HARNESS


def run() -> NoReturn:
    sys.exit(main())


__all__ = ["EXIT_USAGE", "build_parser", "main", "run"]
