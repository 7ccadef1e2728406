"""Schema-driven payload generation for one provider kind (`fleetsim generate PROVIDER KIND`).

Pure and seeded: item i draws from its own RNG seeded by (seed, provider, kind, i), so the same seed gives
identical bytes, `-n 5` is a prefix of `-n 10`, and changing the seed changes every item. Person names come
from a Faker-drawn pool that depends on the seed alone (core.pools.generator_names), drawn once per run.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .core.pools import generator_names
from .providers import SchemaFamily
from .schemagen.engine import Generated, generate
from .schemagen.mutate import Violation, mutate
from .schemastore import validator


@dataclass(frozen=True)
class GeneratedPayload:
    index: int
    payload: Any
    violation: Violation | None = None


def item_rng(seed: int, provider: str, kind: str, index: int) -> random.Random:
    # String seeds are hashed with SHA-512 by random.Random: stable across runs and platforms.
    return random.Random(f"fleetsim:{seed}:{provider}:{kind}:{index}")


def generate_one(provider: SchemaFamily, kind: str, *, seed: int, index: int,
                 invalid: bool = False) -> GeneratedPayload:
    spec = provider.spec(kind)
    rng = item_rng(seed, provider.name, kind, index)
    gen = generate(spec.schema, rng, names=generator_names(seed))
    gen = Generated(provider.finish(kind, gen.value, rng), gen.trace)
    if not invalid:
        return GeneratedPayload(index, gen.value)
    # broken by a rule the vendor states: a bound fleetsim chose (x-inferred) a receiver may rightly accept
    check = validator(spec.schema, documented=True)
    broken, violation = mutate(gen, rng, check.is_valid)
    return GeneratedPayload(index, broken, violation)


def generate_payloads(
    provider: SchemaFamily, kind: str, *, seed: int, count: int, invalid: bool = False
) -> Iterator[GeneratedPayload]:
    provider.spec(kind)  # fail fast on an unknown kind, before any output
    for index in range(count):
        yield generate_one(provider, kind, seed=seed, index=index, invalid=invalid)
