"""Retry schedules (conformance catalogue H-2): named, exact policies, status classification, time compression.

Pure: the runner passes the attempt count, the response and (for jitter) a seeded `random.Random`.

A policy is the list of delays before each attempt, the first entry being the first attempt (always 0):
``standard-webhooks`` = 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: 10 attempts over 75 h 35 min 5 s.
Explicit lists in settings are the waits after each failure (settings.py's convention), as seconds or
durations: ``["5s", "5m"]`` means three attempts: now, 5 s after the first failure, 5 min after the second.
``[]`` is allowed and means one attempt.

Retries apply to the genuine copy of an event only (`RETRIED_COPIES`): duplicates and probes are sent once.

Time compression: `TimeScale` divides retry delays (so a 75 h schedule runs in CI). Signed timestamps are
never scaled: the runner always signs with the real wall clock (receivers check freshness against theirs),
and IDM-04 (long-horizon duplicates) needs real elapsed time, so its report must say when time was scaled.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Final, Literal

from ..errors import HarnessError, UnknownNameError, UsageError
from ..scenario.durations import parse_duration
from .model import GENUINE

Classification = Literal["success", "gone", "retry", "fail"]

#: copies the retry policy applies to
RETRIED_COPIES = frozenset({GENUINE})
#: statuses whose Retry-After is honoured
RETRY_AFTER_STATUSES = frozenset({429, 503})
#: longest explicit schedule accepted
MAX_ATTEMPTS = 1000

MINUTE, HOUR = 60.0, 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    """`delays[i]` is the wait before attempt i+1 (seconds, unscaled); `delays[0]` is always 0."""

    name: str
    delays: tuple[float, ...]
    note: str = ""
    jitter: bool = False  # "full jitter": each retry delay drawn uniformly from [0, scheduled delay]

    def __post_init__(self) -> None:
        validate_delays(self.delays, what=f"retry policy {self.name!r}")

    @property
    def max_attempts(self) -> int:
        return len(self.delays)

    @property
    def horizon_s(self) -> float:
        """Time from the first attempt to the last one when every attempt fails (no jitter, unscaled)."""
        return float(sum(self.delays))

    def scheduled_delay(self, attempt: int) -> float | None:
        """The unscaled wait after failed attempt number `attempt` (1-based), or None when none is left."""
        if attempt < 1:
            raise HarnessError(f"attempt numbers start at 1, not {attempt}")
        return self.delays[attempt] if attempt < len(self.delays) else None

    def next_delay(
        self,
        attempt: int,
        outcome: str,
        status: int | None,
        retry_after_s: float | None,
        *,
        rng: random.Random | None = None,
        time_scale: TimeScale | None = None,
    ) -> float | None:
        """Seconds to wait before retrying after failed attempt number `attempt` (1-based), or None to give up.

        One rule for every status (docs/delivery.md, "Retries"): give up on 410 (endpoint gone) and on a 2xx
        the provider does not count as success (see `classify`), and when the schedule has no attempts left.
        Everything else — 3xx (redirects are never followed, so they are failures like any other), 4xx, 5xx,
        429 and transport errors (`status` None; `outcome` names them) — is retried on the schedule.

        With jitter the scheduled delay d becomes uniform(0, d) ("full jitter"; needs `rng`). `time_scale`
        scales the schedule, never the receiver's own wishes: for 429/503 with a Retry-After, the wait is
        Retry-After in real seconds, at least the scaled delay and at most 2·d (d unscaled: H-2's cap), so a
        receiver asking for 2 s is not hit again after a millisecond because the run is compressed.
        """
        if status is not None and _gives_up(status):
            return None
        unscaled = self.scheduled_delay(attempt)
        if unscaled is None:
            return None
        scheduled = time_scale.scale(unscaled) if time_scale is not None else unscaled
        if retry_after_s is not None and status in RETRY_AFTER_STATUSES and math.isfinite(retry_after_s):
            return max(scheduled, min(max(retry_after_s, 0.0), 2.0 * unscaled))
        if self.jitter:
            if rng is None:
                raise HarnessError(f"retry policy {self.name!r} uses jitter: pass a seeded rng")
            return rng.uniform(0.0, scheduled)
        return scheduled

    def describe(self) -> str:
        retries = self.max_attempts - 1
        text = f"{self.name}: {self.max_attempts} attempt{'s' if self.max_attempts != 1 else ''}"
        if retries:
            waits = ", ".join(format_seconds(d) for d in self.delays[1:])
            text += f" ({waits}; horizon {format_seconds(self.horizon_s)})"
        if self.jitter:
            text += ", full jitter"
        return text + (f" — {self.note}" if self.note else "")


def _gives_up(status: int) -> bool:
    return status == 410 or 200 <= status < 300


def validate_delays(delays: Sequence[float], *, what: str) -> None:
    """H-5: non-empty, first 0, finite, non-negative, non-decreasing, at most MAX_ATTEMPTS."""
    if not delays:
        raise UsageError(f"{what}: the schedule is empty; give at least [0] (one attempt, no retries)")
    if len(delays) > MAX_ATTEMPTS:
        raise UsageError(f"{what}: {len(delays)} attempts; at most {MAX_ATTEMPTS} are supported")
    for i, d in enumerate(delays):
        if isinstance(d, bool) or not isinstance(d, int | float) or not math.isfinite(d) or d < 0:
            raise UsageError(f"{what}: delay #{i + 1} must be a non-negative number of seconds, not {d!r}")
    if delays[0] != 0:
        raise UsageError(f"{what}: the first entry is the first attempt and must be 0 (got {delays[0]!r})")
    for i in range(2, len(delays)):
        if delays[i] < delays[i - 1]:
            raise UsageError(f"{what}: delays must not decrease (retry #{i - 1} waits {delays[i - 1]:g} s, "
                             f"retry #{i} {delays[i]:g} s)")


# --- registry ---------------------------------------------------------------------------------------------

RETRY_POLICIES: dict[str, RetryPolicy] = {}


def register(policy: RetryPolicy) -> RetryPolicy:
    if policy.name in RETRY_POLICIES:
        raise HarnessError(f"retry policy {policy.name!r} is registered twice")
    RETRY_POLICIES[policy.name] = policy
    return policy


def exponential(base_s: float, factor: float, cap_s: float, attempts: int) -> tuple[float, ...]:
    """0, then base·factor^n capped at cap_s, for `attempts` attempts in all."""
    return (0.0, *(min(cap_s, base_s * factor**n) for n in range(attempts - 1)))


register(RetryPolicy("none", (0.0,), "one attempt, never re-sent"))
register(RetryPolicy(
    "standard-webhooks",
    (0.0, 5.0, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 14 * HOUR, 20 * HOUR, 24 * HOUR),
    "Standard Webhooks spec schedule (the spec also asks for jitter)",
))
register(RetryPolicy(
    "svix",
    (0.0, 5.0, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR),
    "docs.svix.com/retries",
))
# Traccar's PositionForwardingHandler doubles its 100 ms delay on every retry (conformance-catalogue H-2)
register(RetryPolicy("traccar", (0.0, *(0.1 * 2**n for n in range(10))),
                     "Traccar position forwarding: 100 ms doubling, 10 retries"))
register(RetryPolicy("exponential", exponential(1.0, 2.0, HOUR, 8), "base 1 s, factor 2, cap 1 h, 8 attempts"))


def retry_policy(spec: str | Sequence[float | str] | RetryPolicy, *, jitter: bool = False) -> RetryPolicy:
    """A policy from a name in RETRY_POLICIES, or an explicit list of the waits after each failure (seconds or
    durations such as "5m"; the first attempt is implicit and immediate)."""
    if isinstance(spec, RetryPolicy):
        policy = spec
    elif isinstance(spec, str):
        if spec not in RETRY_POLICIES:
            raise UnknownNameError("retry policy", spec, RETRY_POLICIES)
        policy = RETRY_POLICIES[spec]
    elif isinstance(spec, Sequence):
        waits = []
        for i, item in enumerate(spec):
            try:
                waits.append(parse_duration(item))
            except ValueError as exc:
                raise UsageError(f"retry schedule: delay #{i + 1}: {exc}") from None
        delays = (0.0, *waits)
        validate_delays(delays, what="retry schedule")
        policy = RetryPolicy("custom", delays, "explicit schedule from settings")
    else:
        raise UsageError(f"retry: expected a policy name or a list of delays in seconds, not {type(spec).__name__}")
    return replace(policy, jitter=True) if jitter and not policy.jitter else policy


def policy_for_provider(provider: str, settings: Mapping[str, Any] | None = None) -> RetryPolicy:
    """The provider's default policy (`Provider.retry_default`), or `settings["retry"]` (a name or a list) when
    given; `settings["retry_jitter"]` turns on full jitter."""
    from ..providers import PROVIDERS

    settings = settings or {}
    jitter = bool(settings.get("retry_jitter", False))
    if "retry" in settings:
        return retry_policy(settings["retry"], jitter=jitter)
    known = PROVIDERS.get(provider)
    name, note = known.retry_default if known else ("none", f"{provider}: no documented retries")
    return retry_policy(replace(RETRY_POLICIES[name], note=note), jitter=jitter)


#: what counts as success when a provider names no success statuses
ANY_2XX: Final = frozenset(range(200, 300))


def success_set(success_statuses: frozenset[int] | None) -> frozenset[int]:
    """The statuses `classify` calls "success": the provider's set, or any 2xx when it names none."""
    return ANY_2XX if success_statuses is None else success_statuses


def classify(status: int | None, success_statuses: frozenset[int] | None) -> Classification:
    """One attempt's result (H-2).

    - "success": in the provider's success set (None: any 2xx; PowUnity only 200/201);
    - "gone": 410, the endpoint is gone: stop it, its remaining events become skipped endpoint_gone_410;
    - "fail": a 2xx outside the success set (the receiver took the request, so re-sending would duplicate it;
      PowUnity's 204);
    - "retry": everything else (3xx — never followed —, 4xx, 5xx, 429, transport errors = `status` None), as
      long as the policy has attempts left.
    """
    if status is None:
        return "retry"
    if status in success_set(success_statuses):
        return "success"
    if status == 410:
        return "gone"
    if 200 <= status < 300:
        return "fail"
    return "retry"


# --- time compression -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeScale:
    """Retry delays are divided by `factor` (3600: an hour of schedule takes a second). Only delays are
    scaled; signed timestamps always use the real clock (the runner's job)."""

    factor: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.factor) and self.factor > 0):
            raise UsageError(f"time scale must be a positive number, not {self.factor!r}")

    @classmethod
    def parse(cls, text: str | float) -> TimeScale:
        """"3600", "x3600" or "1/3600" (all: 3600 times faster). A value below 1 is read as the multiplier
        the catalogue writes (1/3600), since slowing retries down is never wanted."""
        raw = str(text).strip().lower().removeprefix("x")
        try:
            value = float(Fraction(raw))
        except (ValueError, ZeroDivisionError):
            raise UsageError(f"time scale {str(text)!r}: expected a speed-up like 3600 or 1/3600") from None
        if value <= 0 or not math.isfinite(value):
            raise UsageError(f"time scale {str(text)!r} must be positive")
        return cls(1.0 / value if value < 1 else value)

    def scale(self, seconds: float) -> float:
        return seconds / self.factor

    def delay(self, seconds: float | None) -> float | None:
        return None if seconds is None else seconds / self.factor


def format_seconds(seconds: float) -> str:
    """5 -> "5s", 300 -> "5m", 272105 -> "75h35m5s", 0.1 -> "100ms"."""
    seconds = round(seconds, 3)
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    whole = int(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    parts = [f"{h}h" if h else "", f"{m}m" if m else "", f"{s}s" if s else ""]
    frac = seconds - whole
    text = "".join(parts) or "0s"
    return text if frac < 1e-9 else f"{seconds:g}s"

