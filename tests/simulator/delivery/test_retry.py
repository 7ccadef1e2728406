"""Retry schedules are exact, Retry-After is honoured within its cap, statuses classify per H-2."""

from __future__ import annotations

import random

import pytest

from simulator.delivery.model import DUPLICATE, GENUINE
from simulator.delivery.retry import (
    RETRIED_COPIES,
    RETRY_POLICIES,
    RetryPolicy,
    TimeScale,
    classify,
    format_seconds,
    policy_for_provider,
    retry_policy,
)
from simulator.errors import HarnessError, UnknownNameError, UsageError
from simulator.providers import PROVIDERS

M, H = 60.0, 3600.0


@pytest.mark.parametrize(
    ("name", "delays", "horizon"),
    [
        ("none", (0.0,), 0.0),
        ("standard-webhooks", (0, 5, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 14 * H, 20 * H, 24 * H),
         75 * H + 35 * M + 5),
        ("svix", (0, 5, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H), 27 * H + 35 * M + 5),
        ("traccar", (0, *(0.1 * 2**n for n in range(10))), 102.3),
        ("exponential", (0, 1, 2, 4, 8, 16, 32, 64), 127.0),
    ],
)
def test_named_schedules_are_exact(name: str, delays: tuple[float, ...], horizon: float) -> None:
    policy = retry_policy(name)
    assert policy.delays == tuple(float(d) for d in delays)
    assert policy.max_attempts == len(delays)
    assert policy.horizon_s == pytest.approx(horizon)
    # walking the schedule: every failure gets the next delay, then the policy gives up
    got = [policy.next_delay(n, "5xx", 500, None) for n in range(1, len(delays) + 1)]
    assert got == [*delays[1:], None]


def test_attempt_counts_match_the_catalogue() -> None:
    assert {n: p.max_attempts for n, p in RETRY_POLICIES.items()} == {
        "none": 1, "standard-webhooks": 10, "svix": 8, "traccar": 11, "exponential": 8,
    }


def test_exponential_cap() -> None:
    from simulator.delivery.retry import exponential

    assert exponential(1, 2, H, 16)[-1] == H
    assert max(exponential(1, 2, H, 40)) == H


def test_explicit_list_is_the_waits_after_each_failure() -> None:
    policy = retry_policy([1, 2.5])
    assert policy.delays == (0.0, 1.0, 2.5)
    assert policy.max_attempts == 3
    assert policy.next_delay(1, "timeout_total", None, None) == 1.0
    assert policy.next_delay(2, "timeout_total", None, None) == 2.5
    assert policy.next_delay(3, "timeout_total", None, None) is None
    # durations as settings files write them (settings.py: 'a list of delays such as ["5s", "5m", "30m"]')
    assert retry_policy(["5s", "5m", "1h30m", "250ms"][:3]).delays == (0.0, 5.0, 300.0, 5400.0)
    assert retry_policy([0, 0]).delays == (0.0, 0.0, 0.0)  # immediate retries are allowed
    assert retry_policy([]).max_attempts == 1


@pytest.mark.parametrize("bad", [[-1], [10, 5], [float("nan")], [float("inf")], ["5 s"], ["soon"], [True],
                                 [0.0] * 1000, [None]])
def test_invalid_lists_are_usage_errors(bad: list[object]) -> None:
    with pytest.raises(UsageError):
        retry_policy(bad)  # type: ignore[arg-type]


def test_unknown_name_suggests() -> None:
    with pytest.raises(UnknownNameError, match="svix"):
        retry_policy("svics")


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [
        (429, 7.0, 7.0),  # between the schedule (5 s) and twice it: honoured
        (503, 7.0, 7.0),
        (429, 60.0, 10.0),  # capped at 2 x the scheduled delay
        (429, 1.0, 5.0),  # never sooner than the schedule
        (429, -3.0, 5.0),
        (429, float("inf"), 5.0),
        (500, 7.0, 5.0),  # Retry-After only for 429/503
        (429, None, 5.0),
        (None, 7.0, 5.0),
    ],
)
def test_retry_after(status: int | None, retry_after: float | None, expected: float) -> None:
    policy = retry_policy("standard-webhooks")
    assert policy.next_delay(1, "429" if status == 429 else "5xx", status, retry_after) == expected


def test_retry_after_on_the_last_attempt_still_gives_up() -> None:
    assert retry_policy("svix").next_delay(8, "429", 429, 1.0) is None


@pytest.mark.parametrize(("outcome", "status"), [("4xx", 410), ("2xx", 204)])
def test_gives_up_on_gone_and_odd_2xx(outcome: str, status: int) -> None:
    assert retry_policy("standard-webhooks").next_delay(1, outcome, status, None) is None


@pytest.mark.parametrize(("outcome", "status"), [("3xx", 301), ("3xx", 302), ("3xx", 307), ("3xx", 308),
                                                 ("4xx", 400), ("4xx", 401), ("4xx", 404), ("5xx", 500),
                                                 ("5xx", 502), ("429", 429), ("timeout_connect", None),
                                                 ("reset", None), ("conn_refused", None), ("tls_error", None)])
def test_everything_else_is_retried(outcome: str, status: int | None) -> None:
    assert retry_policy("standard-webhooks").next_delay(2, outcome, status, None) == 300.0


def test_full_jitter() -> None:
    policy = retry_policy("standard-webhooks", jitter=True)
    assert policy.jitter and not retry_policy("standard-webhooks").jitter
    draws = [policy.next_delay(3, "5xx", 500, None, rng=random.Random(s)) for s in range(300)]
    assert all(d is not None and 0 <= d <= 1800 for d in draws)
    assert len(set(draws)) > 250
    again = [policy.next_delay(3, "5xx", 500, None, rng=random.Random(s)) for s in range(300)]
    assert draws == again  # seeded: reproducible
    with pytest.raises(HarnessError):
        policy.next_delay(3, "5xx", 500, None)
    # Retry-After is the receiver's request: not jittered
    assert policy.next_delay(1, "429", 429, 7.0, rng=random.Random(0)) == 7.0


def test_time_scale() -> None:
    policy = retry_policy("standard-webhooks")
    scale = TimeScale(3600)
    assert policy.next_delay(9, "5xx", 500, None, time_scale=scale) == pytest.approx(24.0)
    assert sum(scale.scale(d) for d in policy.delays) == pytest.approx(272105 / 3600)
    # Retry-After is honoured in real seconds even when the schedule is compressed: a receiver asking for
    # 3 s gets 3 s, capped at twice the unscaled delay (5 s -> 10 s) and never below the scaled delay
    assert policy.next_delay(1, "429", 429, 3.0, time_scale=TimeScale(60)) == pytest.approx(3.0)
    assert policy.next_delay(1, "429", 429, 60.0, time_scale=TimeScale(60)) == pytest.approx(10.0)
    assert policy.next_delay(1, "429", 429, 0.0, time_scale=TimeScale(60)) == pytest.approx(5 / 60)
    assert scale.delay(None) is None


@pytest.mark.parametrize(("text", "factor"), [("3600", 3600.0), ("x3600", 3600.0), ("1/3600", 3600.0),
                                              ("1", 1.0), (60, 60.0), ("0.5", 2.0)])
def test_time_scale_parse(text: str | float, factor: float) -> None:
    assert TimeScale.parse(text).factor == pytest.approx(factor)


@pytest.mark.parametrize("text", ["", "fast", "0", "-5", "1/0", "inf"])
def test_time_scale_parse_errors(text: str) -> None:
    with pytest.raises(UsageError):
        TimeScale.parse(text)


ANY_2XX: frozenset[int] | None = None
POWUNITY = frozenset({200, 201})


@pytest.mark.parametrize(
    ("status", "success", "expected"),
    [
        (200, ANY_2XX, "success"),
        (202, ANY_2XX, "success"),
        (204, ANY_2XX, "success"),
        (299, ANY_2XX, "success"),
        (200, POWUNITY, "success"),
        (201, POWUNITY, "success"),
        (204, POWUNITY, "fail"),  # PowUnity counts only 200/201
        (202, POWUNITY, "fail"),
        (410, ANY_2XX, "gone"),
        (410, POWUNITY, "gone"),
        (301, ANY_2XX, "retry"),  # redirects are failures (never followed), retried like any
        (302, ANY_2XX, "retry"),
        (304, ANY_2XX, "retry"),
        (307, ANY_2XX, "retry"),
        (308, ANY_2XX, "retry"),
        (400, ANY_2XX, "retry"),
        (401, ANY_2XX, "retry"),
        (404, ANY_2XX, "retry"),
        (408, ANY_2XX, "retry"),
        (429, ANY_2XX, "retry"),
        (500, ANY_2XX, "retry"),
        (502, ANY_2XX, "retry"),
        (503, ANY_2XX, "retry"),
        (504, ANY_2XX, "retry"),
        (None, ANY_2XX, "retry"),  # transport error
    ],
)
def test_classify(status: int | None, success: frozenset[int] | None, expected: str) -> None:
    assert classify(status, success) == expected


def test_classify_uses_the_real_provider_success_sets() -> None:
    assert classify(204, PROVIDERS["powunity"].delivery.success_statuses) == "fail"
    assert classify(204, PROVIDERS["samsara"].delivery.success_statuses) == "success"


def test_provider_defaults_and_overrides() -> None:
    samsara = policy_for_provider("samsara")
    assert samsara.delays == RETRY_POLICIES["standard-webhooks"].delays
    assert "unpublished" in samsara.note or "does not publish" in samsara.note
    for name in ("powunity", "mettax", "smartgps", "unknown-provider"):
        assert policy_for_provider(name).max_attempts == 1, name
    assert policy_for_provider("powunity", {"retry": "traccar"}).max_attempts == 11
    assert policy_for_provider("mettax", {"retry": [2, "4s"]}).delays == (0.0, 2.0, 4.0)
    assert policy_for_provider("samsara", {"retry_jitter": True}).jitter


def test_only_genuine_copies_are_retried() -> None:
    assert GENUINE in RETRIED_COPIES and DUPLICATE not in RETRIED_COPIES


def test_policy_validation_and_describe() -> None:
    with pytest.raises(UsageError):
        RetryPolicy("bad", (1.0, 2.0))
    with pytest.raises(HarnessError):
        retry_policy("none").next_delay(0, "5xx", 500, None)
    assert "75h35m5s" in retry_policy("standard-webhooks").describe()
    assert format_seconds(0.1) == "100ms" and format_seconds(300) == "5m" and format_seconds(1.5) == "1.5s"
