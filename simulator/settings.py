"""Settings files (`--settings FILE`, shared by `fleetsim run`, `replay` and `receiver`): per-provider delivery
settings kept out of the scenario, typically because they hold secrets or name a target.

    providers:
      samsara: {secret: "<base64>", url: "https://...", retry: standard-webhooks, payload_version: 1, org_id: 4000}
      smartgps: {secret_env: SMARTGPS_SECRET}
      powunity: {psk: "Bearer ...", webhook_types: [alarm, geofenceExit]}
      mettax: {envelope: json, token: "..."}

The file is hardened and reported exactly as a scenario is: safe YAML (`yamlsafe`: size cap, duplicate keys,
alias limits, positions); the `delivery.providers` part of the published scenario schema (generated from each
provider's own settings description, so the two accept the same keys); the same per-provider parsing and checks
(`scenario.provider_settings`: secrets into `Secret`, URLs, retry schedules, the provider's own checks); and the
same wording (`scenario.wording`). Every problem is reported at once as `file:line:col: providers.samsara.url:
...` in a ScenarioError (a UsageError, exit 2).

`url` is kept as written; `retry` and `webhook_types` are kept as written after validation (the consumers
parse them: a retry list holds durations such as "5s" or numbers of seconds).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator

from .errors import ScenarioError
from .scenario.provider_settings import parse_provider_settings
from .scenario.schema_build import webhook_providers
from .scenario.wording import SCHEMA, clip, did_you_mean, explain, format_path, without_credentials
from .scenario.yamlsafe import MAX_BYTES, FileKind, JsonPath, YamlDocument, load_yaml_file
from .schemastore import load_schema

__all__ = ["Settings", "load_settings", "merge_settings"]

SETTINGS_FILE = FileKind("settings", "providers: ...")


@dataclass(frozen=True)
class Settings:
    """A loaded settings file. `providers[name]` holds plain values plus a parsed `Secret` under "secret"."""

    providers: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    source: str = "<settings>"

    def __repr__(self) -> str:  # names only: values may hold credentials
        return f"Settings(source={self.source!r}, providers={sorted(self.providers)!r})"


class _Problems:
    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.found: list[tuple[tuple[int, int], str]] = []

    def __call__(self, path: JsonPath, message: str, *, key: bool = False) -> None:
        self.found.append((self.doc.position(path, key=key),
                           f"{self.doc.location(path, key=key)}: {format_path(path)}: {message}"))


def load_settings(
    path: str | Path, *, env: Mapping[str, str] | None = None, max_bytes: int = MAX_BYTES,
    used: Collection[str] | None = None,
) -> Settings:
    """Load and check the settings file at `path`; `env` (default os.environ) resolves `secret_env`/`psk_env`.
    `used`: the providers the command will use (None: all). Another provider's unset secret variable is no
    error: a shared settings file names every provider's, and a job's environment holds only its own."""
    doc = load_yaml_file(path, max_bytes=max_bytes, kind=SETTINGS_FILE)
    problems = _Problems(doc)
    broken = _schema_problems(doc, problems)
    providers: dict[str, Mapping[str, Any]] = {}
    raw = doc.data.get("providers")
    # anything but a mapping (a list, null, a string) is a schema problem, already reported
    for name, values in raw.items() if isinstance(raw, dict) else ():
        if name in broken:
            continue  # its schema problems are reported; the checks below assume a well-formed mapping
        parsed = parse_provider_settings(problems, ("providers", name), name, values,
                                         os.environ if env is None else env, env_required=used is None or name in used)
        providers[name] = MappingProxyType(parsed)
    if problems.found:
        problems.found.sort(key=lambda item: item[0])
        raise ScenarioError(without_credentials(dict.fromkeys(message for _, message in problems.found), doc.data))
    return Settings(MappingProxyType(providers), doc.source)


def merge_settings(base: Mapping[str, Mapping[str, Any]], override: Settings) -> Mapping[str, Mapping[str, Any]]:
    """A scenario's `delivery.providers` with the settings file laid over it, key by key per provider."""
    merged: dict[str, dict[str, Any]] = {name: dict(values) for name, values in base.items()}
    for name, values in override.providers.items():
        merged.setdefault(name, {}).update(values)
    return MappingProxyType({name: MappingProxyType(values) for name, values in merged.items()})


@cache
def _validator() -> Draft202012Validator:
    """The scenario schema's `delivery.providers`, as the whole of a settings file."""
    root = load_schema(SCHEMA)
    providers = copy.deepcopy(root["$defs"]["delivery"]["properties"]["providers"])
    # unknown providers are reported by _schema_problems with the provider list, not as an unknown "field"
    providers.pop("additionalProperties", None)
    return Draft202012Validator({
        "$defs": root["$defs"],  # same definitions, so messages resolve the same $refs
        "title": "fleetsim settings file",
        "type": "object",
        "additionalProperties": False,
        "required": ["providers"],
        "properties": {"providers": providers},
    })


def _schema_problems(doc: YamlDocument, report: _Problems) -> set[str]:
    """Report every schema problem; return the providers whose settings have one."""
    known = webhook_providers()
    broken: set[str] = set()
    providers = doc.data.get("providers")
    if isinstance(providers, dict):
        for name in providers:
            if name not in known:
                broken.add(name)
                report(("providers", name), f"unknown provider {clip(repr(name), 40)}{did_you_mean(name, known)} "
                       f"(known: {', '.join(known)})", key=True)
    for err in _validator().iter_errors(doc.data):
        path: JsonPath = tuple(err.absolute_path)
        if len(path) >= 2 and path[0] == "providers":
            if path[1] not in known:
                continue  # reported above
            broken.add(str(path[1]))
        elif path == ("providers",) and isinstance(providers, dict):
            broken.update(providers)  # the providers mapping itself is wrong
        for text in explain(err, doc):
            report.found.append((_position(doc, text), text))
    return broken


def _position(doc: YamlDocument, problem: str) -> tuple[int, int]:
    """(line, column) of a "file:line:col: ..." problem, for sorting in file order."""
    parts = problem[len(doc.source) + 1 :].split(":", 2)
    try:
        return int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        return (0, 0)
