"""JSON exactly as Traccar's Jackson ObjectMapper writes it (PowUnity runs Traccar).

Differences from Python's json/orjson that a byte-exact emulation must reproduce:
- doubles use Java's `Double.toString`: always a fraction digit (`20.0`), and E-notation outside
  [1e-3, 1e7) (`5.0E7`, `1.0E-4`), where Python would print `50000000.0` / `0.0001`;
- no whitespace; keys in insertion order (Traccar's declaration order); nulls written out;
- non-ASCII characters written raw as UTF-8 (Jackson does not escape them).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import orjson


def java_double(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise ValueError("Traccar JSON cannot carry NaN or infinity")
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
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


def dumps(value: Any) -> bytes:
    out: list[str] = []
    _write(value, out)
    return "".join(out).encode("utf-8")
