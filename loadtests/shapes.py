"""Load shapes for telematics traffic, as pure functions of elapsed time (the Locust shape class in
locustfile.py only asks them). Each returns (users, spawn rate) for second `t` of a run of `length` seconds, or
None when the run is over; `users` and `rate` are the run's --users and --spawn-rate (the peak).

- steady: a fleet on the road, reporting at its regular intervals: the peak throughout.
- ignition-storm: the morning start, when a depot's vehicles switch on within minutes: from a tenth of the fleet
  to all of it in the first fifth of the run, spawned at five times the spawn rate, then steady.
- reconnect-burst: a network outage and what follows: a third of the fleet, nothing for a tenth of the run (the
  outage), then every device at once flushing its backlog (all users, spawned at once) for a fifth of it,
  then back to a third.
- spike: a third of the fleet with one tenth of the run at the peak halfway through.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["DEFAULT_CYCLE_S", "SHAPES", "Tick"]

Tick = tuple[int, float] | None
Shape = Callable[[float, float, int, float], Tick]
#: the length a shape repeats over when the run has no --run-time (the web UI): one cycle a minute
DEFAULT_CYCLE_S = 60.0


def _share(users: int, share: float) -> int:
    return max(1, round(users * share))


def steady(t: float, length: float, users: int, rate: float) -> Tick:
    return (users, rate)


def ignition_storm(t: float, length: float, users: int, rate: float) -> Tick:
    progress = min(1.0, t / (0.2 * length))
    return (_share(users, 0.1 + 0.9 * progress), rate * 5)


def reconnect_burst(t: float, length: float, users: int, rate: float) -> Tick:
    phase = t / length
    if 0.3 <= phase < 0.4:
        return (0, float(users))  # the outage: every connection gone
    if 0.4 <= phase < 0.6:
        return (users, float(users))  # the backlog: all devices reconnect at once
    return (_share(users, 1 / 3), rate)


def spike(t: float, length: float, users: int, rate: float) -> Tick:
    peak = 0.5 <= t / length < 0.6
    return (users, float(users)) if peak else (_share(users, 1 / 3), rate)


SHAPES: dict[str, Shape] = {
    "steady": steady,
    "ignition-storm": ignition_storm,
    "reconnect-burst": reconnect_burst,
    "spike": spike,
}


def tick(name: str, t: float, run_time: float | None, users: int, rate: float) -> Tick:
    """Shape `name` at second `t`: within `run_time` (None: cycling every DEFAULT_CYCLE_S, for the web UI)."""
    if run_time is not None and t >= run_time:
        return None
    length = run_time or DEFAULT_CYCLE_S
    return SHAPES[name](t % length, length, users, rate)
