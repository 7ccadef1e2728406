"""A provider is one unit: everything else asks it, nothing else names it. Proven with the generic Standard
Webhooks provider, which is one package plus its schema folder and runs through generate, run and the reference
receiver without any shared module knowing it exists."""

from __future__ import annotations

import ast
import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from simulator.delivery.retry import RETRY_POLICIES
from simulator.delivery.runner import RunConfig, Runner
from simulator.generation import generate_one
from simulator.providers import PROVIDERS
from simulator.providers.receiving import Adapter
from simulator.scenario.loader import load_scenario_text
from simulator.scenario.model import Rate
from simulator.servers.serving import start_receiver, stop_receiver
from simulator.servers.store import Store
from simulator.world.fleet import make_device
from tests.conftest import CliResult

ROOT = Path(__file__).resolve().parents[3] / "simulator"
#: shared places that legitimately spell provider names: signing profiles (a registry of their own, named after
#: the platforms that sign that way), the drivers API (whose content is a list of them) and the registry of served
#: platforms (`fleetsim serve --api smartgps` is named after its vendor, as its provider is)
ALLOWED = ("signing/", "apis/drivers_api.py", "servers/platforms.py")


def _inside_a_provider_package(rel: str) -> bool:
    return rel.startswith("providers/") and rel.count("/") >= 2


def _string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_no_shared_module_names_a_provider() -> None:
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(ALLOWED) or _inside_a_provider_package(rel):
            continue
        named = _string_constants(path) & set(PROVIDERS)
        if named:
            offenders.append(f"{rel}: {sorted(named)}")
    assert not offenders, "shared modules must ask the provider, not branch on its name:\n" + "\n".join(offenders)


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_every_provider_answers_the_whole_interface(name: str) -> None:
    provider = PROVIDERS[name]
    assert isinstance(provider.adapter, Adapter) and provider.adapter.name == name
    assert provider.retry_default[0] in RETRY_POLICIES and provider.retry_default[1]
    assert provider.channels <= {"webhook", "websocket"} and "webhook" in provider.channels
    assert isinstance(provider.settings_schema["properties"], dict)
    facts = provider.auth
    assert isinstance(facts.signed_timestamp, bool) and isinstance(facts.covers_body, bool)
    device = make_device(random.Random(1), group="g", index=1, number=1, provider=name,
                         profile="e-bike" if name == "powunity" else "van", features=frozenset(), tz_offset_s=0)
    assert hasattr(provider.renderer(device, {}, random.Random(1)), "render")
    for kind, spec in provider.kinds.items():
        if spec.channel != "webhook":
            continue
        payload = generate_one(provider, kind, seed=2, index=0).payload
        envelope = provider.envelope(kind, payload, message_id="m-1", settings={})
        assert isinstance(envelope.body, bytes) and envelope.headers["Content-Type"]
        # what the provider sends, its own adapter reads back as the same kind
        doc = provider.adapter.decode(envelope.body, envelope.headers["Content-Type"].split(";")[0])
        assert provider.adapter.classify(doc) == kind


SCENARIO = """
name: sw
seed: 4
start: "2026-03-03T08:00:00"
duration: 2h
region: {city: vienna}
fleet:
  - {name: vans, count: 3, provider: standard_webhooks, profile: van, risk: high}
injections:
  - {at: 5m, device: vans/1, event: sos}
delivery:
  rate: max
  faults: {duplicate: 0.2, tamper_signature: 0.1, stale_timestamp: 0.1}
  providers:
    standard_webhooks: {secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
"""


async def test_a_provider_package_runs_through_run_and_the_reference_receiver() -> None:
    scenario = load_scenario_text(SCENARIO, "sw.yaml")
    store = Store()
    server, url = await start_receiver(scenario.delivery.providers, store)
    try:
        runner = Runner(RunConfig(scenario=scenario, target=url, settings=scenario.delivery.providers,
                                  rate=Rate("max"), concurrency=8, limit=120))
        await runner.run()
        counts = await store.counts(["standard_webhooks"])
    finally:
        await stop_receiver(server)
        await store.close()
    totals = runner.summary()["totals"]
    assert totals["generated"] == totals["delivered"] == 120 and runner.summary()["invariant"]["ok"]
    probes = totals["probes"]
    assert probes["tampered_signature"]["rejected_4xx"] == probes["tampered_signature"]["sent"] > 0
    assert probes["stale_timestamp"]["rejected_4xx"] == probes["stale_timestamp"]["sent"] > 0
    # webhook-id is the idempotency key: every duplicate (same id, fresh signature) was recognised
    assert counts["standard_webhooks"]["accepted"] == 120
    assert counts["standard_webhooks"]["duplicate"] == totals["duplicates_sent"] > 0


def test_a_provider_package_generates_and_validates(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    result = cli("generate", "standard_webhooks", "event", "-n", "5", "--seed", "3")
    assert result.code == 0
    docs = [json.loads(line) for line in result.lines]
    assert all(doc["type"].startswith(("vehicle.", "alarm.")) for doc in docs)
    path = tmp_path / "events.ndjson"
    path.write_text(result.out)
    assert cli("schemas", "validate", "standard_webhooks", "event", str(path)).code == 0
