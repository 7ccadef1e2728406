"""Spherical-earth geometry for the world: distances, bearings, projections and shape tests.

All angles are degrees, all distances metres. The earth is the IUGG mean sphere (R = 6 371 008.8 m): against
WGS-84 the error of haversine distances is at most ~0.5 %, far below what a telematics receiver could notice
at GPS precision. Functions take plain floats so the hot path pays no object allocation; `LatLon` wrappers
are provided for convenience. Pure: no state, no randomness.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..scenario.model import LatLon

EARTH_RADIUS_M = 6_371_008.8
_DEG = math.pi / 180.0
_RAD = 180.0 / math.pi


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points (haversine formula, stable for short distances)."""
    p1 = lat1 * _DEG
    p2 = lat2 * _DEG
    dp = p2 - p1
    dl = (lon2 - lon1) * _DEG
    h = math.sin(dp * 0.5) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl * 0.5) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def initial_bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial great-circle bearing from point 1 to point 2, degrees clockwise from true north in [0, 360)."""
    p1 = lat1 * _DEG
    p2 = lat2 * _DEG
    dl = (lon2 - lon1) * _DEG
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    b = math.atan2(y, x) * _RAD % 360.0
    return 0.0 if b >= 360.0 else b  # -tiny % 360 rounds to 360.0


def destination(lat: float, lon: float, bearing_deg: float, distance_m: float) -> tuple[float, float]:
    """The point reached travelling `distance_m` along the great circle leaving (lat, lon) at `bearing_deg`.

    Longitude is normalised to [-180, 180)."""
    p1 = lat * _DEG
    l1 = lon * _DEG
    th = bearing_deg * _DEG
    d = distance_m / EARTH_RADIUS_M
    sin_p2 = math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(th)
    p2 = math.asin(max(-1.0, min(1.0, sin_p2)))
    l2 = l1 + math.atan2(math.sin(th) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * sin_p2)
    lon2 = (l2 * _RAD + 540.0) % 360.0 - 180.0
    return p2 * _RAD, lon2


def distance_m(a: LatLon, b: LatLon) -> float:
    """`haversine_m` on `LatLon`s."""
    return haversine_m(a.lat, a.lon, b.lat, b.lon)


def bearing_deg(a: LatLon, b: LatLon) -> float:
    """`initial_bearing_deg` on `LatLon`s."""
    return initial_bearing_deg(a.lat, a.lon, b.lat, b.lon)


def destination_point(origin: LatLon, bearing: float, distance: float) -> LatLon:
    """`destination` on a `LatLon`."""
    lat, lon = destination(origin.lat, origin.lon, bearing, distance)
    return LatLon(lat, lon)


def angle_diff_deg(a: float, b: float) -> float:
    """Signed smallest rotation from bearing `a` to bearing `b`, in (-180, 180] (positive = clockwise)."""
    d = (b - a) % 360.0
    return d - 360.0 if d > 180.0 else d


class LocalProjection:
    """Metres east/north around a centre, and back.

    x = R·Δλ·cos φ (the point's own latitude), y = R·Δφ. Distances along meridians and parallels are exact
    and the pair is exactly invertible. Across a 100 km region, planar distances stay within 0.3 % of the
    great-circle distance at |latitude| ≤ 45° and within 0.6 % up to 60° (the error is the shear of converging
    meridians, growing with the longitude offset times sin φ): a safe frame for laying out a road grid.
    """

    __slots__ = ("_lat0", "_lon0", "center")

    def __init__(self, center: LatLon) -> None:
        self.center = center
        self._lat0 = center.lat
        self._lon0 = center.lon

    def to_xy(self, lat: float, lon: float) -> tuple[float, float]:
        """(east_m, north_m) of a point relative to the centre."""
        dlon = (lon - self._lon0 + 540.0) % 360.0 - 180.0
        return (
            EARTH_RADIUS_M * dlon * _DEG * math.cos(lat * _DEG),
            EARTH_RADIUS_M * (lat - self._lat0) * _DEG,
        )

    def to_latlon(self, east_m: float, north_m: float) -> tuple[float, float]:
        """(lat, lon) of the point `east_m`/`north_m` from the centre."""
        lat = self._lat0 + north_m / EARTH_RADIUS_M * _RAD
        c = math.cos(lat * _DEG)
        lon = self._lon0 + (east_m / (EARTH_RADIUS_M * c) * _RAD if c > 1e-12 else 0.0)
        return lat, (lon + 540.0) % 360.0 - 180.0

    def xy(self, p: LatLon) -> tuple[float, float]:
        return self.to_xy(p.lat, p.lon)

    def latlon(self, east_m: float, north_m: float) -> LatLon:
        lat, lon = self.to_latlon(east_m, north_m)
        return LatLon(lat, lon)


def point_in_circle(p: LatLon, center: LatLon, radius_m: float) -> bool:
    """True when `p` lies within `radius_m` (great-circle distance) of `center`, boundary included."""
    return haversine_m(p.lat, p.lon, center.lat, center.lon) <= radius_m


def point_in_polygon(p: LatLon, polygon: Sequence[LatLon]) -> bool:
    """Even-odd ray casting, edges taken as straight lines in (longitude, latitude) (exact enough for
    geofences up to ~100 km across; a horizontal ray's crossings do not depend on the east-west scale, so no
    projection is needed).

    The polygon is a ring of vertices (closing vertex optional); fewer than three vertices contain nothing.
    Points exactly on an edge may fall either side. Longitudes are unwrapped around `p`, so polygons crossing
    the antimeridian work."""
    n = len(polygon)
    if n < 3:
        return False
    py, px = p.lat, p.lon
    inside = False
    last = polygon[-1]
    yj = last.lat
    xj = (last.lon - px + 540.0) % 360.0 - 180.0
    for v in polygon:
        yi = v.lat
        xi = (v.lon - px + 540.0) % 360.0 - 180.0
        if (yi > py) != (yj > py) and xi + (py - yi) * (xj - xi) / (yj - yi) > 0.0:
            inside = not inside
        xj, yj = xi, yi
    return inside
