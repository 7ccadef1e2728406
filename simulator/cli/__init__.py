"""The `fleetsim` command: argument parsing and the one place errors become messages and exit codes."""

from __future__ import annotations

import argparse
import errno
import functools
import os
import re
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from ..errors import EXIT_HARNESS, EXIT_USAGE, FleetsimError, UsageError
from .commands import BUILTIN_COMMANDS, LazyCommands, resolve
from .common import PATH_LIMIT, QUOTE_LIMIT, shown

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

PROG = "fleetsim"
#: entry-point group of commands other packages add (value: a function taking the subparsers)
PLUGIN_GROUP = "fleetsim.commands"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake becomes a UsageError (one line, exit 2) instead of printing usage."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # a word such as -5s or -1h30m is an option's value, as -5 is: argparse's own test (-5, -.5 only) read it
        # as an unknown option, and `--run-time -5s` said "expected one argument" instead of what is wrong with it
        self._negative_number_matcher = re.compile(r"^-\.?\d")

    def error(self, message: str) -> NoReturn:
        # main() adds the one "fleetsim: error:" prefix; name only the subcommand here ("run: ...")
        command = self.prog.removeprefix(PROG).strip()
        where = f"{command}: " if command else ""
        raise UsageError(f"{where}{_unquoted_values(message)} (see {self.prog} --help)")

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        # argparse drops an OSError here: `fleetsim --help > /dev/full` printed nothing and exited 0. Raised,
        # main() says the output could not be written (exit 2)
        if message:
            (file or sys.stderr).write(message)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        # argparse's own "invalid choice" echoes the value whole: a 20,000-character argument stays one
        # readable line only if it is clipped
        if action.choices is not None and value not in action.choices:
            choices = ", ".join(map(repr, action.choices))
            raise argparse.ArgumentError(action, f"invalid choice: {shown(value)} (choose from {choices})")


_UNRECOGNIZED = "unrecognized arguments: "
_OPTION_VALUE = re.compile(r"(?P<option>(?<!\S)--?[A-Za-z][\w-]*)=\S*")


def _unquoted_values(message: str) -> str:
    """argparse's message without the values of options it did not know: a mistyped `--secert VALUE` or an
    ambiguous `--sec=VALUE` would otherwise print a secret back. An unknown option's value (`=...`, or the word
    after it) reads <not shown>; other stray words are kept (a misplaced positional is worth seeing)."""
    if message.startswith(_UNRECOGNIZED):
        words, shown_words, after_option = message[len(_UNRECOGNIZED):].split(" "), [], False
        for word in words:
            if word.startswith("-") and len(word) > 1:
                name, eq, _ = word.partition("=")
                shown_words.append(f"{name}=<not shown>" if eq else name)
                after_option = not eq
            else:
                shown_words.append("<not shown>" if after_option else word)
                after_option = False
        return _UNRECOGNIZED + " ".join(shown_words)
    return _OPTION_VALUE.sub(r"\g<option>=<not shown>", message)


def build_parser(*, lazy: bool = False, plugins: bool = True) -> argparse.ArgumentParser:
    """The whole `fleetsim` parser. `lazy`: each command's arguments are declared (and its module imported) only
    when that command is chosen, which is how `main` starts in milliseconds; `plugins=False` leaves the
    entry-point commands out (a built-in command never needs them, and scanning for them costs an import of
    importlib.metadata)."""
    parser = _Parser(
        prog=PROG,
        description="Fleet-telematics webhook simulator and receiver conformance harness.",
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, action=LazyCommands,
                                help="what to do; `fleetsim COMMAND --help` describes each")
    sub.required = True
    assert isinstance(sub, LazyCommands)
    for command in BUILTIN_COMMANDS:
        sub.add_lazy(command.name, command.help, command.declare)
    if plugins:
        _add_plugin_commands(sub)
    if not lazy:
        sub.declare_all()
    return parser


class _Version(argparse.Action):
    """--version, asking the installed distribution only when given (importlib.metadata is slow to import)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, help: str | None = None):
        super().__init__(option_strings=option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"{PROG} {version()}")
        parser.exit()


def _add_plugin_commands(sub: LazyCommands) -> None:
    """Commands other packages add through the `fleetsim.commands` entry-point group (`fleetsim check` comes
    from conformance this way): a plugin seam, so simulator never imports them. A plugin that cannot load is
    named in a warning; the built-in commands still work. A plugin's entry point is a light function taking
    the subcommands; it may declare its parser at once (`sub.add_parser`) or lazily
    (`sub.add_lazy(name, help, "module:function")`), so that `fleetsim --help` does not import its handlers."""
    from .plugins import plugin_entries

    seen: set[str] = set()
    for entry in sorted(plugin_entries(PLUGIN_GROUP), key=lambda e: e.name):
        if entry.name in seen:
            continue
        seen.add(entry.name)
        try:
            # "module:attribute [extra]": extras name optional dependencies, which loading does not need
            add_parser = resolve(entry.value.split("[", 1)[0].strip())
        except Exception as exc:
            _say(f"fleetsim: warning: command {entry.name!r} ({entry.value}) could not be loaded: "
                 f"{type(exc).__name__}: {exc}")
            continue
        add_parser(sub)


def _parsed(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """`parser.parse_args(argv)`, but words no parser took are said by the command that was chosen, naming its
    own --help: argparse said them from the top-level parser, "(see fleetsim --help)", which lists no command's
    options."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        _chosen_parser(parser, args).error(_UNRECOGNIZED + " ".join(extras))
    return args


def _chosen_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost command's parser that `args` chose (`fleetsim schemas list`: the parser of `list`)."""
    while True:
        # argparse keeps a parser's subcommands among its actions; it has no public way to list them
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        name = getattr(args, subs[0].dest, None) if subs else None
        chosen = subs[0].choices.get(name) if subs and isinstance(name, str) else None
        if chosen is None:
            return parser
        parser = chosen


def _command_in(argv: list[str]) -> str | None:
    """The command word of `argv`: the top-level parser takes no option values, so it is the first word that
    is not an option."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


@functools.cache
def version() -> str:
    """The installed distribution's version; the package's own when running from a bare source tree."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("fleetsim")
    except PackageNotFoundError:
        from .. import __version__

        return __version__


def main(argv: Sequence[str] | None = None) -> int:
    args_given = list(sys.argv[1:] if argv is None else argv)
    _escape_undecodable_output()
    if os.environ.get("FLEETSIM_COMPILED"):  # the optional mypyc build, only when asked (simulator/compiled.py)
        from ..compiled import activate_from_environment

        activate_from_environment()
    previous = _sigterm_as_interrupt()
    try:
        _refuse_nul(args_given)
        try:
            builtin = _command_in(args_given) in {c.name for c in BUILTIN_COMMANDS}
            args = _parsed(build_parser(lazy=True, plugins=not builtin), args_given)
        except SystemExit as exc:  # -h and --version: argparse has printed what was asked and exits
            sys.stdout.flush()  # now, so a full disk is said (below) rather than lost at exit with exit 0
            return exc.code if isinstance(exc.code, int) else 0
        code: int = resolve(args.handler)(args)
        sys.stdout.flush()
        return code
    except FleetsimError as exc:
        _say(f"fleetsim: error: {_clip_echoes(str(exc), args_given)}")
        return exc.exit_code
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): not an error; keep Python from complaining at exit
        _discard_stdout()
        return 0
    except OSError as exc:
        if exc.errno not in _NO_ROOM:
            return _internal_error(exc)
        # the output's disk or quota is full (`> /dev/full`): the machine's trouble, not a fleetsim bug; what is
        # still buffered cannot be written either, so Python is kept from failing on it again at exit
        if exc.filename is None:
            _discard_stdout()
        where = shown(str(exc.filename)) if exc.filename is not None else "the output"
        _say(f"fleetsim: error: cannot write {where}: {exc.strerror or exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("fleetsim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line, the real traceback only on request
        return _internal_error(exc)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


#: errno values that mean "no room to write": a full disk or quota, a file over its size limit
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def _internal_error(exc: Exception) -> int:
    """A bug: one line, the real traceback only on request."""
    if os.environ.get("FLEETSIM_DEBUG"):
        raise exc
    _say(f"fleetsim: internal error: {type(exc).__name__}: {exc} (set FLEETSIM_DEBUG=1 for a traceback)")
    return EXIT_HARNESS


def _discard_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _interrupted(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt


def _sigterm_as_interrupt() -> Any:
    """SIGTERM (a CI job's timeout, `kill`, a container stopping) stops a command as Ctrl-C does: its cleanup
    runs (a Locust run, the reference receiver and generation workers are stopped, not orphaned) and it ends
    "interrupted", exit 130, instead of dying at once. Commands that run an event loop replace this with a
    handler of their own while it runs (a graceful stop). Returns the handler to restore; None when there is
    none to restore or signals cannot be set here (not the main thread)."""
    try:
        return signal.signal(signal.SIGTERM, _interrupted)
    except ValueError:  # not the main thread: an embedding program's signals are its own
        return None


def _refuse_nul(argv: list[str]) -> None:
    # no shell can pass a NUL, but an in-process caller can; every file API would fail on it later with
    # a ValueError that says nothing about which argument was wrong
    for position, arg in enumerate(argv, 1):
        if "\x00" in arg:
            raise UsageError(f"argument {position} ({shown(arg)}) contains a NUL character")


def _clip_echoes(message: str, argv: list[str]) -> str:
    """Messages quote the values they refuse; one very long argument must still leave one readable line."""
    values = {arg.partition("=")[2] if arg.startswith("--") else arg for arg in argv}
    for value in sorted(values, key=len, reverse=True):
        # up to PATH_LIMIT an argument may be a real file name, which messages must show whole
        if len(value) > PATH_LIMIT and value in message:
            message = message.replace(value, f"{value[:QUOTE_LIMIT]}... ({len(value)} characters)")
    return message


def _escape_undecodable_output() -> None:
    """File names that are not valid UTF-8 reach Python as lone surrogates, which a strict UTF-8 stdout
    refuses to print: escape them (\\udce9) instead of failing in the middle of a report."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")


def _say(line: str) -> None:
    """Print one line to stderr even when it quotes an argument that was not valid UTF-8."""
    print(line.encode("utf-8", "backslashreplace").decode("utf-8"), file=sys.stderr)


def run() -> NoReturn:
    sys.exit(main())


__all__ = ["EXIT_USAGE", "build_parser", "main", "run", "version"]
