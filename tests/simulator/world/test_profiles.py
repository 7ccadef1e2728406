"""Vehicle profiles are ordered so that typical driving never alarms and harsh driving stays physical."""

from __future__ import annotations

import pytest

from simulator.world.profiles import PROFILES, G, VehicleProfile, get_profile


def test_all_profiles_present() -> None:
    assert set(PROFILES) == {"car", "van", "truck", "bus", "e-bike"}
    for name, p in PROFILES.items():
        assert p.name == name
        assert get_profile(name) is p
    with pytest.raises(KeyError, match="car"):
        get_profile("tank")


@pytest.mark.parametrize("p", PROFILES.values(), ids=list(PROFILES))
def test_tiers_are_ordered(p: VehicleProfile) -> None:
    assert 0 < p.accel_mps2 < p.harsh_accel_mps2 < p.max_accel_mps2
    assert 0 < p.brake_mps2 < p.harsh_brake_mps2 < p.max_brake_mps2
    assert 0 < p.lateral_mps2 < p.harsh_lateral_mps2 < p.max_lateral_mps2
    assert p.max_brake_mps2 <= 1.0 * G  # nothing on tyres stops harder than ~1 g
    assert p.max_speed_mps == pytest.approx(p.max_speed_kmh / 3.6)
    assert p.idle_before_s[0] <= p.idle_before_s[1] and p.idle_after_s[0] <= p.idle_after_s[1]
    assert p.long_idle_s[0] <= p.long_idle_s[1] and 0 <= p.long_idle_share < 1
    assert p.nominal_voltage_v < p.resting_voltage_v < p.charging_voltage_v
    assert p.altitude_noise_m > 0


def test_realistic_values() -> None:
    car, truck, bus, bike = PROFILES["car"], PROFILES["truck"], PROFILES["bus"], PROFILES["e-bike"]
    assert car.harsh_brake_mps2 == pytest.approx(0.4 * G, rel=0.02)  # the classic 0.4 g
    assert truck.harsh_brake_mps2 < car.harsh_brake_mps2 and truck.harsh_accel_mps2 < car.harsh_accel_mps2
    assert truck.harsh_lateral_mps2 < car.harsh_lateral_mps2
    assert {p.nominal_voltage_v for p in (car, PROFILES["van"])} == {12.0}
    assert {p.nominal_voltage_v for p in (truck, bus)} == {24.0}
    assert bike.nominal_voltage_v == 36.0 and not bike.has_engine and bike.max_speed_kmh <= 25
    assert truck.max_speed_kmh <= 90 and bus.max_speed_kmh <= 100  # mandatory limiters
