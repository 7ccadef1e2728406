"""Everything one emulated Traccar server holds, reachable from a request as `request.app[SERVER]`."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ...providers import PROVIDERS
from ...scenario.model import Geofence, Scenario
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


def geofences(scenario: Scenario, settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The scenario's geofences as Traccar's model/Geofence.java writes them; ids are 1-based in scenario order,
    the ids the world's geofence events carry. A `geofence_areas` setting (by name) gives the area verbatim."""
    areas = settings.get("geofence_areas") or {}
    return [{"id": number, "attributes": {}, "calendarId": 0, "name": fence.name, "description": None,
             "area": str(areas.get(fence.name) or _area(fence))}
            for number, fence in enumerate(scenario.geofences, 1)]


def _area(fence: Geofence) -> str:
    """Traccar's WKT: latitude first (GeofenceCircle/GeofencePolygon), radius in metres."""
    if fence.kind == "circle" and fence.center is not None:
        return f"CIRCLE ({fence.center.lat} {fence.center.lon}, {float(fence.radius_m)})"
    ring = [*fence.points, fence.points[0]] if fence.points else []
    return "POLYGON ((" + ", ".join(f"{p.lat} {p.lon}" for p in ring) + "))"
