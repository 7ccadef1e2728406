"""The API-client checks, conformance-catalogue §1.11 (API-01 … API-06): each grades the calls the integrator's
code made to the emulated SmartGPS (`server.calls`: method, path, status, time, token serial number, never a
token) during the phases runner.py played.

A call's time is when its answer was sent; a check that measures a wait between two calls therefore allows
`SLACK_S` for the handling of the later one.
"""

from __future__ import annotations

import itertools
import re

from simulator.servers.smartgps.context import Call

from ..registry import FAILED, PASSED, SKIPPED, CheckResult
from .registry import Activation, ApiContext, api_check

__all__ = ["SLACK_S"]

SLACK_S = 0.05
TOKEN_PATH = "/auth/token"
ASSIGN = re.compile(r"^/trackers/[^/]+/assign$")


def _ok(call: Call) -> bool:
    return 200 <= call.status < 300


def _step(call: Call) -> str | None:
    """Which activation step a call is: registerTracker, createObject, assignTracker (None: another call)."""
    if call.method != "POST":
        return None
    if call.path == "/trackers":
        return "registerTracker"
    if call.path == "/objects":
        return "createObject"
    return "assignTracker" if ASSIGN.match(call.path) else None


def _show(context: ApiContext, call: Call) -> str:
    return f"{call.method} {call.path} answered {call.status} at {context.at(call.t)}"


def _not_done(activation: Activation) -> str:
    return f"the {activation.phase} activation (IMEI {activation.imei}) did not succeed: {activation.outcome}"


@api_check(id="API-01", needs=("first",))
def activation_order(context: ApiContext) -> CheckResult:
    """Every activation calls registerTracker, then createObject, then assignTracker, in that order.

    The steps are POST /trackers, POST /objects and POST /trackers/{id}/assign (seed 000's activation flow).
    Graded on every fresh activation played: the first successful call of each step must come after the first
    successful call of the step before it, and all three must succeed.
    """
    fresh = [a for a in context.activations if a.fresh]
    if not fresh:
        return CheckResult(SKIPPED, "no activation was played")
    for activation in fresh:
        firsts: dict[str, Call] = {}
        for call in context.during(activation):
            step = _step(call)
            if step and _ok(call) and step not in firsts:
                firsts[step] = call
        order = ("registerTracker", "createObject", "assignTracker")
        missing = [s for s in order if s not in firsts]
        if missing:
            why = _not_done(activation) if not activation.ok else f"the {activation.phase} activation succeeded"
            return CheckResult(FAILED, f"{why}, but {' and '.join(missing)} never succeeded during it",
                               expected="registerTracker, createObject and assignTracker, each answered 2xx")
        done = sorted(order, key=lambda s: context.calls.index(firsts[s]))
        if done != list(order):
            return CheckResult(FAILED, f"the {activation.phase} activation called {' → '.join(done)}: "
                               + "; ".join(f"{s}: {_show(context, firsts[s])}" for s in done),
                               expected="registerTracker → createObject → assignTracker")
    return CheckResult(PASSED, f"{len(fresh)} activation{'s' if len(fresh) != 1 else ''} called registerTracker "
                       "→ createObject → assignTracker")


@api_check(id="API-02", needs=("first", "second", "expired"))
def token_reused(context: ApiContext) -> CheckResult:
    """A token is obtained once and reused until it expires or is revoked, not fetched per request.

    A new token is a finding when it is requested while the previous one had more than half its lifetime left
    and was not revoked (a refresh shortly before expiry is fine; fleetsim's `--token-ttl` must exceed the
    client's refresh leeway). When each activation is its own process (`--client-command` without
    `--activate-url`) a token cannot outlive the process, so only requests within one activation are compared.
    """
    issued = [c for c in context.calls if c.path == TOKEN_PATH and _ok(c)]
    if not issued:
        return CheckResult(SKIPPED, "the client never obtained a token")
    ttl = context.token_ttl_s
    uses = {c.token: 0 for c in issued}
    for call in context.calls:
        if call.path != TOKEN_PATH and call.token in uses:
            uses[call.token] += 1
    for before, call in itertools.pairwise(issued):
        left = before.t + ttl - call.t
        revoked = context.revoked_at is not None and before.t <= context.revoked_at <= call.t
        other_process = context.per_process and _activation_of(context, before) != _activation_of(context, call)
        if left > ttl / 2 and not revoked and not other_process:
            return CheckResult(FAILED, f"token {call.token} requested at {context.at(call.t)} while token "
                               f"{before.token} (from {context.at(before.t)}, used {uses[before.token]} "
                               f"time{'s' if uses[before.token] != 1 else ''}) still had {left:.1f} s of its "
                               f"{ttl:g} s left; {len(issued)} tokens for "
                               f"{sum(uses.values())} calls", expected="one token, reused until it expires",
                               metrics={"tokens": len(issued), "calls": sum(uses.values())})
    expired = context.phase("expired")
    note = ""
    if expired is not None and not any(c.token is not None and c.path != TOKEN_PATH
                                       for c in context.during(expired)):
        note = "; but no call with a token came after the first one expired"
    return CheckResult(PASSED, f"{len(issued)} token{'s' if len(issued) != 1 else ''} for {sum(uses.values())} "
                       f"calls (tokens live {ttl:g} s){note}", metrics={"tokens": len(issued),
                                                                         "calls": sum(uses.values())})


def _activation_of(context: ApiContext, call: Call) -> str | None:
    return next((a.phase for a in context.activations if a.start <= call.t <= a.end), None)


@api_check(id="API-03", needs=("first", "revoked"))
def refresh_once_on_401(context: ApiContext) -> CheckResult:
    """A 401 (the token revoked) is answered by one new token and the call retried: no loop, no giving up.

    fleetsim revokes every token before the "revoked" activation. After the first 401 the client must request
    exactly one new token before its next other call, repeat the refused call (same method and path) and have it
    accepted; more than one new token, or a second 401, is a finding.
    """
    activation = context.phase("revoked")
    if activation is None or context.revoked_at is None:
        return CheckResult(SKIPPED, "the revocation phase was not played")
    calls = [c for c in context.during(activation) if c.t >= context.revoked_at]
    refused = [i for i, c in enumerate(calls) if c.status == 401 and c.path != TOKEN_PATH]
    if not refused:
        why = "the client requested a new token before any other call" if any(
            c.path == TOKEN_PATH for c in calls) else "the client made no call"
        return CheckResult(SKIPPED, f"no call was answered 401 after the revocation: {why}")
    first = calls[refused[0]]
    after = calls[refused[0] + 1:]
    tokens = 0
    for call in after:
        if call.path == TOKEN_PATH:
            tokens += 1
            continue
        if tokens == 0:
            return CheckResult(FAILED, f"after {_show(context, first)} the client called {_show(context, call)} "
                               "without a new token", expected="one POST /auth/token, then the call again")
        if tokens > 1:
            return CheckResult(FAILED, f"after {_show(context, first)} the client requested {tokens} new tokens",
                               expected="exactly one new token")
        if (call.method, call.path) != (first.method, first.path):
            return CheckResult(FAILED, f"after {_show(context, first)} and one new token, the client went on with "
                               f"{_show(context, call)} instead of repeating the refused call",
                               expected=f"{first.method} {first.path} again")
        if call.status == 401:
            return CheckResult(FAILED, f"the repeated call was refused again: {_show(context, call)}",
                               expected="the call repeated with the new token, accepted")
        more = [c for c in after if c.status == 401 and c.path != TOKEN_PATH]
        if more:
            return CheckResult(FAILED, f"{len(more) + 1} calls answered 401 after the revocation: "
                               f"{_show(context, more[-1])}", expected="one 401, one refresh")
        return CheckResult(PASSED, f"{_show(context, first)}; one new token, and the call repeated "
                           f"({call.status} at {context.at(call.t)})")
    what = f"requested {tokens} new token{'s' if tokens != 1 else ''}" if tokens else "made no further call"
    return CheckResult(FAILED, f"after {_show(context, first)} the client {what} and never repeated the call "
                       f"({activation.outcome})", expected="one POST /auth/token, then the call again")


@api_check(id="API-04", needs=("first", "limited"))
def waits_retry_after(context: ApiContext) -> CheckResult:
    """A 429 is answered by waiting the Retry-After it carries before the next call, then carrying on.

    fleetsim lowers the rate limit for the "limited" activation (to 2 requests a second). Every
    call after a 429 must come at least Retry-After seconds later; the activation must still succeed.
    """
    activation = context.phase("limited")
    if activation is None:
        return CheckResult(SKIPPED, "the rate-limit phase was not played")
    calls = context.during(activation)
    limited = [i for i, c in enumerate(calls) if c.status == 429]
    if not limited:
        return CheckResult(SKIPPED, f"no call was answered 429 with the limit at {context.lowered_limit} a second "
                           f"({len(calls)} calls; {activation.outcome})")
    waits = []
    for i in limited:
        refused, later = calls[i], calls[i + 1:]
        if not later:
            continue
        wait = later[0].t - refused.t
        waits.append(wait)
        needed = refused.retry_after or 1
        if wait + SLACK_S < needed:
            return CheckResult(FAILED, f"{_show(context, refused)} with Retry-After: {needed}; the next call came "
                               f"{wait * 1000:.0f} ms later ({later[0].method} {later[0].path})",
                               expected=f"no call for {needed} s", metrics={"wait_s": round(wait, 3)})
    if not activation.ok:
        return CheckResult(FAILED, f"{len(limited)} call(s) answered 429, and then {_not_done(activation)}",
                           expected="the activation completes after waiting")
    shortest = min(waits, default=0.0)
    return CheckResult(PASSED, f"{len(limited)} call(s) answered 429; the client waited at least "
                       f"{shortest:.2f} s each time and the activation completed",
                       metrics={"rate_limited": len(limited), "shortest_wait_s": round(shortest, 3)})


@api_check(id="API-05", needs=("first", "retried"))
def retried_activation_idempotent(context: ApiContext) -> CheckResult:
    """An activation repeated with the same IMEI and plate succeeds and creates no second tracker or object.

    fleetsim repeats the first activation after it completed. The repeat must succeed (2xx, or exit status 0)
    with no tracker, object or binding created (no 2xx to POST /trackers, POST /objects or an assign): the client
    looks the tracker up by IMEI (GET /trackers?imei=) or handles the 409 SmartGPS answers for a duplicate.
    """
    first, again = context.phase("first"), context.phase("retried")
    if first is None or again is None:
        return CheckResult(SKIPPED, "the repeated activation was not played")
    if not first.ok:
        return CheckResult(SKIPPED, f"nothing to repeat: {_not_done(first)}")
    calls = context.during(again)
    created = [c for c in calls if _step(c) and _ok(c)]
    if created:
        return CheckResult(FAILED, f"the repeated activation (IMEI {again.imei}) created again: "
                           + "; ".join(_show(context, c) for c in created),
                           expected="no tracker, object or binding created the second time")
    if not again.ok:
        conflicts = [c for c in calls if c.status == 409]
        seen = f" after {_show(context, conflicts[0])}" if conflicts else ""
        return CheckResult(FAILED, f"the repeated activation (IMEI {again.imei}) failed{seen}: {again.outcome}",
                           expected="success: the tracker found by IMEI, or the 409 handled")
    return CheckResult(PASSED, f"the repeated activation succeeded ({again.outcome}) with nothing created "
                       f"({len(calls)} call{'s' if len(calls) != 1 else ''})")


@api_check(id="API-06", needs=("first", "dropped"))
def dropped_answer_recovered(context: ApiContext) -> CheckResult:
    """A registerTracker whose answer was lost is retried without failing and without a second tracker.

    In the "dropped" activation fleetsim carries out the first successful POST /trackers and closes the
    connection instead of answering. The client must still complete the activation (the tracker assigned, the
    activation a success): it retries and handles the 409, or looks the tracker up by IMEI; no second tracker
    may be created.
    """
    activation = context.phase("dropped")
    if activation is None:
        return CheckResult(SKIPPED, "the dropped-answer phase was not played")
    calls = context.during(activation)
    lost = next((c for c in calls if c.dropped), None)
    if lost is None:
        return CheckResult(SKIPPED, f"the client made no successful POST /trackers to drop ({activation.outcome})")
    after = calls[calls.index(lost) + 1:]
    again = [c for c in after if _step(c) == "registerTracker" and _ok(c)]
    if again:
        return CheckResult(FAILED, f"the answer to POST /trackers was dropped at {context.at(lost.t)}, and the "
                           f"client registered another tracker: {_show(context, again[0])}",
                           expected="the existing tracker found (409 or GET /trackers?imei=), no second one")
    if not activation.ok or not any(_step(c) == "assignTracker" and _ok(c) for c in after):
        seen = "; then " + ", ".join(f"{c.method} {c.path} {c.status}" for c in after[:4]) if after else \
            "; no further call"
        return CheckResult(FAILED, f"the answer to POST /trackers was dropped at {context.at(lost.t)}{seen}; "
                           f"the activation {activation.outcome}",
                           expected="the tracker found after the lost answer, assigned, and the activation a success")
    return CheckResult(PASSED, "the answer to POST /trackers was dropped; the client carried on with "
                       + ", ".join(f"{c.method} {c.path} {c.status}" for c in after[:4])
                       + f" and the activation {activation.outcome}")
