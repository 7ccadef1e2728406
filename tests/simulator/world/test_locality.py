"""Names, plates, VINs and street addresses look like the city the fleet drives in; Faker is used only at
start-up; the same seed gives the same bytes; and every city's traffic still validates against the schemas.

Faker's output for a seed may change between its releases, so nothing here pins a Faker string: names are
checked against the locale's own Faker data, plates and addresses against the city's format.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from faker.providers.person.de_AT import Provider as AustrianNames
from faker.providers.person.es_MX import Provider as MexicanNames
from faker.providers.person.zh_CN import Provider as ChineseNames

from simulator.core import ids, pools
from simulator.generation import generate_payloads
from simulator.providers import PROVIDERS
from simulator.resources import scenarios_dir
from simulator.scenario.cities import CITIES
from simulator.scenario.loader import load_scenario_text
from simulator.scenario.model import Scenario
from simulator.stream import scenario_messages, scenario_stream
from simulator.validation import validate
from simulator.world.sim import World

ALL_PROVIDERS = """
name: {name}
seed: {seed}
start: "2026-03-03T07:00:00"
duration: 6h
region: {{city: {city}}}
report_intervals: {{moving: 20s, parked: 5m, heartbeat: 15m}}
fleet:
  - {{name: vans, count: 3, provider: mettax, profile: van, features: [dms, adas, camera, rfid, face_check]}}
  - {{name: trucks, count: 3, provider: smartgps, profile: truck}}
  - {{name: reefers, count: 2, provider: samsara, profile: truck, features: [reefer], reefer_setpoint: -18}}
  - {{name: bikes, count: 2, provider: powunity, profile: e-bike}}
geofences:
  - {{name: Depot, circle: {{center: {{lat: {lat}, lon: {lon}}}, radius_m: 3000}}}}
delivery:
  providers:
    samsara: {{secret: "ZmxlZXRzaW0tbG9jYWxpdHk=", payload_version: {version}, org_id: 4000}}
    smartgps: {{secret: "fleetsim-locality"}}
"""

CUSTOM_REGION = """
name: custom-region
seed: 3
start: "2026-03-03T07:00:00"
timezone: Europe/Lisbon
duration: 2h
region: {center: {lat: 38.72, lon: -9.14}, radius_km: 6}
fleet:
  - {name: vans, count: 4, provider: samsara, profile: van}
"""


def city_scenario(slug: str, *, seed: int = 5, version: int = 2) -> Scenario:
    city = CITIES[slug]
    return load_scenario_text(ALL_PROVIDERS.format(name=f"locality-{slug}", seed=seed, city=slug, version=version,
                                                   lat=city.center.lat, lon=city.center.lon))


def drivers(world: World) -> list[str]:
    return [d.name for pool in world.drivers.values() for d in pool]


def written_with(name: str, firsts: Any, lasts: Any) -> bool:
    return any(name.startswith(f + " ") for f in firsts) and any(name.endswith(" " + last) for last in lasts)


# -- locale -------------------------------------------------------------------------------------------------


def test_vienna_fleet_has_austrian_names_plates_and_addresses() -> None:
    world = World(city_scenario("vienna"))
    firsts = (*AustrianNames.first_names_male, *AustrianNames.first_names_female)
    names = drivers(world)
    assert all(written_with(n, firsts, AustrianNames.last_names) for n in names), names
    assert len(set(names)) == len(names), "one fleet, no two drivers of the same name"
    plated = [d for d in world.devices if d.provider != "smartgps"]
    for device in plated:
        assert re.fullmatch(r"W-[1-9]\d{1,4} [A-Z]{1,3}", device.plate), device.plate
        assert len(device.plate) - 3 <= 6  # digits and letters together: six characters at most
        assert device.vin[:3] in ids.VIN_WMIS["AT"]
    for place in world.places.geofences:
        assert re.fullmatch(r".+ \d{1,3}, 1(0[1-9]|1\d|2[0-3])0 Wien", place.address), place.address


def test_shenzhen_fleet_has_chinese_names_and_guangdong_plates() -> None:
    world = World(city_scenario("shenzhen"))
    for name in drivers(world):
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", name), name
        assert any(name.startswith(family) for family in ChineseNames.last_names), name
    for device in (d for d in world.devices if d.provider != "smartgps"):
        assert re.fullmatch(r"粤B([0-9A-HJ-NP-Z]{5}|[DF][0-9A-HJ-NP-Z]\d{4})", device.plate), device.plate
        assert device.vin[0] == "L"
    assert world.places.geofences[0].address.startswith("广东省深圳市")


def test_mexico_city_fleet_has_two_surnames_and_mexican_plates() -> None:
    world = World(city_scenario("mexico-city"))
    firsts = (*MexicanNames.first_names_male, *MexicanNames.first_names_female)
    for name in drivers(world):
        surnames = [last for last in MexicanNames.last_names if name.endswith(" " + last)]
        assert surnames and written_with(name[: -len(surnames[0]) - 1], firsts, MexicanNames.last_names), name
    for device in (d for d in world.devices if d.provider != "smartgps"):
        # the 2016 national ABC-123-A, the older ABC-12-34 and Mexico City's A12-ABC (I, O, Q never used)
        letter = "[A-HJ-NPR-Z]"
        assert re.fullmatch(rf"{letter}{{3}}-\d{{3}}-{letter}|{letter}{{3}}-\d\d-\d\d|{letter}\d\d-{letter}{{3}}",
                            device.plate), device.plate


@pytest.mark.parametrize(("slug", "plate", "address"), [
    ("chicago", r"[A-Z]{2} \d{5}", r"\d{1,4} .+, Chicago, IL 606\d\d"),
    ("sao-paulo", r"[A-Z]{3}-\d{4}|[A-Z]{3}\d[A-Z]\d{2}", r".+, \d{1,4} - São Paulo - SP, 0\d{4}-\d{3}"),
    ("belo-horizonte", r"[A-Z]{3}-\d{4}|[A-Z]{3}\d[A-Z]\d{2}", r".+, \d{1,4} - Belo Horizonte - MG, 3[01]\d{3}-\d{3}"),
])
def test_plates_and_addresses_follow_the_city(slug: str, plate: str, address: str) -> None:
    world = World(city_scenario(slug))
    country = CITIES[slug].locality.country
    for device in world.devices:
        assert device.provider == "smartgps" or re.fullmatch(plate, device.plate), device.plate
        assert ids.vin_valid(device.vin) and device.vin[:3] in ids.VIN_WMIS[country], device.vin
    assert re.fullmatch(address, world.places.geofences[0].address)
    assert re.fullmatch(address, world.places.stop(0).address)


@pytest.mark.parametrize("slug", sorted(CITIES))
def test_smartgps_keeps_brazilian_plates_everywhere(slug: str) -> None:
    world = World(city_scenario(slug))
    for device in (d for d in world.devices if d.provider == "smartgps"):
        assert re.fullmatch(r"[A-Z]{3}-\d{4}|[A-Z]{3}\d[A-Z]\d{2}", device.plate), device.plate
        assert device.vendor_ids["object_id"] == "SGO-" + device.plate.replace("-", "")


def test_a_region_without_a_city_gets_the_neutral_default() -> None:
    world = World(load_scenario_text(CUSTOM_REGION))
    assert world.locality.locale == "en_US"
    assert all(re.fullmatch(r"[A-Za-z' .-]+", n) for n in drivers(world))
    assert all(d.plate and ids.vin_valid(d.vin) for d in world.devices)


@pytest.mark.parametrize("slug", sorted(CITIES))
def test_every_vin_has_a_valid_check_digit(slug: str) -> None:
    for device in World(city_scenario(slug, seed=11)).devices:
        assert ids.vin_valid(device.vin), device.vin


# -- addresses on the world model -----------------------------------------------------------------------------


def test_geofence_and_stop_events_carry_their_place_address() -> None:
    world = World(city_scenario("vienna"))
    fence = world.places.geofences[0]
    assert fence.id == 1 and fence.name == "Depot" and fence.address
    seen = {"geofence_enter": 0, "geofence_exit": 0, "stopped": 0}
    for event in itertools.islice(world.events(), 6000):
        if event.kind in ("geofence_enter", "geofence_exit"):
            assert event.attrs["address"] == world.places.geofences[event.attrs["geofence_id"] - 1].address
            seen[event.kind] += 1
        elif event.kind == "stopped":
            assert event.attrs["address"] == world.places.stop(event.attrs["stop"]).address
            seen["stopped"] += 1
    assert all(seen.values()), seen


def test_a_place_keeps_its_address() -> None:
    one, two = World(city_scenario("chicago")), World(city_scenario("chicago"))
    assert one.places.geofences == two.places.geofences
    assert [one.places.stop(n).address for n in range(40)] == [two.places.stop(n).address for n in range(40)]
    assert len({one.places.stop(n).address for n in range(40)}) > 30


# -- schemas ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("slug", sorted(CITIES))
def test_every_city_renders_schema_valid_traffic_for_every_provider(slug: str, version: int) -> None:
    providers = set()
    for message in itertools.islice(scenario_messages(city_scenario(slug, version=version)), 800):
        errors = validate(PROVIDERS[message.provider], message.kind, message.payload)
        assert not errors, (slug, message.provider, message.kind, [str(e) for e in errors], message.payload)
        providers.add(message.provider)
    assert providers == {"mettax", "smartgps", "samsara", "powunity"}


# -- Faker at start-up only ------------------------------------------------------------------------------------


class _Spy:
    """Counts Faker instances made through pools.new_faker and every method called on them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.instances = 0
        self.calls = 0
        real = pools.new_faker

        def new_faker(locale: str, seed: str) -> Any:
            self.instances += 1
            return _Counted(real(locale, seed), self)

        monkeypatch.setattr(pools, "new_faker", new_faker)


class _Counted:
    def __init__(self, fake: Any, spy: _Spy) -> None:
        self._fake, self._spy = fake, spy

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._fake, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self._spy.calls += 1
            return attr(*args, **kwargs)

        return call


def test_a_world_draws_its_pools_once_and_no_event_calls_faker(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = _Spy(monkeypatch)
    stream = scenario_stream(city_scenario("shenzhen"))
    next(stream)  # the world is built on the first record
    assert spy.instances == 1
    at_start = spy.calls
    assert at_start > 0
    assert sum(1 for _ in itertools.islice(stream, 5000)) == 5000
    assert (spy.instances, spy.calls) == (1, at_start)


def test_a_generator_run_draws_its_name_pool_once(monkeypatch: pytest.MonkeyPatch) -> None:
    pools.generator_names.cache_clear()
    spy = _Spy(monkeypatch)
    provider = PROVIDERS["samsara"]
    names = set()
    for item in generate_payloads(provider, "alert_v1", seed=424242, count=150):
        driver = item.payload.get("event", {}).get("driver")
        if isinstance(driver, dict) and "name" in driver:
            names.add(driver["name"])
    assert spy.instances == 1
    pools.generator_names.cache_clear()  # later tests draw real pools, not counted ones
    assert names and names <= set(pools.generator_names(424242))
    assert len(names) > 5


# -- determinism ----------------------------------------------------------------------------------------------


def test_pools_are_the_same_for_a_seed_and_differ_between_seeds() -> None:
    def draw(seed: str) -> pools.Pools:
        return pools.draw("de_AT", seed, names=30, streets=30, plates=10)

    assert draw("a") == draw("a")
    assert draw("a").names != draw("b").names
    assert pools.generator_names(1) != pools.generator_names(2)
    assert len(set(draw("a").names)) == 30


def _generate(args: list[str], hash_seed: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    proc = subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True, env=env, check=True)
    return proc.stdout


def test_generate_scenario_twice_gives_the_same_bytes() -> None:
    # separate processes with different hash seeds: nothing may depend on set order or process state
    args = ["generate", "--scenario", str(scenarios_dir() / "mettax-dashcam-shift.yaml"), "--limit", "400"]
    first, second = _generate(args, "1"), _generate(args, "2")
    assert first == second
    assert "粤B".encode() in first  # Shenzhen plates, raw UTF-8 inside the JSON bodies


def test_generate_payloads_twice_gives_the_same_bytes() -> None:
    args = ["generate", "mettax", "rfid", "-n", "60", "--seed", "9"]
    assert _generate(args, "3") == _generate(args, "4")
