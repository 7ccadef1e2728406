"""Vehicle kinematics and electrical profiles: how each kind of vehicle moves, idles and is powered.

Accelerations are m/s² (1 g = 9.80665 m/s²). Three tiers per axis, always ordered
    typical (what a calm driver does) < harsh threshold (what a telematics unit flags) < physical max,
so a plan made of typical values never raises an alarm and a harsh manoeuvre is always physically possible.

Harsh thresholds follow the defaults commercial telematics units ship with per vehicle class (e.g. Samsara's
passenger / light-duty / heavy-duty presets, Geotab-style "harsh braking ≈ 0.4 g" for cars): heavy vehicles
are flagged at much lower g because their load shifts and they roll over long before their tyres slide.
"""

from __future__ import annotations

from dataclasses import dataclass

G = 9.80665  # standard gravity, m/s²


@dataclass(frozen=True)
class VehicleProfile:
    name: str
    max_speed_kmh: float  # top speed the vehicle (or its mandatory limiter) allows
    # longitudinal, m/s²
    accel_mps2: float  # typical acceleration when pulling away
    brake_mps2: float  # comfortable deceleration when slowing for a corner or a stop
    max_accel_mps2: float  # physical maximum (full throttle)
    max_brake_mps2: float  # physical maximum (emergency stop, ABS)
    harsh_accel_mps2: float  # above this a telematics unit reports harsh acceleration
    harsh_brake_mps2: float  # above this (as a deceleration) it reports harsh braking
    # lateral, m/s²
    lateral_mps2: float  # comfortable cornering: sets the speed through turns
    harsh_lateral_mps2: float  # above this it reports a harsh turn
    max_lateral_mps2: float  # grip / rollover limit
    # idling (engine on, not moving)
    has_engine: bool
    idle_before_s: tuple[float, float]  # range of engine-on time before pulling away
    idle_after_s: tuple[float, float]  # range of engine-on time after arriving, before ignition off
    long_idle_share: float  # share of stops where the engine is left running for a long time
    long_idle_s: tuple[float, float]  # range of such a long idle
    # electrical
    nominal_voltage_v: float  # system voltage: 12 V car/van, 24 V truck/bus, 36 V e-bike pack
    resting_voltage_v: float  # engine off / pack at rest, healthy battery
    charging_voltage_v: float  # engine running (alternator) / e-bike pack fully charged
    # GPS
    altitude_noise_m: float  # 1-σ vertical GPS error of the unit fitted to this kind of vehicle

    @property
    def max_speed_mps(self) -> float:
        return self.max_speed_kmh / 3.6


PROFILES: dict[str, VehicleProfile] = {
    "car": VehicleProfile(
        name="car",
        max_speed_kmh=180.0,  # ordinary fleet sedan / hatchback
        accel_mps2=2.0,  # ~0.2 g: 0→50 km/h in ~7 s, normal urban pull-away
        brake_mps2=2.5,  # ~0.25 g: below the ~3 m/s² passengers start to notice
        max_accel_mps2=5.0,  # ~0.5 g: 0→100 km/h in ~6 s at full throttle
        max_brake_mps2=8.5,  # ~0.87 g: ABS stop on dry asphalt
        harsh_accel_mps2=3.4,  # ~0.35 g: passenger-car harsh-acceleration preset
        harsh_brake_mps2=3.9,  # ~0.4 g: the classic passenger-car harsh-braking threshold
        lateral_mps2=2.5,  # ~0.25 g: a 90° junction (r ≈ 12 m) is taken at ~20 km/h
        harsh_lateral_mps2=3.9,  # ~0.4 g
        max_lateral_mps2=7.5,  # ~0.75 g: road tyre grip
        has_engine=True,
        idle_before_s=(10.0, 60.0),  # belt on, mirror, navigation
        idle_after_s=(5.0, 40.0),
        long_idle_share=0.08,  # waiting with the air conditioning on
        long_idle_s=(300.0, 1200.0),
        nominal_voltage_v=12.0,
        resting_voltage_v=12.6,  # fully charged lead-acid at rest
        charging_voltage_v=14.2,  # alternator regulation voltage
        altitude_noise_m=6.0,  # vertical error is ~1.5–2× the ~3 m horizontal error
    ),
    "van": VehicleProfile(
        name="van",
        max_speed_kmh=150.0,  # light commercial vehicle, often laden
        accel_mps2=1.6,  # heavier and usually carrying cargo
        brake_mps2=2.2,  # drivers brake earlier to keep the load in place
        max_accel_mps2=3.5,
        max_brake_mps2=7.5,  # higher centre of gravity, longer stops than a car
        harsh_accel_mps2=2.9,  # ~0.3 g: light-duty preset
        harsh_brake_mps2=3.4,  # ~0.35 g
        lateral_mps2=2.2,
        harsh_lateral_mps2=3.4,  # ~0.35 g: tall body, load shifts
        max_lateral_mps2=6.0,
        has_engine=True,
        idle_before_s=(10.0, 90.0),
        idle_after_s=(10.0, 60.0),
        long_idle_share=0.12,  # delivery drivers leave the engine running at quick drops
        long_idle_s=(300.0, 1500.0),
        nominal_voltage_v=12.0,
        resting_voltage_v=12.6,
        charging_voltage_v=14.3,
        altitude_noise_m=6.0,
    ),
    "truck": VehicleProfile(
        name="truck",
        max_speed_kmh=90.0,  # mandatory speed limiter for heavy goods vehicles (EU 92/6/EEC, similar elsewhere)
        accel_mps2=0.6,  # a laden 40 t combination pulls away slowly
        brake_mps2=1.5,  # air brakes, smooth driving to protect the load
        max_accel_mps2=2.0,  # an empty tractor unit at best
        max_brake_mps2=6.0,  # ~0.6 g: heavy-vehicle emergency stop
        harsh_accel_mps2=1.75,  # ~0.18 g: heavy-duty preset
        harsh_brake_mps2=2.9,  # ~0.3 g: heavy-duty preset, well below a car's 0.4 g
        lateral_mps2=1.5,  # keeps well clear of the rollover threshold
        harsh_lateral_mps2=2.65,  # ~0.27 g
        max_lateral_mps2=3.9,  # ~0.4 g: static rollover threshold of a laden semi-trailer
        has_engine=True,
        idle_before_s=(60.0, 300.0),  # air pressure build-up, pre-trip checks
        idle_after_s=(30.0, 180.0),  # turbo cool-down
        long_idle_share=0.25,  # waiting at docks, cab heating/cooling
        long_idle_s=(600.0, 2400.0),
        nominal_voltage_v=24.0,
        resting_voltage_v=25.2,  # two 12 V batteries in series
        charging_voltage_v=28.2,
        altitude_noise_m=5.0,  # roof-mounted antenna with a clear sky view
    ),
    "bus": VehicleProfile(
        name="bus",
        max_speed_kmh=100.0,  # mandatory limiter for buses and coaches (EU M2/M3)
        accel_mps2=1.0,  # standing passengers: ~1–1.5 m/s² is the comfort limit
        brake_mps2=1.5,
        max_accel_mps2=2.5,
        max_brake_mps2=6.0,
        harsh_accel_mps2=1.9,  # ~0.19 g: passengers standing, flagged early
        harsh_brake_mps2=2.9,  # ~0.3 g
        lateral_mps2=1.5,
        harsh_lateral_mps2=2.45,  # ~0.25 g
        max_lateral_mps2=4.0,
        has_engine=True,
        idle_before_s=(30.0, 180.0),  # boarding at the first stop
        idle_after_s=(30.0, 120.0),
        long_idle_share=0.2,  # layovers at the terminus with the engine running
        long_idle_s=(300.0, 1800.0),
        nominal_voltage_v=24.0,
        resting_voltage_v=25.2,
        charging_voltage_v=28.2,
        altitude_noise_m=5.0,
    ),
    "e-bike": VehicleProfile(
        name="e-bike",
        max_speed_kmh=25.0,  # pedelec assistance cut-off (EU EN 15194)
        accel_mps2=1.0,  # 0→25 km/h in ~7 s with assistance
        brake_mps2=1.5,
        max_accel_mps2=2.5,  # sprinting out of the saddle with full assistance
        max_brake_mps2=6.0,  # ~0.6 g: beyond that the rider goes over the handlebar
        harsh_accel_mps2=2.0,  # ~0.2 g
        harsh_brake_mps2=3.4,  # ~0.35 g: the kind of stop that triggers crash-detection sensors
        lateral_mps2=2.0,  # ~11° lean
        harsh_lateral_mps2=3.9,  # ~22° lean
        max_lateral_mps2=6.5,  # ~34° lean, tyre grip limit on a bicycle
        has_engine=False,  # no idling: the motor only runs while pedalling
        idle_before_s=(0.0, 0.0),
        idle_after_s=(0.0, 0.0),
        long_idle_share=0.0,
        long_idle_s=(0.0, 0.0),
        nominal_voltage_v=36.0,  # 10-series lithium-ion pack
        resting_voltage_v=37.0,  # mid-charge open-circuit voltage
        charging_voltage_v=42.0,  # fully charged (4.2 V per cell)
        altitude_noise_m=8.0,  # small antenna inside the frame or battery housing
    ),
}


def get_profile(name: str) -> VehicleProfile:
    """The profile called `name` (car | van | truck | bus | e-bike); KeyError naming the choices otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown vehicle profile {name!r}; expected one of {', '.join(PROFILES)}") from None
