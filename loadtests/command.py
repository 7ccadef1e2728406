"""`fleetsim load`'s entry in the `fleetsim.commands` group (pyproject.toml): its name and one-line help only.
The parser (`loadtests.cli`, with its pools, shapes and probes) is imported when `load` is the command chosen."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    sub.add_lazy("load", "load-test a webhook receiver with Locust (realistic signed traffic, SLO gates)",
                 "loadtests.cli:add_parser")
