"""`fleetsim schemas validate`: what it reports for each document, and how it reads its input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulator.schemastore import load_schema
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"


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


def _envelope(message: dict[str, Any]) -> bytes:
    return json.dumps({"data": json.dumps(message)}).encode()


def test_envelope_checks_the_inner_message_against_the_kind_the_receiver_sees(cli: Cli) -> None:
    # a GPS message (it has `num`) with lat 91 also satisfies the looser device_info schema; the receiver
    # treats it as GPS and refuses it, so the validator must judge it as GPS too
    gps = json.loads((EXAMPLES / "mettax" / "gps__seed.json").read_text())
    assert cli("schemas", "validate", "mettax", "envelope", "-", stdin=_envelope(gps)).code == 0
    result = cli("schemas", "validate", "mettax", "envelope", "-", stdin=_envelope({**gps, "lat": 91}))
    assert result.code == 1
    assert result.lines == ["<stdin>:1: /data(json:gps)/lat: expected maximum 90, got 91",
                            "0 of 1 valid (mettax envelope)"]


def test_envelope_inner_message_of_no_known_kind_is_invalid(cli: Cli) -> None:
    result = cli("schemas", "validate", "mettax", "envelope", "-", stdin=_envelope({"id": "1_2", "newKind": 1}))
    assert result.code == 1
    assert "/data: expected a message of a known MettaX kind" in result.lines[0]
