"""JSON exactly as Traccar's Jackson ObjectMapper writes it (PowUnity runs Traccar).

Differences from Python's json/orjson that a byte-exact emulation must reproduce:
- doubles use Java's `Double.toString`: always a fraction digit (`20.0`), and E-notation outside
  [1e-3, 1e7) (`5.0E7`, `1.0E-4`), where Python would print `50000000.0` / `0.0001`;
- no whitespace; keys in insertion order (Traccar's declaration order); nulls written out;
- non-ASCII characters written raw as UTF-8 (Jackson does not escape them).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

import orjson

from .javadouble import JavaDocument, JavaDouble

__all__ = ["JavaDocument", "JavaDouble", "dumps", "dumps_reference", "java_double", "jd"]


def jd(value: float) -> float:
    """`value` as it must be serialized for Traccar: wrapped only when Java writes it differently."""
    return JavaDouble(value) if value != 0.0 and not (1e-3 <= abs(value) < 1e7) else float(value)


def java_double(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise ValueError("Traccar JSON cannot carry NaN or infinity")
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    text = repr(value)
    if 1e7 <= abs(value) < 1e16 and "e" not in text:
        # fast path for the common case (odometers in metres): shift the point of Python's shortest repr
        minus = "-" if text[0] == "-" else ""
        whole, _, frac = text.lstrip("-").partition(".")
        digits = (whole + frac).rstrip("0") or "0"
        return f"{minus}{digits[0]}.{digits[1:] or '0'}E{len(whole) - 1}"
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    # value = 0.d1d2... * 10^(point); scientific exponent is point - 1
    point = len("".join(map(str, digit_tuple))) + exponent
    minus = "-" if sign else ""
    if 1e-3 <= abs(value) < 1e7:
        if point <= 0:
            text = "0." + "0" * (-point) + digits
        elif point >= len(digits):
            text = digits + "0" * (point - len(digits)) + ".0"
        else:
            text = digits[:point] + "." + digits[point:]
        return minus + text
    mantissa = digits[0] + "." + (digits[1:] or "0")
    return f"{minus}{mantissa}E{point - 1}"


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(java_double(value))
    elif isinstance(value, str):
        out.append(orjson.dumps(value).decode())
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(orjson.dumps(str(key)).decode())
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot write {type(value).__name__} as Traccar JSON")


def dumps_reference(value: Any) -> bytes:
    """The straightforward writer (slow: a Decimal per float); `dumps` must produce the same bytes."""
    out: list[str] = []
    _write(value, out)
    return "".join(out).encode("utf-8")


# Numbers orjson and Java write differently: floats >= 1e7 (orjson 50000000.0, Java 5.0E7), below 1e-3
# (0.0001 vs 1.0E-4) and exponent forms (1e+17 vs 1.0E17). Only values right after a key are candidates: the
# match starts at the literal `":` (fast to scan for) and the callback skips an escaped quote (`\\":`), which
# is the only way `":` can occur inside a JSON string. Only an odd run of backslashes escapes the quote: the key
# `a\` is written `"a\\":`, an escaped backslash and then the key's real closing quote.
_JAVA_DIFFERS = re.compile(rb'":(-?(?:[1-9]\d{7,}\.\d+|\d+(?:\.\d+)?e[+-]?\d+|0\.000\d*[1-9]\d*))(?=[,}])')


def _java_number(match: re.Match[bytes]) -> bytes:
    text, start = match.string, match.start()
    before = start
    while before > 0 and text[before - 1] == 0x5C:  # backslashes right before the quote
        before -= 1
    if (start - before) % 2:  # an odd number: the quote is escaped, we are inside a string
        return match.group(0)
    return b'":' + java_double(float(match.group(1))).encode()


def _default(value: Any) -> Any:
    if isinstance(value, JavaDouble):
        return orjson.Fragment(java_double(value).encode())
    raise TypeError(f"cannot write {type(value).__name__} as Traccar JSON")


def dumps(payload: Any) -> bytes:
    """Traccar JSON: orjson for speed, then the few numbers where Jackson differs rewritten Java-style.

    Renderers wrap such numbers with `jd()` up front, so the rewrite pass finds nothing to do on the hot
    path; it exists for documents built elsewhere. Floats inside arrays are not rewritten (Traccar models hold
    none there: ids are integers). A `JavaDocument` is written without the scan: its builder wrapped them all."""
    body = orjson.dumps(payload, default=_default)
    if type(payload) is JavaDocument:
        return body
    # one scan for the rewrite's own pattern (it starts with the literal `":`, which the regex engine finds fast);
    # four substring tests and a second regex before it cost more than this one search on every frame
    if _JAVA_DIFFERS.search(body) is not None:
        body = _JAVA_DIFFERS.sub(_java_number, body)
    return body
