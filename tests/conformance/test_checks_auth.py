"""The signature and replay checks (conformance/checks_auth.py): each flawed receiver of flaws_auth.py fails
exactly the checks whose rule it breaks, for every provider it is tried with; the probes are pure; and a failed
SIG-10 shows the echo as the redaction mask, never the expected signature itself."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest

from conformance.plan import plan
from conformance.registry import CHECKS, CheckResult, Context
from conformance.run import _probe_requests
from simulator.delivery.model import Attempt
from simulator.delivery.redaction import MASK
from simulator.providers import PROVIDERS
from simulator.signing import SIGNERS, CIHeaders
from simulator.signing.samsara import SamsaraSigner

from .flawed import flawed, settings
from .flaws_auth import flawed_auth
from .test_checks import check, failed, fails_exactly

# TIM-04, the status-code audit, flags every forged delivery answered 2xx and every bad input answered 5xx
NO_VERIFY_SAMSARA = {"SIG-02", "SIG-03", "SIG-04", "SIG-05", "RPL-01", "RPL-02", "RPL-04", "RPL-05", "TIM-04"}


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
        # in a header aiohttp's and fleetsim's clients did not keep (only a few are, on every answer)
        ("secret_in_header", "samsara", {"SIG-10"}),
        ("secret_in_header", "smartgps", {"SIG-10"}),
        ("get_ok", "mettax", {"SIG-11"}),
        ("get_ok", "standard_webhooks", {"SIG-11"}),
        ("tolerance_60", "samsara", {"RPL-03"}),
        ("tolerance_60", "standard_webhooks", {"RPL-03"}),
        ("tolerance_60", "smartgps", set()),  # signs no timestamp
        # TIM-04's audit counts the 2xx on a timestamp changed after signing as silent acceptance too
        ("timestamp_unsigned", "samsara", {"RPL-04", "TIM-04"}),
        ("timestamp_unsigned", "standard_webhooks", {"RPL-04", "TIM-04"}),
        ("timestamp_500", "samsara", {"RPL-05", "TIM-04"}),
        ("timestamp_500", "standard_webhooks", {"RPL-05", "TIM-04"}),
        ("signature_500", "samsara", {"SIG-05", "TIM-04"}),
        ("signature_500", "smartgps", {"SIG-05", "TIM-04"}),
        ("signature_500", "standard_webhooks", {"SIG-05", "TIM-04"}),
        ("first_signature_only", "standard_webhooks", {"SIG-07"}),
        ("first_signature_only", "samsara", set()),  # one signature per request: nothing after the first
        ("loose_psk", "powunity", {"SIG-09"}),  # any case, any spacing: once passed on the one wrong value sent
    ],
)
async def test_each_auth_flaw_fails_exactly_its_checks(flaw: str, provider: str, expected: set[str]) -> None:
    async with flawed_auth(flaw) as url:
        run = await check(provider, url)
    fails_exactly(run, expected)


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        # TRN-04: it decodes gzip, and acknowledges a gzip body under both readings of its signature
        ("smartgps", {"SIG-02", "SIG-03", "SIG-04", "SIG-05", "TIM-04", "TRN-04"}),
        ("standard_webhooks", NO_VERIFY_SAMSARA | {"SIG-07", "TRN-04"}),  # "only invalid values" is accepted too
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


async def test_a_secret_echoed_in_a_header_is_named_with_the_header() -> None:
    async with flawed_auth("secret_in_header") as url:
        run = await check("samsara", url)
    sig10 = next(r for r in run.results if r.check_id == "SIG-10")
    assert sig10.status == "failed" and sig10.reason.endswith("in its x-debug-key header"), sig10.reason
    assert sig10.exchange is not None and sig10.exchange.response_headers["x-debug-key"] == MASK


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


async def test_rpl_03_edges_are_signed_in_the_second_they_are_sent_however_long_they_waited() -> None:
    # signed when the probe phase began, the past edge left 42 s later behind a slow receiver's answers, 332 s
    # old, and a receiver with the usual 300 s window was failed for refusing it (found by a stranger sweep)
    from conformance.probing import send_probes
    from simulator.delivery.redaction import Redactor
    from simulator.delivery.transport import Response

    the_plan = plan(PROVIDERS["samsara"], [CHECKS["RPL-03"]], seed=3, has_secret=True)
    providers = settings()
    requests, kinds = _probe_requests(the_plan, providers, now=1_800_000_000)
    sent: list[Mapping[str, str]] = []

    class Slow:
        async def post(self, url: str, body: bytes, headers: Mapping[str, str], *, deadline_s: float,
                       method: str = "POST", keep: int = 4096) -> Response:
            sent.append(headers)
            return Response("2xx", status=200)

    attempts = await send_probes(requests, sender=Slow(), url="http://r/samsara", provider="samsara", kinds=kinds,
                                 deadline_s=5.0, redactor=Redactor(), concurrency=1, now=lambda: 1_800_000_042.5)
    stamps = sorted(int(h["X-Samsara-Timestamp"]) for h in sent)
    assert stamps == [1_800_000_042 - 290, 1_800_000_042 + 290]
    assert sorted(int(a.request_headers["X-Samsara-Timestamp"]) for a in attempts) == stamps  # recorded as sent
    secret = providers["samsara"]["secret"]
    for headers, a in zip(sent, attempts, strict=True):
        verdict = SamsaraSigner().verify(a.request_body, CIHeaders(headers), [secret],
                                         now=int(headers["X-Samsara-Timestamp"]), tolerance=5)
        assert verdict.code == "ok", verdict


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


def _attempt(copy: str, variant: str, status: int | None, outcome: str, *, method: str = "POST",
             headers: dict[str, str] | None = None, body: bytes = b"") -> Attempt:
    return Attempt(event_id="e", provider="samsara", kind="", copy=copy, attempt=1, url="http://x/samsara",
                   sent_at=0.0, latency_s=0.01, outcome=outcome, status=status, method=method, variant=variant,
                   response_headers=headers or {}, response_body=body)


def _judge(check_id: str, *attempts: Attempt) -> CheckResult:
    return CHECKS[check_id].run(Context(PROVIDERS["samsara"], attempts, timeout_s=10.0))


def test_a_receiver_that_stops_answering_after_malformed_signatures_fails_sig_05() -> None:
    malformed = _attempt("malformed_signature", "empty", 401, "4xx")
    gone = _attempt("malformed_signature", "genuine afterwards", None, "conn_refused")
    result = _judge("SIG-05", malformed, gone)
    assert result.status == "failed" and "stopped answering" in result.reason
    flaky = _attempt("malformed_signature", "genuine afterwards", None, "timeout_connect")
    assert _judge("SIG-05", malformed, flaky).status == "error"  # the network's trouble, not shown to be the receiver's


@pytest.mark.parametrize(("waited_s", "status"), [(0.4, "failed"), (9.0, "failed"), (42.0, "error")])
def test_rpl_03_does_not_blame_the_receiver_for_a_past_probe_that_left_late(waited_s: float, status: str) -> None:
    # behind a slow receiver's answers the past-edge probe left 42 s after it was signed, 332 s old, and a receiver
    # with the usual 300 s window was failed for refusing it (found by a stranger sweep)
    signed = 1_800_000_000 - 290

    def edge(variant: str, stamp: int, answer: int) -> Attempt:
        return dataclasses.replace(_attempt("timestamp_edges", variant, answer, f"{answer // 100}xx"),
                                   sent_at=1_800_000_000 + waited_s,
                                   request_headers={"X-Samsara-Timestamp": str(stamp)})

    result = _judge("RPL-03", edge("past 290 s", signed, 401), edge("future 290 s", signed + 580, 200))
    assert result.status == status, result
    if status == "error":
        assert f"went out {waited_s:.0f} s after it was signed" in result.reason, result.reason
    assert _judge("RPL-03", edge("past 290 s", signed, 200), edge("future 290 s", signed + 580, 401)).status == \
        "failed"  # the future edge only gets nearer by waiting: a refusal stands


def test_sig_11_notes_a_missing_allow_header_and_fails_anything_but_405() -> None:
    bare = [_attempt("other_methods", m, 405, "4xx", method=m) for m in ("GET", "PUT")]
    result = _judge("SIG-11", *bare)
    assert result.status == "passed" and "no Allow header for GET, PUT" in result.reason
    unauthorised = _attempt("other_methods", "GET", 401, "4xx", method="GET")
    assert _judge("SIG-11", unauthorised).status == "failed"


def test_sig_10_finds_a_stack_trace_in_any_error_answer_and_ignores_acknowledgements() -> None:
    trace = b'Traceback (most recent call last):\n  File "app.py", line 3'
    crashed = _attempt("corrupt_body", "", 500, "5xx", body=trace)
    assert _judge("SIG-10", crashed).status == "failed"
    assert _judge("SIG-10", _attempt("genuine", "", 200, "2xx", body=trace)).status == "skipped"
    masked = _attempt("signature_echo", "wrong signature", 401, "4xx", headers={"X-Expected": MASK})
    assert "expected signature" in _judge("SIG-10", masked).reason


async def test_a_probe_of_several_forms_names_the_one_the_receiver_took() -> None:
    # "crashed on malformed timestamps: answered 500" left the user to dig the header out of the Sent block
    async with flawed_auth("timestamp_500") as url:
        run = await check("samsara", url)
    [result] = [r for r in run.results if r.check_id == "RPL-05"]
    assert result.status == "failed" and result.reason == "crashed on malformed timestamps (not a number): answered 500"


@pytest.mark.parametrize(("provider", "said"), [("samsara", True), ("standard_webhooks", False)])
async def test_a_replay_window_failure_says_whose_rule_it_is(provider: str, said: bool) -> None:
    # Samsara states no replay window (provider-facts §3.2): its RPL-01/02 failures must not read as Samsara's rule
    async with flawed("no_verify") as url:
        run = await check(provider, url)
    for check_id in ("RPL-01", "RPL-02"):
        [result] = [r for r in run.results if r.check_id == check_id]
        assert result.status == "failed"
        assert ("states no replay window: refusing an old or future timestamp is the catalogue's rule"
                in result.reason) is said, result.reason
