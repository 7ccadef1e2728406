"""Scenario files in, a validated `Scenario` out — or a ScenarioError listing everything wrong, before any I/O.

Three stages, each failing with every problem it finds (conformance catalogue H-5):

1. safe YAML (`yamlsafe`): size cap, duplicate keys, alias limits, plain types, positions;
2. the published JSON Schema (schemas/scenario.schema.json): every error, the best match first, each as
   `file:line:col: fleet[0].provider: ...` with "did you mean" suggestions;
3. semantic checks the schema cannot express: unique names, injections that name real devices inside the
   run, events that need a duration, time zones, secrets that the provider's signer accepts (never echoed).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from .. import providers as _providers  # noqa: F401  (registers every provider)
from ..errors import ScenarioError
from . import schema_build
from .cities import CITIES
from .durations import format_duration, parse_duration, parse_rate
from .model import (
    Delivery,
    Faults,
    FleetGroup,
    Geofence,
    Injection,
    LatLon,
    Rate,
    Region,
    ReportIntervals,
    RiskProfile,
    Scenario,
)
from .provider_settings import parse_provider_settings
from .wording import (
    SCHEMA,
    clip,
    did_you_mean,
    format_path,
    schema_problems,
    without_credentials,
)
from .yamlsafe import MAX_BYTES, JsonPath, YamlDocument, load_yaml_bytes, load_yaml_file, load_yaml_text

__all__ = [
    "EVENTS_NEEDING_DURATION",
    "RISK_PRESETS",
    "SCHEMA",
    "ScenarioError",
    "format_path",
    "load_scenario",
    "load_scenario_bytes",
    "load_scenario_text",
    "schema_problems",
    "webhook_providers",
]

EVENTS_NEEDING_DURATION = frozenset({"coverage_loss", "theft", "reefer_fault", "speeding"})
#: named `risk` presets; medium is the RiskProfile defaults
RISK_PRESETS: dict[str, RiskProfile] = {
    "low": RiskProfile(
        name="low", speeding_share=0.05, speeding_margin=0.08, harsh_share=0.02, phone_per_h=0.05,
        smoking_per_h=0.02, distraction_per_h=0.1, seat_belt_per_h=0.02, lane_departure_per_h=0.15,
        forward_collision_per_h=0.03, fatigue_after_h=5.0,
    ),
    "medium": RiskProfile(name="medium"),
    "high": RiskProfile(
        name="high", speeding_share=0.35, speeding_margin=0.25, harsh_share=0.15, phone_per_h=0.8,
        smoking_per_h=0.4, distraction_per_h=1.0, seat_belt_per_h=0.4, lane_departure_per_h=1.2,
        forward_collision_per_h=0.4, fatigue_after_h=2.5,
    ),
}
MAX_DURATION_S = 366 * 86400.0
MIN_INTERVAL_S = 1.0
#: how far outside the region (km) a geofence may sit before it is reported as unreachable
GEOFENCE_MARGIN_KM = 50.0


def load_scenario(
    path: str | Path, *, env: Mapping[str, str] | None = None, max_bytes: int = MAX_BYTES
) -> Scenario:
    """Load and validate the scenario file at `path`, or the shipped scenario it names (`shipped_scenario`).
    `env` (default os.environ) resolves `secret_env`."""
    return _load(load_yaml_file(shipped_scenario(path), max_bytes=max_bytes), env)


def shipped_scenario(path: str | Path) -> str | Path:
    """`path` when something is there; else, when it is a bare name (`demo-city`, `demo-city.yaml`) or a path
    into a `scenarios/` folder (as the README's commands are written) that names one of fleetsim's shipped
    scenarios, that scenario's file: an installed fleetsim has no scenarios/ folder beside its user. A path that
    is neither raises the ScenarioError that names the shipped scenarios."""
    from ..resources import scenarios_dir

    given = Path(path)
    try:
        if given.exists() or (len(given.parts) > 1 and given.parent.name != "scenarios"):
            return path
        shipped = scenarios_dir() / (given.name if given.suffix in (".yaml", ".yml") else f"{given.name}.yaml")
        if shipped.is_file():
            return shipped
    except OSError:  # a name the file system refuses (too long): reading it words that
        return path
    stems = sorted(p.stem for p in scenarios_dir().glob("*.yaml"))
    close = difflib.get_close_matches(given.stem, stems, n=1, cutoff=0.75)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise ScenarioError([f"{path}: no such scenario file{hint} (give a path, or the name of a shipped scenario: "
                         f"{', '.join(stems)})"])


def load_scenario_text(
    text: str, source: str = "<scenario>", *, env: Mapping[str, str] | None = None, max_bytes: int = MAX_BYTES
) -> Scenario:
    """Load and validate scenario YAML held in memory; `source` names it in messages."""
    return _load(load_yaml_text(text, source, max_bytes=max_bytes), env)


def load_scenario_bytes(
    raw: bytes, source: str = "<scenario>", *, env: Mapping[str, str] | None = None, max_bytes: int = MAX_BYTES
) -> Scenario:
    """Load and validate scenario file contents (UTF-8 YAML bytes), e.g. read from standard input."""
    return _load(load_yaml_bytes(raw, source, max_bytes=max_bytes), env)


def webhook_providers() -> list[str]:
    """Registered providers that deliver webhooks (what `fleet[].provider` may name)."""
    return schema_build.webhook_providers()


def _load(doc: YamlDocument, env: Mapping[str, str] | None) -> Scenario:
    try:
        problems = schema_problems(doc)
        if problems:
            raise ScenarioError(problems)
        return _Builder(doc, os.environ if env is None else env).scenario()
    except ScenarioError as exc:  # no message quotes a credential, whichever key a mistake put it under
        raise ScenarioError(without_credentials(exc.problems, doc.data)) from None


# --- stage 3: semantics, and building the dataclasses --------------------------------------------------------


@cache
def _zones() -> dict[str, str]:
    """Every IANA zone name, by its lower-case form."""
    return {name.lower(): name for name in available_timezones()}


def _distance_km(a: LatLon, b: LatLon) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def _latlon(data: Mapping[str, Any]) -> LatLon:
    return LatLon(float(data["lat"]), float(data["lon"]))


class _Builder:
    """Checks a schema-valid document and builds the Scenario; collects every problem before raising."""

    def __init__(self, doc: YamlDocument, env: Mapping[str, str]) -> None:
        self.doc = doc
        self.env = env
        self.problems: list[tuple[tuple[int, int], str]] = []

    def problem(self, path: JsonPath, message: str, *, key: bool = False) -> None:
        position = self.doc.position(path, key=key)
        self.problems.append((position, f"{self.doc.location(path, key=key)}: {format_path(path)}: {message}"))

    def duration(self, path: JsonPath, value: Any, *, minimum: float = 0.0, default: float = 0.0) -> float:
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.problem(path, str(exc))
            return default
        if seconds < minimum:
            self.problem(path, f"must be at least {format_duration(minimum)}, found {format_duration(seconds)}")
            return default
        if seconds > MAX_DURATION_S:
            self.problem(path, f"must be at most {format_duration(MAX_DURATION_S)}, found {format_duration(seconds)}")
            return default
        return seconds

    def scenario(self) -> Scenario:
        data = self.doc.data
        region, city_zone = self.region(data["region"])
        zone_name = self.timezone(data.get("timezone"), city_zone)
        start = self.start(data["start"], zone_name)
        said = len(self.problems)
        # 0 when refused: the checks against the end below skip it rather than report an end nobody wrote
        duration = self.duration(("duration",), data["duration"])
        if duration <= 0 and len(self.problems) == said:
            self.problem(("duration",), "must be more than 0s")
        report = self.intervals(("report_intervals",), data.get("report_intervals", {}), ReportIntervals())
        groups = tuple(self.group(("fleet", i), g, report, duration) for i, g in enumerate(data["fleet"]))
        self.unique_names("fleet", data["fleet"], "group")
        geofences = tuple(self.geofence(("geofences", i), g, region) for i, g in enumerate(data.get("geofences", [])))
        self.unique_names("geofences", data.get("geofences", []), "geofence")
        injections = tuple(self.injection(("injections", i), inj, groups, duration)
                           for i, inj in enumerate(data.get("injections", [])))
        delivery = self.delivery(data.get("delivery", {}))
        if self.problems:
            self.problems.sort(key=lambda item: item[0])
            raise ScenarioError(message for _, message in self.problems)
        return Scenario(
            name=data["name"], seed=int(data["seed"]), start=start, timezone=zone_name or "UTC",
            duration_s=duration, region=region, groups=groups, geofences=geofences,
            injections=tuple(i for i in injections if i is not None), delivery=delivery,
            description=data.get("description", ""), source=self.doc.source,
        )

    def region(self, data: Mapping[str, Any]) -> tuple[Region, str | None]:
        if "city" in data:
            city = CITIES[data["city"]]
            return Region(city.name, city.center, city.radius_km, city.slug), city.timezone
        return Region(data.get("name", "custom"), _latlon(data["center"]), float(data["radius_km"])), None

    def timezone(self, name: str | None, city_zone: str | None) -> str | None:
        if name is None:
            if city_zone is None:
                self.problem(("timezone",), "required when the region is not a named city (an IANA name such as "
                             "America/Sao_Paulo or UTC)")
            return city_zone
        zones = _zones()
        if name not in zones.values():
            hint = did_you_mean(name, zones.values(), 0.7)
            self.problem(("timezone",), f"unknown time zone {clip(repr(name), 70)}{hint} (expected an IANA name "
                         "such as America/Sao_Paulo, Europe/Vienna or UTC)")
            return None
        return name

    def start(self, text: str, zone_name: str | None) -> float:
        path = ("start",)
        try:
            moment = datetime.fromisoformat(text[:-1] + "Z" if text.endswith("z") else text)
        except ValueError as exc:
            # Python's own words for an offset out of range quote timedelta reprs: said in the scenario's terms
            why = "the UTC offset must lie between -23:59 and +23:59" if "offset must be a timedelta" in str(exc) \
                else str(exc)
            self.problem(path, f"not a valid date-time: {why}")
            return 0.0
        if not 1971 <= moment.year <= 2100:
            self.problem(path, f"the year must be between 1971 and 2100, found {moment.year}")
            return 0.0
        if moment.tzinfo is None:
            if zone_name is None:
                return 0.0  # the time zone problem is already reported
            zone = ZoneInfo(zone_name)
            local = moment.replace(tzinfo=zone)
            if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != moment:
                self.problem(path, f"{text} does not exist in {zone_name} (the clocks skip it for daylight saving "
                             "time); pick another time or give an explicit offset")
            moment = local
        return moment.timestamp()

    def intervals(self, path: JsonPath, data: Mapping[str, Any], base: ReportIntervals) -> ReportIntervals:
        fields = {"moving": "moving_s", "parked": "parked_s", "heartbeat": "heartbeat_s"}
        changes = {attr: self.duration((*path, key), data[key], minimum=MIN_INTERVAL_S, default=getattr(base, attr))
                   for key, attr in fields.items() if key in data}
        return dataclasses.replace(base, **changes)

    def risk(self, path: JsonPath, data: Any) -> RiskProfile:
        if isinstance(data, str):
            return RISK_PRESETS[data]
        preset = RISK_PRESETS[data.get("preset", "medium")]
        overrides = {k: float(v) for k, v in data.items() if k != "preset"}
        return dataclasses.replace(preset, name="custom" if overrides else preset.name, **overrides)

    def group(self, path: JsonPath, data: Mapping[str, Any], report: ReportIntervals, duration: float) -> FleetGroup:
        features = frozenset(data.get("features", []))
        setpoint = data.get("reefer_setpoint")
        if setpoint is not None and "reefer" not in features:
            self.problem((*path, "reefer_setpoint"), "only for groups with the reefer feature; add reefer to "
                         "features or remove reefer_setpoint", key=True)
        shift = data.get("shift", {})
        shift_start = self.duration((*path, "shift", "start"), shift.get("start", 0))
        shift_len = self.duration((*path, "shift", "length"), shift.get("length", 8 * 3600), default=8 * 3600.0)
        if "length" in shift and shift_len <= 0:
            self.problem((*path, "shift", "length"), "must be more than 0s")
        if shift_start and duration and shift_start >= duration:
            self.problem((*path, "shift", "start"), f"the shift starts at {format_duration(shift_start)}, after the "
                         f"scenario ends ({format_duration(duration)}): the group would never drive")
        return FleetGroup(
            name=data["name"], count=int(data["count"]), provider=data["provider"], profile=data["profile"],
            features=features,
            risk=self.risk((*path, "risk"), data.get("risk", "medium")),
            report=self.intervals((*path, "report_intervals"), data.get("report_intervals", {}), report),
            stops_per_trip=int(data.get("stops_per_trip", 4)),
            dwell_s=self.duration((*path, "dwell"), data.get("dwell", 600), default=600.0),
            shift_start_s=shift_start, shift_s=shift_len,
            face_mismatch_share=float(data.get("face_mismatch_share", 0.05)),
            offline_per_day=float(data.get("offline_per_day", 0.5)),
            reefer_setpoint_c=None if setpoint is None else float(setpoint),
        )

    def unique_names(self, field: str, items: list[Any], what: str) -> None:
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            name = item["name"]
            if name in first:
                line, _ = self.doc.position((field, first[name], "name"))
                self.problem((field, i, "name"), f"duplicate {what} name {clip(repr(name))} (first used at line "
                             f"{line}); {what} names must be unique")
            else:
                first[name] = i

    def geofence(self, path: JsonPath, data: Mapping[str, Any], region: Region) -> Geofence:
        name = data["name"]
        if "circle" in data:
            center = _latlon(data["circle"]["center"])
            fence = Geofence(name, "circle", center=center, radius_m=float(data["circle"]["radius_m"]))
            points: tuple[LatLon, ...] = (center,)
            where: JsonPath = (*path, "circle", "center")
        else:
            fence = Geofence(name, "polygon", points=tuple(_latlon(p) for p in data["polygon"]))
            points, where = fence.points, (*path, "polygon")
            distinct = {(round(p.lat, 7), round(p.lon, 7)) for p in points}
            if len(distinct) < 3:
                self.problem(where, f"a polygon needs at least 3 distinct points, found {len(distinct)}")
        far = max((_distance_km(region.center, p) for p in points), default=0.0)
        if far > region.radius_km + GEOFENCE_MARGIN_KM:
            self.problem(where, f"lies {far:.0f} km from the centre of the region ({region.name}, radius "
                         f"{region.radius_km:g} km): no vehicle gets there (latitude and longitude swapped?)")
        return fence

    def injection(self, path: JsonPath, data: Mapping[str, Any], groups: tuple[FleetGroup, ...],
                  duration: float) -> Injection | None:
        group_name, _, number = data["device"].rpartition("/")
        event = data["event"]
        at = self.duration((*path, "at"), data["at"])
        ok = True
        group = next((g for g in groups if g.name == group_name), None)
        index = int(number) if len(number) <= 9 else 10**9  # int() refuses very long digit strings
        if group is None:
            known = [g.name for g in groups]
            self.problem((*path, "device"), f"no fleet group named {clip(repr(group_name))}"
                         f"{did_you_mean(group_name, known)} (groups: {', '.join(known)})")
            ok = False
        elif index < 1:
            self.problem((*path, "device"), f"device numbers start at 1: {group_name}/1 to {group_name}/{group.count}")
            ok = False
        elif index > group.count:
            self.problem((*path, "device"), f"group {group_name!r} has {group.count} device"
                         f"{'s' if group.count != 1 else ''} ({group_name}/1 to {group_name}/{group.count}); "
                         f"there is no {group_name}/{clip(number, 20)}")
            ok = False
        if duration and at >= duration:
            self.problem((*path, "at"), f"{format_duration(at)} is not before the end of the scenario "
                         f"(duration {format_duration(duration)})")
            ok = False
        length = 0.0
        if event in EVENTS_NEEDING_DURATION:
            if "duration" not in data:
                self.problem(path, f"event {event!r} needs a duration, e.g. duration: 10m")
                ok = False
            else:
                length = self.duration((*path, "duration"), data["duration"])
                if length <= 0:
                    self.problem((*path, "duration"), f"event {event!r} needs a duration of more than 0s")
                    ok = False
        elif "duration" in data:
            self.problem((*path, "duration"), f"event {event!r} is instantaneous and takes no duration", key=True)
            ok = False
        if group is not None and event == "theft" and group.profile != "e-bike":
            self.problem((*path, "event"), f"theft is reported by e-bike trackers; group {group_name!r} is a "
                         f"{group.profile}")
            ok = False
        if group is not None and event == "reefer_fault" and "reefer" not in group.features:
            self.problem((*path, "event"), f"reefer_fault needs the reefer feature; group {group_name!r} has none")
            ok = False
        return Injection(at, group_name, index, event, length) if ok else None

    def delivery(self, data: Mapping[str, Any]) -> Delivery:
        rate = Rate("realtime")
        if "rate" in data:
            try:
                rate = parse_rate(data["rate"])
            except ValueError as exc:
                self.problem(("delivery", "rate"), str(exc))
        faults_data = dict(data.get("faults", {}))
        faults = Faults(
            **{k: float(v) for k, v in faults_data.items() if k not in ("reorder_window", "delay", "jitter")},
            reorder_window=int(faults_data.get("reorder_window", 0)),
            delay_ms=1000 * self.duration(("delivery", "faults", "delay"), faults_data.get("delay", 0)),
            jitter_ms=1000 * self.duration(("delivery", "faults", "jitter"), faults_data.get("jitter", 0)),
        )
        settings = {name: MappingProxyType(self.provider_settings(("delivery", "providers", name), name, values))
                    for name, values in data.get("providers", {}).items()}
        return Delivery(rate=rate, faults=faults, providers=MappingProxyType(settings))

    def provider_settings(self, path: JsonPath, provider: str, data: Mapping[str, Any]) -> dict[str, Any]:
        return parse_provider_settings(self.problem, path, provider, data, self.env)
