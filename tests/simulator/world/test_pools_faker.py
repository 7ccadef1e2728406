"""core/pools.py makes its Faker with only the providers it draws from (FAKER_PROVIDERS), which is cheaper to set
up than Faker's default of all of them: the pools must be exactly those a default Faker draws, for every locale a
city uses."""

from __future__ import annotations

import pytest
from faker import Faker

from simulator.core import pools
from simulator.scenario.cities import CITIES, DEFAULT_LOCALITY

LOCALES = sorted({DEFAULT_LOCALITY.locale, *(city.locale for city in CITIES.values())})


def test_every_city_locale_is_checked() -> None:
    assert {"en_US", "pt_BR", "zh_CN", "de_AT", "es_MX"} <= set(LOCALES)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("seed", ["fleetsim:bench-mixed:1:pools", "fleetsim:demo-city:42:pools", "x"])
def test_the_pools_are_what_a_default_faker_draws(locale: str, seed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = pools.draw(locale, seed, names=250, streets=96, plates=60)

    def default_faker(locale: str, seed: str) -> Faker:
        fake = Faker(locale)  # every provider, as Faker sets itself up by default
        fake.seed_instance(seed)
        return fake

    monkeypatch.setattr(pools, "new_faker", default_faker)
    assert fast == pools.draw(locale, seed, names=250, streets=96, plates=60)
