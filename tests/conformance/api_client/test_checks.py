"""The API-client checks (conformance-catalogue §1.11) against an integrator's activation service (integrator.py)
over real sockets: the careful one passes every check, and each flaw fails the check for the habit it breaks."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from conformance.api_client.registry import API_CHECKS, ApiContext
from conformance.api_client.runner import ApiOptions, run_api_client, start_server
from conformance.api_client.trigger import Endpoint, ScriptTrigger, UrlTrigger
from conformance.registry import CheckResult
from simulator.servers.smartgps.app import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, stop_smartgps_server

from .integrator import ACTIVATE, make_app

#: short enough that the first token expires during the run
TTL_S = 2


@asynccontextmanager
async def integrator(base_url: str, flaws: frozenset[str]) -> AsyncIterator[str]:
    runner = web.AppRunner(make_app(base_url, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, flaws))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}{ACTIVATE}"
    finally:
        await runner.cleanup()


async def grade(*flaws: str, only: tuple[str, ...] = ()) -> tuple[dict[str, CheckResult], ApiContext]:
    options = ApiOptions(token_ttl_s=TTL_S, activation_timeout_s=15.0, seed=3)
    checks = [c for c in API_CHECKS.values() if not only or c.id in only]
    server = await start_server({}, options)
    try:
        async with integrator(server.url, frozenset(flaws)) as url, aiohttp.ClientSession() as session:
            run_, context = await run_api_client(server, UrlTrigger(url, 15.0, session), checks, options, url)
    finally:
        await stop_smartgps_server(server)
    return {r.check_id: r for r in run_.results}, context


async def test_a_careful_integrator_passes_every_check() -> None:
    results, context = await grade()
    assert {k: (r.status, r.reason) for k, r in results.items() if r.status != "passed"} == {}
    assert set(results) == {"API-01", "API-02", "API-03", "API-04", "API-05", "API-06"}
    phases = [a.phase for a in context.activations]
    assert phases == ["first", "second", "expired", "revoked", "limited", "dropped", "retried"]
    assert all(a.ok for a in context.activations), context.activations
    # what the phases provoked really happened: a 401 after the revocation, a 429 while limited, >1 token
    assert any(c.status == 401 for c in context.calls)
    assert any(c.status == 429 and c.retry_after == 1 for c in context.calls)
    assert sum(c.dropped for c in context.calls) == 1
    assert "POST /trackers 409" in results["API-06"].reason
    assert results["API-02"].metrics["tokens"] >= 3  # the first, one after expiry, one after the revocation


async def test_a_token_per_request_fails_token_reuse() -> None:
    results, _ = await grade("token-per-request", only=("API-02",))
    assert results["API-02"].status == "failed", results["API-02"]
    assert "still had" in results["API-02"].reason


async def test_retrying_a_429_at_once_fails_retry_after() -> None:
    results, _ = await grade("retry-at-once", only=("API-04",))
    assert results["API-04"].status == "failed", results["API-04"]
    assert "Retry-After: 1" in results["API-04"].reason


async def test_creating_again_on_a_repeated_activation_fails_idempotency() -> None:
    results, context = await grade("duplicates", only=("API-05",))
    assert results["API-05"].status == "failed", results["API-05"]
    assert "409" in results["API-05"].reason
    assert context.activations[-1].outcome == "answered 502"


async def test_not_handling_the_409_after_a_lost_answer_fails_api_06() -> None:
    results, context = await grade("duplicates", only=("API-06",))
    assert results["API-06"].status == "failed", results["API-06"]
    assert "POST /trackers 409" in results["API-06"].reason and "answered 502" in results["API-06"].reason
    assert [a.phase for a in context.activations] == ["first", "dropped"]


async def test_creating_the_object_first_fails_the_order() -> None:
    results, _ = await grade("wrong-order", only=("API-01",))
    assert results["API-01"].status == "failed", results["API-01"]
    assert "createObject → registerTracker" in results["API-01"].reason


async def test_passing_a_401_on_fails_refresh_once() -> None:
    results, _ = await grade("no-refresh", only=("API-03",))
    assert results["API-03"].status == "failed", results["API-03"]
    assert "without a new token" in results["API-03"].reason or "never repeated" in results["API-03"].reason


@pytest.mark.parametrize("only", [("API-01",), ("API-06",)])
async def test_only_the_phases_the_checks_need_are_played(only: tuple[str, ...]) -> None:
    _, context = await grade(only=only)
    assert [a.phase for a in context.activations] == list(API_CHECKS[only[0]].needs)


async def test_a_script_that_prints_its_bearer_token_leaks_it_nowhere(tmp_path: Path) -> None:
    # script mode quotes the command's last line of output; a token it prints there is scrubbed
    script = tmp_path / "leaky.py"
    script.write_text(
        "import sys, httpx\n"
        "url, cid, secret = sys.argv[1:4]\n"
        "r = httpx.post(url + '/auth/token', data={'grant_type': 'client_credentials', 'client_id': cid, "
        "'client_secret': secret})\n"
        "print('boom after token', r.json()['access_token'])\n"
        "sys.exit(1)\n")
    options = ApiOptions(token_ttl_s=TTL_S, activation_timeout_s=15.0, seed=3, per_process=True)
    server = await start_server({}, options)
    try:
        endpoint = Endpoint(server.url, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        command = f"{sys.executable} {script} {{url}} {{client_id}} {{client_secret}}"
        run_, context = await run_api_client(server, ScriptTrigger(command, endpoint, 15.0),
                                             list(API_CHECKS.values()), options, "leaky.py")
        tokens = list(server.state.clients.handed_out)
    finally:
        await stop_smartgps_server(server)
    text = " ".join([*(f"{r.reason} {r.expected}" for r in run_.results), *(a.outcome for a in context.activations)])
    assert tokens and "boom after token" in text, text
    assert not [t for t in tokens if t in text]
