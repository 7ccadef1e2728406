"""The shipped powunity-ebike-theft scenario shows what it promises: bikes/2, parked and armed in its Home
geofence overnight, is carried off; its webhooks carry the movement alarm, the Home exit and the power cut, in
that order, and the socket tells the same story."""

from __future__ import annotations

from functools import cache

from simulator.render.base import Message
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.stream import scenario_messages


@cache
def _theft() -> tuple[Message, ...]:
    scenario = load_scenario(scenarios_dir() / "powunity-ebike-theft.yaml")
    return tuple(m for m in scenario_messages(scenario) if m.device == "bikes/2")


def _story(kind: str) -> list[tuple[str, str | None]]:
    out = []
    for message in _theft():
        if message.kind != kind:
            continue
        events = [message.payload["event"]] if kind == "webhook" else message.payload.get("events", [])
        out += [(e["type"], e["attributes"].get("alarm")) for e in events]
    return out


def test_the_stolen_bike_raises_the_movement_alarm_leaves_home_and_loses_power() -> None:
    story = [step for step in _story("webhook") if step[0] in ("alarm", "geofenceExit", "geofenceEnter")]
    movement, exit_, power = ("alarm", "movement"), ("geofenceExit", None), ("alarm", "powerCut")
    assert movement in story and exit_ in story and power in story
    assert story.index(movement) < story.index(exit_) < story.index(power)
    assert ("geofenceEnter", None) not in story[: story.index(exit_)]  # it was home all along
    assert _story("socket_frame").count(movement) == 1


def test_the_geofence_exit_names_home_with_its_real_area_and_the_thief_moves_it() -> None:
    hooks = [m.payload for m in _theft() if m.kind == "webhook"]
    (exit_,) = [h for h in hooks if h["event"]["type"] == "geofenceExit"]
    assert exit_["geofence"]["name"] == "Home"
    assert exit_["geofence"]["area"] == "CIRCLE (48.256 16.4574, 400.0)"
    assert exit_["device"]["geofenceIds"] == []
    alarm = next(h for h in hooks if h["event"]["attributes"].get("alarm") == "movement")
    assert alarm["device"]["geofenceIds"] == [exit_["event"]["geofenceId"]]  # still home when it was moved
    assert alarm["position"]["attributes"]["armed"] is True
    moving = next(h for h in hooks if h["event"]["type"] == "deviceMoving")
    assert moving["position"]["attributes"]["motion"] is True and moving["position"]["speed"] > 0
    assert moving["position"]["attributes"]["ignition"] is False  # carried off, the motor never on
