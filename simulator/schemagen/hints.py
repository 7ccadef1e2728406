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
    # the vendor's sample: https://files.imettax.com/mettaxftp/202505%2Fsit_video_alarm_2025051303_..._122549.jpg
    ext = rng.choice(("jpg", "jpg", "mp4"))
    when = datetime.fromtimestamp(epoch_s(rng), tz=UTC)
    stamp = f"{int(when.timestamp() * 1000)}{ids.digits(rng, 19)}"
    name = f"sit_video_alarm_{when:%Y%m%d%H}_{stamp}_00_00_{rng.randint(60_000, 999_999)}"
    return f"https://{HOSTS[0]}/mettaxftp/{when:%Y%m}%2F{name}.{ext}"


#: Traccar decoder names (protocol/*ProtocolDecoder.java). PowUnity BikeTrax trackers report as h02 (provider-facts
#: §2), so it dominates; the others are common Traccar protocols a newer or mixed server would show.
TRACCAR_PROTOCOLS = ("h02",) * 6 + ("gt06", "osmand", "teltonika", "watch", "tk103", "meitrack", "gps103", "huabao")
hint("traccar_protocol")(lambda rng, s: rng.choice(TRACCAR_PROTOCOLS))

#: a few real arterial streets per city of CITIES, each written the way that country writes an address
STREETS: dict[str, tuple[tuple[str, ...], str]] = {
    "Belo Horizonte": (("Av. Afonso Pena", "Rua da Bahia", "Av. do Contorno", "Av. Amazonas", "Rua dos Carijós"),
                       "{street}, {number} - Belo Horizonte - MG"),
    "Sao Paulo": (("Av. Paulista", "Rua Augusta", "Av. Brigadeiro Faria Lima", "Av. Rebouças", "Rua da Consolação"),
                  "{street}, {number} - São Paulo - SP"),
    "Shenzhen": (("Shennan Blvd", "Binhe Blvd", "Huaqiang N Rd", "Shenzhen Bay Rd", "Bao'an Blvd"),
                 "{number} {street}, Shenzhen, Guangdong"),
    "Chicago": (("S Halsted St", "W Roosevelt Rd", "W Madison St", "S Ashland Ave", "N Elston Ave"),
                "{number} {street}, Chicago, IL"),
    "Vienna": (("Mariahilfer Straße", "Landstraßer Hauptstraße", "Wiedner Hauptstraße", "Praterstraße",
                "Triester Straße"), "{street} {number}, Wien"),
    "Mexico City": (("Av. Insurgentes Sur", "Av. Paseo de la Reforma", "Calz. de Tlalpan", "Av. Chapultepec",
                     "Av. Río Churubusco"), "{street} {number}, Ciudad de México, CDMX"),
}


def nearest_city(lat: float, lon: float) -> str:
    return min(CITIES, key=lambda c: (c[1] - lat) ** 2 + ((c[2] - lon) * math.cos(math.radians(c[1]))) ** 2)[0]


def street_address(rng: random.Random, near: tuple[float, float] | None = None) -> str:
    """A street address in the city nearest `near` (a random city of CITIES without it)."""
    city = nearest_city(*near) if near is not None else rng.choice(CITIES)[0]
    streets, template = STREETS[city]
    return template.format(street=rng.choice(streets), number=rng.randint(10, 2999))


hint("street_address")(lambda rng, s: street_address(rng))

#: Samsara object ids are 2^48 + a serial number, e.g. 281474978683353 (provider-facts §3.3 capture)
hint("samsara_id")(lambda rng, s: str(rng.randint(2**48, 2**48 + 99_999_999)))
#: webhook ids are 16 digits in every vendor example (1411751028848270)
hint("samsara_webhook_id")(lambda rng, s: ids.digits(rng, 16))


@hint("samsara_gateway_serial")
def _samsara_gateway_serial(rng: random.Random, schema: dict[str, Any]) -> str:
    # GFRV-43N-VGX in the vendor's examples: 4-3-3 upper-case letters and digits
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ23456789"
    return "-".join("".join(rng.choice(alphabet) for _ in range(n)) for n in (4, 3, 3))


@hint("mettax_passthrough")
def _mettax_passthrough(rng: random.Random, schema: dict[str, Any]) -> str:
    # seed 003: a JSON object as a string, com1 and com2 the serial ports' data as lower-case hex
    com1 = ids.hex_string(rng, 2 * rng.randint(8, 48))
    com2 = ids.hex_string(rng, 2 * rng.randint(8, 80)) if rng.random() < 0.7 else ""
    return f'{{"com1":"{com1}","com2":"{com2}"}}'
