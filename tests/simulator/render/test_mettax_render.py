"""MettaX renderer: every world event kind renders schema-valid pushes with the vendor's id links."""

from __future__ import annotations

import dataclasses
import itertools
import random
import time
from typing import Any

import orjson
import pytest

from simulator.providers import PROVIDERS
from simulator.providers.mettax.render import MettaXRenderer
from simulator.render.base import Message, Renderer
from simulator.validation import validate
from simulator.world.events import KINDS, Fix, WorldEvent
from simulator.world.fleet import Device, Driver, make_device, make_driver

T0 = 1_735_296_575.25  # 2024-12-27 10:49:35 UTC
TZ = -3 * 3600
ALL_FEATURES = frozenset({"camera", "dms", "adas", "rfid", "face_check", "reefer", "serial"})

#: (kind, attrs, expected alarmType or None) for every world event kind (dms/adas once per behaviour)
EVENTS: list[tuple[str, dict[str, Any], str | None]] = [
    ("position", {}, None),
    ("status", {}, None),
    ("ignition_on", {}, "accOn"),
    ("ignition_off", {}, "accOff"),
    ("moving", {}, None),
    ("stopped", {}, None),
    ("speeding_start", {"limit_kmh": 80.0, "speed_kmh": 97.4}, "overspeedWarning"),
    ("speeding_end", {"limit_kmh": 80.0, "max_kmh": 104.0, "duration_s": 42.0}, None),
    ("harsh_brake", {"g": 0.52}, "slow"),
    ("harsh_accel", {"g": 0.41}, "rapid"),
    ("harsh_turn", {"g": 0.47}, "wheel"),
    ("collision", {"g": 3.1}, "bang"),
    ("geofence_enter", {"geofence": "Depot Norte", "geofence_id": 1}, "inFence"),
    ("geofence_exit", {"geofence": "Depot Norte", "geofence_id": 1}, "outFence"),
    ("idling", {"duration_s": 600.0}, "idleSpeed"),
    ("fatigue", {"driving_s": 14_400.0}, "fatigueAlert"),
    ("rfid", {"status": "enter", "card": "7C3F88A9", "matched": True}, None),
    ("face_check", {"matched": True, "similarity": 8712, "result": 0, "face_id": "15"}, None),
    ("driver_change", {"previous": "Ana Souza"}, None),
    ("dms", {"behavior": "phone"}, "handheldPhoneCall"),
    ("dms", {"behavior": "smoking"}, "smoking"),
    ("dms", {"behavior": "distraction"}, "longTimeWithoutLookingAhead"),
    ("dms", {"behavior": "seat_belt"}, "seatBelt"),
    ("adas", {"behavior": "lane_departure"}, "laneShift"),
    ("adas", {"behavior": "forward_collision"}, "forwardCollisionWarning"),
    ("sos", {}, "sos"),
    ("tamper", {}, "tamper"),
    ("power_cut", {}, "powerCut"),
    ("power_restored", {}, None),
    ("block", {}, None),
    ("unblock", {}, None),
    ("offline", {}, None),
    ("online", {"gap_s": 1800.0}, None),
    ("sensor", {"temp_c": -18.5}, None),
    ("temperature", {"temp_c": -9.0, "setpoint_c": -18.0, "direction": "above", "duration_s": 900.0}, None),
    ("armed", {}, None),
    ("disarmed", {}, None),
    ("movement_alarm", {}, "shake"),
    ("low_battery", {"battery_pct": 12}, None),
]
CAMERA_KINDS = {"dms", "adas", "collision", "harsh_brake", "harsh_accel", "harsh_turn"}
DEVICE_INFO_KINDS = {"status", "ignition_on", "ignition_off", "power_cut", "power_restored", "block", "unblock"}


def device(seed: int = 1, features: frozenset[str] = ALL_FEATURES, tz: int = TZ) -> Device:
    return make_device(random.Random(seed), group="trucks", index=seed, number=seed, provider="mettax",
                       profile="truck", features=features, tz_offset_s=tz)


def driver(seed: int = 1) -> Driver:
    return make_driver(random.Random(seed), seed)


def fix(t: float = T0, **over: Any) -> Fix:
    base = Fix(t=t, lat=-23.550520, lon=-46.633308, speed_kmh=61.37, course=154, altitude_m=760.0, satellites=9,
               hdop=0.9, valid=True, ignition=True, moving=True, odometer_m=123_456.7, gsm_signal=24,
               ext_voltage=27.6, battery_pct=96)
    return dataclasses.replace(base, **over)


def event(dev: Device, kind: str, attrs: dict[str, Any] | None = None, *, t: float = T0, seq: int = 0,
          backfill: bool = False, drv: Driver | None = None, **fix_over: Any) -> WorldEvent:
    return WorldEvent(kind, dev, fix(t, **fix_over), t + (3600.0 if backfill else 0.8), seq, drv or driver(),
                      backfill, dict(attrs or {}))


def renderer(dev: Device, seed: int = 7, settings: dict[str, Any] | None = None) -> Renderer:
    return PROVIDERS["mettax"].renderer(dev, settings or {}, random.Random(seed))


def render_all(seed: int = 7, dev: Device | None = None, backfill: bool = False) -> list[list[Message]]:
    dev = dev or device()
    r = renderer(dev, seed)
    return [r.render(event(dev, k, a, t=T0 + 10 * i, seq=i, backfill=backfill)) for i, (k, a, _) in enumerate(EVENTS)]


def snowflake(msg_id: str) -> int:
    return int(msg_id.rsplit("_", 1)[-1])


def by_kind(msgs: list[Message], kind: str) -> list[Message]:
    return [m for m in msgs if m.kind == kind]


def test_registered() -> None:
    # the provider hands out its own renderer: the stream asks the provider, never a table keyed by name
    assert isinstance(PROVIDERS["mettax"].renderer(device(), {}, random.Random(1)), MettaXRenderer)


def test_table_covers_every_world_event_kind() -> None:
    assert {k for k, _, _ in EVENTS} == KINDS


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("backfill", [False, True])
def test_every_payload_validates(seed: int, backfill: bool) -> None:
    provider = PROVIDERS["mettax"]
    dev = device(seed)
    r = renderer(dev, seed)
    statuses = [m for i in range(12) for m in r.render(event(dev, "status", t=T0 + 60 * i, backfill=backfill))]
    kinds = set()
    for msgs in [*render_all(seed, dev, backfill), statuses]:
        for m in msgs:
            assert (m.provider, m.device) == ("mettax", dev.key)
            assert validate(provider, m.kind, m.payload) == [], (m.kind, m.payload)
            body = provider.envelope(m.kind, m.payload, message_id="x", settings={}).body
            assert validate(provider, "envelope", orjson.loads(body)) == []
            kinds.add(m.kind)
    assert kinds == set(provider.kinds) - {"capture_file"}


@pytest.mark.parametrize(("kind", "attrs", "code"), EVENTS, ids=[f"{k}-{a.get('behavior', '')}" for k, a, _ in EVENTS])
def test_messages_per_event(kind: str, attrs: dict[str, Any], code: str | None) -> None:
    dev = device()
    msgs = renderer(dev).render(event(dev, kind, attrs))
    if kind == "offline":
        assert msgs == []  # out of coverage: nothing is pushed; the gap arrives back-filled later
        return
    gps = msgs[0]
    assert gps.kind == "gps" and gps.source == kind
    alarms = by_kind(msgs, "alarm")
    assert [a.payload["alarmType"] for a in alarms] == ([code] if code else [])
    assert len(by_kind(msgs, "device_info")) == (kind in DEVICE_INFO_KINDS)
    for m in msgs:
        if m.kind in ("alarm", "device_info", "rfid", "face_check_result", "face_check_picture", "passthrough"):
            assert m.payload["id"] == gps.payload["id"]
        assert m.send_t >= gps.send_t
    if kind == "position":
        assert len(msgs) == 1


def test_gps_packet() -> None:
    dev = device()
    p = renderer(dev).render(event(dev, "position"))[0].payload
    assert p["actual"] is True and p["deviceId"] == dev.vendor_ids["device_id"] and p["num"] == 9 and p["course"] == 154
    assert (p["lat"], p["lon"], p["speed"]) == (-23.55052, -46.633308, 61.4)
    assert p["id"].startswith(dev.vendor_ids["device_id"] + "_") and len(p["id"].split("_")[1]) == 19
    assert p["deviceCt"] == int(T0)


def test_alarm_rides_on_its_gps_packet() -> None:
    dev = device()
    msgs = renderer(dev).render(event(dev, "speeding_start", {"limit_kmh": 80.0, "speed_kmh": 97.44}))
    gps, alarm = msgs
    assert alarm.kind == "alarm" and alarm.payload["id"] == gps.payload["id"]
    assert len(alarm.payload["alarmId"]) == 19 and alarm.payload["alarmId"] != snowflake(gps.payload["id"])
    assert alarm.payload["speed"] == 97.4
    assert (alarm.payload["reportCt"], alarm.payload["deviceCt"]) == (gps.payload["reportCt"], gps.payload["deviceCt"])


def test_geofence_name_is_the_alarm_attribute() -> None:
    dev = device()
    alarm = renderer(dev).render(event(dev, "geofence_exit", {"geofence": "Depot Norte", "geofence_id": 1}))[1]
    assert alarm.payload["alarmType"] == "outFence" and alarm.payload["alarmAttribute"] == "Depot Norte"


def test_speeding_codes_are_settings() -> None:
    dev = device()
    r = renderer(dev, settings={"speeding_alarm": "speed", "speeding_end_alarm": "speed"})
    start = r.render(event(dev, "speeding_start", {"limit_kmh": 80.0, "speed_kmh": 97.0}))
    end = r.render(event(dev, "speeding_end", {"limit_kmh": 80.0, "max_kmh": 104.0, "duration_s": 40.0}, t=T0 + 40))
    assert [m.payload["alarmType"] for m in start + end if m.kind == "alarm"] == ["speed", "speed"]


@pytest.mark.parametrize("seed", range(6))
def test_camera_alarm_files_follow_their_alarm(seed: int) -> None:
    dev = device(seed)
    for msgs in render_all(seed, dev):
        alarms = by_kind(msgs, "alarm")
        files = by_kind(msgs, "alarm_file")
        if msgs and msgs[0].source in CAMERA_KINDS:
            assert files and len(alarms) == 1
            alarm = alarms[0]
            assert files[0].payload["fileType"] == "00" and files[0].payload["fileUrl"].endswith(".jpg")
            for f in files:
                assert f.payload["id"] == alarm.payload["alarmId"]
                assert f.payload["deviceId"] == dev.vendor_ids["device_id"]
                assert 20.0 <= f.send_t - alarm.send_t <= 90.0
                assert f.payload["fileUrl"].startswith("https://files.imettax.com/mettaxftp/202412%2F")
            if len(files) == 2:
                assert files[1].payload["fileType"] == "02" and files[1].payload["fileUrl"].endswith(".mp4")
                assert files[1].send_t > files[0].send_t
        else:
            assert files == []


def test_no_alarm_files_without_a_camera() -> None:
    dev = device(features=frozenset({"rfid"}))
    msgs = [m for batch in render_all(7, dev) for m in batch]
    assert by_kind(msgs, "alarm") and not by_kind(msgs, "alarm_file")


def test_face_check_pair_shares_the_gps_id_in_either_order() -> None:
    orders = set()
    for seed in range(40):
        dev = device(seed % 5 + 1)
        msgs = renderer(dev, seed).render(event(dev, "face_check", {"matched": False, "similarity": 4100,
                                                                    "result": 1, "face_id": "15"}))
        gps, first, second = msgs
        assert {first.kind, second.kind} == {"face_check_result", "face_check_picture"}
        assert first.payload["id"] == second.payload["id"] == gps.payload["id"]
        assert 0.5 <= second.send_t - first.send_t <= 2.0
        result = first.payload if first.kind == "face_check_result" else second.payload
        assert result["compaResult"] == "1" and result["similarity"] == 4100 and result["messageType"] == "1"
        assert isinstance(result["lat"], str) and result["licensePlate"] == dev.plate
        orders.add(first.kind)
    assert orders == {"face_check_result", "face_check_picture"}


def test_face_check_picture_fails_when_the_function_is_off() -> None:
    dev = device()
    msgs = renderer(dev).render(event(dev, "face_check", {"matched": False, "similarity": 0, "result": 3}))
    picture = by_kind(msgs, "face_check_picture")[0].payload
    assert picture["status"] == "0" and "imageUrl" not in picture


def test_rfid_swipe() -> None:
    dev, drv = device(), driver()
    r = renderer(dev)
    enter = r.render(event(dev, "rfid", {"status": "enter", "card": drv.rfid, "matched": True}, drv=drv))[1].payload
    exit_ = r.render(event(dev, "rfid", {"status": "exit", "card": "0BADCAFE", "matched": False}, t=T0 + 60))[1]
    assert (enter["status"], exit_.payload["status"]) == (1, 2)
    assert enter["rfidNo"] == drv.rfid and enter["driverName"] == drv.name and enter["licensePlate"] == dev.plate
    assert (enter["lat"], enter["lon"]) == ("-23.550520", "-46.633308")
    assert "driverName" not in exit_.payload  # the platform knows no driver for a foreign card


def test_device_info_tracks_ignition_power_and_immobiliser() -> None:
    dev = device(features=frozenset())
    r = renderer(dev)

    def info(kind: str, t: float, **over: Any) -> dict[str, Any]:
        payload: dict[str, Any] = by_kind(r.render(event(dev, kind, t=t, **over)), "device_info")[0].payload
        return payload

    first = info("status", T0, ignition=False, moving=False, speed_kmh=0.0)
    assert first["acc"] == 0 and "accUpdateTime" not in first and first["blockedStatus"] == 0
    assert first["odometer"] == 123.5 and first["signal"] == 24 and first["quantity"] == 96 and first["elec"] == 1
    on = info("ignition_on", T0 + 100)
    assert on["acc"] == 1 and on["accUpdateTime"] == on["reportCt"]
    assert info("status", T0 + 400)["accUpdateTime"] == on["reportCt"]
    cut = info("power_cut", T0 + 500, ext_voltage=0.0)
    assert cut["elec"] == 0 and cut["voltage"] == 0
    assert info("block", T0 + 600)["blockedStatus"] == 1
    assert info("status", T0 + 700, valid=False)["localizationFailure"] is True
    assert info("unblock", T0 + 800)["blockedStatus"] == 0


def test_sensor_adc_encodes_tenths_of_a_degree() -> None:
    dev = device()
    r = renderer(dev)
    adc = [by_kind(r.render(event(dev, "sensor", {"temp_c": c}, t=T0 + i)), "sensor")[0].payload["adc"]
           for i, c in enumerate((-18.5, 4.0, 0.0))]
    assert adc == ["ff47", "0028", "0000"]


def test_serial_devices_pass_frames_through() -> None:
    dev = device()
    r = renderer(dev)
    found = [m for i in range(20) for m in r.render(event(dev, "status", t=T0 + 60 * i)) if m.kind == "passthrough"]
    assert found
    frames = orjson.loads(found[0].payload["message"])
    assert set(frames) == {"com1", "com2"} and int(frames["com1"], 16) >= 0


def test_snowflakes_strictly_increase_and_have_19_digits() -> None:
    dev = device()
    r = renderer(dev)
    seen: list[int] = []
    # live reports, then a back-filled gap whose reports are older but pushed later, then live again
    times = [(T0 + 10 * i, False) for i in range(50)] + [(T0 + 500 + 10 * i, True) for i in range(50)]
    times += [(T0 + 1100 + 10 * i, False) for i in range(50)]
    for i, (t, backfill) in enumerate(times):
        kind, attrs, _ = EVENTS[i % len(EVENTS)]
        for m in r.render(event(dev, kind, attrs, t=t, seq=i, backfill=backfill)):
            if m.kind == "gps":
                seen.append(snowflake(m.payload["id"]))
            elif m.kind in ("alarm", "sensor"):
                seen.append(int(m.payload.get("alarmId", m.payload["id"])))
    assert all(len(str(s)) == 19 for s in seen)
    assert all(a < b for a, b in itertools.pairwise(seen))


def test_backfilled_reports_are_not_actual_and_keep_their_times() -> None:
    for msgs in render_all(backfill=True):
        for m in msgs:
            if "actual" in m.payload:
                assert m.payload["actual"] is False
            if "deviceCt" in m.payload:
                assert m.payload["deviceCt"] < m.send_t - 3000  # device time, not the late push time


@pytest.mark.parametrize("tz", [-3 * 3600, 8 * 3600, 0, 5 * 3600 + 1800])
def test_report_ct_is_local_wall_clock(tz: int) -> None:
    exact = dataclasses.replace(device(tz=tz), clock_skew_s=0.0)
    for msgs in render_all(dev=exact):
        for m in msgs:
            if "reportCt" in m.payload:
                assert m.payload["reportCt"] - m.payload["deviceCt"] == tz
    skewed = dataclasses.replace(device(tz=tz), clock_skew_s=-1.7)
    p = renderer(skewed).render(event(skewed, "position"))[0].payload
    assert p["reportCt"] - p["deviceCt"] - tz == int(T0 - 1.7) - int(T0)  # device clock vs gateway clock


def test_key_order_is_shuffled_per_device_but_stable() -> None:
    orders = []
    for seed in range(1, 9):
        dev = device(seed)
        r = renderer(dev, seed)
        a = list(r.render(event(dev, "position"))[0].payload)
        b = list(r.render(event(dev, "position", t=T0 + 10))[0].payload)
        assert a == b
        orders.append(tuple(a))
    assert len(set(orders)) > 1


def test_same_seed_same_payloads() -> None:
    def run() -> list[tuple[str, float, list[tuple[str, Any]]]]:
        return [(m.kind, m.send_t, list(m.payload.items())) for msgs in render_all(11) for m in msgs]

    assert run() == run()
    assert run() != [(m.kind, m.send_t, list(m.payload.items())) for msgs in render_all(12) for m in msgs]


def test_positions_render_fast() -> None:
    dev = device()
    r = renderer(dev)
    events = [event(dev, "position", t=T0 + i, seq=i) for i in range(20_000)]
    start = time.perf_counter()
    for e in events:
        r.render(e)
    assert time.perf_counter() - start < 2.0


def test_whole_numbers_go_on_the_wire_without_a_fraction() -> None:
    """The vendor's GPS sample has `"speed":0` (seed 003): a parked device's speed, a cut supply's voltage and any
    other whole number are written as integers, fractional values as they are."""
    provider = PROVIDERS["mettax"]
    dev = device(features=frozenset())
    r = renderer(dev)
    parked = r.render(event(dev, "position", ignition=False, moving=False, speed_kmh=0.0))[0]
    body = provider.serialize(parked.payload)
    assert b'"speed":0,' in body or body.endswith(b'"speed":0}')
    assert b'"speed":0.0' not in body
    cut = by_kind(r.render(event(dev, "power_cut", t=T0 + 60, ext_voltage=0.0)), "device_info")[0]
    body = provider.serialize(cut.payload)
    assert b'"voltage":0' in body and b'"voltage":0.0' not in body
    assert b'"odometer":123.5' in body
    moving = r.render(event(dev, "position", t=T0 + 120, speed_kmh=61.37))[0]
    assert b'"speed":61.4' in provider.serialize(moving.payload)
    # the envelope carries the message string written the same way
    envelope = provider.envelope("gps", parked.payload, message_id="x", settings={})
    assert b'\\"speed\\":0,' in envelope.body or b'\\"speed\\":0}' in envelope.body


def test_vendor_gps_sample_round_trips_byte_for_byte() -> None:
    sample = (b'{"actual":true,"num":9,"lon":113.938709,"deviceId":"105045133913","speed":0,"reportCt":1724822445,'
              b'"course":154,"deviceCt":1724793630,"id":"105045133913_1234567893043003392","lat":22.577894}')
    decoded = orjson.loads(sample)
    decoded["speed"] = 0.0  # what a Python computation of the speed would hold
    assert PROVIDERS["mettax"].serialize(decoded) == sample
