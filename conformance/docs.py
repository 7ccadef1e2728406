"""docs/checks.md, generated from the registry: `python -m conformance.docs` rewrites it, and a test fails
when it is out of date."""

from __future__ import annotations

import sys
from pathlib import Path

from . import checks as _checks  # noqa: F401  (registers the checks)
from .registry import CHECKS

PATH = Path(__file__).resolve().parent.parent / "docs" / "checks.md"


def render() -> str:
    lines = [
        "# Registered checks",
        "",
        "What `fleetsim check` runs today, generated from the registry (`conformance/`) by "
        "`python -m conformance.docs`; do not edit by hand. The ids and their full definitions are in",
        "[conformance-catalogue.md](conformance-catalogue.md); the rest of the catalogue is not built yet.",
        "",
        "| id | rule | providers | needs (copies sent) |",
        "|---|---|---|---|",
    ]
    for c in CHECKS.values():
        providers = ", ".join(c.providers()) or "-"
        lines.append(f"| {c.id} | {c.rule} | {providers} | {', '.join(sorted(c.needs)) or '-'} |")
    lines += [
        "",
        "How these differ from the catalogue's wording: the tampered-signature probe (one character of the real "
        "signature flipped, or a wrong pre-shared value) is SIG-04 for signatures over the body and SIG-09 for a "
        "pre-shared header, as [delivery.md](delivery.md) maps `tamper_signature`; SIG-02 (a missing signature "
        "or timestamp header) is not sent yet. RPL-01/RPL-02 move the timestamp 600 s, not 301 s (the 299/301 s "
        "boundaries are RPL-03, not built). IDM-01 and the rejections are graded on HTTP only: exactly one side "
        "effect needs a probe of the receiver's state, not built yet. TIM-01 times a short run, not the "
        "catalogue's 5-minute nominal load. RPL-07 never fails a receiver: where the provider signs no "
        "timestamp it is reported `skipped` as a property of the platform.",
        "",
        "Where a check does not apply to a provider it is reported `skipped`, with why. Statuses: `passed`, "
        "`failed`, `skipped`, `error` (harness or network trouble, never counted against the receiver).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    PATH.write_text(render())
    sys.stdout.write(f"wrote {PATH}\n")
