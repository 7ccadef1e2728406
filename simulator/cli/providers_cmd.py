"""`fleetsim providers [--json]`: what fleetsim can speak."""

from __future__ import annotations

import argparse
from typing import Any

import orjson

from ..providers import APIS, PROVIDERS


def add_parser(sub: Any) -> None:
    p = sub.add_parser("providers", help="list providers, their message kinds, transport and signing")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run)


def rows() -> list[dict[str, Any]]:
    """Every provider (platforms that push webhooks), then every API fleetsim serves (role "api")."""
    providers = [
        {
            "name": p.name,
            "role": "provider",
            "kinds": list(p.kinds),
            "transport": p.transport,
            "signing": p.signing,
            "success": p.delivery.describe_success(),
            "retries": p.delivery.retries,
            "title": p.title,
        }
        for p in PROVIDERS.values()
    ]
    apis = [{"name": a.name, "role": "api", "kinds": list(a.kinds), "transport": a.transport, "signing": "-",
             "success": "-", "retries": "-", "title": a.title} for a in APIS.values()]
    return sorted(providers, key=lambda r: str(r["name"])) + apis


def run(args: argparse.Namespace) -> int:
    data = rows()
    if args.json:
        print(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        return 0
    headers = ("provider", "transport", "signing", "success", "retries", "kinds")
    table = [headers] + [
        (r["name"], r["transport"], r["signing"], r["success"], r["retries"], ", ".join(r["kinds"])) for r in data
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers) - 1)]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])
    return 0
