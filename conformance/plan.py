"""The planner: for one provider and the selected checks, a small realistic scenario built in memory.

One fleet group of the provider, a few minutes of traffic (an SOS and a power cut are injected so that
providers that push events only still send some), and exactly the delivery faults the checks need, each on
every event (share 1.0), so a short run gives every check something to judge. Only probes that mean
something for the provider are planned (the same rule as `simulator.delivery.faults.applicable_probes`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from simulator.delivery.faults import PROBE_SHARE_FIELDS, applicable_probes
from simulator.delivery.model import DUPLICATE
from simulator.providers import Provider
from simulator.scenario.loader import load_scenario_text
from simulator.scenario.model import Scenario
from simulator.signing import SIGNERS

from .probing import PROBES, Probe
from .registry import Check

#: genuine events per provider and run: each gets every planned probe and a duplicate
EVENTS = 6
DEVICES = 4


@dataclass(frozen=True)
class Plan:
    provider: Provider
    scenario: Scenario
    checks: tuple[Check, ...]
    faults: dict[str, float]  # the scenario's delivery.faults
    #: the probes to send after the scenario's traffic, each on its own fresh events
    probes: tuple[Probe, ...] = ()
    limit: int = EVENTS


def plan(provider: Provider, checks: Iterable[Check], *, seed: int, has_secret: bool) -> Plan:
    selected = tuple(checks)
    # the delivery engine's probes (a tampered signature, stale timestamps) need a secret a signer uses: a static
    # token of an unsigned provider (MettaX) is the conformance probes' to get wrong (SIG-02, SIG-09)
    signer = SIGNERS[provider.signing]
    possible = applicable_probes(signer, has_secret=has_secret and signer.name != "none") | {DUPLICATE}
    needed = {copy for c in selected if c.applies(provider) for copy in c.needs}
    probes = tuple(PROBES[name] for name in sorted(needed & set(PROBES))
                   if PROBES[name].applies(provider, has_secret))
    faults = {PROBE_SHARE_FIELDS.get(copy, copy): 1.0 for copy in sorted(needed & possible)}
    fault_text = ", ".join(f"{name}: {share}" for name, share in faults.items())
    text = f"""
name: check-{provider.name}
seed: {seed}
start: "2026-03-03T08:00:00"
duration: 8h
region: {{city: chicago}}
report_intervals: {{moving: 5s}}
fleet:
  - {{name: g, count: {DEVICES}, provider: {provider.name}, profile: van, risk: high, stops_per_trip: 2}}
injections:
  - {{at: 1m, device: g/1, event: sos}}
  - {{at: 2m, device: g/2, event: power_cut}}
delivery:
  faults: {{{fault_text}}}
"""
    return Plan(provider, load_scenario_text(text, f"<check {provider.name}>"), selected, faults, probes)
