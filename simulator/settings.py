"""Settings files (`--settings FILE`, shared by `fleetsim run`, `replay` and `receiver`): per-provider delivery
settings kept out of the scenario, typically because they hold secrets or name a target.

    providers:
      samsara: {secret: "<base64>", url: "https://...", retry: standard-webhooks, payload_version: 1, org_id: 4000}
      smartgps: {secret_env: SMARTGPS_SECRET}
      powunity: {psk: "Bearer ...", webhook_types: [alarm, geofenceExit]}
      mettax: {envelope: json, token: "..."}

The file goes through the scenario loader's machinery, so it is hardened and reported the same way:
safe YAML (`yamlsafe`: size cap, duplicate keys, alias limits, positions); the `delivery.providers` part of the
scenario schema, extended with `url`, `retry` and `webhook_types`; and the loader's per-provider parsing, which
turns `secret`/`psk`/`secret_env`/`psk_env` into a `Secret` under "secret" and never quotes one. Every problem
is reported at once as `file:line:col: providers.samsara.url: ...` in a ScenarioError (a UsageError, exit 2).

`url` is kept as written; `retry` and `webhook_types` are kept as written after validation (the consumers
parse them: a retry list holds durations such as "5s" or numbers of seconds).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator

from .scenario import loader
from .scenario.durations import parse_duration
from .scenario.errors import ScenarioError
from .scenario.yamlsafe import MAX_BYTES, JsonPath, YamlDocument, load_yaml_file
from .schemastore import load_schema

__all__ = ["RETRY_PROFILES", "Settings", "load_settings", "merge_settings"]

#: named retry schedules a `retry` setting may use (or a list of delays)
RETRY_PROFILES = ("none", "standard-webhooks", "exponential")
#: Traccar event types a PowUnity `webhook_types` list may name
_TRACCAR_EVENTS = "powunity/traccar.schema.json"

#: settings every webhook provider accepts, beyond those the scenario schema lists for it
_COMMON_PROPERTIES: dict[str, Any] = {
    "url": {
        "title": "Receiver URL",
        "description": "Where this provider's webhooks are sent (http or https).",
        "type": "string",
        "x-expected": "an http:// or https:// URL",
    },
    "retry": {
        "title": "Retry schedule",
        "description": "none, standard-webhooks, exponential, or a list of delays after each failure.",
        "anyOf": [
            {"type": "string", "enum": list(RETRY_PROFILES), "x-what": "retry schedule"},
            {"type": "array", "minItems": 1, "maxItems": 50, "items": {"$ref": "#/$defs/duration"}},
        ],
        "x-expected": 'none, standard-webhooks, exponential, or a list of delays such as ["5s", "5m", "30m"]',
    },
}
_EXTRA_PROPERTIES: dict[str, dict[str, Any]] = {
    "powunity": {
        "webhook_types": {
            "title": "Webhook event types",
            "description": "Traccar event types the webhook is called for (default: all).",
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "uniqueItems": True}],
            "x-expected": "a list of Traccar event types such as [alarm, geofenceExit]",
        }
    }
}


@dataclass(frozen=True)
class Settings:
    """A loaded settings file. `providers[name]` holds plain values plus a parsed `Secret` under "secret"."""

    providers: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    source: str = "<settings>"

    def __repr__(self) -> str:  # names only: a MettaX token is a plain string
        return f"Settings(source={self.source!r}, providers={sorted(self.providers)!r})"


def load_settings(
    path: str | Path, *, env: Mapping[str, str] | None = None, max_bytes: int = MAX_BYTES
) -> Settings:
    """Load and check the settings file at `path`; `env` (default os.environ) resolves `secret_env`/`psk_env`."""
    try:
        doc = load_yaml_file(path, max_bytes=max_bytes)
    except ScenarioError as exc:  # yamlsafe speaks of scenario files; say settings file instead
        raise ScenarioError(_reword(p) for p in exc.problems) from None
    problems, broken = _schema_problems(doc)
    builder = loader._Builder(doc, os.environ if env is None else env)
    builder.problems.extend(problems)
    providers: dict[str, Mapping[str, Any]] = {}
    for name, values in doc.data.get("providers", {}).items():
        if name in broken:
            continue  # its schema problems are reported; the checks below assume a well-formed mapping
        where: JsonPath = ("providers", name)
        parsed = builder.provider_settings(where, name, values)
        _check_url(builder, where, values)
        _check_retry(builder, where, values)
        _check_webhook_types(builder, where, name, values)
        providers[name] = MappingProxyType(parsed)
    if builder.problems:
        builder.problems.sort(key=lambda item: item[0])
        raise ScenarioError(dict.fromkeys(message for _, message in builder.problems))
    return Settings(MappingProxyType(providers), doc.source)


def merge_settings(base: Mapping[str, Mapping[str, Any]], override: Settings) -> Mapping[str, Mapping[str, Any]]:
    """A scenario's `delivery.providers` with the settings file laid over it, key by key per provider."""
    merged: dict[str, dict[str, Any]] = {name: dict(values) for name, values in base.items()}
    for name, values in override.providers.items():
        merged.setdefault(name, {}).update(values)
    return MappingProxyType({name: MappingProxyType(values) for name, values in merged.items()})


# --- stage 2: the schema (the scenario's delivery.providers, extended) ------------------------------------------


@cache
def _schema() -> dict[str, Any]:
    root = load_schema(loader.SCHEMA)
    providers = copy.deepcopy(root["$defs"]["delivery"]["properties"]["providers"])
    # unknown providers are reported by _schema_problems with the provider list, not as an unknown "field"
    providers.pop("additionalProperties", None)
    for name, sub in providers["properties"].items():
        sub.setdefault("properties", {}).update(copy.deepcopy(_COMMON_PROPERTIES))
        sub["properties"].update(copy.deepcopy(_EXTRA_PROPERTIES.get(name, {})))
    return {
        "$defs": root["$defs"],  # same definitions, so the loader's messages resolve the same $refs
        "title": "fleetsim settings file",
        "type": "object",
        "additionalProperties": False,
        "required": ["providers"],
        "properties": {"providers": providers},
    }


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(_schema())


def _schema_problems(doc: YamlDocument) -> tuple[list[tuple[tuple[int, int], str]], set[str]]:
    """Every schema problem (with its position, for sorting), and the providers whose settings have one."""
    known = loader.webhook_providers()
    problems: list[tuple[tuple[int, int], str]] = []
    broken: set[str] = set()
    providers = doc.data.get("providers")
    if isinstance(providers, dict):
        for name in providers:
            if name not in known:
                broken.add(name)
                where: JsonPath = ("providers", name)
                problems.append((doc.position(where, key=True), f"{doc.location(where, key=True)}: "
                                 f"{loader.format_path(where)}: unknown provider {loader._clip(repr(name), 40)}"
                                 f"{loader._did_you_mean(name, known)} (known: {', '.join(known)})"))
    for err in _validator().iter_errors(doc.data):
        path: JsonPath = tuple(err.absolute_path)
        if len(path) >= 2 and path[0] == "providers":
            if path[1] not in known:
                continue  # reported above
            broken.add(str(path[1]))
        elif path == ("providers",):
            broken.update(providers or ())  # the providers mapping itself is wrong
        problems.extend((_position(doc, text), text) for text in loader._explain(err, doc))
    return problems, broken


def _position(doc: YamlDocument, problem: str) -> tuple[int, int]:
    """(line, column) of a "file:line:col: ..." problem, for sorting in file order."""
    parts = problem[len(doc.source) + 1 :].split(":", 2)
    try:
        return int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        return (0, 0)


# --- stage 3: what the schema cannot say ------------------------------------------------------------------------


def _check_url(builder: loader._Builder, path: JsonPath, values: Mapping[str, Any]) -> None:
    url = values.get("url")
    if not isinstance(url, str):
        return
    where = (*path, "url")
    # The URL is never quoted: it may carry credentials (user:password@) or a token in its query.
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        builder.problem(where, "the URL contains spaces or control characters")
        return
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number in 0..65535
    except ValueError:
        builder.problem(where, "not a valid URL (check the host, brackets around IPv6 addresses and the port)")
        return
    if parts.scheme.lower() not in ("http", "https"):
        found = f"a {parts.scheme!r} URL" if parts.scheme and len(parts.scheme) < 20 else "no http(s) scheme"
        builder.problem(where, f"expected an http:// or https:// URL, found {found}")
    elif not parts.hostname:
        builder.problem(where, "the URL has no host (expected e.g. https://receiver.example.com/webhooks/samsara)")
    elif port == 0:
        builder.problem(where, "the URL's port must be 1 to 65535, not 0")


def _check_retry(builder: loader._Builder, path: JsonPath, values: Mapping[str, Any]) -> None:
    retry = values.get("retry")
    if not isinstance(retry, list):
        return  # a name was checked by the schema
    previous = 0.0
    for i, item in enumerate(retry):
        try:
            delay = parse_duration(item)
        except ValueError:
            return  # the schema reported it
        if delay < previous:
            builder.problem((*path, "retry", i), "retry delays must not decrease (each delay is the wait after "
                            "one more failure)")
            return
        previous = delay


@cache
def _traccar_event_types() -> tuple[str, ...]:
    return tuple(load_schema(_TRACCAR_EVENTS)["$defs"]["EventType"]["enum"])


def _check_webhook_types(builder: loader._Builder, path: JsonPath, provider: str, values: Mapping[str, Any]) -> None:
    types = values.get("webhook_types")
    if provider != "powunity" or types is None:
        return
    items = [t.strip() for t in types.split(",")] if isinstance(types, str) else types
    known = _traccar_event_types()
    for i, item in enumerate(items):
        if isinstance(item, str) and item not in known:
            where = (*path, "webhook_types") if isinstance(types, str) else (*path, "webhook_types", i)
            builder.problem(where, f"unknown Traccar event type {loader._clip(repr(item), 40)}"
                            f"{loader._did_you_mean(item, known)} (known: {', '.join(known)})")


_REWORDING = (
    ("a mapping of scenario settings (name: ..., seed: ..., fleet: ...)", "a mapping (providers: ...)"),
    ("a scenario mapping (name, seed, start, ...)", "a settings mapping (providers: ...)"),
    ("the scenario file", "the settings file"),
    ("scenario files", "settings files"),
    ("for a scenario", "for a settings file"),
    ("scenario numbers", "settings numbers"),
)


def _reword(problem: str) -> str:
    for old, new in _REWORDING:
        problem = problem.replace(old, new)
    return problem
