"""The words of scenario errors: located, naming the field, saying what was expected and what was found."""

from __future__ import annotations

import pytest

from simulator.scenario.loader import ScenarioError, load_scenario_text
from simulator.scenario.model import ReportIntervals

HEAD = "name: t\nseed: 1\nstart: 2026-03-03T08:00:00\nduration: 1h\nregion: {city: vienna}\n"
GROUP = "fleet:\n  - {name: a, count: 3, provider: mettax, profile: car%s}\n"


def group(extra: str = "") -> str:
    """The one-group fleet, with `extra` fields (a count in `extra` replaces the default count)."""
    text = GROUP % extra
    return text.replace("count: 3, ", "") if ", count:" in extra else text


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "s.yaml", env={})
    return info.value.problems


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (", risk: hihg", "s.yaml:7:63: fleet[0].risk: unknown risk preset 'hihg'; did you mean 'high'?"),
        (", risk: 5", "fleet[0].risk: expected a risk preset (low, medium or high) or a mapping"),
        (", risk: {phone_per_h: -1}", "fleet[0].risk.phone_per_h: expected a number from 0 to 1000, found -1"),
        (", risk: {preset: hi}", "fleet[0].risk.preset: unknown risk preset 'hi'; did you mean 'high'?"),
        (", risk: {phone_per_hour: 1}", "fleet[0].risk.phone_per_hour: unknown field 'phone_per_hour'; did you "
                                        "mean 'phone_per_h'?"),
        (", features: [dms, dms]", "fleet[0].features: items must be unique; 'dms' is listed more than once"),
        (", features: [lidar]", "fleet[0].features[0]: unknown feature 'lidar'"),
        (", Count: 3", "fleet[0].Count: unknown field 'Count'; did you mean 'count'?"),
        (", shift: {start: 2h}", "fleet[0].shift.start: the shift starts at 2h, after the scenario ends (1h)"),
        (", shift: {length: 0s}", "fleet[0].shift.length: must be more than 0s"),
        (", report_intervals: {moving: 500ms}", "fleet[0].report_intervals.moving: must be at least 1s, found 500ms"),
        (", dwell: 30m1h", "fleet[0].dwell: duration '30m1h': units must go from largest to smallest"),
        (", stops_per_trip: 2.5", "fleet[0].stops_per_trip: expected a whole number, found 2.5"),
        (", count: yes", "fleet[0].count: expected a whole number, found true"),
    ],
)
def test_group_messages(extra: str, expected: str) -> None:
    found = problems(HEAD + group(extra))
    assert any(expected in p for p in found), found


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        ("injections: [{at: 1m, device: a/0, event: sos}]", "injections[0].device: device numbers start at 1"),
        ("injections: [{at: 1m, device: a/" + "9" * 5000 + ", event: sos}]", "there is no a/99999999999999999..."),
        ("injections: [{at: 1m, device: b/1, event: sos}]", "no fleet group named 'b' (groups: a)"),
        ("injections: [{at: 1m, device: a/1, event: reefer_fault, duration: 1m}]", "needs the reefer feature"),
        ("injections: [{at: 1m, device: a/1, event: speeding, duration: 0s}]", "needs a duration of more than 0s"),
        ("injections: [{at: 1m, device: a/1, event: sso}]", "unknown event 'sso'; did you mean 'sos'?"),
        ("geofences: [{name: g}]", "geofences[0]: expected exactly one of `circle` or `polygon`, found none of them"),
        ("geofences: [{name: g, circle: {center: {lat: 48.2, lon: 16.37}, radius_m: 0}}]",
         "geofences[0].circle.radius_m: expected a number > 0 and <= 100000, found 0"),
        ("geofences: [{name: g, circle: {center: {lat: 95, lon: 0}, radius_m: 5}}]",
         "geofences[0].circle.center.lat: expected a number from -90 to 90, found 95"),
        ("geofences: [{name: g, circle: {center: {lat: 48.2, lon: 16.37}, radius_m: 5}}, "
         "{name: g, circle: {center: {lat: 48.2, lon: 16.37}, radius_m: 5}}]",
         "geofences[1].name: duplicate geofence name 'g'"),
        ("delivery: {providers: {samsra: {}}}", "delivery.providers.samsra: unknown field 'samsra'; did you mean"),
        ("delivery: {providers: {samsara: {payload_version: 3}}}",
         "delivery.providers.samsara.payload_version: expected one of 1, 2, found 3"),
        ("delivery: {providers: {mettax: {envelope: xml}}}", "unknown envelope 'xml'"),
        ("delivery: {providers: {smartgps: {secret: a, secret_env: B}}}", "give either secret or secret_env"),
        ("delivery: {rate: 60}", "delivery.rate: expected \"realtime\", \"max\" or \"x<factor>\""),
        ("delivery: {faults: {reorder_window: -1}}", "delivery.faults.reorder_window: expected a whole number from 0"),
        ("delivery: {faults: {delay: 5 ms}}", "delivery.faults.delay: expected a duration"),
    ],
)
def test_other_messages(tail: str, expected: str) -> None:
    found = problems(HEAD + group() + tail + "\n")
    assert any(expected in p for p in found), found


@pytest.mark.parametrize(
    ("settings", "secret"),
    [
        ("samsara: {secret: 12345678}", "12345678"),
        ("samsara: {secret: 'not base64!!'}", "not base64!!"),
        ("samsara: {secret_env: 'c2VjcmV0IQ=='}", "c2VjcmV0IQ=="),
        ("samsara: {secret_env: mysupersecretvalue}", "mysupersecretvalue"),
        ("powunity: {psk: ' Bearer padded '}", "Bearer padded"),
        ("powunity: {psk: [Bearer-in-a-list]}", "Bearer-in-a-list"),
        ("mettax: {secret: topsecret}", "topsecret"),
        # a settings mapping broken into text (found by the YAML fuzzer): the text may hold the PSK
        ('powunity: 0 "Bearer demo-psk"', "Bearer demo-psk"),
        ('powunity: {psk "Bearer demo-psk"}', "Bearer demo-psk"),
    ],
)
def test_secrets_are_never_echoed(settings: str, secret: str) -> None:
    found = problems(HEAD + group() + f"delivery: {{providers: {{{settings}}}}}\n")
    assert found and all(secret not in p for p in found), found
    assert all("delivery.providers." in p for p in found), found


def test_a_misspelled_required_field_is_reported_once() -> None:
    found = problems(HEAD.replace("seed: 1", "sed: 1") + group())
    assert found == ["s.yaml:2:1: sed: unknown field 'sed'; did you mean 'seed'?"]


@pytest.mark.parametrize(("duration", "said"), [
    ("99999999d", "must be at most 366d, found 99999999d"),
    ("forever", "or a number of seconds, found 'forever'"),
    ("0s", "must be more than 0s"),
])
def test_a_refused_duration_is_said_once_not_again_by_everything_measured_against_it(duration: str,
                                                                                  said: str) -> None:
    # the placeholder duration (1s) once made every injection "not before the end of the scenario (duration 1s)"
    text = HEAD.replace("duration: 1h", f"duration: {duration}") + group(", shift: {start: 2h}") + \
        "injections:\n  - {at: 10m, device: a/1, event: harsh_brake}\n"
    found = problems(text)
    assert len(found) == 1 and found[0].startswith("s.yaml:4:11: duration: ") and said in found[0], found


def test_all_schema_problems_are_listed_best_match_first_then_in_file_order() -> None:
    text = HEAD.replace("name: t", "name: 't t'").replace("seed: 1", "seed: -1") + group(", count: 0")
    found = problems(text)
    fields = [p.split(": ", 1)[1].split(":")[0] for p in found]
    assert sorted(fields) == ["fleet[0].count", "name", "seed"]
    assert fields[0] != "fleet[0].count"  # jsonschema's best match prefers problems higher up in the document
    lines = [int(p.split(":")[1]) for p in found[1:]]
    assert lines == sorted(lines)


def test_report_intervals_inherit_field_by_field() -> None:
    text = HEAD + "report_intervals: {parked: 3m}\n" + group(", report_intervals: {moving: 5s}")
    text += "  - {name: b, count: 1, provider: smartgps, profile: bus}\n"
    a, b = load_scenario_text(text).groups
    assert a.report == ReportIntervals(moving_s=5.0, parked_s=180.0, heartbeat_s=900.0)
    assert b.report == ReportIntervals(moving_s=10.0, parked_s=180.0, heartbeat_s=900.0)


def test_an_offset_out_of_range_is_said_in_the_scenarios_terms() -> None:
    found = problems(HEAD.replace("2026-03-03T08:00:00", '"2026-03-03T08:00:00+25:00"') + group())
    assert found == ["s.yaml:3:8: start: not a valid date-time: the UTC offset must lie between -23:59 and +23:59"]
