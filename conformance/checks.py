"""The first checks of docs/conformance-catalogue.md: SIG-01, SIG-04, RPL-01, RPL-02, RPL-07, IDM-01,
MAL-01 and TIM-01, graded on the HTTP answers of one run.

Each is adapted to the provider by asking it (`provider.auth`, its signer, `provider.delivery`), never by name.
The tampered-signature probe (one character of the real signature flipped, or a wrong pre-shared value) is
catalogue SIG-04 for signatures over the body and SIG-09 for a pre-shared header.
"""

from __future__ import annotations

import dataclasses
import math

from simulator.delivery.faults import TIMESTAMP_SKEW_S
from simulator.delivery.model import DUPLICATE, GENUINE, Attempt
from simulator.providers import Provider
from simulator.signing import SIGNERS

from .registry import ERROR, FAILED, PASSED, SKIPPED, CheckResult, Context, check

HTTP_OUTCOMES = frozenset({"2xx", "3xx", "4xx", "5xx", "429"})
#: outcomes that say the receiver was too slow, not that the network or the harness failed
SLOW_OUTCOMES = frozenset({"timeout_total"})
#: TIM-01's pass line: p99 at most this share of the provider's timeout; and the warning line (seconds)
TIM_PASS_SHARE = 0.5
TIM_WARN_S = 2.0


def signs(provider: Provider) -> bool:
    """True when the provider authenticates its requests with a secret (an HMAC or a pre-shared header)."""
    return SIGNERS[provider.signing].name != "none"


def _psk(provider: Provider) -> bool:
    return signs(provider) and not provider.auth.covers_body


def _answered(a: Attempt) -> bool:
    return a.outcome in HTTP_OUTCOMES and a.status is not None


def _missing(copy: str) -> CheckResult:
    return CheckResult(ERROR, f"no {copy} exchange was recorded: the harness sent nothing to judge")


def _rejected(context: Context, copy: str, what: str) -> CheckResult:
    """Every `copy` probe answered 4xx: never 2xx, never 5xx (a 3xx, a 429 or no answer shows nothing)."""
    probes = context.of(copy)
    if not probes:
        return _missing(copy)
    expected = "a 4xx rejection (400/401/403), never 2xx, never 5xx"
    for a in probes:
        if _answered(a) and a.status is not None and (a.status < 300 or a.status >= 500):
            verb = "accepted" if a.status < 300 else "crashed on"
            which = f" ({a.variant})" if a.variant else ""  # which form, when the probe sends several
            return CheckResult(FAILED, f"{verb} {what}{which}: answered {a.status}", a, expected)
    for a in probes:
        if not _answered(a) or a.outcome in ("3xx", "429"):
            got = a.status if _answered(a) else a.outcome
            return CheckResult(ERROR, f"{what} got {got}: the rejection path was not shown (inconclusive)", a,
                               expected)
    statuses = sorted({a.status for a in probes if a.status is not None})
    return CheckResult(PASSED, f"{len(probes)}/{len(probes)} {what} rejected ({', '.join(map(str, statuses))})")


@check(id="SIG-01", needs=frozenset({GENUINE}))
def genuine_accepted(context: Context) -> CheckResult:
    """A correctly signed genuine delivery is acknowledged as the provider counts success (2xx, or its own list)."""
    firsts = [a for a in context.of(GENUINE) if a.attempt == 1]
    if not firsts:
        return _missing(GENUINE)
    delivery = context.provider.delivery
    expected = f"{delivery.describe_success()} within the {context.timeout_s:g} s deadline"
    # the duplicate races its genuine copy (as a platform's retry can): a genuine copy refused while the duplicate
    # was acknowledged arrived second, and was refused as a duplicate; IDM-01 judges that, not this check
    second = [a for a in firsts if _refused_second_copy(context, a)]
    firsts = [a for a in firsts if a not in second]
    for a in firsts:
        if _answered(a) and a.status is not None and not delivery.is_success(a.status):
            return CheckResult(FAILED, f"a genuine delivery was answered {a.status}", a, expected)
        if a.outcome in SLOW_OUTCOMES:
            return CheckResult(FAILED, f"a genuine delivery got no answer within {context.timeout_s:g} s", a, expected)
    for a in firsts:
        if not _answered(a):
            return CheckResult(ERROR, f"a genuine delivery got no HTTP answer ({a.outcome}: {a.error})", a, expected)
    raced = f"; {len(second)} more arrived after their duplicate and were refused as one (IDM-01)" if second else ""
    return CheckResult(PASSED, f"{len(firsts)}/{len(firsts)} genuine deliveries acknowledged "
                       f"({delivery.describe_success()}){raced}")


def _refused_second_copy(context: Context, a: Attempt) -> bool:
    """Whether `a`, a copy of an event (genuine or duplicate), was refused with a 4xx while another copy of the same
    event was acknowledged: the receiver took the event, then called this copy a duplicate it would not take."""
    delivery = context.provider.delivery
    if a.status is None or not 400 <= a.status < 500 or delivery.is_success(a.status):
        return False
    return any(b is not a and b.event_id == a.event_id and b.status is not None and delivery.is_success(b.status)
               for b in (*context.of(GENUINE), *context.of(DUPLICATE)))


@check(id="SIG-04", needs=frozenset({"tampered_signature"}), applies=lambda p: p.auth.covers_body,
       not_applicable="{provider} signs no body: nothing to tamper with")
def tampered_signature_rejected(context: Context) -> CheckResult:
    """A delivery with a valid-looking but wrong signature (one character flipped) is rejected: 4xx, never 5xx.

    The probe is the delivery engine's `tamper_signature` (docs/delivery.md): one character of the real signature
    flipped, same alphabet and length. For a pre-shared header the same probe is SIG-09.
    """
    return _rejected(context, "tampered_signature", "tampered signatures")


_NO_TIMESTAMP = "{provider} signs no timestamp; replay exposure is a property of the platform (RPL-07)"


@check(id="RPL-01", needs=frozenset({"stale_timestamp"}), applies=lambda p: p.auth.signed_timestamp,
       not_applicable=_NO_TIMESTAMP)
def stale_timestamp_rejected(context: Context) -> CheckResult:
    """A correctly signed delivery with a timestamp 600 s in the past is rejected (4xx).

    600 s rather than the catalogue's 301 s, so a receiver with a slightly wider window is not failed here; the
    299 s / 301 s boundaries are RPL-03.
    """
    return _stated(context, _rejected(context, "stale_timestamp", f"timestamps {TIMESTAMP_SKEW_S} s old"))


@check(id="RPL-02", needs=frozenset({"future_timestamp"}), applies=lambda p: p.auth.signed_timestamp,
       not_applicable=_NO_TIMESTAMP)
def future_timestamp_rejected(context: Context) -> CheckResult:
    """A correctly signed delivery with a timestamp 600 s in the future is rejected (4xx)."""
    return _stated(context, _rejected(context, "future_timestamp", f"timestamps {TIMESTAMP_SKEW_S} s ahead"))


def _stated(context: Context, result: CheckResult) -> CheckResult:
    """A replay-window failure says whose rule it is: the vendor's (Standard Webhooks states 5 minutes) or, where
    the vendor states no window (Samsara), the catalogue's, which receivers commonly keep."""
    if result.status != FAILED or context.provider.replay_window_source is not None:
        return result
    return dataclasses.replace(result, reason=f"{result.reason} ({context.provider.name} states no replay window: "
                               "refusing an old or future timestamp is the catalogue's rule, RPL-01/02, which "
                               "receivers commonly keep at 5 minutes)")


@check(id="RPL-07", applies=lambda p: not p.auth.signed_timestamp,
       not_applicable="{provider} signs a timestamp: replays are refused by age (RPL-01, RPL-02)")
def replay_exposure(context: Context) -> CheckResult:
    """Where nothing signs a timestamp, replay exposure is reported as a property of the provider, not a failure.

    Never fails a receiver: it is reported `skipped` with the finding about the platform.
    """
    name = context.provider.name
    return CheckResult(SKIPPED, f"{name} signs no timestamp; replay exposure is a property of the platform "
                       "(deduplicate on the business id)")


@check(id="IDM-01", needs=frozenset({DUPLICATE}))
def duplicate_acknowledged(context: Context) -> CheckResult:
    """A duplicate delivery (same event id, fresh signature) is acknowledged like the original, not an error.

    The duplicate is a re-send as a platform's retry is: a later signed timestamp, a new delivery id where the
    provider has one (Samsara's X-Samsara-Request), the same event. With the receiver's state probe, each event
    whose genuine copy was acknowledged must also have been applied exactly once: a receiver deduplicating on the
    signature or the delivery id applies it twice.
    """
    copies = context.of(DUPLICATE)
    if not copies:
        return _missing(DUPLICATE)
    delivery = context.provider.delivery
    expected = f"{delivery.describe_success()} (the event is already processed: acknowledge it, do nothing)"
    for a in copies:
        if _answered(a) and a.status is not None and not delivery.is_success(a.status):
            return CheckResult(FAILED, f"a duplicate was answered {a.status}", a, expected)
    # the genuine copy may have arrived second (the copies race): refused while its duplicate was acknowledged
    duplicated = {a.event_id for a in copies}
    for a in context.of(GENUINE):
        if a.event_id in duplicated and _refused_second_copy(context, a):
            return CheckResult(FAILED, f"the second copy of an event to arrive (the genuine one: the copies raced) "
                               f"was answered {a.status}", a, expected)
    for a in copies:
        if not _answered(a):
            return CheckResult(ERROR, f"a duplicate got no HTTP answer ({a.outcome})", a, expected)
    if context.state is None:
        return CheckResult(PASSED, f"{len(copies)}/{len(copies)} duplicates acknowledged; graded on HTTP only: "
                           "that no second side effect happened needs a probe of the receiver's state")
    from .checks_state import _exactly_once  # the state checks' module reads this one's helpers

    acknowledged = {a.event_id for a in context.of(GENUINE) if a.status is not None and delivery.is_success(a.status)}
    judged = [a for a in copies if a.event_id in acknowledged]
    # the duplicate goes out close behind its genuine copy, as a platform's retry can: a receiver that looks for
    # the event, then inserts it, applies both (the race IDM-02 sends ten copies for)
    trouble = _exactly_once(context, judged, "an event, then a re-sent duplicate close behind it (a look-then-"
                            "insert race applies both: see IDM-02)") if judged else None
    if trouble:
        return trouble
    return CheckResult(PASSED, f"{len(copies)}/{len(copies)} duplicates acknowledged, and each event of the "
                       f"{len(judged)} acknowledged before was applied once")


@check(id="MAL-01", needs=frozenset({"corrupt_body"}))
def corrupt_body_rejected(context: Context) -> CheckResult:
    """A correctly signed body that is not valid JSON (truncated) is answered 4xx, never 5xx."""
    return _rejected(context, "corrupt_body", "truncated JSON bodies")


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@check(id="TIM-01", needs=frozenset({GENUINE}))
def acknowledged_in_time(context: Context) -> CheckResult:
    """Genuine deliveries are acknowledged with p99 at most half the provider's timeout (warning above 2 s).

    Times the check's short run, not the catalogue's 5-minute nominal load: `fleetsim load` measures that.
    """
    delivery = context.provider.delivery
    timed = [a for a in context.of(GENUINE)
             if a.outcome in SLOW_OUTCOMES or (a.status is not None and delivery.is_success(a.status))]
    if not timed:
        return CheckResult(SKIPPED, "nothing to time: no genuine delivery was acknowledged (see SIG-01)")
    latencies = [context.timeout_s if a.outcome in SLOW_OUTCOMES else a.latency_s for a in timed]
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    line = TIM_PASS_SHARE * context.timeout_s
    metrics = {"p50_ms": round(p50 * 1000, 1), "p99_ms": round(p99 * 1000, 1), "count": float(len(timed))}
    figures = (f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms over {len(timed)} deliveries "
               f"(pass line p99 <= {line:g} s, half of the {context.timeout_s:g} s timeout; a short run, not the "
               "catalogue's 5-minute nominal load)")
    if p99 > line:
        slowest = max(timed, key=lambda a: context.timeout_s if a.outcome in SLOW_OUTCOMES else a.latency_s)
        return CheckResult(FAILED, figures, slowest, f"{delivery.describe_success()} within {line:g} s", metrics)
    warning = f"; warning: p99 above {TIM_WARN_S:g} s" if p99 > TIM_WARN_S else ""
    return CheckResult(PASSED, figures + warning, metrics=metrics)
