"""Devices and drivers: identities in every vendor's format, built once per scenario from the seed.

Names, plates and VINs look like the region's (scenario.cities.Locality): driver names and, where the city
uses Faker's plates, plates come from pools Faker draws at start-up (core/pools.py), never per event.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ..core import ids
from ..core.pools import generator_names

_LABELS = {"car": "Car", "van": "Van", "truck": "Truck", "bus": "Bus", "e-bike": "Bike"}


@dataclass(frozen=True)
class Driver:
    id: int
    name: str
    rfid: str  # 8 upper-case hex digits
    face_id: str
    samsara_id: int


@dataclass(frozen=True)
class Device:
    key: str  # "<group>/<n>", 1-based: how scenarios and reports name it
    group: str
    index: int
    provider: str
    profile: str
    features: frozenset[str]
    label: str  # "Truck 12"
    plate: str
    vin: str
    imei: str
    mettax_id: str  # 12 digits
    traccar_id: int
    samsara_id: int
    serial: str  # Samsara gateway serial
    object_id: str  # SmartGPS SGO-<plate>
    tz_offset_s: int  # the device's time zone (MettaX reportCt is local wall-clock time)
    clock_skew_s: float  # device clock minus gateway clock
    #: the fleet (scenario name and seed) the device belongs to: one platform account, so account-wide ids
    #: (a Samsara org and its webhook) derive from it and are shared by every device of the scenario
    fleet: str = ""


def tz_offset(timezone: str, at: float) -> int:
    offset = datetime.fromtimestamp(at, ZoneInfo(timezone)).utcoffset()
    return int(offset.total_seconds()) if offset else 0


def make_driver(rng: random.Random, number: int, name: str | None = None) -> Driver:
    """Driver `number`; World passes `name` from its Faker pool (without one: from the en_US default pool)."""
    return Driver(
        id=number,
        name=name if name is not None else rng.choice(generator_names(0)),
        rfid=ids.hex_string(rng, 8, upper=True),
        face_id=str(rng.randint(1, 99999)),
        samsara_id=rng.randint(10**5, 10**7),
    )


def make_device(
    rng: random.Random, *, group: str, index: int, number: int, provider: str, profile: str,
    features: frozenset[str], tz_offset_s: int, plate: str | None = None,
    vin_wmis: tuple[str, ...] = ids.DEFAULT_WMIS, fleet: str = "",
) -> Device:
    """Device `number`; World passes the plate in the region's format (without one: a Brazilian plate)."""
    if plate is None:
        plate = ids.plate_br(rng)
    serial = "G" + "-".join(ids.hex_string(rng, 3, upper=True) for _ in range(3))
    return Device(
        key=f"{group}/{index}",
        group=group,
        index=index,
        provider=provider,
        profile=profile,
        features=features,
        label=f"{_LABELS.get(profile, 'Vehicle')} {number}",
        plate=plate,
        vin=ids.vin(rng, vin_wmis),
        imei=ids.imei(rng),
        mettax_id=ids.mettax_device_id(rng),
        traccar_id=number,
        samsara_id=rng.randint(10**14, 10**15 - 1),
        serial=serial,
        object_id="SGO-" + "".join(c for c in plate if c.isascii() and c.isalnum()),
        tz_offset_s=tz_offset_s,
        clock_skew_s=round(rng.uniform(-2.0, 2.0), 3),
        fleet=fleet,
    )
