"""Socket-client sessions through the director's API: the well-behaved sample client passes every socket check,
and each naive variant fails exactly the check of its flaw (the others pass)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from conformance.run import ProviderRun
from conformance.socket_client.runner import run_socket_client

from .conftest import FAST, SOCKET_CHECKS, command, sample


def statuses(run: ProviderRun) -> dict[str, str]:
    return {r.check_id: r.status for r in run.results}


def reasons(run: ProviderRun) -> dict[str, str]:
    return {r.check_id: r.reason for r in run.results}


def shown(run: ProviderRun) -> str:
    """Every verdict with its whole reason, one a line: pytest clips a repr of the results mid-reason, which hid
    which TRN-07 rule a rare failure under `-n 2` broke."""
    return "\n".join(f"{r.check_id} {r.status}: {r.reason} {r.metrics}" for r in run.results)


async def test_a_well_behaved_client_passes_every_socket_check() -> None:
    run = await run_socket_client(SOCKET_CHECKS, FAST, client=sample())
    assert statuses(run) == {"TRN-06": "passed", "TRN-07": "passed", "TRN-08": "passed", "TRN-09": "passed",
                             "TRN-10": "passed"}, shown(run)
    assert run.provider == "powunity-socket" and all(r.provider == "powunity-socket" for r in run.results)
    trn07 = next(r for r in run.results if r.check_id == "TRN-07")
    assert trn07.metrics["closures"] == FAST.closures
    assert trn07.metrics["outage_per_minute"] <= FAST.storm_limit


@pytest.mark.parametrize(
    ("flaw", "fails", "says"),
    [
        ("no-relogin", "TRN-06", "did not log in again"),
        ("storm", "TRN-07", "reconnect storm"),
        ("no-keepalive", "TRN-08", "it did not notice, or did not reconnect"),
        ("no-backfill", "TRN-09", "did not fetch what it missed"),
    ],
)
async def test_a_naive_client_fails_exactly_the_check_of_its_flaw(flaw: str, fails: str, says: str) -> None:
    run = await run_socket_client(SOCKET_CHECKS, FAST, client=sample(flaw))
    expected = {c.id: "passed" for c in SOCKET_CHECKS} | {fails: "failed"}
    assert statuses(run) == expected, shown(run)
    assert says in reasons(run)[fails]


async def test_a_client_that_sends_an_unmasked_frame_fails_the_phase_it_sent_it_in_with_why() -> None:
    # fleetsim closes such a socket with 1002, as Traccar's Jetty does; the verdicts once showed only the effects
    # (a socket lost again and again), never the cause
    run = await run_socket_client(SOCKET_CHECKS, FAST, client=sample("unmasked"))
    results = {r.check_id: r for r in run.results}
    assert results["TRN-06"].status == "failed", shown(run)
    assert "the client sent an unmasked frame on connection 1: fleetsim closed that socket with 1002" in \
        results["TRN-06"].reason
    assert all(r.status in ("failed", "skipped") for r in run.results), shown(run)
    assert all("unmasked frame" in r.reason or r.status == "skipped" for r in run.results), shown(run)


async def test_a_launched_client_that_crashes_on_garbage_fails_trn_10_with_its_last_output() -> None:
    run = await run_socket_client(SOCKET_CHECKS, FAST, command=command("--flaw", "crash-on-garbage"))
    expected = {c.id: "passed" for c in SOCKET_CHECKS} | {"TRN-10": "failed"}
    assert statuses(run) == expected, shown(run)
    reason = reasons(run)["TRN-10"]
    assert "the client exited (code 1)" in reason
    assert "JSONDecodeError" in reason or "KeyError" in reason  # the tail of its traceback


async def test_a_client_that_prints_its_session_cookie_and_token_leaks_neither_into_the_results() -> None:
    import aiohttp

    seen: list[str] = []

    async def chatty(url: str, credentials: Mapping[str, str]) -> None:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http, \
                http.post(f"{url}/api/session", data=credentials) as response:
            cookie = response.cookies["JSESSIONID"].value
        seen.append(cookie)
        raise RuntimeError(f"debug: cookie {cookie} token fleetsim-demo-token")

    run = await run_socket_client(SOCKET_CHECKS, FAST, client=chatty)
    text = shown(run)
    assert seen and "RuntimeError: debug: cookie" in text, text  # its output is quoted ...
    assert seen[0] not in text and "fleetsim-demo-token" not in text  # ... scrubbed of its session and token
