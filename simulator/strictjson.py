"""Strict JSON, read the one way fleetsim accepts it: the reference receiver and `schemas validate` both call
`loads`, so a document one of them refuses the other refuses too.

RFC 8259 only (UTF-8, no NaN or Infinity, no lone surrogates, numbers that fit a double), plus two limits of
our own: no key repeated within one object (parsers disagree on which wins, RFC 8259 §4, so a signed body
with {"eventId": "a", "eventId": "b"} is refused rather than guessed at) and at most MAX_DEPTH levels.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

MAX_DEPTH = 32  # JSON nesting; real payloads are 4 deep
MAX_DOCUMENT_BYTES = 1 << 20  # 1 MiB; providers send a few KiB (Standard Webhooks recommends < 20 KB)

#: the tokens that matter for locating a problem: strings (skipped whole, so brackets inside them do not count),
#: brackets and the colon that makes the string before it a key
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}:"]')  # a lone quote: a string never closed
_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


class JsonRejected(ValueError):
    """Why a document is not strict JSON, and where (1-based line and column, counted in characters).

    `reason` is the receiver's counter name: malformed_json, too_deep or duplicate_keys.
    """

    def __init__(self, reason: str, detail: str, line: int, column: int) -> None:
        super().__init__(f"{detail} (line {line}, column {column})")
        self.reason = reason
        self.detail = detail
        self.line = line
        self.column = column


def loads(raw: bytes) -> Any:
    """The document in `raw`, or JsonRejected."""
    try:
        doc = orjson.loads(raw)  # strict and fast; refuses nesting beyond 1024 levels without recursing
    except orjson.JSONDecodeError as exc:
        raise _malformed(raw, exc) from None
    if _too_deep(doc):
        line, column = _deep_position(raw, len(raw)) or (1, 1)
        raise JsonRejected("too_deep", _TOO_DEEP, line, column)
    # orjson silently keeps the last of repeated keys; a second parse sees every pair. It cannot recurse far:
    # the depth is at most MAX_DEPTH by now, and numbers beyond a double were refused by orjson.
    try:
        json.loads(raw, object_pairs_hook=_no_repeated_keys)
    except _RepeatedKey as exc:
        line, column = _repeated_key_position(raw, exc.key)
        raise JsonRejected("duplicate_keys", f"the key {exc.key[:40]!r} appears twice in one object", line,
                           column) from None
    except (ValueError, RecursionError):
        raise JsonRejected("malformed_json", "not valid JSON", 1, 1) from None
    return doc


def prefix_problem(head: bytes) -> JsonRejected | None:
    """Why `head`, the first bytes of something too long to read whole, cannot begin a strict JSON document;
    None when it can (it parses, or breaks off only where its bytes run out)."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as bad:
        if bad.reason == "unexpected end of data":  # a character cut at the end of the piece, not a bad byte
            head = head[: bad.start]
    try:
        loads(head)
    except JsonRejected as exc:
        if exc.reason == "duplicate_keys" or exc.detail != "unexpected end of data":
            return exc
    return None


class _RepeatedKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _RepeatedKey(key)
        out[key] = value
    return out


def _too_deep(doc: Any) -> bool:
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is not None:
            if depth > MAX_DEPTH:
                return True
            stack.extend((child, depth + 1) for child in children)
    return False


# --- saying where: only on the failure path, so the cost of a second look at the bytes does not matter -------


def _malformed(raw: bytes, exc: orjson.JSONDecodeError) -> JsonRejected:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as bad:  # orjson calls this "surrogates not allowed", which misleads
        line, column = _position(raw, bad.start)
        return JsonRejected("malformed_json", f"not UTF-8 text (byte 0x{raw[bad.start]:02x})", line, column)
    # orjson gives up at depth 1024 in its own words; name the place our lower limit was crossed instead,
    # when that comes before whatever else orjson stumbled on
    deep = _deep_position(raw, len(text[: exc.pos].encode("utf-8")))
    if deep:
        return JsonRejected("too_deep", _TOO_DEEP, *deep)
    return JsonRejected("malformed_json", exc.msg + _hint(text, exc.pos), exc.lineno, exc.colno)


def _hint(text: str, pos: int) -> str:
    """What orjson's message leaves unsaid about two mistakes Python's own json module lets through."""
    if text.startswith(("NaN", "Infinity"), pos):  # for -Infinity orjson stops after the sign
        return " (JSON has no NaN or Infinity)"
    number = _NUMBER.match(text, pos)
    if number and math.isinf(float(number.group())):
        literal = number.group()
        shown = literal if len(literal) <= 24 else f"{literal[:12]}... ({len(literal)} characters)"
        return f" (the number {shown} is larger than a 64-bit double can hold)"
    return ""


def _deep_position(raw: bytes, end: int) -> tuple[int, int] | None:
    """Where nesting first goes beyond MAX_DEPTH before byte `end`, if it does."""
    depth = 0
    for token in _TOKEN.finditer(raw, 0, end):
        kind = token.group()
        if kind in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                return _position(raw, token.start())
        elif kind in (b"]", b"}"):
            depth -= 1
        elif kind == b'"':  # a string that does not end: what follows is text, not structure
            break
    return None


def _repeated_key_position(raw: bytes, key: str) -> tuple[int, int]:
    """Where the second `key` of one object starts (the document is valid JSON, at most MAX_DEPTH deep)."""
    objects: list[set[str] | None] = []  # per open bracket: the keys seen so far, None for an array
    previous: re.Match[bytes] | None = None
    for token in _TOKEN.finditer(raw):
        kind = token.group()
        if kind == b"{":
            objects.append(set())
        elif kind == b"[":
            objects.append(None)
        elif kind in (b"]", b"}"):
            objects.pop()
        elif kind == b'"':
            break
        elif kind == b":" and previous is not None and objects and (keys := objects[-1]) is not None:
            name = json.loads(previous.group())
            if name == key and name in keys:  # the one json.loads named: it checks inner objects first
                return _position(raw, previous.start())
            keys.add(name)
        previous = token
    return 1, 1  # not found (cannot happen for a document json.loads refused for this key): its start


def _position(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters, as orjson counts them) of byte `offset`."""
    start = raw.rfind(b"\n", 0, offset) + 1
    return raw.count(b"\n", 0, offset) + 1, len(raw[start:offset].decode("utf-8", "replace")) + 1


def type_name(value: Any) -> str:
    """A parsed JSON value's type, as a sentence would name it ("an array")."""
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}.get(
        type(value), "an object")
