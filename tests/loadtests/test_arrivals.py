"""The reference receiver's arrival order (GET /state/arrivals/{provider}): what `fleetsim load` reads to count
reordered events. Keys come back in the order the inbox recorded them, a page at a time."""

from __future__ import annotations

import aiohttp

from simulator.servers.receiver import build_app
from simulator.servers.store import Store
from tests.conformance.flawed import serve, settings


async def test_arrivals_come_in_recorded_order_a_page_at_a_time() -> None:
    store = Store()
    try:
        for key in ("c", "a", "b"):
            assert await store.claim("samsara", key, "alert_v1", b"{}")
        await store.claim("smartgps", "z", "event", b"{}")
        async with serve(build_app(settings(), store)) as url, aiohttp.ClientSession() as session:
            async with session.get(f"{url}/state/arrivals/samsara?limit=2") as first:
                page = await first.json()
            assert page["arrivals"] == ["c", "a"] and page["next"] is not None
            async with session.get(f"{url}/state/arrivals/samsara?after={page['next']}&limit=2") as second:
                assert await second.json() == {"provider": "samsara", "arrivals": ["b"], "next": None}
            async with session.get(f"{url}/state/arrivals/nosuch") as unknown:
                assert unknown.status == 404
            async with session.get(f"{url}/state/arrivals/samsara?after=x") as bad:
                assert bad.status == 400
            async with session.get(f"{url}/state/arrivals/samsara?after=9223372036854775808") as huge:
                assert huge.status == 400  # past SQLite's integers: it was a 500 and a traceback
    finally:
        await store.close()
