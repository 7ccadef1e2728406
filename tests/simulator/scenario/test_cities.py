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
