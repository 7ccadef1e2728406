"""`fleetsim schemas validate` and the reference receiver reach the same verdict on the same bytes.

The receiver side is its own parse-and-check step (Endpoint.check: strict JSON, the kind, the schema), the
one every delivery goes through after authentication. Verdicts compared: the validator exits 0 exactly when
the receiver acknowledges the message. Both take what breaks only a rule fleetsim chose
(x-inferred: docs/schema-conventions.md), undeclared extra fields and MettaX messages of no known kind (MAL-03);
the validator notes them, and refuses them with --strict.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from simulator.providers import PROVIDERS
from simulator.providers.receiving import Rejected
from simulator.servers.receiver import MAX_DEPTH, TOLERANCE_S, Endpoint
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"
WEBHOOK_KINDS = {"mettax": None, "smartgps": {"event"}, "samsara": {"alert_v1", "event_v2", "ping"},
                 "powunity": {"webhook"}}  # None: every MettaX message, sent inside its envelope


def _example(provider: str, name: str) -> Any:
    return json.loads((EXAMPLES / provider / name).read_text())


def _envelope(message: str) -> bytes:
    return json.dumps({"data": message}).encode()


def _vendor_examples() -> list[tuple[str, str, bytes]]:
    """(provider, kind to validate as, body) for every vendor example a webhook carries."""
    cases = []
    for provider, kinds in WEBHOOK_KINDS.items():
        for path in sorted((EXAMPLES / provider).glob("*__*.json")):
            kind = path.name.split("__", 1)[0]
            if provider == "mettax" and kind != "envelope":
                cases.append((provider, "envelope", _envelope(json.dumps(json.loads(path.read_text())))))
            elif kinds is None or kind in kinds:
                cases.append((provider, kind, path.read_bytes()))
    return cases


def _swap(text: str, old: str, new: str, count: int = -1) -> str:
    assert old in text, old  # a break that silently does not happen would make a "refused" case pass vacuously
    return text.replace(old, new, count)


def _broken() -> list[tuple[str, str, bytes]]:
    gps = _example("mettax", "gps__seed.json")
    gps_text = json.dumps(gps)
    event = json.dumps(_example("smartgps", "event__seed_speeding.json"))
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    huge = "1" * 5000
    mettax = [
        _envelope(json.dumps({**gps, "lat": 91})),  # the GPS message also satisfies device_info's schema
        _envelope(_swap(gps_text, '"num": 9', '"num": NaN')),
        _envelope(_swap(gps_text, '"speed": 0', '"speed": Infinity')),
        _envelope(_swap(gps_text, '"speed": 0', '"speed": -Infinity')),
        _envelope(_swap(gps_text, '"num": 9', '"num": 9, "num": 10')),
        _envelope(_swap(gps_text, '"speed": 0', f'"speed": {deep}')),
        _envelope(_swap(gps_text, '"speed": 0', f'"speed": {huge}')),
        _envelope("[1, 2]"),
        _envelope(gps_text[:-1]),
        b'{"data": NaN}',
        _envelope(gps_text)[:-1] + b', "data": "{}"}',
        b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ]
    smartgps = [
        _swap(event, '"lat": -19.9167', '"lat": 91'),
        _swap(event, '"speed": 95', '"speed": NaN'),
        _swap(event, '"speed": 95', '"speed": Infinity'),
        _swap(event, '"speed": 95', f'"speed": {huge}'),
        _swap(event, '"speed": 95', '"speed": 95, "speed": 96'),
        _swap(event, '"speed": 95', f'"speed": {deep}'),
        "[" * 100_000 + "]" * 100_000,
    ]
    samsara = json.dumps(_example("samsara", "ping__webhook_reference.json"))
    powunity = json.dumps(_example("powunity", "webhook__seed001_device_online.json"))
    return [*(("mettax", "envelope", body) for body in mettax),
            *(("smartgps", "event", body.encode()) for body in smartgps),
            ("samsara", "ping", _swap(samsara, '"eventId": ', '"eventId": "x", "eventId": ').encode()),
            ("powunity", "webhook", _swap(powunity, '"id": ', '"id": NaN, "x": ', 1).encode())]


def _receiver_accepts(provider: str, body: bytes) -> bool:
    endpoint = Endpoint(PROVIDERS[provider], {}, TOLERANCE_S)
    try:
        _, kind = endpoint.check(body, "application/json")
    except Rejected:
        return False
    return kind is not None


def _validator_accepts(cli: Cli, provider: str, kind: str, body: bytes) -> bool:
    result = cli("schemas", "validate", provider, kind, "-", stdin=body)
    assert result.code in (0, 1, 2), result.err  # never fleetsim's own failure
    assert "Traceback" not in result.err
    return result.code == 0


VENDOR = _vendor_examples()
BROKEN = _broken()


def test_the_corpus_covers_every_webhook_provider() -> None:
    assert {p for p, _, _ in VENDOR} == {p for p, _, _ in BROKEN} == set(WEBHOOK_KINDS)
    assert len([c for c in VENDOR if c[0] == "mettax"]) >= 10


@pytest.mark.parametrize(("provider", "kind", "body"), VENDOR, ids=lambda v: v[:40] if isinstance(v, bytes) else v)
def test_vendor_examples_are_accepted_by_both(cli: Cli, provider: str, kind: str, body: bytes) -> None:
    assert _receiver_accepts(provider, body)
    assert _validator_accepts(cli, provider, kind, body)


@pytest.mark.parametrize(("provider", "kind", "body"), BROKEN, ids=lambda v: v[:40] if isinstance(v, bytes) else v)
def test_broken_documents_are_refused_by_both(cli: Cli, provider: str, kind: str, body: bytes) -> None:
    assert not _receiver_accepts(provider, body)
    assert not _validator_accepts(cli, provider, kind, body)


def _beyond_fleetsims_rules() -> list[tuple[str, str, bytes]]:
    """Vendor examples changed in ways only fleetsim's own rules refuse (each real: a device may send them)."""
    gps = _example("mettax", "gps__seed.json")
    sensor = _example("mettax", "sensor__seed.json")
    alarm = _example("mettax", "alarm__seed.json")
    info = _example("mettax", "device_info__seed.json")
    event = _example("smartgps", "event__seed_speeding.json")
    return [("mettax", "envelope", _envelope(json.dumps({**gps, "speed": 350, "num": 65}))),
            ("mettax", "envelope", _envelope(json.dumps({**gps, "reportCt": gps["reportCt"] + 0.5}))),
            ("mettax", "envelope", _envelope(json.dumps({**sensor, "adc": "12.5V"}))),
            ("mettax", "envelope", _envelope(json.dumps({**alarm, "alarmType": "fatigueDriving"}))),
            ("mettax", "envelope", _envelope(json.dumps({**info, "signal": -75}))),
            ("mettax", "gps", json.dumps({**gps, "deviceId": "DEV-7"}).encode()),
            ("smartgps", "event", json.dumps({**event, "speed": 350, "plate": "ABC 1234"}).encode()),
            ("smartgps", "event", json.dumps({**event, "driverId": "D-17"}).encode())]


@pytest.mark.parametrize(("provider", "kind", "body"), _beyond_fleetsims_rules(),
                         ids=lambda v: v[:60] if isinstance(v, bytes) else v)
def test_what_only_fleetsims_rules_refuse_is_taken_by_both_and_noted(
        cli: Cli, provider: str, kind: str, body: bytes) -> None:
    assert kind == "gps" or _receiver_accepts(provider, body)
    result = cli("schemas", "validate", provider, kind, "-", stdin=body)
    assert result.code == 0, result.out
    assert "note: " in result.out and ("fleetsim's own rule" in result.out or "beyond those declared" in result.out)
    strict = cli("schemas", "validate", provider, kind, "-", "--strict", stdin=body)
    assert strict.code == 1 and "note: " not in strict.out


def test_a_mettax_message_of_a_kind_to_come_is_acknowledged_by_both(cli: Cli) -> None:
    # MAL-03's own probe: the fields every kind has and a reading of its own
    body = _envelope(json.dumps({"id": "105045133913_1", "deviceId": "105045133913", "deviceCt": 1735296575,
                                 "reportCt": 1735296575, "fleetsimFutureReading": 1}))
    _, kind = Endpoint(PROVIDERS["mettax"], {}, TOLERANCE_S).check(body, "application/json")
    assert kind is None  # acknowledged, ignored
    assert _validator_accepts(cli, "mettax", "envelope", body)
