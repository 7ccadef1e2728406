"""`fleetsim check`'s entry in the `fleetsim.commands` group (pyproject.toml): its name and one-line help
only. The parser and the checks (`conformance.cli`) are imported when `check` is the command chosen, so
`fleetsim --help` and the other commands do not load them."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    sub.add_lazy("check", "check a webhook receiver against the conformance checks (SIG, RPL, IDM, MAL, TIM)",
                 "conformance.cli:add_parser")
