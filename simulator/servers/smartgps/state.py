"""What the emulated SmartGPS knows: trackers (the hardware, by IMEI), objects (the vehicles), the binding between
them, positions, events and their acks, geofences and drivers. Shapes are inferred from seed 000's endpoint list
[I] (provider-facts §4.1 says what was decided and why).

Pure: no clock, no socket. Times are scenario seconds (UTC epoch) handed in by the feed; ids are serial.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EVENT_LIMIT", "HISTORY", "Store", "Tracker", "Vehicle"]

#: positions kept per object for `positions?from&to`
HISTORY = 5_000
#: events kept in all (the oldest are forgotten first)
EVENT_LIMIT = 50_000


@dataclass
class Tracker:
    id: str
    imei: str
    model: str
    status: str  # ACTIVE (bound to an object) | INACTIVE (registered, not bound)
    group_id: str | None
    object_id: str | None = None
    blocked: bool = False
    #: the simulated device whose track this tracker reports (None: no device drives it)
    device: str | None = None
    created_at: str = ""

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "imei": self.imei, "model": self.model, "status": self.status,
                "groupId": self.group_id, "objectId": self.object_id, "blocked": self.blocked,
                "createdAt": self.created_at}


@dataclass
class Vehicle:
    id: str
    plate: str
    name: str
    status: str  # ACTIVE | INACTIVE | BLOCKED
    group_id: str | None
    tracker_id: str | None = None
    driver_id: str | None = None
    created_at: str = ""
    positions: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=HISTORY))

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "plate": self.plate, "name": self.name, "status": self.status,
                "groupId": self.group_id, "trackerId": self.tracker_id, "driverId": self.driver_id,
                "createdAt": self.created_at}


class Store:
    def __init__(self) -> None:
        self.trackers: dict[str, Tracker] = {}
        self.objects: dict[str, Vehicle] = {}
        self.geofences: dict[str, dict[str, Any]] = {}
        self.drivers: dict[str, dict[str, Any]] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self._commands: dict[str, list[dict[str, Any]]] = {}
        self._serial: dict[str, int] = {}

    def next_id(self, prefix: str) -> str:
        n = self._serial[prefix] = self._serial.get(prefix, 0) + 1
        return f"{prefix}-{n:06d}"

    def tracker_by_imei(self, imei: str) -> Tracker | None:
        return next((t for t in self.trackers.values() if t.imei == imei), None)

    def object_by_plate(self, plate: str) -> Vehicle | None:
        wanted = _plate_key(plate)
        return next((o for o in self.objects.values() if _plate_key(o.plate) == wanted), None)

    def objects_of_device(self, device: str) -> list[Vehicle]:
        """The objects a simulated device's track reaches: those its bound trackers are assigned to."""
        return [self.objects[t.object_id] for t in self.trackers.values()
                if t.device == device and t.object_id is not None and t.object_id in self.objects]

    def commands(self, tracker_id: str) -> list[dict[str, Any]]:
        return self._commands.setdefault(tracker_id, [])

    def add_event(self, event: dict[str, Any]) -> dict[str, Any]:
        event["id"] = self.next_id("EVT")
        self.events[event["id"]] = event
        while len(self.events) > EVENT_LIMIT:
            del self.events[next(iter(self.events))]
        return event


def _plate_key(plate: str) -> str:
    return "".join(c for c in plate.upper() if c.isalnum())
