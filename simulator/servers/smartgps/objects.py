"""Objects (the vehicles: create, show, patch, last position, positions, events), geofences (CIRCLE, POLYGON),
drivers (iButton / RFID) and event acks: the rest of seed 000's endpoint list. Shapes are [I] (provider-facts
§4.1)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .context import SERVER
from .errors import conflict, invalid, not_found
from .rest import listing
from .state import Vehicle
from .validate import CODE, PLATE, json_object, number, only, point, text, when

__all__ = ["add_routes"]

OBJECT_STATUSES = ("ACTIVE", "INACTIVE", "BLOCKED")
SEVERITIES = ("INFO", "WARNING", "CRITICAL")


def _object(request: web.Request) -> Vehicle:
    ident = request.match_info["id"]
    vehicle = request.app[SERVER].fleet.store.objects.get(ident)
    if vehicle is None:
        raise not_found("object", ident)
    return vehicle


def _public(position: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in position.items() if not k.startswith("_")}


async def objects_list(request: web.Request) -> web.StreamResponse:
    query = request.query
    if query.get("status") is not None and query["status"] not in OBJECT_STATUSES:
        raise invalid("status", f"one of {', '.join(OBJECT_STATUSES)}")  # a mistake, not "no such object"
    plate = query.get("plate")
    wanted = None if plate is None else "".join(c for c in plate.upper() if c.isalnum())
    found = [o for o in request.app[SERVER].fleet.store.objects.values()
             if wanted in (None, "".join(c for c in o.plate if c.isalnum()))
             and query.get("status") in (None, o.status) and query.get("groupId") in (None, o.group_id)]
    return listing([o.json() for o in found])


async def objects_create(request: web.Request) -> web.StreamResponse:
    state = request.app[SERVER]
    body = await json_object(request)
    only(body, {"plate", "name", "groupId"})
    plate = text(body, "plate", required=True, pattern=PLATE, expected="a Brazilian plate (ABC-1234 or ABC1D23)")
    assert plate is not None
    store = state.fleet.store
    if store.object_by_plate(plate) is not None:
        raise conflict(f"an object with plate {plate} already exists")
    object_id = "SGO-" + plate.replace("-", "")  # the provider's object ids: the plate behind SGO-
    if object_id in store.objects:
        raise conflict(f"object {object_id} already exists")
    vehicle = Vehicle(object_id, plate, text(body, "name") or plate, "ACTIVE", text(body, "groupId"),
                      created_at=_now(request))
    store.objects[object_id] = vehicle
    return web.json_response(vehicle.json(), status=201)


async def object_show(request: web.Request) -> web.StreamResponse:
    return web.json_response(_object(request).json())


async def object_patch(request: web.Request) -> web.StreamResponse:
    vehicle = _object(request)
    body = await json_object(request)
    only(body, {"name", "groupId", "status"})
    name = text(body, "name")
    status = text(body, "status", choices=("ACTIVE", "INACTIVE"), expected="ACTIVE or INACTIVE")
    group = text(body, "groupId")
    if status is not None and vehicle.status == "BLOCKED":
        raise conflict(f"object {vehicle.id} is blocked: send UNBLOCK to its tracker first")
    if name is not None:
        vehicle.name = name
    if status is not None:
        vehicle.status = status
    if "groupId" in body:
        vehicle.group_id = group
    return web.json_response(vehicle.json())


async def object_position_last(request: web.Request) -> web.StreamResponse:
    vehicle = _object(request)
    if not vehicle.positions:
        raise not_found("position of object", vehicle.id)
    return web.json_response(_public(vehicle.positions[-1]))


async def object_positions(request: web.Request) -> web.StreamResponse:
    vehicle = _object(request)
    start, end = when(request, "from"), when(request, "to")
    if start is not None and end is not None and start > end:
        raise invalid("from", "a time no later than to")
    found = [_public(p) for p in vehicle.positions
             if (start is None or p["_t"] >= start) and (end is None or p["_t"] <= end)]
    return listing(found)


async def object_events(request: web.Request) -> web.StreamResponse:
    vehicle = _object(request)
    kind, severity = request.query.get("type"), request.query.get("severity")
    if severity is not None and severity not in SEVERITIES:
        raise invalid("severity", f"one of {', '.join(SEVERITIES)}")
    found = [e for e in request.app[SERVER].fleet.store.events.values()
             if e.get("objectId") == vehicle.id and kind in (None, e.get("type"))
             and severity in (None, e.get("severity"))]
    return listing(found)


# -- geofences ---------------------------------------------------------------------------------------------------

async def geofences_list(request: web.Request) -> web.StreamResponse:
    return listing(list(request.app[SERVER].fleet.store.geofences.values()))


async def geofences_create(request: web.Request) -> web.StreamResponse:
    store = request.app[SERVER].fleet.store
    body = await json_object(request)
    kind = text(body, "type", required=True, choices=("CIRCLE", "POLYGON"), expected="CIRCLE or POLYGON")
    fence: dict[str, Any] = {"id": "", "name": text(body, "name", required=True), "type": kind}
    if kind == "CIRCLE":
        only(body, {"name", "type", "center", "radius"})
        fence["center"] = point(body.get("center"), "center")
        fence["radius"] = number(body.get("radius"), "radius", 1, 100_000)
    else:
        only(body, {"name", "type", "points"})
        points = body.get("points")
        if not isinstance(points, list) or not 3 <= len(points) <= 1000:
            raise invalid("points", "a list of 3 to 1000 points {lat, lng}")
        fence["points"] = [point(p, f"points[{i}]") for i, p in enumerate(points)]
    fence["id"] = store.next_id("GEO")
    store.geofences[fence["id"]] = fence
    return web.json_response(fence, status=201)


async def geofence_delete(request: web.Request) -> web.StreamResponse:
    fleet = request.app[SERVER].fleet
    ident = request.match_info["id"]
    if fleet.store.geofences.pop(ident, None) is None:
        raise not_found("geofence", ident)
    fleet.forget_geofence(ident)
    return web.Response(status=204)


# -- drivers and events ------------------------------------------------------------------------------------------

async def drivers_list(request: web.Request) -> web.StreamResponse:
    return listing(list(request.app[SERVER].fleet.store.drivers.values()))


async def drivers_create(request: web.Request) -> web.StreamResponse:
    store = request.app[SERVER].fleet.store
    body = await json_object(request)
    only(body, {"name", "identification", "code"})
    name = text(body, "name", required=True)
    kind = text(body, "identification", required=True, choices=("IBUTTON", "RFID"), expected="IBUTTON or RFID")
    code = text(body, "code", required=True, pattern=CODE, expected="8 to 16 upper-case hex digits")
    if any(d["code"] == code for d in store.drivers.values()):
        raise conflict(f"a driver with code {code} already exists")
    ident = store.next_id("DRV")
    driver = {"id": ident, "name": name, "identification": kind, "code": code}
    store.drivers[ident] = driver
    return web.json_response(driver, status=201)


async def event_ack(request: web.Request) -> web.StreamResponse:
    state = request.app[SERVER]
    ident = request.match_info["id"]
    event = state.fleet.store.events.get(ident)
    if event is None:
        raise not_found("event", ident)
    if not event["acked"]:  # acking twice is harmless: the first ack's time stays
        event["acked"], event["ackedAt"] = True, _now(request)
    return web.json_response(event)


def _now(request: web.Request) -> str:
    from .live import iso

    return iso(request.app[SERVER].fleet.now)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/objects", objects_list, allow_head=False)
    r.add_post("/objects", objects_create)
    r.add_get("/objects/{id}", object_show, allow_head=False)
    r.add_patch("/objects/{id}", object_patch)
    r.add_get("/objects/{id}/position/last", object_position_last, allow_head=False)
    r.add_get("/objects/{id}/positions", object_positions, allow_head=False)
    r.add_get("/objects/{id}/events", object_events, allow_head=False)
    r.add_get("/geofences", geofences_list, allow_head=False)
    r.add_post("/geofences", geofences_create)
    r.add_delete("/geofences/{id}", geofence_delete)
    r.add_get("/drivers", drivers_list, allow_head=False)
    r.add_post("/drivers", drivers_create)
    r.add_post("/events/{id}/ack", event_ack)
