"""Spherical geometry against known values and round-trip properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.scenario.model import LatLon
from simulator.world.geo import (
    LocalProjection,
    angle_diff_deg,
    bearing_deg,
    destination,
    destination_point,
    distance_m,
    haversine_m,
    initial_bearing_deg,
    point_in_circle,
    point_in_polygon,
)

PARIS = LatLon(48.8566, 2.3522)
LONDON = LatLon(51.5074, -0.1278)
NEW_YORK = LatLon(40.7128, -74.0060)
LOS_ANGELES = LatLon(34.0522, -118.2437)
SAO_PAULO = LatLon(-23.5505, -46.6333)
RIO = LatLon(-22.9068, -43.1729)


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [
        (PARIS, LONDON, 343.5),  # published great-circle distance
        (NEW_YORK, LOS_ANGELES, 3936.0),  # 2 445 mi
    ],
)
def test_distance_between_known_cities_within_half_a_percent(a: LatLon, b: LatLon, km: float) -> None:
    assert distance_m(a, b) == pytest.approx(km * 1000, rel=0.005)
    assert distance_m(b, a) == pytest.approx(distance_m(a, b))


def test_distance_known_arcs() -> None:
    assert haversine_m(0, 0, 0, 1) == pytest.approx(111_195, rel=1e-4)  # one degree on the equator
    assert haversine_m(0, 0, 1, 0) == pytest.approx(111_195, rel=1e-4)  # one degree of latitude
    assert haversine_m(60, 0, 60, 1) == pytest.approx(111_195 * 0.5, rel=1e-3)  # cos 60° = 0.5
    assert haversine_m(10, 20, 10, 20) == 0.0
    assert haversine_m(0, 0, 0, 180) == pytest.approx(math.pi * 6_371_008.8, rel=1e-9)


def test_bearing_cardinal_and_known() -> None:
    assert initial_bearing_deg(0, 0, 1, 0) == pytest.approx(0.0, abs=1e-9)
    assert initial_bearing_deg(0, 0, 0, 1) == pytest.approx(90.0)
    assert initial_bearing_deg(0, 0, -1, 0) == pytest.approx(180.0)
    assert initial_bearing_deg(0, 0, 0, -1) == pytest.approx(270.0)
    assert bearing_deg(PARIS, LONDON) == pytest.approx(330.0, abs=0.5)  # north-west, a little more north
    for lat1, lon1, lat2, lon2 in ((0, 0, 1e-9, -1e-12), (10, 10, 10, 10), (-5, 3, 2, -7)):
        assert 0.0 <= initial_bearing_deg(lat1, lon1, lat2, lon2) < 360.0


def test_angle_diff() -> None:
    assert angle_diff_deg(350, 10) == pytest.approx(20)
    assert angle_diff_deg(10, 350) == pytest.approx(-20)
    assert angle_diff_deg(0, 180) == pytest.approx(180)
    assert angle_diff_deg(90, 0) == pytest.approx(-90)


def test_destination_known() -> None:
    lat, lon = destination(0, 0, 90, 111_195.08)
    assert lat == pytest.approx(0, abs=1e-9) and lon == pytest.approx(1.0, abs=1e-5)
    lat, lon = destination(0, 179.5, 90, 111_195.08)  # crosses the antimeridian
    assert lon == pytest.approx(-179.5, abs=1e-5)
    p = destination_point(PARIS, bearing_deg(PARIS, LONDON), distance_m(PARIS, LONDON))
    assert distance_m(p, LONDON) < 1.0


lat_st = st.floats(-70, 70)
lon_st = st.floats(-180, 180)


@given(lat_st, lon_st, st.floats(0, 359.999), st.floats(1, 100_000))
@settings(max_examples=200, deadline=None)
def test_destination_round_trips_distance_and_bearing(lat: float, lon: float, brg: float, dist: float) -> None:
    lat2, lon2 = destination(lat, lon, brg, dist)
    assert haversine_m(lat, lon, lat2, lon2) == pytest.approx(dist, rel=1e-6, abs=1e-6)
    if dist > 1:
        assert abs(angle_diff_deg(initial_bearing_deg(lat, lon, lat2, lon2), brg)) < 1e-4


@given(st.floats(-60, 60), lon_st, st.floats(-50_000, 50_000), st.floats(-50_000, 50_000))
@settings(max_examples=200, deadline=None)
def test_projection_round_trip(lat0: float, lon0: float, x: float, y: float) -> None:
    proj = LocalProjection(LatLon(lat0, lon0))
    lat, lon = proj.to_latlon(x, y)
    x2, y2 = proj.to_xy(lat, lon)
    assert x2 == pytest.approx(x, abs=1e-6)
    assert y2 == pytest.approx(y, abs=1e-6)
    p = proj.latlon(x, y)
    assert proj.xy(p) == pytest.approx((x, y), abs=1e-6)


@given(st.floats(-60, 60), lon_st, st.lists(st.tuples(st.floats(0, 360), st.floats(0, 50_000)), min_size=2, max_size=2))
@settings(max_examples=200, deadline=None)
def test_projection_distances_accurate_within_a_100km_region(
    lat0: float, lon0: float, offsets: list[tuple[float, float]]
) -> None:
    proj = LocalProjection(LatLon(lat0, lon0))
    pts = [destination(lat0, lon0, b, d) for b, d in offsets]
    (x1, y1), (x2, y2) = (proj.to_xy(*p) for p in pts)
    true = haversine_m(*pts[0], *pts[1])
    assert math.hypot(x2 - x1, y2 - y1) == pytest.approx(true, rel=0.006 if abs(lat0) > 45 else 0.0035, abs=0.5)


def test_projection_axes() -> None:
    proj = LocalProjection(SAO_PAULO)
    lat, lon = proj.to_latlon(1000, 0)
    assert lat == SAO_PAULO.lat
    assert initial_bearing_deg(SAO_PAULO.lat, SAO_PAULO.lon, lat, lon) == pytest.approx(90, abs=0.01)
    assert haversine_m(SAO_PAULO.lat, SAO_PAULO.lon, lat, lon) == pytest.approx(1000, rel=1e-6)
    lat, lon = proj.to_latlon(0, 1000)
    assert lon == pytest.approx(SAO_PAULO.lon)
    assert haversine_m(SAO_PAULO.lat, SAO_PAULO.lon, lat, lon) == pytest.approx(1000, rel=1e-9)


def _square(center: LatLon, half_m: float) -> list[LatLon]:
    proj = LocalProjection(center)
    return [proj.latlon(x, y) for x, y in ((-half_m, -half_m), (half_m, -half_m), (half_m, half_m), (-half_m, half_m))]


def test_point_in_polygon() -> None:
    square = _square(SAO_PAULO, 1000)
    proj = LocalProjection(SAO_PAULO)
    assert point_in_polygon(SAO_PAULO, square)
    assert point_in_polygon(proj.latlon(990, -990), square)
    assert not point_in_polygon(proj.latlon(1010, 0), square)
    assert not point_in_polygon(proj.latlon(0, -1010), square)
    assert point_in_polygon(SAO_PAULO, [*square, square[0]])  # explicit closing vertex
    assert point_in_polygon(SAO_PAULO, square[::-1])  # orientation does not matter
    assert not point_in_polygon(SAO_PAULO, square[:2])  # degenerate
    # an L shape: the notch is outside
    ell = [proj.latlon(x, y) for x, y in ((0, 0), (2000, 0), (2000, 1000), (1000, 1000), (1000, 2000), (0, 2000))]
    assert point_in_polygon(proj.latlon(500, 1500), ell)
    assert point_in_polygon(proj.latlon(1500, 500), ell)
    assert not point_in_polygon(proj.latlon(1500, 1500), ell)
    # across the antimeridian
    fiji = [LatLon(-17, 179.5), LatLon(-17, -179.5), LatLon(-18, -179.5), LatLon(-18, 179.5)]
    assert point_in_polygon(LatLon(-17.5, 179.9), fiji)
    assert point_in_polygon(LatLon(-17.5, -179.9), fiji)
    assert not point_in_polygon(LatLon(-17.5, 179.0), fiji)


def test_point_in_circle() -> None:
    proj = LocalProjection(RIO)
    assert point_in_circle(RIO, RIO, 0.0)
    assert point_in_circle(proj.latlon(0, 499), RIO, 500)
    assert not point_in_circle(proj.latlon(0, 501), RIO, 500)
    assert point_in_circle(destination_point(RIO, 45, 999.0), RIO, 1000)
    assert not point_in_circle(destination_point(RIO, 225, 1001.0), RIO, 1000)
