"""Durations ("250ms", "90s", "45m", "2h", "1h30m", "1d", or a number of seconds) and delivery rates
("realtime", "max", "x60"), as scenario files write them. Errors are ValueErrors with a readable reason.
"""

from __future__ import annotations

import math
import re

from .model import Rate

#: seconds per unit, largest first (the order units must appear in within one duration)
UNITS: dict[str, float] = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_ORDER = {unit: rank for rank, unit in enumerate(UNITS)}
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_RATE = re.compile(r"x([0-9]+(?:\.[0-9]+)?)")
EXAMPLES = '"250ms", "90s", "45m", "2h", "1h30m", "1d" or a number of seconds'
#: the largest factor a rate may speed time up by
MAX_RATE_FACTOR = 1e6


def parse_duration(value: object) -> float:
    """Seconds in `value`: a non-negative number of seconds or a text such as "1h30m"."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"a duration is text such as {EXAMPLES}, not {type(value).__name__}")
    if isinstance(value, (int, float)):
        return _finite(float(value), value)
    text = value.strip()
    if not text:
        raise ValueError(f"empty duration; write one such as {EXAMPLES}")
    if text.startswith("-"):
        raise ValueError(f"durations cannot be negative: {value!r}")
    if _NUMBER.fullmatch(text):
        return _finite(float(text), value)
    total = 0.0
    pos = 0
    last_rank = -1
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        number, unit = match.groups()
        rank = _ORDER[unit]
        if rank <= last_rank:
            raise ValueError(
                f"duration {value!r}: units must go from largest to smallest, each at most once (e.g. \"1h30m\")"
            )
        last_rank = rank
        total += float(number) * UNITS[unit]
        pos = match.end()
    if pos != len(text) or pos == 0:
        hint = "; leave no spaces between the parts" if " " in text else ""
        raise ValueError(f"not a duration: {value!r}; write one such as {EXAMPLES}{hint}")
    return _finite(total, value)


def _finite(seconds: float, original: object) -> float:
    if not math.isfinite(seconds):
        raise ValueError(f"duration {original!r} is not a finite number of seconds")
    if seconds < 0:
        raise ValueError(f"durations cannot be negative: {original!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """`seconds` the way a scenario would write it: 5400 -> "1h30m", 0.25 -> "250ms", 0 -> "0s"."""
    if not math.isfinite(seconds):
        return str(seconds)
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds < 1 and seconds != 0:
        return f"{seconds * 1000:g}ms"
    parts: list[str] = []
    rest = seconds
    for unit in ("d", "h", "m"):
        size = UNITS[unit]
        whole = int(rest // size)
        if whole:
            parts.append(f"{whole}{unit}")
            rest -= whole * size
    if rest or not parts:
        parts.append(f"{round(rest, 3):g}s")
    return "".join(parts)


def parse_rate(value: object) -> Rate:
    """A delivery rate: "realtime", "max" or "x<factor>" with a factor > 0 (x60 = one hour per minute)."""
    if not isinstance(value, str):
        raise ValueError(f'a rate is "realtime", "max" or "x<factor>" such as "x60", not {type(value).__name__}')
    text = value.strip()
    if text in ("realtime", "max"):
        return Rate(text)
    match = _RATE.fullmatch(text)
    if not match:
        raise ValueError(f'not a rate: {value!r}; expected "realtime", "max" or "x<factor>" such as "x60"')
    factor = float(match.group(1))
    if not math.isfinite(factor) or factor <= 0:
        raise ValueError(f"rate {value!r}: the factor must be greater than 0")
    if factor > MAX_RATE_FACTOR:
        raise ValueError(f'rate {value!r}: the factor is at most {MAX_RATE_FACTOR:g}; "max" sends as fast as possible')
    return Rate("factor", factor)
