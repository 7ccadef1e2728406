"""Checks of what a receiver *did*: duplicates' effects (RPL-06, IDM-02, IDM-03, IDM-05), ordering and back-fill
(ORD-01, ORD-02, ORD-03). See docs/conformance-catalogue.md §1.3 and §1.4.

Each probe here is built from fresh, real events of the scenario, asked of the provider unit (its adapter says
which event key, position and device state a message carries). Each check is graded twice over: on the HTTP
answers always, and, when the receiver's state probe is given (conformance/state.py, `--state-probe`), on the
readings the run took for it after sending (`@reads`): effects per event, a device's latest fix, its state.
Without a probe the reason says "graded on HTTP only", and the effect-only failures cannot be seen.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from simulator.delivery.model import DUPLICATE, Attempt
from simulator.providers import Provider
from simulator.providers.receiving import Adapter, Fix

from .checks import _answered
from .probing import DROP_RESPONSE, Base, ProbeRequest, message, probe, rewritten
from .registry import ERROR, FAILED, PASSED, SKIPPED, CheckResult, Context, check
from .state import (
    EFFECTS,
    LATEST,
    STATE,
    Ask,
    Latest,
    ReadError,
    ReadsFunction,
    change_of,
    event_key,
    fix_of,
    key_of,
    keys,
    reads,
)

HTTP_ONLY = "graded on HTTP only (no --state-probe): "
CONCURRENT_COPIES = 10
#: fresh events the back-fill probe looks through for two fixes of one device
BACKFILL_EVENTS = 40
#: fresh events the reverse-order probe looks through for two different state changes of one device (at most;
#: it takes what the scenario has left): state changes are rare, an ignition cycle is many minutes of traffic
REVERSED_EVENTS = 5000
#: events the shuffled-delivery probe sends (catalogue: 1,000 devices x 20; see ORD-03's adaptation)
SHUFFLED_EVENTS = 16
#: how far a device time read back may be from the one sent (RFC 3339 answers keep milliseconds)
TIME_TOLERANCE_S = 0.001


# --- what a provider unit can say ------------------------------------------------------------------------------


def positions(provider: Provider) -> bool:
    """The provider's messages report positions (its adapter reads fixes)."""
    return type(provider.adapter).fix is not Adapter.fix


def states(provider: Provider) -> bool:
    """The provider's messages report device state (its adapter reads changes, e.g. ignition)."""
    return type(provider.adapter).change is not Adapter.change


def has_ids(provider: Provider) -> bool:
    """The provider sends an event id (SmartGPS does not: its key is what the message says)."""
    return not provider.adapter.derived_key


def _success(context: Context, a: Attempt) -> bool:
    return _answered(a) and a.status is not None and context.provider.delivery.is_success(a.status)


def _crashed(a: Attempt) -> bool:
    return _answered(a) and a.status is not None and a.status >= 500


def _duplicate_said(a: Attempt) -> bool:
    """The answer calls the delivery a duplicate: a JSON value that says so (the reference receiver's
    {"status": "duplicate"}, `"duplicate": true`), or a text answer saying "duplicate" without a "not" before it.
    A body that merely has the word (`{"ok": true, "duplicate": false}`) says the opposite."""
    body = a.response_body
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").lower()
        return bool(_SAYS_DUPLICATE.search(text)) and not _SAYS_NOT_DUPLICATE.search(text)
    return _json_says_duplicate(doc, 0)


_SAYS_DUPLICATE = re.compile(r"\bduplicate")
_SAYS_NOT_DUPLICATE = re.compile(r"\b(?:not|no|non)[ -](?:a )?duplicate")
_DUPLICATE_WORDS = frozenset({"duplicate", "duplicated", "already processed", "already_processed", "already-seen",
                              "already seen", "replay", "replayed"})


def _json_says_duplicate(value: Any, depth: int) -> bool:
    """A string value naming a duplicate, or a key about duplicates set to true, anywhere a few levels down."""
    if depth > 4:
        return False
    if isinstance(value, str):
        return value.strip().lower() in _DUPLICATE_WORDS
    if isinstance(value, dict):
        return any((value_ is True and any(w in str(key).lower() for w in ("duplicate", "replay", "already")))
                   or _json_says_duplicate(value_, depth + 1) for key, value_ in value.items())
    if isinstance(value, list):
        return any(_json_says_duplicate(item, depth + 1) for item in value[:20])
    return False


def _http_only(context: Context) -> bool:
    return context.state is None


def _effects(context: Context, key: str) -> int:
    value = context.readings.get(Ask(EFFECTS, context.provider.name, key))
    assert isinstance(value, int)
    return value


def _read_error(exc: ReadError, a: Attempt | None = None) -> CheckResult:
    return CheckResult(ERROR, f"the state probe could not answer: {exc}", a)


def _tally(attempts: Iterable[Attempt]) -> str:
    """Every answer a burst of copies got, counted: "200 ×1, 409 ×9" (a failure quotes one exchange in full; the
    others' answers are what tells a race from a receiver that refuses them all)."""
    counts = Counter(str(a.status) if _answered(a) else a.outcome for a in attempts)
    return ", ".join(f"{answer} ×{n}" for answer, n in sorted(counts.items()))


def _inconclusive(attempts: Iterable[Attempt], what: str) -> CheckResult | None:
    """ERROR for the first attempt that got no HTTP answer (or a 3xx/429: nothing shown), else None."""
    for a in attempts:
        if not _answered(a) or a.outcome in ("3xx", "429"):
            got = a.status if _answered(a) else f"{a.outcome} ({a.error})"
            return CheckResult(ERROR, f"{what} got {got}: inconclusive", a)
    return None


def _exactly_once(context: Context, attempts: Sequence[Attempt], what: str) -> CheckResult | None:
    """FAILED when the event of `attempts` was applied other than once (state probe given), else None."""
    if _http_only(context):
        return None
    for key in keys(context.provider, attempts):
        try:
            n = _effects(context, key)
        except ReadError as exc:
            return _read_error(exc, attempts[-1])
        if n != 1:
            source = context.state.description if context.state else "the state probe"
            # 0 is "never applied" (or a probe asking the wrong question), not a second effect: say which
            found = ("the receiver never applied the event (0 effects; or the probe's effects question does not "
                     "find it, or the receiver applies in the background after acknowledging: give the probe a "
                     "`settle` question, docs/state-probes.md)" if n == 0
                     else f"the receiver applied the event {n} times")
            # the key the probe was asked about, as the receiver should know the event: a probe asking the wrong
            # question looks like a receiver applying twice (or never) unless the reading is shown
            return CheckResult(FAILED, f"{what}: {found} ({source}, asked about event {key!r}: effects {n})",
                               attempts[-1], "exactly one effect")
    return None


def _effect_reads(copy: str) -> ReadsFunction:
    """The effects reading of every event the `copy` probe carried."""

    def asks(context: Context) -> list[Ask]:
        return [Ask(EFFECTS, context.provider.name, k) for k in keys(context.provider, context.of(copy))]

    return asks


# --- RPL-06: a byte-for-byte copy ------------------------------------------------------------------------------


@probe("byte_copy", well_formed=True)
def byte_copy(bases: Sequence[Base]) -> list[ProbeRequest]:
    """The event, then exactly the same request again (same bytes, same headers, same signature)."""
    base = bases[0]
    headers = base.sign(base.body)
    return [ProbeRequest("original", base.body, headers), ProbeRequest("copy", base.body, headers, phase=1)]


reads("RPL-06")(_effect_reads("byte_copy"))
reads("IDM-01")(_effect_reads(DUPLICATE))  # IDM-01 (conformance/checks.py) counts the effects of re-sent events


@check(id="RPL-06", needs=frozenset({"byte_copy"}), suite="standard")
def byte_copy_no_second_effect(context: Context) -> CheckResult:
    """A byte-for-byte copy of an accepted delivery is answered 2xx or 4xx, and has no second effect.

    The copy follows the original's answer at once (well inside any signed-timestamp window). The effect count
    needs the receiver's state probe; without one only the answer is graded.
    """
    original, copy = context.of("byte_copy", "original"), context.of("byte_copy", "copy")
    if not original or not copy:
        return CheckResult(ERROR, "no byte_copy exchange was recorded: the harness sent nothing to judge")
    if not _success(context, original[0]):
        return _inconclusive(original, "the original") or CheckResult(
            SKIPPED, f"the original was answered {original[0].status}, not accepted: nothing to copy (see SIG-01)")
    a = copy[0]
    expected = "2xx (acknowledged, nothing done) or 4xx (refused as a replay), never 5xx"
    if _crashed(a):
        return CheckResult(FAILED, f"the byte-for-byte copy was answered {a.status}", a, expected)
    trouble = _inconclusive(copy, "the byte-for-byte copy") or _exactly_once(
        context, [*original, a], "an event sent, then a byte-for-byte copy")
    if trouble:
        return trouble
    said = f"the copy was answered {a.status}"
    if _http_only(context):
        return CheckResult(PASSED, HTTP_ONLY + said + "; that it had no second effect is not shown")
    return CheckResult(PASSED, f"{said}; the event was applied exactly once")


# --- IDM-02: concurrent duplicates -----------------------------------------------------------------------------


@probe("concurrent_duplicates", well_formed=True)
def concurrent_duplicates(bases: Sequence[Base]) -> list[ProbeRequest]:
    """Ten identical deliveries of one event at once (one signature, at the same second)."""
    base = bases[0]
    return [ProbeRequest(f"{CONCURRENT_COPIES} at once", base.body, base.sign(base.body), repeat=CONCURRENT_COPIES)]


reads("IDM-02")(_effect_reads("concurrent_duplicates"))


@check(id="IDM-02", needs=frozenset({"concurrent_duplicates"}), suite="standard")
def concurrent_duplicates_once(context: Context) -> CheckResult:
    """Ten concurrent identical deliveries of one event have exactly one effect (never a 5xx).

    Sent as one burst over as many connections (not within a measured 50 ms: the burst is as tight as the
    machine allows). A "look, then insert" receiver fails only on the effect count, so that needs the state
    probe; on HTTP alone every copy must be answered 2xx or 4xx, at least one of them 2xx.
    """
    copies = context.of("concurrent_duplicates")
    if not copies:
        return CheckResult(ERROR, "no concurrent_duplicates exchange was recorded: the harness sent nothing")
    expected = "2xx for one copy, 2xx or 4xx for the others; never 5xx; exactly one effect"
    for a in copies:
        if _crashed(a):
            return CheckResult(FAILED, f"a concurrent duplicate was answered {a.status}", a, expected)
    trouble = _inconclusive(copies, "a concurrent duplicate")
    if trouble:
        return trouble
    statuses = _tally(copies)
    if not any(_success(context, a) for a in copies):
        return CheckResult(FAILED, f"none of {len(copies)} concurrent copies was accepted (answered {statuses})",
                           copies[0], expected)
    trouble = _exactly_once(context, copies, f"{len(copies)} concurrent copies (answered {statuses})")
    if trouble:
        return trouble
    if _http_only(context):
        return CheckResult(PASSED, HTTP_ONLY + f"{len(copies)} concurrent copies answered {statuses}; that they "
                           "had one effect is not shown")
    return CheckResult(PASSED, f"{len(copies)} concurrent copies answered {statuses}; applied exactly once")


# --- IDM-03: lost acknowledgement ------------------------------------------------------------------------------


@probe("lost_ack", socket=True, well_formed=True)
def lost_ack(bases: Sequence[Base]) -> list[ProbeRequest]:
    """The event written whole on a raw socket closed before the answer is read, then retried normally."""
    base = bases[0]
    headers = base.sign(base.body)
    # a retry is another delivery of the same event: a new delivery id where the provider has one (provider-facts
    # §3.4), so a receiver that wrongly deduplicates on the delivery id applies it again, as IDM-01's re-send does
    return [ProbeRequest("answer dropped", base.body, headers, mode=DROP_RESPONSE),
            ProbeRequest("retry", base.body, base.sign(base.body, delivery=f"{base.event_id}-retry"), phase=1)]


reads("IDM-03")(_effect_reads("lost_ack"))


@check(id="IDM-03", needs=frozenset({"lost_ack"}), suite="standard", socket=True)
def lost_ack_once(context: Context) -> CheckResult:
    """After a lost acknowledgement, the retry of the same event is acknowledged and the event applied once.

    The first request is written whole on a raw socket (TLS for https) that is closed before the answer is read;
    the retry (fresh signature, same second, and a delivery id of its own where the provider has one: Samsara's
    X-Samsara-Request, PowUnity's X-PowTxn) follows at once, whether or not the first was committed.
    """
    dropped, retry = context.of("lost_ack", "answer dropped"), context.of("lost_ack", "retry")
    if not dropped or not retry:
        return CheckResult(ERROR, "no lost_ack exchange was recorded: the harness sent nothing to judge")
    a = retry[0]
    expected = "the retry acknowledged (2xx), the event applied exactly once"
    if _answered(a) and not _success(context, a):
        return CheckResult(FAILED, f"the retry after a lost acknowledgement was answered {a.status}", a, expected)
    trouble = _inconclusive(retry, "the retry") or _exactly_once(
        context, [*dropped, a], "a lost acknowledgement and its retry")
    if trouble:
        return trouble
    if _http_only(context):
        return CheckResult(PASSED, HTTP_ONLY + f"the retry was answered {a.status}; that the event was applied "
                           "once is not shown")
    return CheckResult(PASSED, f"the retry was answered {a.status}; the event was applied exactly once")


# --- IDM-05: two events, one body but the id -------------------------------------------------------------------


def _raw_id(key: str, body: bytes) -> str | None:
    """The id as it is written in `body`: the key itself, or its part after a "kind:" prefix (MettaX)."""
    for candidate in (key, key.partition(":")[2]):
        if candidate and _id_pattern(candidate).search(body):
            return candidate
    return None


def _id_pattern(raw: str) -> re.Pattern[bytes]:
    # the whole id, not a part of a longer number or word
    return re.compile(rb"(?<![\w.-])" + re.escape(raw.encode()) + rb"(?![\w.-])")


#: fresh events looked through for two of one kind
DIFFERENT_IDS_EVENTS = 12


@probe("different_ids", events=DIFFERENT_IDS_EVENTS, min_events=2, applies=lambda p, s: has_ids(p), well_formed=True)
def different_ids(bases: Sequence[Base]) -> list[ProbeRequest]:
    """One event, and the same body again with only its id changed (the id of another fresh event of its kind)."""
    # of one kind: a MettaX alarm rides on its GPS packet and shares its id, so the id of an event of another
    # kind may already be taken, under this kind, by an event the run sent (provider-facts §5)
    first = bases[0]
    others = sorted(bases[1:], key=lambda b: b.record.kind != first.record.kind)  # its own kind first
    headers = first.sign(first.body)
    header = first.provider.adapter.key_header
    if header:  # the id is a header (Standard Webhooks' webhook-id): the bodies are the very same
        second = others[0]
        return [ProbeRequest("first", first.body, headers),
                ProbeRequest("second", first.body, first.sign(first.body, message_id=second.event_id),
                             event_id=second.event_id)]
    raw = _raw_id(key_of(first.provider, first.body, first.record.headers) or "", first.body)
    if raw is None:
        return []
    # an id of another event, not the first's own: a MettaX DeviceInfo or alarm rides on a GPS packet and
    # carries its id, so the next fresh event may share it (the "second" would be the first again)
    found = ((b, _raw_id(key_of(b.provider, b.body, b.record.headers) or "", b.body)) for b in others)
    pair = next(((b, o) for b, o in found if o is not None and o != raw), None)
    if pair is None:
        return []
    second, other = pair
    body = _id_pattern(raw).sub(other.encode(), first.body)
    # the second event is its own delivery too: no platform sends two events under one delivery id
    return [ProbeRequest("first", first.body, headers),
            ProbeRequest("second", body, first.sign(body, delivery=second.event_id), event_id=second.event_id)]


reads("IDM-05")(_effect_reads("different_ids"))


@check(id="IDM-05", needs=frozenset({"different_ids"}), applies=has_ids, suite="standard",
       not_applicable="{provider} sends no event id: two messages that say the same thing are one event "
       "(provider-facts §4)")
def different_ids_both_processed(context: Context) -> CheckResult:
    """Two different events (different ids) with otherwise identical bodies are both processed.

    The second is the first's body with only the id changed (in the body, or the webhook-id header where the
    provider puts the id there), sent under its own delivery id. On HTTP: both accepted, neither answered as a
    duplicate; with the state probe: each applied once.
    """
    sent = context.of("different_ids")
    if len(sent) < 2:
        return CheckResult(SKIPPED, "the provider unit could not say where the event id is written: nothing sent")
    expected = "both accepted (2xx) as new events, each applied once"
    for a in sent:
        # the answer's words count only when nothing reads the receiver's state: with a probe, its effects do
        if _answered(a) and (not _success(context, a) or (_http_only(context) and _duplicate_said(a))):
            said = "called a duplicate" if _success(context, a) else f"answered {a.status}"
            return CheckResult(FAILED, f"the {a.variant} of two events with different ids was {said}", a, expected)
    trouble = _inconclusive(sent, "an event") or _exactly_once(context, sent, "two different events")
    if trouble:
        return trouble
    if len(keys(context.provider, sent)) != 2:
        return CheckResult(ERROR, "the two requests do not carry two event keys (a harness mistake)")
    if _http_only(context):
        return CheckResult(PASSED, HTTP_ONLY + "both events were accepted as new; that both were applied is "
                           "not shown")
    return CheckResult(PASSED, "both events were accepted as new and each was applied once")


# --- ORD-01: state changes in reverse order --------------------------------------------------------------------


def _pair(items: list[tuple[float, str, Base]]) -> tuple[Base, Base] | None:
    """(newer, older) of one device's state changes: different values if any, else different times."""
    items.sort(key=lambda item: item[0])
    for newer_t, newer_value, newer in reversed(items):
        for older_t, older_value, older in items:
            if older_t < newer_t and older_value != newer_value:
                return newer, older
    return (items[-1][2], items[0][2]) if items[0][0] < items[-1][0] else None


@probe("reversed_states", events=REVERSED_EVENTS, min_events=2, applies=lambda p, s: states(p), well_formed=True)
def reversed_states(bases: Sequence[Base]) -> list[ProbeRequest]:
    """Two state changes of one device, the newer (by device time) first, then the older."""
    by_state: dict[tuple[str, str], list[tuple[float, str, Base]]] = {}
    for base in bases:
        change = change_of(base.provider, base.body, base.record.headers)
        if change is not None:
            by_state.setdefault((change.device, change.name), []).append((change.device_time, change.value, base))
    pairs = [p for items in by_state.values() if (p := _pair(items)) is not None]
    differing = [p for p in pairs if _value(p[0]) != _value(p[1])]
    if not pairs:
        return []
    newer, older = (differing or pairs)[0]
    return [ProbeRequest("newer", newer.body, newer.sign(newer.body), event_id=newer.event_id),
            ProbeRequest("older", older.body, older.sign(older.body), event_id=older.event_id, phase=1)]


def _value(base: Base) -> str | None:
    change = change_of(base.provider, base.body, base.record.headers)
    return change.value if change else None


@reads("ORD-01")
def _ord01_reads(context: Context) -> list[Ask]:
    devices = {c.device for a in context.of("reversed_states")
               if (c := change_of(context.provider, a.request_body, a.request_headers))}
    return [Ask(STATE, context.provider.name, d) for d in sorted(devices)]


def _newest_states(context: Context) -> dict[tuple[str, str], set[str]]:
    """Per (device, state name): the values of the newest change (by device time) among accepted requests."""
    newest: dict[tuple[str, str], tuple[float, set[str]]] = {}
    for a in context.exchanges:
        if not _success(context, a):
            continue
        c = change_of(context.provider, a.request_body, a.request_headers)
        if c is None:
            continue
        t, values = newest.get((c.device, c.name), (float("-inf"), set()))
        if c.device_time > t:
            newest[(c.device, c.name)] = (c.device_time, {c.value})
        elif c.device_time == t:
            values.add(c.value)
    return {k: v for k, (_, v) in newest.items()}


@check(id="ORD-01", needs=frozenset({"reversed_states"}), applies=states, suite="standard",
       not_applicable="{provider} reports no device state (ignition and the like) in its webhooks")
def reversed_states_final(context: Context) -> CheckResult:
    """State changes delivered in reverse order (the newer first) end in the state of the newer, by device time.

    Adapted: ignition is the state every provider unit reads (on/off events, MettaX `acc`, the Traccar
    `ignition` attribute); the pair is two changes of one device found among the scenario's fresh events, with
    different values when the stream has them there (else the same value, which cannot tell the orders apart,
    and the reason says so). The expected state is the newest by device time of every accepted delivery.
    """
    sent = context.of("reversed_states")
    if not sent:
        return CheckResult(SKIPPED, "no two state changes of one device among the scenario's fresh events")
    expected = "both accepted (2xx); the final state that of the newer change by device time"
    for a in sent:
        if _answered(a) and not _success(context, a):
            return CheckResult(FAILED, f"the {a.variant} state change was answered {a.status}", a, expected)
    trouble = _inconclusive(sent, "a state change")
    if trouble:
        return trouble
    changes = [c for a in sent if (c := change_of(context.provider, a.request_body, a.request_headers))]
    weak = "" if len({c.value for c in changes}) > 1 else \
        f" (weak: both changes say {changes[0].value}, so no order can be told from the other)"
    if _http_only(context):
        return CheckResult(PASSED, HTTP_ONLY + "both state changes accepted; the final state is not shown" + weak)
    newest = _newest_states(context)
    for c in changes:
        want = newest.get((c.device, c.name), set())
        if len(want) != 1:
            continue  # two values at one device time: any tie-break is right
        try:
            got = context.readings.get(Ask(STATE, context.provider.name, c.device))
        except ReadError as exc:
            return _read_error(exc, sent[-1])
        value = got.get(c.name) if isinstance(got, dict) else None
        wanted = next(iter(want))
        if _state_word(value) != _state_word(wanted):
            older = {_state_word(o.value) for o in changes if o.device == c.device and o.name == c.name} - \
                {_state_word(wanted)}
            if value is None:
                why = f"the receiver knows no {c.name} of device {c.device}"
            elif _state_word(value) in older:
                why = f"device {c.device} ends with {c.name} {value}, the older change's state"
            else:
                why = f"device {c.device} ends with {c.name} {value}, neither change's state"
            return CheckResult(FAILED, f"{why}, not {wanted}", sent[-1], expected)
    return CheckResult(PASSED, "the newer state change, delivered first, is the final state" + weak)


_ON, _OFF = frozenset({"on", "true", "1", "yes"}), frozenset({"off", "false", "0", "no"})


def _state_word(value: Any) -> str | None:
    """A state value as a word: an on/off state may be read back as "on"/"off", a boolean or 1/0, in any case
    (docs/state-probes.md); other values as text."""
    if value is None:
        return None
    text = str(value).strip().lower()  # True -> "true", 1 -> "1"
    return "on" if text in _ON else "off" if text in _OFF else text


# --- ORD-02: back-filled fixes ---------------------------------------------------------------------------------


@probe("backfill", events=BACKFILL_EVENTS, min_events=2, applies=lambda p, s: positions(p), well_formed=True)
def backfill(bases: Sequence[Base]) -> list[ProbeRequest]:
    """Two fixes of one device: the newer (by device time), then the older one, back-filled after it."""
    fixes: dict[str, list[tuple[float, Base]]] = {}
    for base in bases:
        fix = fix_of(base.provider, base.body, base.record.headers)
        if fix is not None:
            fixes.setdefault(fix.device, []).append((fix.device_time, base))
    for items in fixes.values():
        items.sort(key=lambda item: item[0])
        (old_t, older), (new_t, newer) = items[0], items[-1]
        if old_t < new_t:
            return [ProbeRequest("newer", newer.body, newer.sign(newer.body), event_id=newer.event_id),
                    _arrived_late(older, newer)]
    return []


def _arrived_late(older: Base, newer: Base) -> ProbeRequest:
    """The older fix as the platform writes it when it reaches the server after the newer one (the provider unit's
    `received_after`: Traccar's serverTime is then the later), signed over those bytes."""
    late = message(older)
    stamped = older.provider.adapter.received_after(late, message(newer))
    request = ProbeRequest("back-filled", older.body, older.sign(older.body), event_id=older.event_id) \
        if stamped is late else rewritten(older, "back-filled", stamped)
    return dataclasses.replace(request, phase=1)


@reads("ORD-02")
def _ord02_reads(context: Context) -> list[Ask]:
    devices = {f.device for a in context.of("backfill") if (f := fix_of(context.provider, a.request_body,
                                                                        a.request_headers))}
    return [Ask(LATEST, context.provider.name, d) for d in sorted(devices)]


@check(id="ORD-02", needs=frozenset({"backfill"}), applies=positions, suite="standard",
       not_applicable="{provider} reports no positions in its webhooks")
def backfill_never_regresses(context: Context) -> CheckResult:
    """A back-filled fix (older device time) sent after a newer one never moves the latest position back.

    Adapted: the back-fill is a real older fix of the same device delivered after its newer one, with the later
    arrival time a platform stamps on it (Traccar's serverTime: provider-facts §1.3), not re-rendered as MettaX
    `actual=false` or a Traccar `outdated` position (a receiver must order by device time whatever the flag
    says). The latest fix read back must carry the newest device time of every accepted delivery, and
    not the back-filled fix's coordinates (a receiver may keep the time apart from the position).
    """
    sent = context.of("backfill")
    if not sent:
        return CheckResult(SKIPPED, "no two fixes of one device among the scenario's fresh events")
    expected = "both accepted (2xx); the latest position stays the newer fix"
    for a in sent:
        if _answered(a) and not _success(context, a):
            return CheckResult(FAILED, f"the {a.variant} fix was answered {a.status}", a, expected)
    trouble = _inconclusive(sent, "a fix")
    if trouble:
        return trouble
    if _http_only(context):
        return CheckResult(PASSED, HTTP_ONLY + "both fixes accepted; that the latest position did not move back "
                           "is not shown")
    device = fix_of(context.provider, sent[-1].request_body, sent[-1].request_headers)
    assert device is not None
    fixes = [f for a in context.exchanges if _success(context, a)
             and (f := fix_of(context.provider, a.request_body, a.request_headers)) and f.device == device.device]
    newest_fix = max(fixes, key=lambda f: f.device_time)
    newest = newest_fix.device_time
    try:
        latest = context.readings.get(Ask(LATEST, context.provider.name, device.device))
    except ReadError as exc:
        return _read_error(exc, sent[-1])
    if not isinstance(latest, Latest):
        return CheckResult(FAILED, f"the receiver knows no latest position of device {device.device}", sent[-1],
                           expected)
    if latest.device_time < newest - TIME_TOLERANCE_S:
        back = " (the back-filled fix)" if abs(latest.device_time - device.device_time) <= TIME_TOLERANCE_S else ""
        return CheckResult(FAILED, f"the latest position of {device.device} moved back {newest - latest.device_time:g}"
                           f" s to an older fix{back}", sent[-1], expected)
    # the time read back may be kept apart from the position (fix_time = max(fix_time, new) beside lat/lon of the
    # last arrival): the position itself must be the newest fix's, not the back-filled one's
    if _nearer(latest, device, newest_fix):
        return CheckResult(FAILED, f"the latest position of {device.device} is the back-filled fix's "
                           f"({latest.lat:g}, {latest.lon:g}), though its time is the newest fix's: the position "
                           f"moved back while the time did not (newest fix: {newest_fix.lat:g}, "
                           f"{newest_fix.lon:g})", sent[-1], expected)
    return CheckResult(PASSED, f"the latest position of {device.device} stayed at the newest fix after a "
                       "back-filled one")


#: how far apart (degrees, about 11 m) two fixes must be for ORD-02 to tell which one a position read back is:
#: a receiver may store coordinates rounded
POSITION_TOLERANCE_DEG = 1e-4


def _nearer(latest: Latest, backfilled: Fix, newest: Fix) -> bool:
    """Whether the position read back is the back-filled fix's rather than the newest's (when the two differ)."""
    def apart(lat: float, lon: float, b: Fix) -> float:
        return max(abs(lat - b.lat), abs(lon - b.lon))

    if apart(newest.lat, newest.lon, backfilled) <= POSITION_TOLERANCE_DEG:
        return False  # the device had not moved: the position cannot tell the two apart
    return apart(latest.lat, latest.lon, backfilled) <= POSITION_TOLERANCE_DEG


# --- ORD-03: shuffled across devices ---------------------------------------------------------------------------


@probe("shuffled", events=SHUFFLED_EVENTS, well_formed=True)
def shuffled(bases: Sequence[Base]) -> list[ProbeRequest]:
    """Fresh events of every device of the scenario, shuffled (a fixed order, seeded by the first event's id)."""
    order = list(bases)
    random.Random(order[0].event_id).shuffle(order)  # a local generator: pure, the same every time
    return [ProbeRequest(f"#{i}", b.body, b.sign(b.body), event_id=b.event_id) for i, b in enumerate(order, 1)]


reads("ORD-03")(_effect_reads("shuffled"))


@check(id="ORD-03", needs=frozenset({"shuffled"}), suite="standard")
def shuffled_nothing_lost(context: Context) -> CheckResult:
    """Events shuffled across devices are all accepted and, with the state probe, each has its effect.

    Adapted: the catalogue's 1,000 devices x 20 events is a load test; here 16 fresh events of the scenario's
    devices go out shuffled (a fixed order), four at a time. Lost means accepted but never applied.
    """
    sent = context.of("shuffled")
    if not sent:
        return CheckResult(ERROR, "no shuffled exchange was recorded: the harness sent nothing to judge")
    expected = "every event accepted (2xx) and applied"
    for a in sent:
        if _answered(a) and not _success(context, a):
            return CheckResult(FAILED, f"a shuffled event was answered {a.status}", a, expected)
    trouble = _inconclusive(sent, "a shuffled event")
    if trouble:
        return trouble
    if _http_only(context):
        return CheckResult(PASSED, HTTP_ONLY + f"{len(sent)} shuffled events accepted; that none was lost is not "
                           "shown")
    lost = []
    for a in sent:
        key = event_key(context.provider, a)
        try:
            if key is not None and _effects(context, key) < 1:
                lost.append(a)
        except ReadError as exc:
            return _read_error(exc, a)
    if lost:
        return CheckResult(FAILED, f"{len(lost)} of {len(sent)} shuffled events were accepted but never applied",
                           lost[0], expected)
    return CheckResult(PASSED, f"{len(sent)} shuffled events accepted and applied")
