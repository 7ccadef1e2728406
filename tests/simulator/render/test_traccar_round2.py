"""`round2` (DistanceHandler's BigDecimal half-even rounding, provider-facts §1.4) takes Python's round() on
the binary value except near a half cent: it must equal the decimal reference on every double, ties included."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.providers.powunity.traccar import round2, round2_reference

#: k/1000 with k ending in 5: the half cents, where the binary value and its repr round differently (1.015,
#: 4.055, 8.075: times 1000 is not exactly an integer, so round2 must allow for the multiplication's error)
half_cents = st.integers(min_value=-10**13, max_value=10**13).map(lambda k: (10 * k + 5) / 1000)


EDGES = (2.675, 1.015, 4.055, 8.075, 2.665, 0.125, 1e-5, -0.005, 0.0, -0.0, 1e12, 999_999_999_999.995, 5e-324, 1e20,
         12_345_678_901_234.565)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(
    st.floats(min_value=-1e20, max_value=1e20),  # past 1e25 the decimal reference itself overflows
    st.floats(min_value=-1e7, max_value=1e7),
    half_cents,
    half_cents.map(lambda x: math.nextafter(x, math.inf)),
    half_cents.map(lambda x: math.nextafter(x, -math.inf)),
    st.integers(min_value=-10**9, max_value=10**9).map(lambda k: k / 100),
    st.sampled_from(EDGES),
))
def test_round2_is_the_decimal_rounding(value: float) -> None:
    fast, reference = round2(value), round2_reference(value)
    assert fast == reference and math.copysign(1.0, fast) == math.copysign(1.0, reference), value


def test_the_half_cents_that_binary_rounding_gets_wrong() -> None:
    assert [round(x, 2) for x in (2.675, 1.005, 0.125)] == [2.67, 1.0, 0.12]  # the binary value's rounding
    assert [round2(x) for x in (2.675, 1.005, 0.125)] == [2.68, 1.0, 0.12]  # the printed digits' (half even)


def test_half_cents_across_a_thousand_kilometres() -> None:
    # a bike's distances and totals (metres) live here: one half cent in 997 of it, about 100,000
    for k in range(0, 100_000_000, 997):
        value = (10 * k + 5) / 1000
        assert round2(value) == round2_reference(value), value
