"""The named cities a scenario's `region.city` can pick: centre, radius, IANA time zone, and how the city's
people, plates and street addresses look.

Built from `schemagen.hints.CITIES` (where generated coordinates fall), so both always agree. `locale` is the
Faker locale that names drivers and streets (core/pools.py); `plates` names a plate format in
`core.ids.PLATES`, or "faker" for the locale's own `license_plate()`; `country` picks VIN manufacturer codes
(`core.ids.VIN_WMIS`); `address` is the one-line street address as the city writes it, with {street} (a
Faker street name), {number} (1..`house_numbers`) and {postcode} (a string matching `postcode`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnknownNameError
from ..schemagen.hints import CITIES as _HINT_CITIES
from .model import LatLon, Region


@dataclass(frozen=True)
class Locality:
    """How names, plates and addresses look where a fleet drives."""

    locale: str  # Faker locale
    country: str  # ISO 3166-1 alpha-2
    plates: str  # key of core.ids.PLATES, or "faker"
    address: str  # template: {street} {number} {postcode}
    postcode: str  # regex
    house_numbers: int = 999


#: for regions given by centre and radius: Faker's neutral default locale, its plates, no postcode
DEFAULT_LOCALITY = Locality("en_US", "", "faker", "{number} {street}", "")

#: per city in schemagen.hints.CITIES, by display name: IANA zone and locality
_CITY_FACTS: dict[str, tuple[str, Locality]] = {
    # Brazilian addresses read "Rua X, 123 - City - UF, CEP"; Belo Horizonte's CEPs are 30000-000..31999-999
    "Belo Horizonte": ("America/Sao_Paulo", Locality(
        "pt_BR", "BR", "br", "{street}, {number} - Belo Horizonte - MG, {postcode}", r"3[01][0-9]{3}-[0-9]{3}",
        1999)),
    # São Paulo city CEPs: 01000-000..05999-999 (and 08xxx in the east zone)
    "Sao Paulo": ("America/Sao_Paulo", Locality(
        "pt_BR", "BR", "br", "{street}, {number} - São Paulo - SP, {postcode}", r"0[1-58][0-9]{3}-[0-9]{3}",
        2999)),
    # province, city, street, number 号; Shenzhen postcodes 518000..518133
    "Shenzhen": ("Asia/Shanghai", Locality(
        "zh_CN", "CN", "cn-shenzhen", "广东省深圳市{street}{number}号 {postcode}",
        r"518(0[0-9]{2}|1[0-2][0-9]|13[0-3])", 399)),
    # Chicago ZIP codes 60601..60661
    "Chicago": ("America/Chicago", Locality(
        "en_US", "US", "us-illinois", "{number} {street}, Chicago, IL {postcode}", r"606(0[1-9]|[1-5][0-9]|6[01])",
        9999)),
    # Vienna's postcodes are 1, the district 01..23, 0
    "Vienna": ("Europe/Vienna", Locality(
        "de_AT", "AT", "at-vienna", "{street} {number}, {postcode} Wien", r"1(0[1-9]|1[0-9]|2[0-3])0", 199)),
    # Mexico City códigos postales 01000..16999; Faker's es_MX plates follow the 2016 national scheme
    "Mexico City": ("America/Mexico_City", Locality(
        "es_MX", "MX", "faker", "{street} {number}, {postcode} Ciudad de México, CDMX",
        r"(0[1-9]|1[0-6])[0-9]{3}", 1999)),
}


@dataclass(frozen=True)
class City:
    slug: str  # how scenarios name it: "belo-horizonte"
    name: str  # display name: "Belo Horizonte"
    center: LatLon
    radius_km: float
    timezone: str  # IANA zone
    locality: Locality

    @property
    def locale(self) -> str:
        return self.locality.locale


def slugify(name: str) -> str:
    return "-".join(name.lower().split())


CITIES: dict[str, City] = {
    slugify(name): City(slugify(name), name, LatLon(lat, lon), radius_km, *_CITY_FACTS[name])
    for name, lat, lon, radius_km in _HINT_CITIES
}


def get_city(slug: str) -> City:
    """The city called `slug`; UnknownNameError with a "did you mean" otherwise."""
    try:
        return CITIES[slug]
    except KeyError:
        raise UnknownNameError("city", slug, CITIES) from None


def locality_of(region: Region) -> Locality:
    """The region's city's locality, or the neutral default for a region given by centre and radius."""
    city = CITIES.get(region.city) if region.city else None
    return city.locality if city else DEFAULT_LOCALITY
