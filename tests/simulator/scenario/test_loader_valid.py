"""Valid scenarios load into the expected frozen dataclasses."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from simulator.errors import UnknownNameError
from simulator.scenario.cities import CITIES, get_city
from simulator.scenario.loader import (
    RISK_PRESETS,
    ScenarioError,
    load_scenario,
    load_scenario_bytes,
    load_scenario_text,
    webhook_providers,
)
from simulator.scenario.model import (
    Faults,
    FleetGroup,
    Geofence,
    Injection,
    LatLon,
    Rate,
    Region,
    ReportIntervals,
    RiskProfile,
    Scenario,
)
from simulator.schemastore import load_schema
from simulator.signing import Secret

VALID = Path(__file__).resolve().parents[2] / "fixtures" / "scenarios" / "valid"
ENV = {"FLEETSIM_SMARTGPS_SECRET": "smartgps-demo-secret"}

MINIMAL = """\
name: t
seed: 3
start: 2026-03-03T08:00:00
duration: 1h
region: {city: vienna}
fleet:
  - {name: cars, count: 1, provider: smartgps, profile: car}
"""


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_minimal_file_uses_defaults_and_the_citys_zone() -> None:
    sc = load_scenario(VALID / "minimal.yaml", env={})
    bh = CITIES["belo-horizonte"]
    assert sc.name == "minimal" and sc.seed == 1 and sc.description == ""
    assert sc.timezone == "America/Sao_Paulo"
    assert sc.start == utc("2026-03-03T11:00:00")  # 08:00 in Sao Paulo is 11:00 UTC
    assert sc.duration_s == 3600 and sc.end == sc.start + 3600
    assert sc.region == Region("Belo Horizonte", bh.center, bh.radius_km)
    assert sc.groups == (FleetGroup("cars", 2, "smartgps", "car"),)
    assert sc.geofences == () and sc.injections == ()
    assert sc.delivery.rate == Rate("realtime") and sc.delivery.faults == Faults()
    assert dict(sc.delivery.providers) == {}
    assert sc.source == str(VALID / "minimal.yaml")


def test_full_file_loads_every_section() -> None:
    sc = load_scenario(VALID / "full.yaml", env=ENV)
    assert isinstance(sc, Scenario)
    assert sc.name == "demo-city" and sc.seed == 42 and "Belo Horizonte" in sc.description
    assert sc.timezone == "America/Sao_Paulo"
    assert sc.start == utc("2026-03-03T11:00:00")
    assert sc.duration_s == 2.5 * 3600
    assert sc.region == Region("BH centre", LatLon(-19.92, -43.93), 8.0)

    vans, vans_low, reefers, bikes = sc.groups
    assert vans == FleetGroup(
        name="vans", count=5, provider="mettax", profile="van",
        features=frozenset({"dms", "adas", "rfid", "face_check", "camera"}),
        risk=RISK_PRESETS["high"], report=ReportIntervals(moving_s=5.0, parked_s=120.0, heartbeat_s=900.0),
        stops_per_trip=6, dwell_s=420.0, shift_start_s=0.0, shift_s=8 * 3600.0, face_mismatch_share=0.1,
        offline_per_day=1.0, reefer_setpoint_c=None,
    )
    # a YAML merge key (<<: *vans) copies the first group; explicit keys win
    assert vans_low == dataclasses.replace(
        vans, name="vans-low", count=2,
        risk=dataclasses.replace(RISK_PRESETS["low"], name="custom", phone_per_h=0.5),
    )
    assert reefers.features == frozenset({"reefer", "serial"}) and reefers.reefer_setpoint_c == -18.0
    assert (reefers.shift_start_s, reefers.shift_s) == (1800.0, 3600.0)
    assert reefers.risk == RiskProfile() and reefers.report == ReportIntervals()
    assert bikes.profile == "e-bike" and bikes.provider == "powunity"
    assert sc.providers() == ["mettax", "powunity", "samsara"]

    depot, downtown = sc.geofences
    assert depot == Geofence("Depot", "circle", center=LatLon(-19.93, -43.94), radius_m=300.0)
    assert downtown.kind == "polygon" and len(downtown.points) == 4 and downtown.points[0] == LatLon(-19.91, -43.95)

    assert sc.injections == (
        Injection(1800.0, "vans", 3, "sos"),
        Injection(3600.0, "vans", 1, "coverage_loss", 600.0),
        Injection(2700.0, "bikes", 4, "theft", 1200.0),
        Injection(3000.0, "reefers", 2, "reefer_fault", 900.0),
    )
    assert sc.delivery.rate == Rate("factor", 60.0) and sc.delivery.rate.describe() == "x60"
    assert sc.delivery.faults == Faults(
        duplicate=0.02, reorder_window=5, delay_ms=200.0, jitter_ms=50.0, tamper_signature=0.01
    )


def test_provider_settings_hold_parsed_secrets_never_the_text() -> None:
    sc = load_scenario(VALID / "full.yaml", env=ENV)
    providers = sc.delivery.providers
    samsara = providers["samsara"]
    assert samsara["payload_version"] == 2 and samsara["org_id"] == 4000
    assert samsara["secret"] == Secret(b"samsara-demo-secret")  # base64-decoded, as the signer needs it
    assert providers["smartgps"]["secret"] == Secret(b"smartgps-demo-secret")  # from secret_env
    assert "secret_env" not in providers["smartgps"]
    assert providers["powunity"]["secret"] == Secret(b"Bearer demo-psk") and "psk" not in providers["powunity"]
    assert dict(providers["mettax"]) == {"envelope": "form"}
    text = repr(sc)
    for secret in ("c2Ftc2FyYS1kZW1vLXNlY3JldA==", "samsara-demo-secret", "smartgps-demo-secret", "demo-psk"):
        assert secret not in text
    with pytest.raises(TypeError):
        providers["samsara"]["secret"] = "x"  # type: ignore[index]


def test_scenario_is_frozen() -> None:
    sc = load_scenario_text(MINIMAL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sc.seed = 4  # type: ignore[misc]


@pytest.mark.parametrize("slug", sorted(CITIES))
def test_city_only_region_picks_the_citys_zone(slug: str) -> None:
    sc = load_scenario_text(MINIMAL.replace("city: vienna", f"city: {slug}"))
    city = get_city(slug)
    assert sc.timezone == city.timezone
    assert sc.region == Region(city.name, city.center, city.radius_km)


def test_local_start_follows_the_zone_and_its_daylight_saving_time() -> None:
    winter = load_scenario_text(MINIMAL.replace("2026-03-03", "2026-01-15"))
    summer = load_scenario_text(MINIMAL.replace("2026-03-03", "2026-07-15"))
    assert winter.start == utc("2026-01-15T07:00:00")  # Vienna: UTC+1 in winter
    assert summer.start == utc("2026-07-15T06:00:00")  # UTC+2 in summer


def test_an_explicit_timezone_beats_the_citys() -> None:
    sc = load_scenario_text(MINIMAL + "timezone: Asia/Tokyo\n")
    assert sc.timezone == "Asia/Tokyo" and sc.start == utc("2026-03-02T23:00:00")


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-03-03T08:00:00Z", "2026-03-03T08:00:00"),
        ('"2026-03-03T08:00:00z"', "2026-03-03T08:00:00"),
        ("2026-03-03T08:00:00-05:00", "2026-03-03T13:00:00"),
        ("2026-03-03T08:00:00+0530", "2026-03-03T02:30:00"),
        ("2026-03-03 08:00:00.5+01:00", "2026-03-03T07:00:00.5"),
    ],
)
def test_explicit_offsets_are_honoured(start: str, expected: str) -> None:
    sc = load_scenario_text(MINIMAL.replace("2026-03-03T08:00:00", start))
    assert sc.start == utc(expected)
    assert sc.timezone == "Europe/Vienna"  # still the fleet's zone for local wall-clock reports


def test_custom_region_needs_and_uses_a_timezone() -> None:
    text = MINIMAL.replace("region: {city: vienna}", "region: {center: {lat: 41.9, lon: -87.6}, radius_km: 5}")
    sc = load_scenario_text(text + "timezone: America/Chicago\n")
    assert sc.region == Region("custom", LatLon(41.9, -87.6), 5.0)
    assert sc.start == utc("2026-03-03T14:00:00")


def test_quoted_and_unquoted_start_agree() -> None:
    quoted = load_scenario_text(MINIMAL.replace("2026-03-03T08:00:00", '"2026-03-03T08:00:00"'))
    assert quoted == load_scenario_text(MINIMAL)


def test_durations_may_be_numbers_of_seconds() -> None:
    sc = load_scenario_text(MINIMAL.replace("duration: 1h", "duration: 5400"))
    assert sc.duration_s == 5400.0


@pytest.mark.parametrize("preset", ["low", "medium", "high"])
def test_risk_presets(preset: str) -> None:
    text = MINIMAL.replace("profile: car}", f"profile: car, risk: {preset}}}")
    assert load_scenario_text(text).groups[0].risk == RISK_PRESETS[preset]


def test_risk_presets_are_ordered_and_medium_is_the_default() -> None:
    low, medium, high = (RISK_PRESETS[n] for n in ("low", "medium", "high"))
    assert dataclasses.replace(medium, name="medium") == RiskProfile()
    for f in dataclasses.fields(RiskProfile):
        if f.name == "name":
            continue
        values = [getattr(p, f.name) for p in (low, medium, high)]
        assert values == (sorted(values, reverse=True) if f.name == "fatigue_after_h" else sorted(values)), f.name


def test_loading_bytes_accepts_a_byte_order_mark() -> None:
    sc = load_scenario_bytes(b"\xef\xbb\xbf" + MINIMAL.encode(), "stdin")
    assert sc.source == "stdin" and sc.name == "t"


def test_secret_env_is_read_from_the_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETSIM_TEST_SECRET", "s3cr3t")
    text = MINIMAL + "delivery:\n  providers:\n    smartgps: {secret_env: FLEETSIM_TEST_SECRET}\n"
    assert load_scenario_text(text).delivery.providers["smartgps"]["secret"] == Secret(b"s3cr3t")
    monkeypatch.delenv("FLEETSIM_TEST_SECRET")
    with pytest.raises(ScenarioError, match="FLEETSIM_TEST_SECRET is not set"):
        load_scenario_text(text)


def test_all_problems_are_reported_not_just_the_first() -> None:
    text = MINIMAL + "injections:\n  - {at: 2h, device: cars/2, event: sos}\n  - {at: 1m, device: vans/1, event: sos}\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "s.yaml")
    assert len(info.value.problems) == 3  # after the end, index beyond count, unknown group
    assert [p.split(":")[1] for p in info.value.problems] == ["9", "9", "10"]  # in file order


def test_a_mettax_secret_is_refused_because_mettax_does_not_sign() -> None:
    # MettaX has no signing secret, only an optional static token: the error names what it does take
    with pytest.raises(ScenarioError, match=r"mettax.secret: unknown field 'secret'; expected one of: .*token"):
        load_scenario_text(MINIMAL + "delivery:\n  providers:\n    mettax: {secret: abc}\n")


@pytest.mark.parametrize(("line", "expected"), [
    ("samsara: {movment_alerts: true}", "unknown field 'movment_alerts'; did you mean 'movement_alerts'?"),
    ("samsara: {webhook_id: abc}", "samsara.webhook_id: expected a numeric string"),
    ("powunity: {id_stride: 0}", "powunity.id_stride: expected"),
    ("smartgps: {retry: fortnightly}", "unknown retry schedule 'fortnightly'"),
    ("smartgps: {url: 'http://[::1'}", "smartgps.url: not a valid URL"),
])
def test_every_provider_setting_mistake_is_a_located_error(line: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(MINIMAL + f"delivery:\n  providers:\n    {line}\n", "s.yaml")
    text = "\n".join(info.value.problems)
    assert expected in text and text.startswith("s.yaml:") and info.value.exit_code == 2


def test_schema_names_every_registered_webhook_provider() -> None:
    schema = load_schema("scenario.schema.json")
    providers = schema["$defs"]["group"]["properties"]["provider"]["enum"]
    assert sorted(providers) == webhook_providers()
    assert sorted(schema["$defs"]["delivery"]["properties"]["providers"]["properties"]) == webhook_providers()
    assert sorted(schema["$defs"]["region"]["properties"]["city"]["enum"]) == sorted(CITIES)
    assert schema["$id"] == "https://schemas.fleetsim.dev/scenario.schema.json"


def test_schema_documents_every_property() -> None:
    schema = load_schema("scenario.schema.json")
    defs = schema["$defs"]

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            for name, prop in node.get("properties", {}).items():
                target = prop
                if "$ref" in prop and ("title" not in prop or "description" not in prop):
                    target = {**defs[prop["$ref"].rsplit("/", 1)[1]], **prop}
                assert target.get("title") and target.get("description"), f"{where}.{name}"
            if node.get("type") == "object" and "properties" in node and where.split(".")[-1] not in (
                "samsara", "smartgps", "powunity", "mettax"
            ):
                assert node.get("additionalProperties") is False, where
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")

    walk(schema, "$")
    json.dumps(schema)


def test_unknown_city_lookup_suggests() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'vienna'"):
        get_city("viena")
