"""What the reference receiver made of a run, shown next to what fleetsim sent (`fleetsim demo`, and
`fleetsim run` without --target): the part HTTP status codes alone cannot show."""

from __future__ import annotations

import ssl
from typing import Any

import aiohttp
import orjson

__all__ = ["fetch_receiver_view", "render_receiver_view"]


async def fetch_receiver_view(base_url: str, ssl_context: ssl.SSLContext | None = None) -> dict[str, Any]:
    """The receiver's GET /state (over https trusting `ssl_context`); {} when it cannot be read (the run's own
    summary still stands)."""
    timeout = aiohttp.ClientTimeout(total=5.0)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, \
                session.get(f"{base_url}/state", ssl=ssl_context if ssl_context is not None else True) as response:
            data = orjson.loads(await response.read())
    except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def render_receiver_view(summary: dict[str, Any], view: dict[str, Any]) -> str:
    totals = summary["totals"]
    if not view:
        return "\n(the reference receiver's state could not be read)"
    sent = set(summary.get("providers", {}))
    # the providers of this run, and any other the receiver heard from: not every endpoint it has
    counts: dict[str, Any] = {name: c for name, c in view.get("counts", {}).items()
                              if name in sent or c.get("accepted") or c.get("duplicate") or c.get("rejected")}
    lines = ["", "what the reference receiver made of it:", ""]
    width = max([10, *(len(p) + 2 for p in counts)])
    header = f"{'provider':<{width}}{'accepted':>10}{'duplicates caught':>19}{'rejected':>10}  rejected because"
    lines += [header, "-" * len(header)]
    for provider, c in sorted(counts.items()):
        rejected = c.get("rejected", {})
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(rejected.items())) or "-"
        lines.append(f"{provider:<{width}}{c.get('accepted', 0):>10}{c.get('duplicate', 0):>19}"
                     f"{sum(rejected.values()):>10}  {reasons}")
    dup_sent = totals.get("duplicates_sent", 0)
    dup_caught = sum(c.get("duplicate", 0) for c in counts.values())
    lines.append("")
    lines.append(f"duplicates: fleetsim re-sent {dup_sent} events (same id, fresh signature); "
                 f"the receiver recognised {dup_caught} deliveries as already processed")
    for probe, p in sorted(totals.get("probes", {}).items()):
        lines.append(f"{probe.replace('_', ' ')}: sent {p['sent']}, rejected {p['rejected_4xx']}, "
                     f"accepted {p['accepted_2xx']}")
    lines.append(f"devices with a latest position at the receiver: {view.get('devices', 0)}")
    return "\n".join(lines)
