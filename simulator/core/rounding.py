"""`round(x, digits)` of a float, bit for bit, at half the cost on the hot path of the world (six per report).

CPython's round(x, n) writes x correctly rounded to n decimals (dtoa, ties half-even on the exact binary value)
and reads that decimal back: the double nearest m / 10**n, m the integer nearest x * 10**n. When m is clear from
the floating product — x * 10**n + 0.5 not within 1e-6 of an integer, where its two rounding errors (below 2.4e-7
while |x * 10**n| < 1e9) cannot move it across one — m / 10**n in floating point is that same double (m and 10**n
are exact, and IEEE division rounds correctly). Everything else (ties and near-ties, huge values, NaN) goes to
round() itself. A zero result keeps x's sign: round() gives -0.0 for a small negative x.
"""

from __future__ import annotations

from math import copysign, floor

_SCALES = tuple(10.0**n for n in range(16))


def rounded(x: float, digits: int) -> float:
    """round(x, digits) for 0 <= digits < 16, the same double (tests compare them over the ranges used)."""
    scale = _SCALES[digits]
    y = x * scale + 0.5
    if -1e9 < y < 1e9:
        m = floor(y)
        if 1e-6 < y - m < 0.999999:
            return m / scale if m else copysign(0.0, x)
    return round(x, digits)
