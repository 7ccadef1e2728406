"""Devices and drivers: identities in every vendor's format, built once per scenario from the seed.

Names, plates and VINs look like the region's (scenario.cities.Locality): driver names and, where the city
uses Faker's plates, plates come from pools Faker draws at start-up (core/pools.py), never per event.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any
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
    number: int  # 1-based across the scenario
    tz_offset_s: int  # the device's time zone (MettaX reportCt is local wall-clock time)
    clock_skew_s: float  # device clock minus gateway clock
    #: the fleet (scenario name and seed) the device belongs to: one platform account, so account-wide ids
    #: (a Samsara org and its webhook) derive from it and are shared by every device of the scenario
    fleet: str = ""
    #: the identifiers only its provider uses (a MettaX device id, a Traccar id, a Samsara gateway serial...),
    #: drawn by the provider itself (`Provider.device_ids`): the world knows no vendor
    vendor_ids: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)


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
    from ..providers import PROVIDERS  # here, not at import: provider packages import the world

    known = PROVIDERS.get(provider)
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
        number=number,
        tz_offset_s=tz_offset_s,
        clock_skew_s=round(rng.uniform(-2.0, 2.0), 3),
        fleet=fleet,
        vendor_ids=MappingProxyType(known.device_ids(rng, number=number, plate=plate) if known else {}),
    )
