"""`fleetsim schemas validate`: what it reports for each document, and how it reads its input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from simulator.schemastore import load_schema
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def test_each_missing_required_property_is_named_exactly_once(cli: Cli, tmp_path: Path) -> None:
    required = load_schema("smartgps/event.schema.json")["required"]
    assert len(required) > 2  # the case that went wrong: several missing at once
    path = tmp_path / "empty.json"
    path.write_text("{}")
    result = cli("schemas", "validate", "smartgps", "event", str(path))
    assert result.code == 1
    errors = result.lines[:-1]
    assert errors == [f"{path}:1: /: expected required property {name!r}, got nothing" for name in required]
    # one present, the others missing: the present one is not reported, each other one once
    path.write_text(json.dumps({"event": "SOS"}))
    result = cli("schemas", "validate", "smartgps", "event", str(path))
    assert result.lines[:-1] == [f"{path}:1: /: expected required property {name!r}, got nothing"
                                 for name in required if name != "event"]
