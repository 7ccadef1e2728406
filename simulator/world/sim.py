"""The whole fleet as one lazy stream of world events, ordered by the time the platforms send them.

Each device is simulated independently from its own RNG (derived from the scenario seed and the device
key), so adding a group does not change the traffic of the others. Device streams are merged by send time;
memory stays flat however long the run, because nothing is materialized beyond a small per-device buffer.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Collection, Iterator, Mapping

from ..core import ids, pools
from ..scenario.cities import locality_of
from ..scenario.model import Scenario
from .events import WorldEvent
from .fleet import Device, Driver, make_device, make_driver, tz_offset
from .places import Places
from .roads import RoadNetwork
from .vehicle import DeviceSim

SPARE_DRIVERS = 0.25  # groups keep a few more drivers than vehicles (shifts rotate)
STREET_POOL = 96  # street names drawn for a world's addresses


def device_rng(scenario: Scenario, key: str) -> random.Random:
    return random.Random(f"fleetsim:{scenario.name}:{scenario.seed}:{key}")


def drivers_per_group(count: int) -> int:
    return max(1, round(count * (1 + SPARE_DRIVERS)))


class World:
    def __init__(self, scenario: Scenario, *, plate_formats: Mapping[str, str] | None = None) -> None:
        """`plate_formats`: a plate format (an ids.PLATES name) per provider whose payloads only accept that one,
        whatever the city; by default each provider's own `Provider.plate_format`."""
        if plate_formats is None:
            from ..providers import PROVIDERS  # here, not at import: provider packages import the world

            plate_formats = {name: p.plate_format for name, p in PROVIDERS.items() if p.plate_format is not None}
        self.scenario = scenario
        fixed_plates = dict(plate_formats)
        base = f"fleetsim:{scenario.name}:{scenario.seed}"
        rng = random.Random(f"{base}:world")
        region = scenario.region
        self.locality = locality = locality_of(region)
        self.network = RoadNetwork(region.center, region.radius_km, rng)
        # every Faker draw of the run, at once: driver names, street names, Faker-format plates
        self.pools = pools.draw(
            locality.locale, f"{base}:pools",
            names=sum(drivers_per_group(g.count) for g in scenario.groups), streets=STREET_POOL,
            plates=sum(g.count for g in scenario.groups) if locality.plates == "faker" else 0,
        )
        self.places = Places(locality, self.pools.streets, f"{base}:places", scenario.geofences, self.network)
        wmis = ids.VIN_WMIS.get(locality.country, ids.DEFAULT_WMIS)
        offset = tz_offset(scenario.timezone, scenario.start)
        self.devices: list[Device] = []
        self.drivers: dict[str, list[Driver]] = {}
        number = 0
        driver_number = 0
        for group in scenario.groups:
            pool = []
            for _ in range(drivers_per_group(group.count)):
                pool.append(make_driver(rng, driver_number + 1, self.pools.names[driver_number]))
                driver_number += 1
            self.drivers[group.name] = pool
            for index in range(1, group.count + 1):
                fixed = fixed_plates.get(group.provider)
                if fixed is not None and locality.plates != fixed:
                    plate = ids.PLATES[fixed](rng)
                elif locality.plates == "faker":
                    plate = self.pools.plates[number]
                else:
                    plate = ids.PLATES[locality.plates](rng)
                number += 1
                self.devices.append(make_device(
                    rng, group=group.name, index=index, number=number, provider=group.provider,
                    profile=group.profile, features=group.features, tz_offset_s=offset, plate=plate,
                    vin_wmis=wmis, fleet=f"{scenario.name}:{scenario.seed}",
                ))

    def device_events(self, device: Device, kinds: Collection[str] | None = None) -> Iterator[WorldEvent]:
        """One device's events in send-time order (back-filled reports are held until their upload).

        `kinds` (None = all): only the events of those kinds, each exactly as among all of them; the others
        are simulated but never built (`DeviceSim.events`), and with no kind at all the device is not simulated."""
        if kinds is not None and not kinds:
            return
        s = self.scenario
        group = next(g for g in s.groups if g.name == device.group)
        injections = [i for i in s.injections if i.group == device.group and i.index == device.index]
        sim = DeviceSim(s, group, device, self.drivers[group.name], self.network, injections,
                        device_rng(s, device.key), places=self.places, kinds=kinds)
        held: list[tuple[float, int, WorldEvent]] = []
        push, pop = heapq.heappush, heapq.heappop
        # the device's batches flattened here (`DeviceSim.events` would add a generator per event: hot path)
        for batch in sim.batches():
            for event in batch:
                # every later event has send_t >= its device time >= this one's: anything due by now is final
                t = event.fix.t
                while held and held[0][0] <= t:
                    yield pop(held)[2]
                push(held, (event.send_t, event.seq, event))
        while held:
            yield pop(held)[2]

    def events(self) -> Iterator[WorldEvent]:
        streams = [self.device_events(d) for d in self.devices]
        yield from heapq.merge(*streams, key=lambda e: (e.send_t, e.device.number, e.seq))
