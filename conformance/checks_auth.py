"""Signature and replay checks beyond the first slice (checks.py): SIG-02 so far.

Probes are built from fresh events of the scenario and signed exactly as the provider signs (`Base.sign`);
checks judge the recorded answers. See docs/conformance-catalogue.md §1.1 and §1.2.
"""

from __future__ import annotations

from collections.abc import Sequence

from simulator.providers import Provider

from .checks import _rejected, signs
from .probing import Base, ProbeRequest, probe
from .registry import CheckResult, Context, check


def _has_auth(provider: Provider, has_secret: bool) -> bool:
    return signs(provider) and has_secret


@probe("missing_signature", applies=_has_auth)
def missing_signature(bases: Sequence[Base]) -> list[ProbeRequest]:
    """The event without its authentication headers (each one left out alone, then all of them)."""
    base = bases[0]
    signed = base.sign(base.body)
    names = sorted(base.auth_header_names())
    requests = [ProbeRequest(f"without {name}", base.body, {k: v for k, v in signed.items() if k != name})
                for name in names]
    if len(names) > 1:
        requests.append(ProbeRequest("without any", base.body, base.unsigned_headers()))
    return requests


@check(id="SIG-02", needs=frozenset({"missing_signature"}), applies=signs,
       not_applicable="{provider} authenticates nothing: there is no header to leave out")
def missing_signature_rejected(context: Context) -> CheckResult:
    """A delivery without its signature header (or without its timestamp header) is rejected: 4xx, never 2xx."""
    return _rejected(context, "missing_signature", "deliveries without an authentication header")
