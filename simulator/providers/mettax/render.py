"""MettaX IotHub pushes from world events (seed 003, provider-facts §5).

Every reported event rides on a GPS packet (`gps`); alarms, status reports, RFID swipes and face checks attached
to that packet carry the packet's `id` ("<deviceId>_<snowflake>"). Mapping (event → messages):

| event | messages |
|---|---|
| position, moving, stopped, driver_change, speeding_end (setting `speeding_end_alarm`, default none) | gps |
| status | gps + device_info (+ passthrough, half the time, on devices with feature "serial") |
| ignition_on / ignition_off | gps + alarm accOn / accOff + device_info |
| power_cut | gps + alarm powerCut + device_info (elec 0) |
| power_restored, block, unblock | gps + device_info (elec / blockedStatus changed) |
| speeding_start | gps + alarm overspeedWarning (setting `speeding_alarm`), speed = attrs.speed_kmh |
| harsh_brake / harsh_accel / harsh_turn / collision | gps + alarm slow / rapid / wheel / bang |
| geofence_enter / geofence_exit | gps + alarm inFence / outFence, alarmAttribute = fence name |
| idling / fatigue / sos / tamper / movement_alarm | gps + alarm idleSpeed / fatigueAlert / sos / tamper / shake |
| dms phone / smoking / distraction / seat_belt | gps + alarm handheldPhoneCall / smoking / |
|   | longTimeWithoutLookingAhead / seatBelt |
| adas lane_departure / forward_collision | gps + alarm laneShift / forwardCollisionWarning |
| rfid | gps + rfid (status 1 enter / 2 exit) |
| face_check | gps + face_check_result and face_check_picture, same id, either order, 0.5–2 s apart |
| sensor | gps + sensor (adc) |
| offline | nothing (the device is out of coverage; the gap later arrives as back-filled actual=false reports) |
| online | gps (the reconnect report; no blind-spot alarm: in/outGpsBlindSpots mean lost GNSS, not lost GSM) |
| temperature, armed, disarmed, low_battery | gps (no MettaX code) |

Camera alarms (dms, adas, collision, harsh_*) on a device with feature camera, dms or adas are followed by an
`alarm_file` picture ("00") 20–60 s later and, 60 % of the time, a video ("02") before 90 s; both carry the
alarm's `alarmId` as `id`.

Clocks (decision; the vendor only says "device time zone" vs "gateway, UTC+0"): `fix.t` is the true UTC time of
the fix. The device's clock reads `fix.t + clock_skew_s`; `reportCt` is that clock as local wall-clock time
encoded as an epoch (`+ tz_offset_s`). `deviceCt` is the gateway's UTC stamp, `int(fix.t)`, also for back-filled
reports (they keep their original times). So `reportCt − deviceCt` is the UTC offset give or take the device's
skew (the vendor sample shows 28815 s for UTC+8). `accUpdateTime` is on the device clock like `reportCt`.

Snowflakes are Twitter-style: (epoch ms − Twitter epoch 1288834974657) << 22 | a per-device 10-bit worker << 12,
bumped to last + 1 when not larger, so they strictly increase per device (19 digits from 2018 to 2080). The
platform mints them on receipt, so the time is the event's `send_t`.

`adc` of `sensor` encodes the reefer temperature as a signed 16-bit big-endian integer in 0.1 °C, 4 lower-case
hex digits (-18.5 °C → "ff47"). `blockedStatus` is 1 while the immobiliser is engaged (the field's name; the
vendor's "oil and electricity status 0 off/1 on" is ambiguous). Keys come out in a per-device shuffled, stable
order per kind, like the vendor's hash maps.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from math import floor as _floor
from typing import Any

from ...render.base import NO_MESSAGES, Message, NoMessages, wants
from ...world.events import WorldEvent
from ...world.fleet import Device

_TWEPOCH_MS = 1288834974657
_P = "mettax"
_FILE_HOST = "https://files.imettax.com/mettaxftp/"

_GPS_KEYS = ("actual", "deviceId", "reportCt", "deviceCt", "num", "lon", "lat", "speed", "course", "id")
#: every key a kind may carry; each device shuffles these once
_KEYS: dict[str, tuple[str, ...]] = {
    "device_info": ("acc", "actual", "blockedStatus", "odometer", "elec", "deviceId", "reportCt", "ioStatus",
                    "deviceCt", "id", "signal", "voltage", "quantity", "accUpdateTime", "localizationFailure"),
    "alarm": ("actual", "deviceId", "reportCt", "deviceCt", "alarmType", "id", "alarmId", "lat", "lon", "speed",
              "alarmAttribute"),
    "alarm_file": ("id", "deviceId", "fileUrl", "fileType"),
    "sensor": ("id", "deviceId", "reportCt", "deviceCt", "adc"),
    "passthrough": ("message", "deviceId", "reportCt", "deviceCt", "id"),
    "rfid": ("id", "deviceId", "lat", "lon", "rfidNo", "status", "deviceCt", "reportCt", "licensePlate",
             "driverName"),
    "face_check_result": ("id", "deviceId", "faceId", "lat", "lon", "compaResult", "similarity", "reportCt",
                          "deviceCt", "licensePlate", "driverName", "messageType"),
    "face_check_picture": ("id", "deviceId", "imageUrl", "status", "messageType"),
}

_ALARMS = {
    "ignition_on": "accOn", "ignition_off": "accOff", "power_cut": "powerCut", "harsh_brake": "slow",
    "harsh_accel": "rapid", "harsh_turn": "wheel", "collision": "bang", "geofence_enter": "inFence",
    "geofence_exit": "outFence", "idling": "idleSpeed", "fatigue": "fatigueAlert", "sos": "sos", "tamper": "tamper",
    "movement_alarm": "shake",
}
_BEHAVIOURS = {
    "dms": {"phone": "handheldPhoneCall", "smoking": "smoking", "distraction": "longTimeWithoutLookingAhead",
            "seat_belt": "seatBelt"},
    "adas": {"lane_departure": "laneShift", "forward_collision": "forwardCollisionWarning"},
}
_DEVICE_INFO = frozenset({"status", "ignition_on", "ignition_off", "power_cut", "power_restored", "block", "unblock"})
_CAMERA_EVENTS = frozenset({"dms", "adas", "collision", "harsh_brake", "harsh_accel", "harsh_turn"})
_CAMERA_FEATURES = frozenset({"camera", "dms", "adas"})
_PASSTHROUGH_SHARE = 0.5
_VIDEO_SHARE = 0.6

GpsBuilder = Callable[[bool, str, int, int, int, float, float, float, int, str], dict[str, Any]]
_GPS_BUILDERS: dict[tuple[str, ...], GpsBuilder] = {}


def _gps_builder(order: tuple[str, ...]) -> GpsBuilder:
    """A function returning the GPS dict literal in `order`: 4× faster than reordering a dict per message."""
    builder = _GPS_BUILDERS.get(order)
    if builder is None:
        src = f"def build({', '.join(_GPS_KEYS)}):\n    return {{{', '.join(f'{k!r}: {k}' for k in order)}}}\n"
        namespace: dict[str, Any] = {}
        exec(compile(src, "<mettax-gps>", "exec"), namespace)
        builder = namespace["build"]
        _GPS_BUILDERS[order] = builder
    return builder


def _stamp(t: float) -> tuple[str, str]:
    """('yyyymm', 'yyyymmddHH') of a UTC epoch, as in the vendor's file names."""
    tm = time.gmtime(int(t))
    month = f"{tm.tm_year:04d}{tm.tm_mon:02d}"
    return month, f"{month}{tm.tm_mday:02d}{tm.tm_hour:02d}"


def _coord(x: float) -> str:
    return f"{x:.6f}"


def _adc(temp_c: float) -> str:
    return f"{round(temp_c * 10) & 0xFFFF:04x}"


class MettaXRenderer:
    __slots__ = ("_acc", "_acc_ct", "_blocked", "_camera", "_device", "_did", "_gps", "_key", "_last", "_orders",
                 "_prefix", "_rng", "_serial", "_skew", "_speeding", "_speeding_end", "_tz", "_worker")

    #: the world event kinds it reads (render.base.Renderer.reads): all (a GPS packet for every event)
    reads: frozenset[str] | None = None

    def __init__(self, device: Device, settings: Mapping[str, Any], rng: random.Random) -> None:
        self._device = device
        self._rng = rng
        self._key = device.key
        self._did = device.vendor_ids["device_id"]
        self._prefix = device.vendor_ids["device_id"] + "_"
        self._tz = device.tz_offset_s
        self._skew = device.clock_skew_s
        self._camera = bool(device.features & _CAMERA_FEATURES)
        self._serial = "serial" in device.features
        self._speeding: str | None = str(settings.get("speeding_alarm", "overspeedWarning")) or None
        end = settings.get("speeding_end_alarm")
        self._speeding_end: str | None = str(end) if end else None
        self._worker = rng.getrandbits(10) << 12
        self._last = 0
        self._acc: bool | None = None
        self._acc_ct: int | None = None
        self._blocked = False
        gps_order = list(_GPS_KEYS)
        rng.shuffle(gps_order)
        self._gps = _gps_builder(tuple(gps_order))
        self._orders: dict[str, tuple[str, ...]] = {}
        for kind, keys in _KEYS.items():
            order = list(keys)
            rng.shuffle(order)
            self._orders[kind] = tuple(order)

    def _snowflake(self, t: float) -> int:
        sf = ((int(t * 1000) - _TWEPOCH_MS) << 22) | self._worker
        if sf <= self._last:
            sf = self._last + 1
        self._last = sf
        return sf

    def _ordered(self, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        return {k: fields[k] for k in self._orders[kind] if k in fields}

    def render(self, event: WorldEvent) -> list[Message]:
        kind = event.kind
        if kind == "offline":
            return []
        fix = event.fix
        t = fix.t
        send_t = event.send_t
        report_ct = int(t + self._skew) + self._tz
        device_ct = int(t)
        ignition = fix.ignition
        if ignition is not self._acc:
            if self._acc is not None:
                self._acc_ct = report_ct
            self._acc = ignition
        sf = ((int(send_t * 1000) - _TWEPOCH_MS) << 22) | self._worker
        if sf <= self._last:
            sf = self._last + 1
        self._last = sf
        gid = self._prefix + str(sf)
        actual = not event.backfill
        # floor(x * 10^n + 0.5) / 10^n: the double nearest the n-decimal value (prints with <= n decimals), at
        # a third of the cost of round(x, n) on this hot path
        gps = self._gps(actual, self._did, report_ct, device_ct, fix.satellites, _floor(fix.lon * 1e6 + 0.5) / 1e6,
                        _floor(fix.lat * 1e6 + 0.5) / 1e6, _floor(fix.speed_kmh * 10.0 + 0.5) / 10.0, fix.course, gid)
        out = [Message(_P, "gps", self._key, send_t, gps, kind)]
        if kind == "position":
            return out
        self._extras(event, out, gid, actual, report_ct, device_ct)
        return out

    def _extras(self, event: WorldEvent, out: list[Message], gid: str, actual: bool, report_ct: int,
                device_ct: int) -> None:
        kind = event.kind
        fix = event.fix
        send_t = event.send_t
        base: dict[str, Any] = {"deviceId": self._did, "reportCt": report_ct, "deviceCt": device_ct}
        code = self._alarm_code(event)
        if code is not None:
            alarm_id = str(self._snowflake(send_t))
            speed = event.attrs.get("speed_kmh", fix.speed_kmh) if kind == "speeding_start" else fix.speed_kmh
            alarm = {"actual": actual, **base, "alarmType": code, "id": gid, "alarmId": alarm_id,
                     "lat": round(fix.lat, 6), "lon": round(fix.lon, 6), "speed": round(float(speed), 1)}
            if kind in ("geofence_enter", "geofence_exit") and event.attrs.get("geofence"):
                alarm["alarmAttribute"] = str(event.attrs["geofence"])[:128]
            out.append(self._msg("alarm", send_t, alarm, kind))
            if self._camera and kind in _CAMERA_EVENTS:
                self._alarm_files(event, out, alarm_id)
        if kind == "block":
            self._blocked = True
        elif kind == "unblock":
            self._blocked = False
        if kind in _DEVICE_INFO:
            out.append(self._msg("device_info", send_t, self._device_info(event, base, gid, actual), kind))
            if kind == "status" and self._serial and self._rng.random() < _PASSTHROUGH_SHARE:
                out.append(self._msg("passthrough", send_t, {**base, "id": gid, "message": self._frames()}, kind))
        elif kind == "rfid":
            self._rfid(event, out, base, gid)
        elif kind == "face_check":
            self._face_check(event, out, base, gid)
        elif kind == "sensor":
            temp = event.attrs.get("temp_c")
            if temp is not None:
                sensor = {**base, "id": str(self._snowflake(send_t)), "adc": _adc(float(temp))}
                out.append(self._msg("sensor", send_t, sensor, kind))

    def _msg(self, kind: str, send_t: float, fields: dict[str, Any], source: str) -> Message:
        return Message(_P, kind, self._key, send_t, self._ordered(kind, fields), source)

    def _alarm_code(self, event: WorldEvent) -> str | None:
        kind = event.kind
        code = _ALARMS.get(kind)
        if code is not None:
            return code
        if kind == "speeding_start":
            return self._speeding
        if kind == "speeding_end":
            return self._speeding_end
        behaviours = _BEHAVIOURS.get(kind)
        if behaviours is not None:
            return behaviours.get(str(event.attrs.get("behavior")))
        return None

    def _device_info(self, event: WorldEvent, base: dict[str, Any], gid: str, actual: bool) -> dict[str, Any]:
        fix = event.fix
        powered = fix.ext_voltage > 0.0 and event.kind != "power_cut"
        info: dict[str, Any] = {
            "acc": 1 if fix.ignition else 0, "actual": actual, "blockedStatus": 1 if self._blocked else 0,
            "odometer": round(fix.odometer_m / 1000.0, 1), "elec": 1 if powered else 0, **base, "ioStatus": 0,
            "id": gid, "signal": fix.gsm_signal, "voltage": round(fix.ext_voltage, 1) if powered else 0.0,
            "quantity": fix.battery_pct,
        }
        if self._acc_ct is not None:
            info["accUpdateTime"] = self._acc_ct
        if not fix.valid:
            info["localizationFailure"] = True
        return info

    def _alarm_files(self, event: WorldEvent, out: list[Message], alarm_id: str) -> None:
        rng = self._rng
        month, hour = _stamp(event.fix.t)
        ms = int(event.fix.t * 1000)
        delay = rng.uniform(20.0, 60.0)
        files = [("00", "jpg", delay, rng.randint(60_000, 250_000))]
        if rng.random() < _VIDEO_SHARE:
            files.append(("02", "mp4", rng.uniform(delay + 5.0, 90.0), rng.randint(800_000, 6_000_000)))
        for index, (file_type, ext, after, size) in enumerate(files):
            name = f"sit_video_alarm_{hour}_{ms}{rng.getrandbits(62) | 1 << 62}_00_{index:02d}_{size}.{ext}"
            payload = {"id": alarm_id, "deviceId": self._did, "fileUrl": f"{_FILE_HOST}{month}%2F{name}",
                       "fileType": file_type}
            out.append(self._msg("alarm_file", event.send_t + after, payload, event.kind))

    def _rfid(self, event: WorldEvent, out: list[Message], base: dict[str, Any], gid: str) -> None:
        attrs = event.attrs
        card = str(attrs.get("card") or (event.driver.rfid if event.driver else "00000000"))
        rfid: dict[str, Any] = {
            "id": gid, **base, "lat": _coord(event.fix.lat), "lon": _coord(event.fix.lon), "rfidNo": card,
            "status": 2 if attrs.get("status") == "exit" else 1, "licensePlate": self._device.plate,
        }
        # the platform names the card's owner; an unknown card has none
        if event.driver is not None and attrs.get("matched", True):
            rfid["driverName"] = event.driver.name
        out.append(self._msg("rfid", event.send_t, rfid, event.kind))

    def _face_check(self, event: WorldEvent, out: list[Message], base: dict[str, Any], gid: str) -> None:
        rng = self._rng
        attrs = event.attrs
        fix = event.fix
        result_code = int(attrs.get("result", 0 if attrs.get("matched", True) else 1))
        result: dict[str, Any] = {
            "id": gid, **base, "lat": _coord(fix.lat), "lon": _coord(fix.lon), "compaResult": str(result_code),
            "similarity": int(attrs.get("similarity", 0)), "licensePlate": self._device.plate, "messageType": "1",
        }
        face_id = attrs.get("face_id") or (event.driver.face_id if event.driver else None)
        if face_id:
            result["faceId"] = str(face_id)
        if event.driver is not None:
            result["driverName"] = event.driver.name
        picture: dict[str, Any] = {"id": gid, "deviceId": self._did, "messageType": "2"}
        if result_code in (3, 4):  # function not enabled / abnormal connection: no picture taken
            picture["status"] = "0"
        else:
            month, hour = _stamp(fix.t)
            name = f"sit_face_{hour}_{int(fix.t * 1000)}{rng.getrandbits(62) | 1 << 62}.jpg"
            picture["imageUrl"] = f"{_FILE_HOST}{month}%2F{name}"
            picture["status"] = "1"
        first, second = (("face_check_picture", picture), ("face_check_result", result)) if rng.random() < 0.5 \
            else (("face_check_result", result), ("face_check_picture", picture))
        out.append(self._msg(first[0], event.send_t, first[1], event.kind))
        out.append(self._msg(second[0], event.send_t + rng.uniform(0.5, 2.0), second[1], event.kind))

    def _frames(self) -> str:
        rng = self._rng
        com1 = f"{rng.getrandbits(8 * 42):084x}"
        com2 = f"{rng.getrandbits(8 * 80):0160x}" if rng.random() < 0.7 else ""
        return f'{{"com1":"{com1}","com2":"{com2}"}}'


def mettax_renderer(device: Device, settings: Mapping[str, Any], rng: random.Random, *,
                      channels: frozenset[str] | None = None) -> MettaXRenderer | NoMessages:
    """Every MettaX message is a webhook: asked for other channels only, render nothing."""
    return MettaXRenderer(device, settings, rng) if wants(channels, "webhook") else NO_MESSAGES


RENDERER = mettax_renderer
