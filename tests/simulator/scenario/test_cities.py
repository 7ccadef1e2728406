from __future__ import annotations

from zoneinfo import ZoneInfo

from simulator.scenario.cities import CITIES
from simulator.schemagen.hints import CITIES as HINT_CITIES


def test_cities_match_the_generator_table() -> None:
    assert sorted(CITIES) == ["belo-horizonte", "chicago", "mexico-city", "sao-paulo", "shenzhen", "vienna"]
    by_name = {c.name: c for c in CITIES.values()}
    for name, lat, lon, radius_km in HINT_CITIES:
        city = by_name[name]
        assert (city.center.lat, city.center.lon, city.radius_km) == (lat, lon, radius_km)


def test_city_zones_are_real_iana_zones() -> None:
    for city in CITIES.values():
        assert ZoneInfo(city.timezone).key == city.timezone
    assert CITIES["shenzhen"].timezone == "Asia/Shanghai"
    assert CITIES["belo-horizonte"].timezone == "America/Sao_Paulo"


def test_each_city_names_its_faker_locale_and_known_formats() -> None:
    from faker.config import AVAILABLE_LOCALES

    from simulator.core.ids import PLATES, VIN_WMIS

    assert {slug: c.locale for slug, c in CITIES.items()} == {
        "belo-horizonte": "pt_BR", "sao-paulo": "pt_BR", "shenzhen": "zh_CN", "mexico-city": "es_MX",
        "vienna": "de_AT", "chicago": "en_US",
    }
    for city in CITIES.values():
        loc = city.locality
        assert loc.locale in AVAILABLE_LOCALES
        assert loc.plates == "faker" or loc.plates in PLATES
        assert loc.country in VIN_WMIS
        assert "{street}" in loc.address and "{number}" in loc.address
