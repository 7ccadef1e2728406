"""The signature and replay checks (conformance/checks_auth.py): each flawed receiver of flaws_auth.py fails
exactly the checks whose rule it breaks, for every provider it is tried with; the probes are pure; and a failed
SIG-10 shows the echo as the redaction mask, never the expected signature itself."""

from __future__ import annotations

import pytest

from conformance.plan import plan
from conformance.registry import CHECKS
from conformance.run import _probe_requests
from simulator.delivery.redaction import MASK
from simulator.providers import PROVIDERS
from simulator.signing import SIGNERS
from simulator.signing.samsara import SamsaraSigner

from .flawed import flawed, settings
from .flaws_auth import flawed_auth
from .test_checks import check, failed

NO_VERIFY_SAMSARA = {"SIG-02", "SIG-03", "SIG-04", "SIG-05", "RPL-01", "RPL-02", "RPL-04", "RPL-05"}


@pytest.mark.parametrize(
    ("flaw", "provider", "expected"),
    [
        ("reserialized", "samsara", {"SIG-06"}),
        ("reserialized", "smartgps", {"SIG-06"}),
        ("reserialized", "standard_webhooks", {"SIG-06"}),
        ("echo_signature", "powunity", {"SIG-10"}),  # the expected "signature" is the pre-shared value itself
        ("echo_signature", "samsara", {"SIG-10"}),
        ("echo_signature", "standard_webhooks", {"SIG-10"}),
        ("echo_signature", "mettax", set()),  # nothing is expected of an unsigned request: nothing to echo
        ("get_ok", "mettax", {"SIG-11"}),
        ("get_ok", "standard_webhooks", {"SIG-11"}),
        ("tolerance_60", "samsara", {"RPL-03"}),
        ("tolerance_60", "standard_webhooks", {"RPL-03"}),
        ("tolerance_60", "smartgps", set()),  # signs no timestamp
        ("timestamp_unsigned", "samsara", {"RPL-04"}),
        ("timestamp_unsigned", "standard_webhooks", {"RPL-04"}),
        ("timestamp_500", "samsara", {"RPL-05"}),
        ("timestamp_500", "standard_webhooks", {"RPL-05"}),
        ("signature_500", "samsara", {"SIG-05"}),
        ("signature_500", "smartgps", {"SIG-05"}),
        ("signature_500", "standard_webhooks", {"SIG-05"}),
        ("first_signature_only", "standard_webhooks", {"SIG-07"}),
        ("first_signature_only", "samsara", set()),  # one signature per request: nothing after the first
    ],
)
async def test_each_auth_flaw_fails_exactly_its_checks(flaw: str, provider: str, expected: set[str]) -> None:
    async with flawed_auth(flaw) as url:
        run = await check(provider, url)
    assert failed(run) == expected, run.results
    assert not [r for r in run.results if r.status == "error"], run.results
    for result in run.results:
        if result.status == "failed":
            assert result.exchange is not None and result.expected


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("smartgps", {"SIG-02", "SIG-03", "SIG-04", "SIG-05"}),
        ("standard_webhooks", NO_VERIFY_SAMSARA | {"SIG-07"}),  # "only invalid values" is accepted too
    ],
)
async def test_a_receiver_that_verifies_nothing_fails_every_signature_and_replay_rule(
        provider: str, expected: set[str]) -> None:
    async with flawed("no_verify") as url:
        run = await check(provider, url)
    assert failed(run) == expected, run.results


async def test_an_echoed_signature_is_recorded_as_the_mask_never_as_itself() -> None:
    async with flawed_auth("echo_signature") as url:
        run = await check("samsara", url)
    sig10 = next(r for r in run.results if r.check_id == "SIG-10")
    assert sig10.status == "failed" and "expected signature" in sig10.reason
    assert sig10.exchange is not None and MASK.encode() in sig10.exchange.response_body
    secret = settings()["samsara"]["secret"]
    for a in run.exchanges:
        if a.copy == "signature_echo":
            stamp = a.request_headers["X-Samsara-Timestamp"]
            expected = SIGNERS["samsara"].sign(a.request_body, [secret], timestamp=int(stamp), message_id="-")
            digest = expected["X-Samsara-Signature"].removeprefix("v1=")
            assert digest.encode() not in a.response_body and digest not in sig10.reason


@pytest.mark.parametrize("provider", ["samsara", "smartgps", "standard_webhooks", "powunity", "mettax"])
def test_probes_are_pure(provider: str) -> None:
    """The same plan and the same second give the same requests: no clock, no randomness inside a probe."""
    the_plan = plan(PROVIDERS[provider], CHECKS.values(), seed=3, has_secret=True)
    providers = settings()
    first, _ = _probe_requests(the_plan, providers, now=1_800_000_000)
    again, _ = _probe_requests(the_plan, providers, now=1_800_000_000)
    assert first == again
    later, _ = _probe_requests(the_plan, providers, now=1_800_000_100)
    if PROVIDERS[provider].auth.signed_timestamp:
        assert first != later  # the timestamps come from `now`, nothing else


def test_malformed_timestamps_are_signed_over_the_text_sent() -> None:
    """RPL-05 makes the signature over the malformed text itself, so only the timestamp's form is wrong."""
    the_plan = plan(PROVIDERS["samsara"], [CHECKS["RPL-05"]], seed=3, has_secret=True)
    providers = settings()
    requests, _ = _probe_requests(the_plan, providers, now=1_800_000_000)
    secret = providers["samsara"]["secret"]
    stamps = set()
    for _, request in requests:
        stamp = request.headers["X-Samsara-Timestamp"]
        stamps.add(stamp)
        assert request.headers["X-Samsara-Signature"] == SamsaraSigner.signature(secret, stamp, request.body)
    assert {"", "1e12", "1800000000000", "-1800000000"} <= stamps


def test_rotation_applies_only_where_a_header_carries_one_signature_per_key() -> None:
    rotating = {name for name, p in PROVIDERS.items() if "webhook" in p.channels and CHECKS["SIG-07"].applies(p)}
    assert rotating == {"standard_webhooks"}
    assert CHECKS["SIG-07"].suite == "standard"
