"""Locale-true pools of person names, street names and plates, drawn from Faker once at start-up.

Faker knows how names, streets and plates look in each locale, but it is slow (tens of microseconds a value,
milliseconds to set up) and what it returns for a seed may change between its releases. So it is used in
one way only: `new_faker` makes a fresh `Faker(locale)` seeded with `seed_instance(seed)` (never the shared
class-level random), `draw` fills fixed tuples from it — once per world, once per generator run — and all
later choices pick from those tuples with the caller's own seeded `random.Random`. Same seed, same pools, as
long as the installed Faker is the same (pyproject.toml keeps it on one major release).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faker import Faker

DEFAULT_LOCALE = "en_US"
#: names longer than this are skipped (MettaX driverName allows 64 characters; a driver list stays readable)
MAX_NAME_CHARS = 40
#: person names drawn for one schema-driven generator run (`fleetsim generate PROVIDER KIND`)
GENERATOR_NAMES = 32
_TRIES_PER_VALUE = 20

#: how a locale writes a full name, when not "{first} {last}": Chinese puts the family name first, with no
#: space; Mexicans carry the father's and the mother's surname
_NAME_FORMATS = {"zh_CN": "{last}{first}", "es_MX": "{first} {last} {last2}"}


#: the Faker providers whose methods `draw` calls (person: first_name, last_name; address: street_name, whose
#: formats also name people; automotive: license_plate). Faker's default is all ~26, and setting each up lists
#: its package's locale modules on disk (~0.03 s a process, paid again by every generation worker); the others
#: draw nothing here, and the values come from the one seeded random every provider shares, so they are the
#: same (tests/simulator/world/test_pools_faker.py compares with a default Faker for every city's locale)
FAKER_PROVIDERS = ("faker.providers.person", "faker.providers.address", "faker.providers.automotive")


def new_faker(locale: str, seed: str) -> Faker:
    """A Faker for `locale` with its own random state seeded from `seed`: the one place fleetsim makes one.
    It has only the providers `draw` uses (FAKER_PROVIDERS)."""
    from faker import Faker  # imported here: ~0.1 s, paid only by commands that build pools

    fake = Faker(locale, providers=list(FAKER_PROVIDERS))
    fake.seed_instance(seed)
    return fake


@dataclass(frozen=True)
class Pools:
    locale: str
    names: tuple[str, ...] = ()  # full person names, written as the locale writes them
    streets: tuple[str, ...] = ()  # street names, without a house number
    plates: tuple[str, ...] = ()  # Faker's license_plate() for the locale


def person_name(fake: Faker, locale: str) -> str:
    """One full name (no titles such as "Dr." or "MD", which Faker's name() sometimes adds)."""
    pattern = _NAME_FORMATS.get(locale, "{first} {last}")
    return pattern.format(first=fake.first_name(), last=fake.last_name(),
                          last2=fake.last_name() if "{last2}" in pattern else "")


def _unique(count: int, draw_one: Callable[[], str], keep: Callable[[str], bool] = bool) -> tuple[str, ...]:
    """`count` distinct values (repeats only if the locale runs out of them)."""
    seen: dict[str, None] = {}
    for _ in range(count * _TRIES_PER_VALUE):
        if len(seen) >= count:
            break
        value = draw_one()
        if keep(value):
            seen[value] = None
    values = list(seen)
    while values and len(values) < count:
        values.append(values[len(values) % len(seen)])
    return tuple(values)


def draw(locale: str, seed: str, *, names: int = 0, streets: int = 0, plates: int = 0) -> Pools:
    """Pools for `locale`, all from one Faker seeded with `seed`: the same arguments give the same pools."""
    fake = new_faker(locale, seed)
    return Pools(
        locale=locale,
        names=_unique(names, lambda: person_name(fake, locale), lambda n: 0 < len(n) <= MAX_NAME_CHARS),
        streets=_unique(streets, fake.street_name),
        plates=_unique(plates, fake.license_plate),
    )


@lru_cache(maxsize=1024)  # the schema tests walk 1,000 seeds for every kind
def generator_names(seed: int) -> tuple[str, ...]:
    """The person names of one schema-driven generator run with `seed` (en_US: the schemas are not tied to a
    city). Cached, so the items of one run share the pool and it is drawn once."""
    return draw(DEFAULT_LOCALE, f"fleetsim:{seed}:names", names=GENERATOR_NAMES).names
