"""core.rounding.rounded must give round()'s very double (same repr, sign of zero included): the world's reports
are rounded with it, and a different last bit would change the bytes of every scenario."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.core.rounding import rounded


def same(a: float, b: float) -> bool:
    return repr(a) == repr(b)


@pytest.mark.parametrize("x", [0.0, -0.0, 1e-9, -1e-9, 0.05, -0.05, 0.15, 0.25, -0.25, 2.675, 1.0000005,
                               -1.0000005, 0.5, -0.5, 1.5, 2.5, 123456.7890125, 1e8 + 0.5, 1e9, -1e9, 1e300,
                               5e-324, math.inf, -math.inf])
@pytest.mark.parametrize("digits", [0, 1, 2, 6, 9, 15])
def test_edges_and_ties(x: float, digits: int) -> None:
    assert same(rounded(x, digits), round(x, digits))


def test_nan() -> None:
    assert math.isnan(rounded(math.nan, 6))


# the values the world rounds: coordinates (6), speeds in km/h, altitudes, HDOP (1), voltages (2)
_RANGES = [(6, -180.0, 180.0), (1, -1.0, 500.0), (1, -500.0, 9000.0), (1, 0.0, 20.0), (2, 0.0, 60.0)]


@settings(max_examples=3000, deadline=None)
@given(st.sampled_from(_RANGES).flatmap(
    lambda r: st.tuples(st.just(r[0]), st.floats(min_value=r[1], max_value=r[2], allow_nan=False))))
def test_the_world_s_ranges(case: tuple[int, float]) -> None:
    digits, x = case
    assert same(rounded(x, digits), round(x, digits))


@settings(max_examples=3000, deadline=None)
@given(st.floats(allow_nan=False), st.integers(min_value=0, max_value=15))
def test_any_float(x: float, digits: int) -> None:
    assert same(rounded(x, digits), round(x, digits))


@settings(max_examples=2000, deadline=None)
@given(st.integers(min_value=-(10**9), max_value=10**9), st.integers(min_value=1, max_value=7))
def test_exact_halves_go_half_even(m: int, digits: int) -> None:
    # values on (or a hair off) a decimal half: where floor(x * 10**n + 0.5) alone would round away from even
    x = (m + 0.5) / 10**digits
    for near in (x, math.nextafter(x, math.inf), math.nextafter(x, -math.inf)):
        assert same(rounded(near, digits), round(near, digits))
