"""Argument types and input readers shared by the commands (all failures become UsageError/InputError).

Argument types check everything that can be checked before any work starts (ranges, URLs, where output
goes), so a mistake costs the user one line and exit 2 instead of a run that fails at its end.
"""

from __future__ import annotations

import argparse
import math
import os
import stat
import sys
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..errors import InputError, UnknownNameError, UsageError

if TYPE_CHECKING:  # the scenario model loads only for commands with a --rate (every command imports this module)
    from ..scenario.model import Rate, Scenario

#: how much of a user's value an error message quotes before clipping it
QUOTE_LIMIT = 60
#: file names are quoted whole up to here (editors jump to file:line), clipped only when absurd
PATH_LIMIT = 256
#: the largest seed a scenario may carry (scenario.schema.json), so --seed can always stand in for it
MAX_SEED = 2**63 - 1
#: parallel requests: beyond this a typo (an extra digit or ten) would start that many tasks
MAX_CONCURRENCY = 10_000
#: file systems whose files are kernel interfaces, never a place for fleetsim's output (as root, access()
#: even calls /proc/version writable; the write then fails)
_KERNEL_TREES = ("/proc", "/sys")


#: a fleet from which on a command says what simulating it costs (docs/architecture.md, "Large fleets")
LARGE_FLEET = 2_000
#: what one device costs while it is simulated: its planned trip, kept until the trip ends (measured with
#: `generate --scenario … --limit 1` on 500 and 2,000 devices of every provider: 0.13–0.15 MB each)
MB_PER_DEVICE = 0.15


def note_fleet_size(scenario: Scenario, providers: Collection[str] | None = None) -> None:
    """Say on stderr, once, what a large fleet costs before its first record: memory grows with the devices
    simulated at once, and each one's first trip is planned before anything is sent. Silent below LARGE_FLEET."""
    devices = scenario.device_count(providers)
    if devices < LARGE_FLEET:
        return
    gigabytes = devices * MB_PER_DEVICE / 1000
    print(f"fleetsim: note: scenario {scenario.name!r} simulates {devices:,} devices: each keeps its planned trip "
          f"in memory (about {MB_PER_DEVICE:g} MB, so about {gigabytes:.1f} GB here) and every device's first trip "
          "is planned before the first record (a few seconds per thousand devices)", file=sys.stderr)


def listed(values: Iterable[str]) -> list[str]:
    """The names an option was given, repeated or comma-separated (`--provider a --provider b,c`), in order and
    once each."""
    return list(dict.fromkeys(name.strip() for value in values for name in value.split(",") if name.strip()))


def shown(value: str, limit: int = QUOTE_LIMIT) -> str:
    """`value` quoted for a message, clipped so that one bad argument still makes one readable line."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:QUOTE_LIMIT]!r}... ({len(value)} characters)"


def shown_path(path: str) -> str:
    return shown(path, PATH_LIMIT)


def _whole_number(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:  # also Python's limit on very long digit strings (4300 digits)
        raise argparse.ArgumentTypeError(f"expected a whole number, got {shown(text)}") from None


def int_range(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` (to `high`), every range message worded alike."""
    wanted = f"a whole number >= {low}" if high is None else f"a whole number from {low} to {high}"

    def parse(text: str) -> int:
        value = _whole_number(text)
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {shown(text.strip())}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in some of its own messages
    return parse


non_negative_int = int_range(0)
positive_int = int_range(1)
listen_port = int_range(0, 65535)  # a port to listen on; 0 lets the system pick a free one
seed = int_range(0, MAX_SEED)
concurrency = int_range(1, MAX_CONCURRENCY)


def positive_float(text: str) -> float:
    """Seconds, factors: finite and > 0 ("inf" or "1e309" would silently mean "never")."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan  # worded as below: one message for every kind of wrong
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {shown(text.strip())}")
    return value


#: seconds any timing option may be at most (a day): beyond, a typo would hang the run, or overflow a timer
MAX_SECONDS = 86_400.0


def seconds_arg(text: str) -> float:
    """A timeout or grace in seconds: > 0 and at most MAX_SECONDS (`--timeout 1e308` overflowed the clock
    arithmetic into an internal error)."""
    value = positive_float(text)
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"expected seconds from 0 to {MAX_SECONDS:g}, got {shown(text.strip())}")
    return value


def rate(text: str) -> Rate:
    """realtime | max | xN, exactly as a scenario's delivery.rate."""
    from ..scenario.durations import parse_rate

    try:
        return parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace(repr(text), shown(text))) from None


def rate_text(text: str) -> str:
    """`rate`'s check, keeping the text: for handlers that parse the rate themselves (demo)."""
    rate(text)
    return text


def _refuse(url: str, problem: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"{shown(_masked(url), PATH_LIMIT)}: {problem}")


def _masked(url: str) -> str:
    """`url` as an error may quote it: everything up to its last '@' (a user:password@, even one holding a '/',
    '?', '#' or '@' that should have been percent-encoded, or typed without a scheme) and everything after ? or #
    (a token often travels in the query) replaced by <redacted>. Plain string work, so that a URL too broken to
    parse is masked too; a path holding an '@' is masked with it, which only hides what was harmless."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    if "@" in rest:
        rest = "<redacted>@" + rest.rpartition("@")[2]
    marks = [i for i in (rest.find(ch) for ch in "?#") if i >= 0]
    if marks and min(marks) + 1 < len(rest):
        rest = rest[:min(marks) + 1] + "<redacted>"
    return scheme + sep + rest


def target_url(text: str) -> str:
    """A receiver's base URL, checked whole now rather than on the first connection."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
    except ValueError as exc:  # e.g. "http://[::1": an unclosed IPv6 bracket
        if "[" in text and "]" not in text:
            raise _refuse(text, _UNCLOSED) from None
        raise _refuse(text, f"not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not text.lower().startswith(f"{parts.scheme}://"):
        raise _refuse(text, "expected an http:// or https:// URL such as http://127.0.0.1:8080")
    if "@" not in parts.netloc and "@" in text.partition("://")[2] and ":" in parts.netloc:
        raise _refuse(text, "a '/', '?' or '#' in the user:password@ part must be percent-encoded (%2F, %3F, %23)")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise _refuse(text, "expected a base URL without ?query or #fragment (fleetsim appends /<provider>)")
    host = _host(text, parts.netloc.rpartition("@")[2])
    _port(text, parts.netloc.rpartition("@")[2], host)
    return text


def ca_bundle(text: str) -> str:
    """--ca-bundle FILE: a PEM file of CA certificates, read now (a missing or unreadable one is exit 2 before
    anything is sent)."""
    from ..delivery.transport import trust_context  # aiohttp: only when the option is given

    try:
        trust_context(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--ca-bundle ")) from None
    return text


class SettingsFile(argparse.Action):
    """`--settings FILE`, given once: a second one would silently replace the first (argparse keeps the last),
    while a user giving two expects both; one file holds every provider."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        if getattr(namespace, self.dest, None) is not None:
            raise argparse.ArgumentError(self, "given twice: give one settings file (it may hold every provider; "
                                               "a second one would replace the first, not add to it)")
        setattr(namespace, self.dest, values)


def add_ca_bundle(p: argparse.ArgumentParser) -> None:
    """--ca-bundle FILE, the same on every command that sends over https (docs/tls.md)."""
    p.add_argument("--ca-bundle", type=ca_bundle, metavar="FILE",
                   help="also trust the CA certificates in FILE (PEM) when verifying https receivers, e.g. the "
                   "ca.pem `fleetsim receiver --tls` prints; SSL_CERT_FILE is honoured too")


_UNCLOSED = "the IPv6 address needs its closing bracket, as in http://[::1]:8080"


def _host(text: str, hostport: str) -> str:
    if hostport.startswith("["):
        import ipaddress

        inside, closed, _ = hostport[1:].partition("]")
        try:
            ipaddress.IPv6Address(inside)
        except ValueError:
            raise _refuse(text, "the host in [brackets] must be an IPv6 address such as [::1]") from None
        if not closed:
            raise _refuse(text, _UNCLOSED)
        return f"[{inside}]"
    host = hostport.rpartition(":")[0] if ":" in hostport else hostport
    if not host:
        raise _refuse(text, "the URL names no host")
    if not all(c.isalnum() or c in "-._" for c in host):
        raise _refuse(text, "the host may hold only letters, digits, '-', '.' and '_' (IPv6 goes in [brackets])")
    try:
        host.encode("idna")
    except UnicodeError:
        raise _refuse(text, "not a valid host name (empty or over-long label)") from None
    return host


def _port(text: str, hostport: str, host: str) -> None:
    rest = hostport[len(host):]
    if not rest:
        return  # the scheme's default port
    digits = rest[1:] if rest.startswith(":") else rest
    if not rest.startswith(":") or not digits.isascii() or not digits.isdigit():
        raise _refuse(text, "the port must be a number from 1 to 65535")
    if not 1 <= int(digits) <= 65535:
        raise _refuse(text, "port must be 1-65535")


def check_output_path(path: str) -> None:
    """Refuse now an output file that could not be written later, after all the work is done."""
    if not path:
        raise UsageError("expected a file path, got ''")
    if "\x00" in path:
        raise UsageError(f"{shown_path(path)}: a file path cannot contain a NUL character")
    if path.endswith(("/", os.sep)):
        raise UsageError(f"{shown_path(path)}: is a directory, expected a file")
    target = Path(path)
    try:
        resolved = target.resolve()
        info = os.stat(target) if os.path.lexists(target) else None
    except (OSError, RuntimeError) as exc:  # name too long, symlink loop, ...
        raise UsageError(f"{shown_path(path)}: cannot be used as an output file ({_why(exc)})") from None
    if any(resolved == Path(tree) or Path(tree) in resolved.parents for tree in _KERNEL_TREES):
        raise UsageError(f"{shown_path(path)}: is a kernel or device file, not a place for output")
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise UsageError(f"{shown_path(path)}: is a directory, expected a file")
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"{shown_path(path)}: exists and is not a regular file")
        if not os.access(target, os.W_OK):
            raise UsageError(f"{shown_path(path)}: is not writable")
        return
    parent = resolved.parent
    if not parent.is_dir():
        raise UsageError(f"{shown_path(path)}: directory {shown_path(str(parent))} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{shown_path(path)}: directory {shown_path(str(parent))} is not writable")


def _why(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def report_spec(kinds: Iterable[str]) -> Callable[[str], tuple[str, str]]:
    """An argparse type for `--report KIND:FILE`: the kind one of `kinds`, the file writable, both checked now
    (a typo in either would otherwise surface only after the whole run)."""
    known = sorted(kinds)

    def parse(text: str) -> tuple[str, str]:
        kind, sep, path = text.partition(":")
        if not sep or not kind or not path:
            raise argparse.ArgumentTypeError(f"expected KIND:FILE such as {known[0]}:report.{known[0]}, "
                                             f"got {shown(text)}")
        try:
            if kind not in known:
                raise UnknownNameError("report kind", kind, known)
            check_output_path(path)
        except UsageError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return kind, path

    parse.__name__ = "report"
    return parse


def distinct_outputs(outputs: Iterable[tuple[str, str | os.PathLike[str] | None]]) -> None:
    """Refuse two outputs of one command naming the same file: the last writer would silently replace the other
    (`--report json:r.json --report junit:r.json`, or a report over the capture)."""
    seen: dict[str, str] = {}
    for what, path in outputs:
        if not path:
            continue
        key = os.path.realpath(path)
        if key in seen:
            raise UsageError(f"{seen[key]} and {what} name the same file {shown_path(os.fspath(path))}: give each "
                             "output a file of its own")
        seen[key] = what


def output_path(text: str) -> str:
    """An argparse type for FILE options that fleetsim writes (--capture)."""
    try:
        check_output_path(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


#: the most `read_input` reads by default: far past any webhook body, short of exhausting memory on /dev/zero
INPUT_LIMIT = 64 << 20
_READ_CHUNK = 1 << 20  # read a chunk at a time: Ctrl-C and SIGTERM are handled between chunks, never stuck in one


def read_input(path: str, *, limit: int = INPUT_LIMIT, what: str = "the input") -> tuple[str, bytes]:
    """(display name, raw bytes) of FILE or `-` (standard input), at most `limit` bytes: a longer one (an endless
    device, a wrong file) is an InputError naming it, not a process growing until the machine swaps."""
    with open_input(path) as (name, stream):
        data = bytearray()
        try:
            while chunk := stream.read(min(_READ_CHUNK, limit + 1 - len(data))):
                data += chunk
                if len(data) > limit:
                    raise InputError(name, f"is larger than {limit} bytes, the most {what} may be")
        except OSError as exc:  # e.g. EISDIR on some systems only at read time
            raise InputError(name, f"cannot be read ({_why(exc)})") from None
        return name, bytes(data)


@contextmanager
def open_input(path: str) -> Iterator[tuple[str, BinaryIO]]:
    """(display name, binary stream) of FILE or `-` (standard input), for readers that stream. Every way a
    file can fail to open becomes one InputError naming it."""
    if path == "-":
        yield "<stdin>", sys.stdin.buffer
        return
    if not path:
        raise UsageError("expected a file name or - for standard input, got ''")
    name = path if len(path) <= PATH_LIMIT else shown(path)
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the with below, after the yield
    except FileNotFoundError:
        raise InputError(name, "no such file") from None
    except IsADirectoryError:
        raise InputError(name, "is a directory, expected a file") from None
    except OSError as exc:
        raise InputError(name, f"cannot be read ({_why(exc)})") from None
    except ValueError:  # a NUL character: no file system accepts the name
        raise InputError(shown(path), "a file name cannot contain a NUL character") from None
    with stream:
        yield name, stream
