"""`DeviceSim._drive` inlines `Drive.state_at` (it walks `Drive.rows` with its own cursor) and skips
`_run_scheduled` until `_scheduled_due`: every report made during a drive must carry the state the plain
query gives at its time."""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import Any

import pytest

from simulator.core.rounding import rounded
from simulator.scenario.loader import load_scenario
from simulator.world import vehicle
from simulator.world.motion import Drive, plan_drive
from simulator.world.sim import World

SCENARIOS = Path(__file__).parents[3] / "scenarios"


@pytest.mark.parametrize("name", ["bench-mixed.yaml", "powunity-ebike-theft.yaml", "samsara-cold-chain.yaml"])
def test_reports_during_a_drive_carry_the_plain_state(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(load_scenario(SCENARIOS / name))
    drives: list[tuple[float, Drive]] = []  # (start time, plan) of every drive, in order
    plan = plan_drive

    def recording_plan(*args: Any) -> Drive:
        drive = plan(*args)
        drives.append((sims[-1]._clock, drive))
        return drive

    sims: list[vehicle.DeviceSim] = []
    original_init = vehicle.DeviceSim.__init__

    def recording_init(self: vehicle.DeviceSim, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        sims.append(self)

    monkeypatch.setattr(vehicle, "plan_drive", recording_plan)
    monkeypatch.setattr(vehicle.DeviceSim, "__init__", recording_init)
    checked = 0
    for device in world.devices[:12]:
        drives.clear()
        events = [e for e in world.device_events(device) if e.kind in ("position", "speeding_start", "harsh_brake")]
        starts = [t0 for t0, _ in drives]
        for e in events:
            i = bisect.bisect_right(starts, e.fix.t) - 1
            if i < 0:
                continue
            t0, drive = drives[i]
            if not t0 < e.fix.t < t0 + drive.duration_s or (not e.fix.moving and e.kind == "position"):
                continue
            state = drive.state(e.fix.t - t0)
            assert e.fix.speed_kmh == rounded(state.speed_mps * 3.6, 1)
            assert e.fix.course == state.course
            assert e.fix.limit_kmh == state.limit_kmh
            checked += 1
    assert checked > 100
