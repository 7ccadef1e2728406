"""Schema-driven generation: every provider kind, 1,000 seeds each, valid; deterministic; --invalid breaks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson
import pytest

from simulator.generation import generate_one, generate_payloads
from simulator.providers import APIS, PROVIDERS, schema_family
from simulator.schemastore import validator
from simulator.validation import validate

ALL_KINDS = [(p.name, kind) for p in [*PROVIDERS.values(), *APIS.values()] for kind in p.all_schemas()]
SEEDS = 1000


@pytest.mark.parametrize(("provider", "kind"), ALL_KINDS)
def test_generated_payloads_are_schema_valid_across_1000_seeds(provider: str, kind: str) -> None:
    p = schema_family(provider)
    for seed in range(SEEDS):
        item = generate_one(p, kind, seed=seed, index=0)
        errors = validate(p, kind, item.payload)
        assert not errors, f"seed {seed}: {[str(e) for e in errors]}\n{item.payload}"
        # and the bytes the provider writes parse back to the same document
        assert p.serialize(item.payload)


@pytest.mark.parametrize(("provider", "kind"), ALL_KINDS)
def test_same_seed_same_bytes_other_seed_other_bytes(provider: str, kind: str) -> None:
    p = schema_family(provider)

    def stream(seed: int) -> list[bytes]:
        return [p.serialize(i.payload) for i in generate_payloads(p, kind, seed=seed, count=20)]

    assert stream(11) == stream(11)
    assert stream(11) != stream(12)
    # item i does not depend on how many are asked for
    assert stream(11)[:5] == [p.serialize(i.payload) for i in generate_payloads(p, kind, seed=11, count=5)]


@pytest.mark.parametrize(("provider", "kind"), ALL_KINDS)
def test_invalid_mode_breaks_each_payload_in_one_labelled_way(provider: str, kind: str) -> None:
    p = schema_family(provider)
    spec = p.spec(kind)
    rules = set()
    for item in generate_payloads(p, kind, seed=3, count=60, invalid=True):
        assert item.violation is not None
        assert not validator(spec.schema).is_valid(item.payload), item.violation
        rules.add(item.violation.rule)
        # the label points at where the validator finds the problem (or at its parent for a removed field)
        errors = validator(spec.schema).iter_errors(item.payload)
        error_paths = ["/" + "/".join(map(str, e.absolute_path)) for e in errors]
        label = item.violation.path
        parent = label.rsplit("/", 1)[0] or "/"
        assert any(
            ep.rstrip("/") in (label, parent) or label.startswith(ep.rstrip("/") + "/") or ep == "/"
            for ep in error_paths
        ), (item.violation, error_paths)
    assert {"required", "type"} <= rules, rules


def test_mettax_quirks_are_emitted() -> None:
    """Face-check and RFID samples carry lat/lon as strings; the generator reproduces that wire quirk."""
    p = PROVIDERS["mettax"]
    kinds_with_string_coords = set()
    for kind in ("face_check_result", "rfid"):
        for item in generate_payloads(p, kind, seed=1, count=50):
            if isinstance(item.payload.get("lat"), str):
                kinds_with_string_coords.add(kind)
    assert kinds_with_string_coords == {"face_check_result", "rfid"}


def test_mettax_ids_link_to_device() -> None:
    p = PROVIDERS["mettax"]
    for kind in ("gps", "alarm", "rfid", "face_check_result"):
        for item in generate_payloads(p, kind, seed=5, count=30):
            assert item.payload["id"].startswith(item.payload["deviceId"] + "_")
            if "reportCt" in item.payload and "deviceCt" in item.payload:
                assert (item.payload["reportCt"] - item.payload["deviceCt"]) % 3600 == 0


def test_samsara_alert_times_are_ordered() -> None:
    p = PROVIDERS["samsara"]
    for item in generate_payloads(p, "alert_v1", seed=2, count=100):
        event = item.payload["event"]
        if "startMs" in event:
            assert event["startMs"] <= item.payload["eventMs"]


def test_powunity_webhooks_are_coherent_traccar_json() -> None:
    p = PROVIDERS["powunity"]
    for item in generate_payloads(p, "webhook", seed=9, count=200):
        body = p.serialize(item.payload).decode()
        event, device = item.payload["event"], item.payload["device"]
        assert event["deviceId"] == device["id"]
        assert next(iter(item.payload)) == "event"
        if event["type"] in ("deviceOnline", "deviceOffline", "deviceUnknown"):
            assert "position" not in item.payload and event["positionId"] == 0
        elif "position" in item.payload:
            assert item.payload["position"]["deviceId"] == device["id"]
            assert event["positionId"] == item.payload["position"]["id"]
            # Jackson writes doubles with a fraction: "speed":12.0, never "speed":12
            assert '"latitude":' in body and not any(
                f'"{k}":{int(v)},' in body
                for k, v in item.payload["position"].items()
                if k in ("speed", "course", "altitude") and isinstance(v, float) and v == int(v)
            )


# ---------------------------------------------------------------- what a real platform could send

def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


FILLER = re.compile(r"^((alpha|bravo|charlie|delta|echo|foxtrot) ?)+$")


@pytest.mark.parametrize(("provider", "kind"), ALL_KINDS)
def test_generated_payloads_look_like_real_traffic(provider: str, kind: str) -> None:
    """No placeholder words where a platform writes a name or message, coordinates in pairs, real dates."""
    p = schema_family(provider)
    for item in generate_payloads(p, kind, seed=21, count=150):
        payload = item.payload
        if provider == "mettax" and kind == "envelope":
            payload = orjson.loads(payload["data"])
        for node in _walk(payload):
            if isinstance(node, str):
                assert not FILLER.match(node), (node, payload)
                for month in re.findall(r"mettaxftp/[0-9]{4}([0-9]{2})", node):
                    assert 1 <= int(month) <= 12, node
                for stamp in re.findall(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:Z|[+-][0-9:]{4,5})", node):
                    datetime.fromisoformat(stamp.replace("Z", "+00:00").replace("+0000", "+00:00"))
            if isinstance(node, dict):
                for one, other in (("lat", ("lon", "lng")), ("latitude", ("longitude",))):
                    if one in node and node[one] is not None:
                        assert any(o in node for o in other), (one, node)


#: the data members each documented Samsara 2.0 event type carries (developers.samsara.com event pages)
V2_DOCUMENTED_KEYS: dict[str, dict[str, set[str]]] = {
    "GatewayUnplugged": {"": {"gateway"}, "gateway": {"model", "serial", "vehicle"}},
    "SpeedingEventStarted": {"": {"severityLevel", "startTime", "tripStartTime", "vehicle"},
                             "vehicle": {"assetType", "id", "licensePlate", "name", "vehicleVin"}},
    "SpeedingEventEnded": {"": {"severityLevel", "startTime", "tripStartTime", "vehicle"},
                           "vehicle": {"assetType", "id", "licensePlate", "name", "vehicleVin"}},
    "SevereSpeedingStarted": {"": {"data"}, "data": {"startTime", "tripStartTime", "vehicle"}},
    "GeofenceEntry": {"": {"address", "vehicle"}, "address": {"formattedAddress", "geofence", "id", "name"},
                      "vehicle": {"gateway", "id", "licensePlate", "name", "vin"}},
    "GeofenceExit": {"": {"address", "vehicle"}, "address": {"formattedAddress", "geofence", "id", "name"},
                     "vehicle": {"gateway", "id", "licensePlate", "name", "vin"}},
    "EngineFaultOn": {"": {"fault", "vehicle"}},
    "EngineFaultOff": {"": {"fault", "vehicle"}},
    "DriverCreated": {"": {"driver"}, "driver": {"id", "name"}},
    "DriverUpdated": {"": {"driver"}, "driver": {"id", "name"}},
    "VehicleCreated": {"": {"vehicle"}, "vehicle": {"id", "name"}},
    "VehicleUpdated": {"": {"vehicle"}, "vehicle": {"id", "name"}},
    "AddressCreated": {"": {"address"}, "address": {"formattedAddress", "geofence", "id", "name"}},
    "AddressUpdated": {"": {"address"}, "address": {"formattedAddress", "geofence", "id", "name"}},
    "AlertIncident": {"": {"configurationId", "happenedAtTime", "isResolved", "conditions"}},
}


def test_samsara_event_v2_generated_data_has_the_documented_keys() -> None:
    """Schema-driven 2.0 events used to carry `data: {}` for every type but AlertIncident."""
    p = PROVIDERS["samsara"]
    seen = set()
    for item in generate_payloads(p, "event_v2", seed=8, count=600):
        payload = item.payload
        event_type = payload["eventType"]
        assert event_type in V2_DOCUMENTED_KEYS, f"{event_type}: its data is described by no source"
        seen.add(event_type)
        data = payload["data"]
        for member, keys in V2_DOCUMENTED_KEYS[event_type].items():
            obj = data[member] if member else data
            assert keys <= set(obj), (event_type, member, payload)
        sent = datetime.fromisoformat(payload["eventTime"].replace("Z", "+00:00"))
        for node in _walk(data):
            if isinstance(node, dict):
                for name in ("startTime", "tripStartTime", "happenedAtTime", "createdAtTime", "updatedAtTime"):
                    if isinstance(node.get(name), str):
                        assert datetime.fromisoformat(node[name].replace("Z", "+00:00")) <= sent, (name, payload)
        if event_type.startswith("Speeding"):
            assert data["tripStartTime"] <= data["startTime"]
    assert seen == set(V2_DOCUMENTED_KEYS)


def test_samsara_ping_is_the_vendors() -> None:
    for item in generate_payloads(PROVIDERS["samsara"], "ping", seed=1, count=5):
        assert item.payload["event"] == {"text": "Ping"}


def test_traccar_positions_are_what_a_tracker_and_server_write() -> None:
    """Real decoder names instead of random protocol strings, batteryLevel an integer on the wire, a fix
    stored after it was taken, and event ids of geofences/maintenance 0 unless the event is about one."""
    p = PROVIDERS["powunity"]
    protocols = set()
    for kind in ("webhook", "socket_frame"):
        for item in generate_payloads(p, kind, seed=4, count=150):
            body = p.serialize(item.payload).decode()
            assert not re.search(r'"batteryLevel":[0-9]+\.', body), body
            payload = item.payload
            positions = payload.get("positions") or ([payload["position"]] if "position" in payload else [])
            for position in positions:
                protocols.add(position["protocol"])
                assert position["fixTime"] == position["deviceTime"] <= position["serverTime"]
            events = payload.get("events") or ([payload["event"]] if "event" in payload else [])
            for event in events:
                if not event["type"].startswith("geofence"):
                    assert event.get("geofenceId", 0) == 0
                if event["type"] != "maintenance":
                    assert event.get("maintenanceId", 0) == 0
    assert "h02" in protocols and protocols <= {"h02", "gt06", "osmand", "teltonika", "watch", "tk103", "meitrack",
                                                "gps103", "huabao"}


def test_drivers_api_times_are_in_order() -> None:
    p = APIS["drivers_api"]
    for kind in ("show", "settings", "list"):
        for item in generate_payloads(p, kind, seed=6, count=80):
            data = item.payload["data"]
            for entry in data if isinstance(data, list) else [data]:
                created, updated = entry["created_at"], entry["updated_at"]
                assert created <= updated
                for stamp in ("enabled_at", "custom_oauth_enabled_at"):
                    if entry.get(stamp) is not None:
                        assert created <= entry[stamp] <= updated
                    if stamp in entry and entry[stamp] is None:
                        assert entry[stamp.removesuffix("_at")] is False
