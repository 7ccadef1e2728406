"""The documents of a JSON file or an NDJSON stream, one at a time, in memory bounded by `max_bytes`.

NDJSON is read line by line and each line parsed as it comes, so a capture of any size streams through.
A line longer than `max_bytes` is never held whole: it is read in pieces of at most `max_bytes + 2` bytes,
skipped to its newline and reported as TooLarge, when its first piece could begin a JSON document at all (NUL
bytes or a binary file are an InputError at once). A pretty-printed document spans lines: when the first
non-blank line is not JSON on its own, the input is read as one document, up to `max_bytes`.

JSON is strict (simulator.strictjson, as the reference receiver parses it). Input that is not JSON is the
user's mistake, not a verdict on a document: InputError naming file, line and column (exit 2).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from .. import strictjson
from ..errors import InputError

#: how far past --max-bytes an over-long line is skipped looking for its end: beyond, it is no NDJSON line (1 GiB)
MAX_SKIPPED_BYTES = 1 << 30

#: a line's (number, content without its line ending or None when longer than max_bytes, content length)
_Line = tuple[int, bytes | None, int]


@dataclass(frozen=True)
class Document:
    line: int  # where it starts
    value: Any


@dataclass(frozen=True)
class TooLarge:
    line: int
    size: int  # bytes on that line, without its line ending


def read_documents(name: str, stream: BinaryIO, max_bytes: int) -> Iterator[Document | TooLarge]:
    lines = _lines(name, stream, max_bytes)
    first = next((line for line in lines if line[1] is None or line[1].strip()), None)
    if first is None:
        raise InputError(name, "empty input, expected a JSON document or NDJSON lines")
    lineno, content, size = first
    if content is None:
        yield TooLarge(lineno, size)
    else:
        try:
            value = strictjson.loads(content)
        except strictjson.JsonRejected as exc:
            if exc.reason != "malformed_json":  # a whole document, only not an acceptable one
                raise _invalid(name, lineno, exc) from None
            yield Document(lineno, _whole(name, lineno, content, lines, max_bytes, exc))
            return
        yield Document(lineno, value)
    for lineno, content, size in lines:
        if content is None:
            yield TooLarge(lineno, size)
        elif content.strip():
            try:
                value = strictjson.loads(content)
            except strictjson.JsonRejected as exc:
                raise _invalid(name, lineno, exc) from None
            yield Document(lineno, value)


def _whole(name: str, lineno: int, content: bytes, lines: Iterator[_Line], max_bytes: int,
           first_error: strictjson.JsonRejected) -> Any:
    """The rest of the input read as one document starting on line `lineno` with `content`."""
    buffer = bytearray(content)
    for _, more, _ in lines:
        if more is None or len(buffer) + 1 + len(more) > max_bytes:
            # either NDJSON whose first line is broken, or one document too large to read: say both
            raise InputError(_where(name, lineno, first_error), f"invalid JSON: {first_error.detail}; read as one "
                             f"multi-line document instead, the input is larger than {max_bytes} bytes (--max-bytes)")
        buffer += b"\n" + more
    try:
        return strictjson.loads(bytes(buffer))
    except strictjson.JsonRejected as exc:
        raise _invalid(name, lineno, exc) from None


def _lines(name: str, stream: BinaryIO, max_bytes: int) -> Iterator[_Line]:
    limit = max_bytes + 2  # room for "\r\n": a line of exactly max_bytes still arrives whole
    lineno = 0
    try:
        while line := stream.readline(limit):
            lineno += 1
            piece, size = line, len(line)
            # too long to read whole: a verdict (TooLarge) only when it could be JSON at all; NUL bytes or a
            # binary file are the wrong input, said at once rather than after skipping gigabytes of them
            if len(piece) == limit and not piece.endswith(b"\n") and \
                    (problem := strictjson.prefix_problem(piece)) is not None:
                raise _invalid(name, lineno, problem)
            while len(piece) == limit and not piece.endswith(b"\n"):  # cut short: skip the rest, piece by piece
                if size > max_bytes + MAX_SKIPPED_BYTES:  # an endless input with no line break: no NDJSON
                    raise InputError(f"{name}:{lineno}", f"a line longer than {max_bytes + MAX_SKIPPED_BYTES} bytes "
                                     "with no line break, expected JSON or NDJSON")
                piece = stream.readline(limit)
                size += len(piece)
            size -= 2 if piece.endswith(b"\r\n") else 1 if piece.endswith(b"\n") else 0
            # size <= max_bytes means the first piece held the whole line
            yield (lineno, line[:size], size) if size <= max_bytes else (lineno, None, size)
    except OSError as exc:
        raise InputError(name, f"cannot be read ({exc.strerror or exc})") from None


def _where(name: str, lineno: int, exc: strictjson.JsonRejected) -> str:
    return f"{name}:{lineno + exc.line - 1}:{exc.column}"


def _invalid(name: str, lineno: int, exc: strictjson.JsonRejected) -> InputError:
    return InputError(_where(name, lineno, exc), f"invalid JSON: {exc.detail}")
