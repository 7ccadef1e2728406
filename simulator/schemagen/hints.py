"""Realistic value generators named by a schema's `x-gen` annotation (see docs/schema-conventions.md).

Each takes the seeded RNG and the (merged) schema node, so bounds such as minLength can shape the value.
Pools are fixed tuples, never Faker calls per value: generation stays fast and seedable. Person names are
the exception to "built at import": they come from Faker (core/pools.py), drawn once per generator run from
its seed; the schema walker hands each run's pool to `person_name` (the entry in HINTS uses seed 0's pool).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..core import ids
from ..core.pools import generator_names

HintFn = Callable[[random.Random, dict[str, Any]], Any]
#: per-document scratch space, so paired hints (latitude then longitude) describe one place
DocContext = dict[str, Any]
HINTS: dict[str, HintFn] = {}

# 2024-01-01T00:00:00Z .. 2026-12-31T23:59:59Z
EPOCH_MIN = 1704067200
EPOCH_MAX = 1798761599

#: (name, lat, lon, radius km) — cities where fleetsim's fleets drive
CITIES: tuple[tuple[str, float, float, float], ...] = (
    ("Belo Horizonte", -19.9167, -43.9345, 12.0),
    ("Sao Paulo", -23.5505, -46.6333, 20.0),
    ("Shenzhen", 22.5431, 114.0579, 18.0),
    ("Chicago", 41.8781, -87.6298, 20.0),
    ("Vienna", 48.2082, 16.3738, 10.0),
    ("Mexico City", 19.4326, -99.1332, 18.0),
)

VEHICLE_KINDS = ("Truck", "Van", "Car", "Reefer", "Bus", "Bike")
HOSTS = ("files.imettax.com", "media.fleet.example", "cloud.samsara.com", "iot.powunity.com")
WORDS = (
    "vehicle", "route", "depot", "driver", "alert", "north", "yard", "dock", "zone", "fleet", "gate",
    "stop", "cargo", "cold", "chain", "warehouse",
)


def hint(name: str) -> Callable[[HintFn], HintFn]:
    def deco(fn: HintFn) -> HintFn:
        HINTS[name] = fn
        return fn

    return deco


def _length(schema: dict[str, Any], default: int) -> int:
    low = int(schema.get("minLength", default))
    high = int(schema.get("maxLength", max(low, default)))
    return max(low, min(high, default)) if low <= default <= high else low


def point(rng: random.Random) -> tuple[float, float]:
    """A coordinate uniformly inside one of the CITIES discs."""
    _, lat, lon, radius_km = rng.choice(CITIES)
    r = radius_km * math.sqrt(rng.random())
    theta = rng.random() * 2 * math.pi
    dlat = (r * math.cos(theta)) / 111.32
    dlon = (r * math.sin(theta)) / (111.32 * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


def person_name(rng: random.Random, names: tuple[str, ...]) -> str:
    """A driver's full name from a run's Faker-drawn pool (core.pools.generator_names)."""
    return rng.choice(names)


def epoch_s(rng: random.Random) -> int:
    return rng.randint(EPOCH_MIN, EPOCH_MAX)


def iso_utc(ts_ms: int, *, digits: int) -> str:
    dt = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if digits == 0:
        return base + "Z"
    frac = f"{ts_ms % 1000:03d}" if digits == 3 else f"{ts_ms % 1000:03d}000"
    return f"{base}.{frac}Z"


def traccar_time(ts_ms: int) -> str:
    """Jackson StdDateFormat in UTC as Traccar writes it: millisecond precision, `+00:00`."""
    return iso_utc(ts_ms, digits=3)[:-1] + "+00:00"


hint("uuid4")(lambda rng, s: ids.uuid4(rng))
hint("mettax_device_id")(lambda rng, s: ids.mettax_device_id(rng))
hint("snowflake")(lambda rng, s: ids.snowflake(rng))
hint("mettax_msg_id")(lambda rng, s: f"{ids.mettax_device_id(rng)}_{ids.snowflake(rng)}")
hint("imei")(lambda rng, s: ids.imei(rng))
hint("vin")(lambda rng, s: ids.vin(rng))
hint("plate_br")(lambda rng, s: ids.plate_br(rng))
hint("person_name")(lambda rng, s: person_name(rng, generator_names(0)))
hint("vehicle_name")(lambda rng, s: f"{rng.choice(VEHICLE_KINDS)} {rng.randint(1, 250)}")
hint("epoch_s")(lambda rng, s: epoch_s(rng))
hint("epoch_ms")(lambda rng, s: epoch_s(rng) * 1000 + rng.randint(0, 999))
hint("iso_utc_z")(lambda rng, s: iso_utc(epoch_s(rng) * 1000, digits=0))
hint("iso_utc_ms_z")(lambda rng, s: iso_utc(epoch_s(rng) * 1000 + rng.randint(0, 999), digits=3))
hint("iso_utc_micro_z")(lambda rng, s: iso_utc(epoch_s(rng) * 1000 + rng.randint(0, 999), digits=6))
hint("traccar_time")(lambda rng, s: traccar_time(epoch_s(rng) * 1000 + rng.randint(0, 999)))

# Unpaired forms; the schema walker intercepts these names and pairs latitude with longitude per document.
hint("latitude")(lambda rng, s: point(rng)[0])
hint("longitude")(lambda rng, s: point(rng)[1])
hint("latitude_str")(lambda rng, s: f"{point(rng)[0]:.6f}")
hint("longitude_str")(lambda rng, s: f"{point(rng)[1]:.6f}")


def paired_coordinate(rng: random.Random, ctx: DocContext, axis: int) -> float:
    """Latitude (axis 0) or longitude (axis 1) of the document's current point.

    A point is drawn when an axis is asked for a second time, so a latitude and the longitude that follows
    it always come from the same place (never a Belo Horizonte latitude with a Chicago longitude).
    """
    pending: tuple[tuple[float, float], set[int]] | None = ctx.get("point")
    if pending is None or axis in pending[1]:
        pending = ctx["point"] = (point(rng), set())
    pending[1].add(axis)
    value: float = pending[0][axis]
    return value
hint("hex_upper")(lambda rng, s: ids.hex_string(rng, _length(s, 16), upper=True))
hint("hex_lower")(lambda rng, s: ids.hex_string(rng, _length(s, 16)))
hint("rfid_card")(lambda rng, s: ids.hex_string(rng, 8, upper=True))
hint("ulid")(lambda rng, s: ids.ulid(rng, epoch_ms=epoch_s(rng) * 1000))
hint("slug")(lambda rng, s: "_".join(rng.sample(WORDS, 2)))
hint("https_url")(lambda rng, s: f"https://{rng.choice(HOSTS)}/{rng.choice(WORDS)}/{rng.randint(1, 99999)}")
hint("numeric_string")(lambda rng, s: ids.digits(rng, _length(s, 10)))
hint("sentence")(
    lambda rng, s: " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))).capitalize() + "."
)


@hint("file_url")
def _file_url(rng: random.Random, schema: dict[str, Any]) -> str:
    ext = rng.choice(("jpg", "jpg", "mp4"))
    return f"https://{HOSTS[0]}/mettaxftp/{rng.randint(202401, 202612)}/{ids.hex_string(rng, 24)}.{ext}"
