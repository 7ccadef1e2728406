"""The simulated fleet as SmartGPS sees it, advanced one world event at a time by the feed (feed.py).

The world knows no vendor: the scenario's devices of this platform's provider become trackers and objects, each
world event moves their objects and, rendered by the provider's own renderer (the bytes `fleetsim run` would
send), becomes a stored event and a webhook. What the REST API changes lives here too: a BLOCK brings the object
to a stop and emits BLOCKED; a geofence created through the API emits GEOFENCE_ENTER / GEOFENCE_EXIT when an
object crosses it. Pure: times are the scenario's, passed in; nothing here reads a clock or opens a socket.
"""

from __future__ import annotations

import dataclasses
import random
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

from ...providers import PROVIDERS
from ...providers.smartgps import SmartGPS
from ...render.base import Renderer
from ...scenario.model import LatLon, Scenario
from ...world.events import Fix, WorldEvent
from ...world.fleet import Device
from ...world.geo import point_in_circle, point_in_polygon
from ...world.sim import World
from .state import Store, Tracker, Vehicle

__all__ = ["PROVIDER", "SAFE_SPEED_KMH", "LiveFleet", "iso"]

#: the provider whose devices this platform serves and whose renderer writes its events (asked, not spelt)
PROVIDER = SmartGPS.name
#: a BLOCK waits until the vehicle is at or below this speed, then holds it still [I]: immobilisers cut the
#: engine only when it is safe (provider-facts §4.1)
SAFE_SPEED_KMH = 20.0


def iso(t: float) -> str:
    from ...providers.smartgps.render import iso_utc

    return iso_utc(t)


class LiveFleet:
    def __init__(self, scenario: Scenario, settings: Mapping[str, Any] | None = None) -> None:
        self.scenario = scenario
        self.world = World(scenario)
        self.devices = {d.key: d for d in self.world.devices if d.provider == PROVIDER}
        self.settings = dict(settings or {})
        self.store = Store()
        self.now = scenario.start
        self.latest: dict[str, Fix] = {}  # the last fix of each simulated device
        #: webhook payloads waiting for the sender, oldest first (the server drains it)
        self.outbox: list[dict[str, Any]] = []
        self._renderers: dict[str, Renderer] = {}
        self._inside: dict[tuple[str, str], bool] = {}
        self._seq = 0
        for device in self.devices.values():
            self._seed(device)

    def _seed(self, device: Device) -> None:
        created = iso(self.scenario.start)
        object_id = str(device.vendor_ids.get("object_id") or f"SGO-{device.number}")
        tracker = Tracker(self.store.next_id("TRK"), device.imei, "fleetsim " + device.profile, "ACTIVE",
                          device.group, object_id=object_id, device=device.key, created_at=created)
        self.store.trackers[tracker.id] = tracker
        self.store.objects[object_id] = Vehicle(object_id, device.plate, device.label, "ACTIVE", device.group,
                                                tracker_id=tracker.id, created_at=created)

    # -- the world's side -------------------------------------------------------------------------------------

    def events(self) -> Iterator[WorldEvent]:
        """The scenario's events of this platform's devices, in send order."""
        return (e for e in self.world.events() if e.device.key in self.devices)

    def take(self, event: WorldEvent) -> None:
        self.now = max(self.now, event.send_t)
        key = event.device.key
        self.latest[key] = event.fix
        for vehicle in self.store.objects_of_device(key):
            if event.kind == "block":
                vehicle.status = "BLOCKED"
            elif event.kind == "unblock" and vehicle.status == "BLOCKED":
                vehicle.status = "ACTIVE"
            if vehicle.status == "BLOCKED" and event.kind not in ("block", "unblock"):
                continue  # held still: the world's later moves do not reach it until UNBLOCK
            self._position(vehicle, event.fix)
            self._pending_block(vehicle)
            if vehicle.status != "BLOCKED" or event.kind == "block":
                for message in self._renderer(vehicle, event.device).render(event):
                    self._emit(message.payload)
            self._crossings(vehicle, event.fix, event.device)

    def _position(self, vehicle: Vehicle, fix: Fix) -> None:
        vehicle.positions.append({
            "objectId": vehicle.id, "lat": round(fix.lat, 6), "lng": round(fix.lon, 6),
            "speed": round(fix.speed_kmh), "course": int(fix.course), "altitude": round(fix.altitude_m),
            "ignition": fix.ignition, "satellites": fix.satellites, "timestamp": iso(fix.t), "_t": fix.t,
        })

    def _renderer(self, vehicle: Vehicle, device: Device) -> Renderer:
        renderer = self._renderers.get(vehicle.id)
        if renderer is None:
            # the provider's renderer, for this object: its id and plate, the simulated device's track
            as_object = dataclasses.replace(device, plate=vehicle.plate, vendor_ids={"object_id": vehicle.id})
            rng = random.Random(f"fleetsim:{self.scenario.name}:{self.scenario.seed}:{vehicle.id}:serve")
            renderer = PROVIDERS[PROVIDER].renderer(as_object, self.settings, rng)
            self._renderers[vehicle.id] = renderer
        return renderer

    def _emit(self, payload: dict[str, Any]) -> None:
        stored = {"type": payload.get("event"), **{k: v for k, v in payload.items() if k != "event"},
                  "acked": False, "ackedAt": None}
        self.store.add_event(stored)
        self.outbox.append(payload)

    def _api_event(self, kind: str, vehicle: Vehicle, device: Device, fix: Fix, **attrs: Any) -> None:
        self._seq += 1
        event = WorldEvent(kind, device, fix, self.now, self._seq, attrs=attrs)
        for message in self._renderer(vehicle, device).render(event):
            self._emit(message.payload)

    # -- what the API changes ---------------------------------------------------------------------------------

    def device_for(self, imei: str) -> str | None:
        """The simulated device a tracker registered through the API reports: the one with this IMEI, else one
        of the scenario's vehicles chosen by the IMEI (a tracker being installed in one of them) [I]."""
        if not self.devices:
            return None
        for device in self.devices.values():
            if device.imei == imei:
                return device.key
        keys = sorted(self.devices)
        return keys[zlib.crc32(imei.encode()) % len(keys)]

    def assigned(self, tracker: Tracker) -> None:
        """A tracker was bound to an object: the object is where the tracker's device last was."""
        if tracker.object_id is None or tracker.device is None:
            return
        fix = self.latest.get(tracker.device)
        vehicle = self.store.objects[tracker.object_id]
        if fix is not None and vehicle.status != "BLOCKED":
            self._position(vehicle, fix)

    def block(self, tracker: Tracker) -> str:
        """BLOCK: EXECUTED at once when the object is at or below the safe speed, else PENDING until it is."""
        tracker.blocked = True
        vehicle = self.store.objects.get(tracker.object_id or "")
        if vehicle is None:
            return "PENDING"
        return "EXECUTED" if self._pending_block(vehicle) else "PENDING"

    def unblock(self, tracker: Tracker) -> str:
        tracker.blocked = False
        vehicle = self.store.objects.get(tracker.object_id or "")
        if vehicle is not None and vehicle.status == "BLOCKED":
            vehicle.status = "ACTIVE"
        return "EXECUTED"

    def _pending_block(self, vehicle: Vehicle) -> bool:
        tracker = self.store.trackers.get(vehicle.tracker_id or "")
        if tracker is None or not tracker.blocked or vehicle.status == "BLOCKED" or tracker.device is None:
            return False
        fix = self.latest.get(tracker.device)
        if fix is None or fix.speed_kmh > SAFE_SPEED_KMH:
            return False
        stopped = dataclasses.replace(fix, t=max(fix.t, self.now), speed_kmh=0.0, moving=False, ignition=False)
        vehicle.status = "BLOCKED"
        self._position(vehicle, stopped)
        self._api_event("block", vehicle, self.devices[tracker.device], stopped)
        for command in self.store.commands(tracker.id):
            if command["type"] == "BLOCK" and command["status"] == "PENDING":
                command["status"], command["executedAt"] = "EXECUTED", iso(stopped.t)
        return True

    def _crossings(self, vehicle: Vehicle, fix: Fix, device: Device) -> None:
        """GEOFENCE_ENTER / GEOFENCE_EXIT for the geofences created through the API (the scenario's own fire
        from the world)."""
        for fence in self.store.geofences.values():
            inside = _contains(fence, fix)
            key = (vehicle.id, fence["id"])
            was = self._inside.get(key)
            self._inside[key] = inside
            if was is not None and was != inside:
                self._api_event("geofence_enter" if inside else "geofence_exit", vehicle, device, fix,
                                geofence=fence["name"])

    def forget_geofence(self, geofence_id: str) -> None:
        for key in [k for k in self._inside if k[1] == geofence_id]:
            del self._inside[key]


def _contains(fence: Mapping[str, Any], fix: Fix) -> bool:
    here = LatLon(fix.lat, fix.lon)
    if fence["type"] == "CIRCLE":
        center = fence["center"]
        return point_in_circle(here, LatLon(center["lat"], center["lng"]), fence["radius"])
    return point_in_polygon(here, [LatLon(p["lat"], p["lng"]) for p in fence["points"]])
