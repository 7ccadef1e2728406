"""The checks against the reference receiver (every applicable check passes, for every provider) and against
receivers with one flaw each (exactly the intended checks fail)."""

from __future__ import annotations

import pytest

from conformance.registry import CHECKS, Context
from conformance.run import ProviderRun, reference_receiver, run_provider, webhook_providers
from simulator.delivery.model import DUPLICATE, GENUINE, Attempt
from simulator.providers import PROVIDERS

from .flawed import SLOW_S, flawed, settings

#: every check but the fuzz suite's, which has tests of its own (test_fuzz.py): it would take minutes here
CHECKED = [c for c in CHECKS.values() if c.in_suite("full")]


async def check(provider: str, url: str, timeout_s: float | None = None) -> ProviderRun:
    return await run_provider(PROVIDERS[provider], CHECKED, target=url, settings=settings(), seed=1,
                              timeout_s=timeout_s)


def fails_exactly(run: ProviderRun, expected: set[str]) -> None:
    """The checks that failed are exactly `expected`, none ended in error, and every failure shows its exchange
    and what was expected of it (what a reproduction is made of)."""
    assert failed(run) == expected, run.results
    assert not [r for r in run.results if r.status == "error"], run.results
    for result in run.results:
        if result.status == "failed":
            assert result.exchange is not None and result.expected


def failed(run: ProviderRun) -> set[str]:
    return {r.check_id for r in run.results if r.status == "failed"}


#: checks that apply yet are skipped against any receiver here: RPL-07 reports a platform property; TRN-01/02
#: need an https target (tests/conformance/test_checks_input.py runs them over TLS)
NOT_HERE = frozenset({"RPL-07", "TRN-01", "TRN-02"})
#: providers whose planned events carry no free-text field for MAL-09's strings (SmartGPS's fields are all
#: patterned or enumerated; the MettaX GPS and status messages sent have none)
NO_FREE_TEXT = frozenset({("smartgps", "MAL-09"), ("mettax", "MAL-09")})
#: the demo settings give MettaX no token: nothing authenticates its requests, so nothing to leave out or get wrong
NO_TOKEN = {("mettax", "SIG-02"), ("mettax", "SIG-09")}


async def test_the_reference_receiver_passes_every_applicable_check_for_every_provider() -> None:
    async with reference_receiver(settings()) as url:
        for provider in webhook_providers():
            run = await check(provider.name, url)
            by_status = {r.check_id: r.status for r in run.results}
            assert set(by_status) == {c.id for c in CHECKED}
            for check_id, status in by_status.items():
                applies = CHECKS[check_id].applies(provider) and check_id not in NOT_HERE
                if (provider.name, check_id) in NO_FREE_TEXT or (provider.name, check_id) in NO_TOKEN:
                    applies = False
                assert status == ("passed" if applies else "skipped"), (provider.name, check_id, run.results)


async def test_replay_exposure_is_a_property_of_the_provider() -> None:
    async with reference_receiver(settings()) as url:
        run = await check("powunity", url)
    results = {r.check_id: r for r in run.results}
    assert results["RPL-07"].status == "skipped"
    assert results["RPL-07"].reason.startswith("powunity signs no timestamp; replay exposure is a property of the "
                                               "platform")
    assert results["RPL-01"].status == results["RPL-02"].status == "skipped"


# TIM-04 (the status-code audit) fails with every flaw that accepts what must be refused or 5xxs on bad input
@pytest.mark.parametrize(
    ("flaw", "provider", "expected"),
    [
        # TRN-04 too where the signature covers the body: a receiver that decodes gzip and verifies nothing
        # acknowledges a gzip body under both readings of its signature
        ("no_verify", "samsara", {"SIG-02", "SIG-03", "SIG-04", "SIG-05", "RPL-01", "RPL-02", "RPL-04", "RPL-05",
                                  "TIM-04", "TRN-04"}),
        ("no_verify", "smartgps", {"SIG-02", "SIG-03", "SIG-04", "SIG-05", "TIM-04", "TRN-04"}),
        ("no_verify", "powunity", {"SIG-02", "SIG-09", "TIM-04"}),
        ("stale_ok", "standard_webhooks", {"RPL-01", "TIM-04"}),
        # a 500 on a duplicate also breaks the byte-for-byte copy, the concurrent copies and the retry after a lost
        # acknowledgement (the first attempt was committed, so the retry is a duplicate)
        ("duplicate_500", "smartgps", {"IDM-01", "RPL-06", "IDM-02", "IDM-03"}),
        ("malformed_500", "samsara", {"MAL-01", "TIM-04"}),
    ],
)
async def test_each_flaw_fails_exactly_its_checks(flaw: str, provider: str, expected: set[str]) -> None:
    async with flawed(flaw) as url:
        run = await check(provider, url)
    fails_exactly(run, expected)


async def test_a_slow_receiver_fails_tim_01_only() -> None:
    async with flawed("slow") as url:
        run = await check("mettax", url, timeout_s=SLOW_S * 1.9)
    assert failed(run) == {"TIM-01"}, run.results
    tim = next(r for r in run.results if r.check_id == "TIM-01")
    assert tim.metrics["p99_ms"] >= SLOW_S * 1000 and "p50" in tim.reason


async def test_a_receiver_that_is_not_there_is_an_error_never_a_failure() -> None:
    async with flawed("slow") as url:
        pass  # closed: nothing listens there any more
    run = await check("smartgps", url)
    assert failed(run) == set()
    assert {r.check_id for r in run.results if r.status == "error"} >= {"SIG-01", "SIG-04", "MAL-01"}


def _copy(event: str, copy: str, status: int) -> Attempt:
    return Attempt(event_id=event, provider="samsara", kind="alert_v1", copy=copy, attempt=1, url="http://r/samsara",
                   sent_at=0.0, latency_s=0.01, outcome=f"{status // 100}xx", status=status)


@pytest.mark.parametrize(("genuine", "duplicate", "sig_01", "idm_01"), [
    (200, 200, "passed", "passed"),
    (409, 200, "passed", "failed"),  # the duplicate arrived first: the genuine copy was the one called a duplicate
    (200, 409, "passed", "failed"),
    (401, 401, "failed", "failed"),  # neither copy's signature taken: SIG-01's to say
])
def test_copies_that_race_are_judged_by_idm_01_whichever_arrived_first(genuine: int, duplicate: int, sig_01: str,
                                                                       idm_01: str) -> None:
    # a receiver answering 409 to a duplicate failed SIG-01 in some runs and not others: which copy won the race
    exchanges = (_copy("e1", GENUINE, 200), _copy("e2", GENUINE, genuine), _copy("e2", DUPLICATE, duplicate))
    context = Context(PROVIDERS["samsara"], exchanges, 10.0)
    assert CHECKS["SIG-01"].run(context).status == sig_01
    result = CHECKS["IDM-01"].run(context)
    assert result.status == idm_01, result
    if (genuine, duplicate) == (409, 200):
        assert "the second copy of an event to arrive (the genuine one" in result.reason
