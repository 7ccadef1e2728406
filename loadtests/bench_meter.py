"""The load benchmark's meter, loaded beside the locustfile under test (`locust -f THAT.py,loadtests/bench_meter.py`):
the requests, the wall time and this process's CPU time from the moment every user runs (spawning_complete) to
the moment the test starts stopping (test_stopping, before the users stop), written as JSON to the file named by
$FLEETSIM_BENCH_METER.

Beside Locust's own requests/s, which counts from the start of the ramp-up: the rate once every user runs, and
the CPU time per request, which on a shared machine is steadier than any rate (other processes on the pinned
core take its time, not the work each request costs); and Locust's own rate beside them. loadtests/bench.py
reports all three.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from locust import events
from locust.env import Environment

ENV = "FLEETSIM_BENCH_METER"
_SEEN: dict[str, Any] = {}


def _reading() -> tuple[int, float, float]:
    environment: Environment = _SEEN["environment"]
    assert environment.runner is not None
    cpu = os.times()
    return environment.runner.stats.total.num_requests, time.perf_counter(), cpu.user + cpu.system


def _init(environment: Environment, **_: Any) -> None:
    _SEEN["environment"] = environment


def _spawned(user_count: int, **_: Any) -> None:
    _SEEN.setdefault("start", _reading())  # the first time every user runs (a shape may spawn again later)


def _stopping(environment: Environment, **_: Any) -> None:
    path = os.environ.get(ENV)
    if not path or "start" not in _SEEN:
        return
    (n0, t0, c0), (n1, t1, c1) = _SEEN["start"], _reading()
    requests = n1 - n0
    assert environment.runner is not None
    with open(path, "w") as out:
        json.dump({"requests": requests, "seconds": t1 - t0, "cpu_seconds": c1 - c0,
                   "per_s": requests / (t1 - t0) if t1 > t0 else 0.0,
                   "cpu_us_per_request": (c1 - c0) / requests * 1e6 if requests else 0.0,
                   # Locust's own figure, read here rather than from its --csv file, which it rewrites only
                   # every few seconds and so may miss the end of a short run
                   "whole_run_per_s": environment.runner.stats.total.total_rps}, out)


events.init.add_listener(_init)  # type: ignore[no-untyped-call]
events.spawning_complete.add_listener(_spawned)  # type: ignore[no-untyped-call]
events.test_stopping.add_listener(_stopping)  # type: ignore[no-untyped-call]
