"""The named cities a scenario's `region.city` can pick: centre, radius and IANA time zone.

Built from `schemagen.hints.CITIES` (where generated coordinates fall), so both always agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnknownNameError
from ..schemagen.hints import CITIES as _HINT_CITIES
from .model import LatLon

#: IANA zone of each city in schemagen.hints.CITIES, by display name
_ZONES = {
    "Belo Horizonte": "America/Sao_Paulo",
    "Sao Paulo": "America/Sao_Paulo",
    "Shenzhen": "Asia/Shanghai",
    "Chicago": "America/Chicago",
    "Vienna": "Europe/Vienna",
    "Mexico City": "America/Mexico_City",
}


@dataclass(frozen=True)
class City:
    slug: str  # how scenarios name it: "belo-horizonte"
    name: str  # display name: "Belo Horizonte"
    center: LatLon
    radius_km: float
    timezone: str  # IANA zone


def slugify(name: str) -> str:
    return "-".join(name.lower().split())


CITIES: dict[str, City] = {
    slugify(name): City(slugify(name), name, LatLon(lat, lon), radius_km, _ZONES[name])
    for name, lat, lon, radius_km in _HINT_CITIES
}


def get_city(slug: str) -> City:
    """The city called `slug`; UnknownNameError with a "did you mean" otherwise."""
    try:
        return CITIES[slug]
    except KeyError:
        raise UnknownNameError("city", slug, CITIES) from None
