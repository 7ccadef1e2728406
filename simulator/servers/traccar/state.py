"""Everything one emulated Traccar server holds, reachable from a request as `request.app[SERVER]`."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from aiohttp import web

from ...providers import PROVIDERS
from ...scenario.model import Scenario
from ...world.fleet import make_device
from .accounts import Account, Accounts
from .fanout import Hub
from .live import LiveWorld
from .models import SERVERS, USERS
from .profiles import Profile


@dataclass
class ServerState:
    profile: Profile
    accounts: Accounts
    world: LiveWorld
    hub: Hub
    provider: str  # whose frames are served
    serialize: Callable[[Any], bytes]  # the provider's own writer (Jackson-style JSON for Traccar)
    keepalive_s: float | None
    idle_timeout_s: float | None  # None: sockets never time out
    sockets: set[web.WebSocketResponse] = field(default_factory=set)

    def server_json(self) -> dict[str, Any]:
        """GET /api/server, as the profile's Traccar writes it."""
        return SERVERS[self.profile.name](self.profile)

    def user_json(self, account: Account) -> dict[str, Any]:
        return USERS[self.profile.name](account)


SERVER = web.AppKey("fleetsim.traccar", ServerState)


def device_ids(scenario: Scenario, provider: str) -> dict[str, int]:
    """The Traccar id of each of `provider`'s devices by scenario key (group/n), as the world numbers devices
    (1-based across the scenario's groups, world/sim.py) and the provider names them (its `traccar_id`)."""
    out: dict[str, int] = {}
    number = 0
    for group in scenario.groups:
        for index in range(1, group.count + 1):
            number += 1
            if group.provider == provider:
                ids = PROVIDERS[provider].device_ids(random.Random(0), number=number, plate="")
                out[f"{group.name}/{index}"] = int(ids.get("traccar_id", number))
    return out


@runtime_checkable
class GeofenceViews(Protocol):
    """A renderer that can say how `GET /api/geofences` writes a geofence (powunity's `geofence_view`)."""

    def geofence_view(self, geofence_id: int, name: str, fence: Any = None) -> dict[str, Any]: ...


def geofences(scenario: Scenario, provider: str, settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The scenario's geofences as the provider's renderer writes them (its `geofence_view`: the very objects
    its webhooks carry, area from the `geofence_areas` setting or the scenario's fence), ids 1-based in scenario
    order, the ids the world's geofence events carry. The server writes none itself, so /api/geofences and the
    frames cannot disagree; a provider without such a view serves none."""
    number = 0
    for group in scenario.groups:
        if group.provider != provider:
            number += group.count
            continue
        # a stand-in for the provider's first device: a geofence's view depends on the settings only
        device = make_device(random.Random(0), group=group.name, index=1, number=number + 1, provider=provider,
                             profile=group.profile, features=group.features, tz_offset_s=0)
        renderer = PROVIDERS[provider].renderer(device, settings, random.Random(0))
        if not isinstance(renderer, GeofenceViews):
            return []
        return [renderer.geofence_view(i, fence.name, fence) for i, fence in enumerate(scenario.geofences, 1)]
    return []
