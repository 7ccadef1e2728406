"""docs/checks.md, generated from the registry: `python -m conformance.docs` rewrites it, and a test fails
when it is out of date."""

from __future__ import annotations

import sys
from pathlib import Path

from . import catalogue as _catalogue  # noqa: F401  (registers the checks and probes)
from .api_client.registry import API_CHECKS
from .probing import PROBES
from .registry import CHECKS, SUITES, catalogue_order

PATH = Path(__file__).resolve().parent.parent / "docs" / "checks.md"


def render() -> str:
    lines = [
        "# Registered checks",
        "",
        "What `fleetsim check` runs, generated from the registries (`conformance/`) by `python -m conformance.docs`; "
        "do not edit by hand. The ids and their full definitions are in",
        "[conformance-catalogue.md](conformance-catalogue.md).",
        "",
        "A suite runs its own checks and those of every smaller suite (" + " < ".join(SUITES) + "). "
        "Where a check does not apply to a provider it is reported `skipped`, with why. Statuses: `passed`, "
        "`failed`, `skipped`, `error` (harness or network trouble, never counted against the receiver).",
        "",
        "| id | rule | suite | providers | needs (copies and probes sent) |",
        "|---|---|---|---|---|",
    ]
    for c in sorted(CHECKS.values(), key=lambda c: catalogue_order(c.id)):
        providers = ", ".join(c.providers()) or "-"
        needs = ", ".join(sorted(c.needs)) or "-"
        socket = " (real socket)" if c.socket else ""
        lines.append(f"| {c.id} | {c.rule} | {c.suite}{socket} | {providers} | {needs} |")
    lines += ["", "## How each check adapts the catalogue", ""]
    for c in sorted(CHECKS.values(), key=lambda c: catalogue_order(c.id)):
        if c.details:
            lines.append(f"- **{c.id}**: {c.details}")
    lines += ["", "## Probes", "",
              "Requests sent after the scenario's own traffic, each built from fresh events of the scenario "
              "(`conformance/probing.py`).", "",
              "| probe | what it sends | real socket |", "|---|---|---|"]
    for p in sorted(PROBES.values(), key=lambda p: p.name):
        lines.append(f"| {p.name} | {p.doc} | {'yes' if p.socket else '-'} |")
    lines += ["", "## API-client checks (`--provider smartgps-api`)", "",
              "They grade the integrator's calls to fleetsim's SmartGPS API during the phases they need "
              "([api-client-checks.md](api-client-checks.md)); every suite runs them.", "",
              "| id | rule | phases |", "|---|---|---|"]
    for a in API_CHECKS.values():
        lines.append(f"| {a.id} | {a.rule} | {', '.join(a.needs)} |")
    lines.append("")
    for a in API_CHECKS.values():
        if a.details:
            lines.append(f"- **{a.id}**: {a.details}")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    PATH.write_text(render())
    sys.stdout.write(f"wrote {PATH}\n")
