from __future__ import annotations

import pytest

from simulator.scenario.durations import format_duration, parse_duration, parse_rate
from simulator.scenario.model import Rate


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25), ("90s", 90), ("45m", 2700), ("2h", 7200), ("1h30m", 5400), ("1d", 86400),
        ("1d2h3m4s5ms", 93784.005), ("1.5h", 5400), ("0s", 0), ("90", 90), ("2.5", 2.5), (" 10m ", 600),
        (600, 600), (1.5, 1.5), (0, 0),
    ],
)
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty duration"),
        ("2 hours", "not a duration"),
        ("1h 30m", "leave no spaces"),
        ("30m1h", "largest to smallest"),
        ("1h1h", "largest to smallest"),
        ("-5s", "cannot be negative"),
        (-5, "cannot be negative"),
        ("5x", "not a duration"),
        ("h", "not a duration"),
        (True, "not bool"),
        (None, "not NoneType"),
        ([1], "not list"),
        (float("inf"), "not a finite"),
        ("9" * 400 + "d", "not a finite"),
    ],
)
def test_parse_duration_errors(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5400, "1h30m"), (0.25, "250ms"), (0, "0s"), (90, "1m30s"), (86400, "1d"), (3600.5, "1h0.5s"), (7200, "2h")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "rate"),
    [("realtime", Rate("realtime")), ("max", Rate("max")), ("x60", Rate("factor", 60.0)),
     ("x0.5", Rate("factor", 0.5))],
)
def test_parse_rate(text: str, rate: Rate) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize(
    ("value", "message"),
    [("x0", "greater than 0"), ("x0.0", "greater than 0"), ("fast", "not a rate"), ("60", "not a rate"),
     ("x-1", "not a rate"), (60, "not int"), ("x10000000", "at most")],
)
def test_parse_rate_errors(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rate(value)
