"""Strings that match a regular expression, drawn from a seeded RNG.

Covers what schema `pattern`s use: literals, classes (ranges, \\d \\w \\s, negation), groups,
alternation, anchors and counted or open repeats (open repeats stop a few past their minimum).
"""

from __future__ import annotations

import importlib
import random
import re
import string
from functools import cache
from typing import Any

from ..errors import HarnessError

# The regex parser is private (re._parser since 3.11; sre_parse is a deprecated alias) and untyped.
sre_parse: Any = importlib.import_module("re._parser")
sre_constants: Any = importlib.import_module("re._constants")

_PRINTABLE = string.ascii_letters + string.digits + "-_."
_CATEGORY_CHARS = {
    sre_constants.CATEGORY_DIGIT: string.digits,
    sre_constants.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    sre_constants.CATEGORY_SPACE: " ",
    sre_constants.CATEGORY_NOT_DIGIT: string.ascii_letters,
    sre_constants.CATEGORY_NOT_WORD: "-.:",
    sre_constants.CATEGORY_NOT_SPACE: _PRINTABLE,
}
_OPEN_REPEAT_EXTRA = 3
_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, getattr(sre_constants, "POSSESSIVE_REPEAT", None))


@cache
def _parse(pattern: str) -> Any:
    try:
        return sre_parse.parse(pattern)
    except re.error as exc:
        raise HarnessError(f"schema pattern {pattern!r} is not a valid regex: {exc}") from exc


# keyed by the id of the parsed class: parsed patterns are cached forever, so ids are never reused
_CLASS_CACHE: dict[int, str] = {}
_WIDE_RANGE = 256


def _class_chars(items: list[tuple[Any, Any]]) -> str:
    key = id(items)
    cached = _CLASS_CACHE.get(key)
    if cached is None:
        cached = _CLASS_CACHE[key] = _build_class(items)
    return cached


def _build_class(items: list[tuple[Any, Any]]) -> str:
    negate = False
    chars: list[str] = []
    for op, av in items:
        if op is sre_constants.NEGATE:
            negate = True
        elif op is sre_constants.LITERAL:
            chars.append(chr(av))
        elif op is sre_constants.RANGE:
            low, high = av
            if high - low > _WIDE_RANGE:  # e.g. [\u0020-\uffff]: plain printable ASCII is enough, and safe
                chars.extend(c for c in _PRINTABLE if low <= ord(c) <= high)
                chars.append(chr(low))
            else:
                chars.extend(chr(c) for c in range(low, high + 1))
        elif op is sre_constants.CATEGORY:
            chars.extend(_CATEGORY_CHARS.get(av, ""))
    if negate:
        excluded = set(chars)
        return "".join(c for c in _PRINTABLE if c not in excluded)
    return "".join(chars)


def _emit(tokens: Any, rng: random.Random, out: list[str]) -> None:
    for op, av in tokens:
        if op is sre_constants.LITERAL:
            out.append(chr(av))
        elif op is sre_constants.NOT_LITERAL:
            out.append(rng.choice([c for c in _PRINTABLE if ord(c) != av]))
        elif op is sre_constants.ANY:
            out.append(rng.choice(_PRINTABLE))
        elif op is sre_constants.IN:
            out.append(rng.choice(_class_chars(av)))
        elif op is sre_constants.BRANCH:
            _emit(rng.choice(av[1]), rng, out)
        elif op is sre_constants.SUBPATTERN:
            _emit(av[-1], rng, out)
        elif op in _REPEATS:
            low, high, sub = av
            if high is sre_constants.MAXREPEAT:
                high = low + _OPEN_REPEAT_EXTRA
            for _ in range(rng.randint(low, high)):
                _emit(sub, rng, out)
        elif op is sre_constants.AT:
            continue
        else:
            raise HarnessError(f"regex construct {op} is not supported by the generator")


def string_matching(pattern: str, rng: random.Random) -> str:
    out: list[str] = []
    _emit(_parse(pattern), rng, out)
    return "".join(out)
