"""Where things are: the world's geofences and trip stops, each with a one-line street address.

Addresses read the way the city writes them (scenario.cities.Locality.address: "Rua X, 123 - Belo Horizonte -
MG, 30140-071", "Probststraße 9, 1040 Wien", "1234 Oak Ave, Chicago, IL 60614"), the shape of Samsara's
`address.formattedAddress`. Street names come from the world's Faker-drawn pool; the house number and
postcode from an RNG seeded by the world seed and the place, so a place keeps its address however the
trips that reach it are ordered, and nothing here calls Faker.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..scenario.cities import Locality
from ..scenario.model import Geofence, LatLon
from ..schemagen.regex import string_matching
from .roads import RoadNetwork


@dataclass(frozen=True, slots=True)
class Place:
    id: int  # geofences: the geofence_id of their events (1-based); stops: the road-network node
    name: str
    location: LatLon
    address: str  # one line, as formattedAddress


def geofence_center(fence: Geofence) -> LatLon:
    if fence.center is not None:
        return fence.center
    points = fence.points
    return LatLon(sum(p.lat for p in points) / len(points), sum(p.lon for p in points) / len(points))


class Places:
    """The addresses of one world: `geofences[i]` is geofence i + 1; `stop(node)` a junction trips stop at."""

    def __init__(self, locality: Locality, streets: tuple[str, ...], seed: str, geofences: tuple[Geofence, ...],
                 network: RoadNetwork) -> None:
        self._locality = locality
        self._streets = streets
        self._seed = seed
        self._network = network
        self._stops: dict[int, Place] = {}
        self.geofences = tuple(
            Place(n, fence.name, geofence_center(fence), self.address(f"geofence:{n}"))
            for n, fence in enumerate(geofences, 1)
        )

    def address(self, key: str) -> str:
        """The street address of the place called `key` (the same key, the same address)."""
        loc = self._locality
        rng = random.Random(f"{self._seed}:{key}")
        street = rng.choice(self._streets) if self._streets else "Main Street"
        number = rng.randint(1, loc.house_numbers)
        postcode = string_matching(loc.postcode, rng) if loc.postcode else ""
        return loc.address.format(street=street, number=number, postcode=postcode).strip()

    def stop(self, node: int) -> Place:
        """The place at road-network junction `node`, where a trip ends."""
        place = self._stops.get(node)
        if place is None:
            address = self.address(f"node:{node}")
            place = self._stops[node] = Place(node, address, self._network.node_latlon(node), address)
        return place
