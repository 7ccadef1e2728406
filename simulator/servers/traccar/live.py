"""The world as the emulated Traccar server knows it: the latest device and position of every device, a bounded
history of positions and events, and the scenario's geofences. Fed with the provider's socket frames, in order.

Nothing here reads a clock or touches a socket: the player (feed.py) decides when a frame happens, the routes and
the socket read from here. Memory is bounded whatever the scenario's length: `history` positions per device and
`max_events` events in all (the oldest are forgotten first, as a Traccar database would after a purge).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from datetime import datetime
from typing import Any

#: positions kept per device for `GET /api/positions?deviceId&from&to`
HISTORY = 5_000
#: events kept for `GET /api/events/{id}` and `/api/reports/events`
MAX_EVENTS = 50_000


def traccar_ms(text: object) -> int | None:
    """Epoch ms of a time as Traccar writes it (2026-09-20T00:30:00.000+00:00) or a client sends it
    (2026-09-20T00:30:00Z, with or without fractions); None when it is not such a time."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        return None
    if moment.tzinfo is None:  # Traccar's converter reads a zone-less time as UTC
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def event_ms(event: dict[str, Any]) -> int | None:
    """An event's time: `serverTime` before 4.13, `eventTime` since (provider-facts §1.3)."""
    return traccar_ms(event.get("eventTime", event.get("serverTime")))


class LiveWorld:
    def __init__(self, geofences: Iterable[dict[str, Any]] = (), *, history: int = HISTORY,
                 max_events: int = MAX_EVENTS) -> None:
        self.geofences = list(geofences)
        self.devices: dict[int, dict[str, Any]] = {}
        self.latest: dict[int, dict[str, Any]] = {}  # the last pushed position per device
        self.last_fix_ms: dict[int, int] = {}
        self.history: dict[int, deque[dict[str, Any]]] = {}
        self.events: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._history = history
        self._max_events = max_events
        self.frames = 0
        self.held_back = 0  # positions stored but not pushed: older than the device's last fix

    def apply(self, frame: dict[str, Any]) -> bool:
        """Take one socket frame into the state; True when it is to be pushed to the sockets.

        A position older than its device's last fix is stored (history) but never pushed, as Traccar's
        PostProcessHandler does (provider-facts §1.2); a frame left with nothing to push is not pushed."""
        self.frames += 1
        for device in _items(frame, "devices"):
            if isinstance(device.get("id"), int):
                self.devices[device["id"]] = device
        for event in _items(frame, "events"):
            if isinstance(event.get("id"), int):
                self.events[event["id"]] = event
                while len(self.events) > self._max_events:
                    self.events.popitem(last=False)
        positions = _items(frame, "positions")
        if not positions:
            return True
        pushed = [p for p in positions if self._take_position(p)]
        if len(pushed) == len(positions):
            return True
        self.held_back += len(positions) - len(pushed)
        return False  # the provider's frames carry one position each (AsyncSocket.onUpdatePosition)

    def _take_position(self, position: dict[str, Any]) -> bool:
        device_id, fix_ms = position.get("deviceId"), traccar_ms(position.get("fixTime"))
        if not isinstance(device_id, int) or fix_ms is None:
            return False
        kept = self.history.get(device_id)
        if kept is None:
            kept = self.history[device_id] = deque(maxlen=self._history)
        kept.append(position)
        last = self.last_fix_ms.get(device_id)
        if last is not None and fix_ms < last:
            return False
        self.last_fix_ms[device_id] = fix_ms
        self.latest[device_id] = position
        return True

    # -- what REST reads -----------------------------------------------------------------------------------

    def latest_positions(self) -> list[dict[str, Any]]:
        return [self.latest[d] for d in sorted(self.latest)]

    def positions_between(self, device_id: int, from_ms: int, to_ms: int) -> list[dict[str, Any]]:
        """A device's stored positions with from <= fixTime <= to, in fix-time order (DataManager.getPositions)."""
        found = [p for p in self.history.get(device_id, ())
                 if from_ms <= (traccar_ms(p.get("fixTime")) or -1) <= to_ms]
        return sorted(found, key=lambda p: traccar_ms(p.get("fixTime")) or 0)

    def positions_by_id(self, ids: set[int]) -> list[dict[str, Any]]:
        return [p for kept in self.history.values() for p in kept if p.get("id") in ids]

    def stored_event(self, event_id: int) -> dict[str, Any] | None:
        """The event as stored: without the notification text the socket copy carries (attributes.message is
        added by NotificatorWeb for the push only, provider-facts §1.2)."""
        event = self.events.get(event_id)
        return None if event is None else _stored(event)

    def events_between(self, device_ids: set[int], types: set[str], from_ms: int, to_ms: int) -> list[dict[str, Any]]:
        out = []
        for event in self.events.values():
            when = event_ms(event)
            if device_ids and event.get("deviceId") not in device_ids:
                continue
            if types and "allEvents" not in types and event.get("type") not in types:
                continue
            if when is not None and from_ms <= when <= to_ms:
                out.append(_stored(event))
        return out


def _items(frame: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = frame.get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _stored(event: dict[str, Any]) -> dict[str, Any]:
    attributes = event.get("attributes")
    if isinstance(attributes, dict) and "message" in attributes:
        return {**event, "attributes": {k: v for k, v in attributes.items() if k != "message"}}
    return event
