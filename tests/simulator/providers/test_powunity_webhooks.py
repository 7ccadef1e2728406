"""PowUnity event webhooks as PowUnity sends them (provider-facts §2), over a real socket, from the theft
scenario's world: POST `{event, position?, device, geofence?}`, `X-PowTxn`, `Authorization` = the account's
webhookPsk, only the `webhookTypes` asked for, success on 200/201 only, and nothing ever sent twice."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import orjson
from aiohttp import web

from simulator.delivery.runner import RunConfig, Runner
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.scenario.model import Rate

PSK = "Bearer powunity-theft-demo"  # the scenario's psk
#: what the fake receiver answers, in turn: PowUnity counts only 200 and 201 as delivered
ANSWERS = (200, 201, 204, 500, 202, 200)


async def test_theft_webhooks_are_powunitys_and_never_resent() -> None:
    scenario = load_scenario(scenarios_dir() / "powunity-ebike-theft.yaml")
    wanted = set(scenario.delivery.providers["powunity"]["webhook_types"])
    seen: list[tuple[dict[str, str], dict[str, Any], int]] = []

    async def receive(request: web.Request) -> web.Response:
        status = ANSWERS[len(seen) % len(ANSWERS)]
        seen.append((dict(request.headers), orjson.loads(await request.read()), status))
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/powunity", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        run = Runner(RunConfig(scenario=scenario, target=f"http://127.0.0.1:{port}",
                               settings=scenario.delivery.providers, rate=Rate("max"), concurrency=4,
                               time_scale=1e6, timeout_s=5.0, limit=120))
        await run.run()
        summary = run.summary()
    finally:
        await runner.cleanup()
    assert len(seen) >= 30
    txns = Counter(headers["X-PowTxn"] for headers, _, _ in seen)
    assert all(n == 1 for n in txns.values())  # never re-sent, whatever the answer
    for headers, body, _ in seen:
        assert headers["Authorization"] == PSK and headers["Content-Type"] == "application/json"
        assert list(body)[:1] == ["event"] and "device" in body
        assert set(body) <= {"event", "position", "device", "geofence"}
        assert body["event"]["type"] in wanted
        assert ("position" in body) == (body["event"]["type"] not in ("deviceOnline", "deviceOffline"))
        assert "serverTime" in body["event"] and "eventTime" not in body["event"]
    failed = sum(1 for _, _, status in seen if status not in (200, 201))
    webhooks = summary["totals"]
    assert webhooks["failed"] >= failed > 0
    assert webhooks["delivered"] == len(seen) - failed


def test_the_profile_setting_changes_the_webhook_shape() -> None:
    from simulator.stream import scenario_messages

    scenario = load_scenario(scenarios_dir() / "powunity-ebike-theft.yaml")
    providers = {**scenario.delivery.providers, "powunity": {**scenario.delivery.providers["powunity"],
                                                             "profile": "traccar-6"}}
    newer = dataclasses.replace(scenario, delivery=dataclasses.replace(scenario.delivery, providers=providers))
    bodies = [m.payload for m in scenario_messages(newer) if m.kind == "webhook"][:50]
    assert bodies and all("eventTime" in b["event"] and "serverTime" not in b["event"] for b in bodies)
    assert all("calendarId" in b["device"] and "geofenceIds" not in b["device"] for b in bodies)
