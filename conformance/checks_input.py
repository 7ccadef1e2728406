"""Malformed input, limits and the status-code audit: MAL-02, MAL-03, MAL-04, MAL-08, MAL-09, LIM-01, LIM-04,
LIM-05 and TIM-04 (docs/conformance-catalogue.md §1.4, §1.5 and §1.7).

Every probe starts from a fresh, real event of the scenario: its message is read the way the provider's
adapter reads it (so the MettaX `data` string is opened and edited inside), changed, written back through the
provider's own envelope and signed over exactly the bytes sent. Where a probe needs to know what a provider's
schema accepts (which field is required, which one is free text) it asks the shipped schemas through
`simulator.validation.validate`, never a provider's name.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

from simulator.delivery.model import DUPLICATE, GENUINE, Attempt
from simulator.providers import Provider
from simulator.providers.receiving import FORM_TYPE, Fix, Rejected
from simulator.schemastore import EXTRA_FIELDS
from simulator.validation import validate

from .checks import _answered, _missing, _rejected
from .checks_state import _effect_reads, _effects, _read_error
from .probing import PROBES, Base, ProbeRequest, content_type, message, probe, rewritten
from .registry import ERROR, FAILED, PASSED, SKIPPED, CheckResult, Context, check
from .state import LATEST, Ask, Latest, ReadError, event_key, fix_of, reads

#: a key no provider's schema declares: the forward-compatibility field, and the padding of LIM-01
FUTURE_FIELD = "fleetsimFutureField"
PADDING_FIELD = "fleetsimPadding"
#: the gzip bomb (LIM-04): this many bytes of JSON whitespace in front of a real event, ~130 KB on the wire
BOMB_INFLATED_BYTES = 128 << 20
#: genuine fresh events of the burst (LIM-05): the catalogue's load is `fleetsim load`'s; the check's short planned
#: scenario has some 65 fresh events per provider for every probe together (plan.py), so the burst takes 40
BURST_EVENTS = 40
#: the injection strings of MAL-09, one per event: SQL, HTML/JS, CRLF (log/header injection), path traversal
INJECTIONS = ("'; DROP TABLE devices;--", "<script>alert(1)</script>", "fleetsim\r\nX-Injected: 1",
              "../../etc/passwd")
#: field names that usually hold free text (device names, alarm text, geofence names), tried first
_FREE_TEXT = re.compile(r"name|text|desc|message|address|label|title|comment|note|fence|attribute", re.IGNORECASE)


def breaks_schema(base: Base, doc: dict[str, Any], *, documented: bool = True) -> bool:
    """Whether a receiver must refuse `doc` for more than unknown extra fields (MAL-03): read as a receiver reads
    it, the kind its own fields make it (`Adapter.classify`), not the kind it was made from. A MettaX message
    names no kind (docs/provider-facts.md §5): a GPS fix without `num` is a valid DeviceInfo message, and a
    message no kind claims is an unknown type, which MAL-03 asks a receiver to acknowledge. By default by a rule
    a vendor states (what a receiver may be asked to refuse); `documented=False` counts fleetsim's own rules
    too (`x-inferred`): a document that breaks none of them is one any receiver may be asked to accept."""
    try:
        kind = base.provider.adapter.classify(doc)
    except Rejected:  # refused before its kind is known (a PowUnity `event` that is no object with a type)
        return True
    if kind is None:
        return False
    errors = validate(base.provider, kind, doc, documented=documented)
    return any(e.expected != EXTRA_FIELDS for e in errors)


def kind_read(base: Base, doc: dict[str, Any]) -> str | None:
    """The kind a receiver reads `doc` as (`Adapter.classify`): None for an unknown type, and for a message
    refused before its kind is known."""
    try:
        return base.provider.adapter.classify(doc)
    except Rejected:
        return None


def leaves(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every (path, value) below `node`, depth first, in document order (objects and arrays included)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key), value
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*path, index), value
            yield from leaves(value, (*path, index))


def replaced(doc: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A copy of `doc` with the value at `path` replaced (copies only along the path)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {**doc, str(head): replaced(doc[head], rest, value)}
    copy = list(doc)
    copy[int(head)] = replaced(copy[int(head)], rest, value)
    return copy


def wrong_type(value: Any) -> Any:
    """A value of another JSON type than `value`."""
    return "not-a-number" if isinstance(value, int | float) and not isinstance(value, bool) else 12345


# --- MAL-02: valid JSON that breaks the schema -------------------------------------------------------------


def _missing_required(base: Base) -> ProbeRequest | None:
    doc = message(base)
    for key in doc:
        smaller = {k: v for k, v in doc.items() if k != key}
        if breaks_schema(base, smaller):
            return rewritten(base, f"required field {key} missing", smaller)
    return None


def _wrong_type(base: Base) -> ProbeRequest | None:
    doc = message(base)
    for path, value in leaves(doc):
        if isinstance(value, str | int | float | bool) and breaks_schema(base, changed := replaced(doc, path,
                                                                                                  wrong_type(value))):
            return rewritten(base, f"{'/'.join(map(str, path))} of the wrong type", changed)
    return None


def _latitude(bases: Sequence[Base], value: Any) -> ProbeRequest | None:
    """`value` as the latitude of the first of `bases` that reports one (status events may not)."""
    for base in bases:
        doc = message(base)
        path = next((p for p, _ in leaves(doc) if p and p[-1] in ("lat", "latitude")), None)
        if path is not None:
            return rewritten(base, f"{'/'.join(map(str, path))}: {value!r}", replaced(doc, path, value))
    return None


def _not_acknowledged(context: Context, probes: list[Attempt], expected: str) -> CheckResult | None:
    """The failure (a variant answered, but not as the provider counts success) or the inconclusive answer (none,
    or a 429) among `probes` that must all be acknowledged; None when every one was."""
    delivery = context.provider.delivery
    for a in probes:
        if _answered(a) and a.status is not None and not delivery.is_success(a.status) and a.outcome != "429":
            return CheckResult(FAILED, f"{a.variant} was answered {a.status}", a, expected)
    for a in probes:
        if not _answered(a) or a.outcome == "429":
            return CheckResult(ERROR, f"{a.variant} got {a.status or a.outcome}: inconclusive", a, expected)
    return None


@probe("schema_break", events=4)

def schema_break(bases: Sequence[Base]) -> list[ProbeRequest]:
    """Valid JSON that breaks the provider's schema: a required field missing, a wrong type, `lat: "abc"`, `lat: 91`
    (each on its own real event, re-signed; a variant the event has no field for is left out)."""
    made = [_missing_required(bases[0]), _wrong_type(bases[1]), _latitude((*bases[2:], *bases[:2]), "abc"),
            _latitude((*bases[3:], *bases[:3]), 91)]
    return [request for request in made if request is not None]


def _never_5xx(context: Context, copy: str, what: str, expected: str) -> CheckResult:
    """Every `copy` exchange answered 4xx or 2xx (taken as quarantine); a 5xx fails; no answer is inconclusive."""
    probes = context.of(copy)
    if not probes:
        return _missing(copy)
    for a in probes:
        if _answered(a) and a.status is not None and a.status >= 500:
            return CheckResult(FAILED, f"crashed on {what} ({a.variant}): answered {a.status}", a, expected)
    for a in probes:
        if not _answered(a) or a.outcome in ("3xx", "429"):
            got = a.status if _answered(a) else a.outcome
            return CheckResult(ERROR, f"{what} ({a.variant}) got {got}: inconclusive", a, expected)
    statuses = ", ".join(f"{a.variant}: {a.status}" for a in probes)
    return CheckResult(PASSED, f"{len(probes)}/{len(probes)} {what} answered without a 5xx ({statuses})")


#: the latitude MAL-02 sends out of range: read back as a device's latest position, it was written
OUT_OF_RANGE_LAT = 91


def _out_of_range(context: Context, a: Attempt) -> Fix | None:
    """The fix an acknowledged `lat: 91` message reports (its device's latest position must not become it)."""
    if not a.variant.endswith(f": {OUT_OF_RANGE_LAT!r}"):
        return None
    return fix_of(context.provider, a.request_body, a.request_headers)


@reads("MAL-02")
def _mal02_reads(context: Context) -> list[Ask]:
    # the effects of every message, and the latest position of the device of the lat: 91 one: a receiver may write
    # the position before (or beside) what it counts as the event's effect
    asks = list(_effect_reads("schema_break")(context))
    devices = sorted({f.device for a in context.of("schema_break") if (f := _out_of_range(context, a))})
    return asks + [Ask(LATEST, context.provider.name, d) for d in devices]


@check(id="MAL-02", needs=frozenset({"schema_break"}), suite="standard")
def schema_break_refused(context: Context) -> CheckResult:
    """Valid JSON that breaks the provider's schema is answered 4xx, or 2xx (quarantined); never 5xx, never applied.

    Built from real events: the first top-level field whose removal breaks a rule the vendor states, the first
    value whose change of JSON type does, and the event's `lat`/`latitude` set to "abc" and to 91 (left out for
    events without one). A variant breaks the rules of the kind a receiver reads it as: MettaX names no kind, so
    a GPS fix without `num` is a valid DeviceInfo message and is never sent as a break, and neither is a message
    no kind claims (an unknown type, MAL-03's). A 2xx is taken as a quarantine: with the receiver's state probe
    (`--state-probe`) each acknowledged message must have had no effect, and the `lat: 91` one must not be its
    device's latest position (the catalogue's "silent bad write"); without one it is graded on HTTP only, and the
    result says so.
    """
    expected = "a 4xx (or a 2xx that quarantines it: never applied), never a 5xx"
    result = _never_5xx(context, "schema_break", "schema-breaking messages", expected)
    acknowledged = [a for a in context.of("schema_break")
                    if _answered(a) and a.status is not None and context.provider.delivery.is_success(a.status)]
    if result.status != PASSED or not acknowledged:
        return result
    if context.state is None:
        return CheckResult(PASSED, f"{result.reason}; graded on HTTP only (no --state-probe): that the "
                           f"{len(acknowledged)} acknowledged were quarantined, not written, is not shown")
    unread = 0
    for a in acknowledged:
        fix = _out_of_range(context, a)
        if fix is not None:
            try:
                latest = context.readings.get(Ask(LATEST, context.provider.name, fix.device))
            except ReadError as exc:
                return _read_error(exc, a)
            if isinstance(latest, Latest) and abs(latest.lat) > 90:
                return CheckResult(FAILED, f"{a.variant} was acknowledged ({a.status}) and written as the latest "
                                   f"position of {fix.device} (lat {latest.lat:g}): a silent bad write, not a "
                                   "quarantine", a, expected)
        key = event_key(context.provider, a)
        if key is None:  # the id itself is what the message broke: its effects cannot be looked up
            unread += fix is None
            continue
        try:
            applied = _effects(context, key)
        except ReadError as exc:
            return _read_error(exc, a)
        if applied > 0:
            return CheckResult(FAILED, f"{a.variant} was acknowledged ({a.status}) and applied: a silent bad "
                               "write, not a quarantine", a, expected)
    checked = len(acknowledged) - unread
    unshown = f"; {unread} without a readable event id could not be looked up" if unread else ""
    if not checked:
        return CheckResult(PASSED, f"{result.reason}{unshown}, so that they were quarantined is not shown")
    return CheckResult(PASSED, f"{result.reason}; the {checked} acknowledged and looked up were never applied "
                       f"(quarantined){unshown}")


# --- MAL-03: unknown event types and unknown fields ---------------------------------------------------------


def _nested_extra(base: Base) -> ProbeRequest | None:
    doc = message(base)
    path = next((p for p, value in leaves(doc) if isinstance(value, dict)), None)
    if path is None:  # a flat message (MettaX): the top-level variant covers it
        return None
    inner = dict(_at(doc, path))
    inner[FUTURE_FIELD] = "a field a newer release adds"
    return rewritten(base, f"new key in {'/'.join(map(str, path))}", replaced(doc, path, inner))


def _at(doc: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _unknown_subtype(bases: Sequence[Base]) -> ProbeRequest | None:
    """The first event whose known type carries a value the vendor's list will grow, with a value of no list
    (the provider unit's `with_unknown_subtype`: a Samsara alert's condition id); None where none does."""
    for base in bases:
        made = base.provider.adapter.with_unknown_subtype(message(base))
        if made is not None:
            return rewritten(base, *made)
    return None


#: MAL-03's variants a receiver must acknowledge although it cannot know what they are: a 4xx to either makes the
#: platform retry for ever, or drop the event (TIM-04 says so)
UNKNOWN_TYPES = ("unknown event type", "unknown alert condition id")


@probe("forward_compat", events=4)

def forward_compat(bases: Sequence[Base]) -> list[ProbeRequest]:
    """Real events as a newer platform release writes them: an unknown event type (the provider unit's
    `with_unknown_kind`), an unknown top-level key, an unknown nested key, and where the provider has one, a known
    type with an unknown subtype (`with_unknown_subtype`: a Samsara alert of a condition id of no table)."""
    first, second = bases[0], bases[1]
    made = [rewritten(first, "unknown event type", first.provider.adapter.with_unknown_kind(message(first))),
            rewritten(second, "new top-level key", {**message(second), FUTURE_FIELD: "a field a newer release adds"}),
            _nested_extra(bases[2]), _unknown_subtype(bases[3:])]
    return [request for request in made if request is not None]


@check(id="MAL-03", needs=frozenset({"forward_compat"}), suite="standard")
def forward_compatible(context: Context) -> CheckResult:
    """An unknown event type and unknown extra fields are acknowledged (2xx) and ignored: a 4xx fails.

    A 4xx makes the platform retry for ever (or drop the event); a 5xx fails too. The unknown type is written
    by the provider unit (`Adapter.with_unknown_kind`): a type outside fleetsim's list, or for MettaX, which has
    no type field, a message with only the fields every kind carries (`id`, `deviceId`, `deviceCt`, `reportCt`)
    and a reading of its own: nothing any receiver could take for a known kind, whichever fields it tells kinds
    apart by. The nested variant is left out for flat messages. Where a known type carries a value the vendor's
    list will grow, a fourth variant sends one of no list (`Adapter.with_unknown_subtype`): a Samsara 1.0 alert
    of a condition id seed 004's table does not hold (docs/provider-facts.md §3.3).
    """
    probes = context.of("forward_compat")
    if not probes:
        return _missing("forward_compat")
    delivery = context.provider.delivery
    expected = f"{delivery.describe_success()}: acknowledge what is not understood, ignore it"
    trouble = _not_acknowledged(context, probes, expected)
    if trouble:
        return trouble
    return CheckResult(PASSED, f"{len(probes)}/{len(probes)} acknowledged ({', '.join(a.variant for a in probes)})")


# --- MAL-04: wrong or missing Content-Type ------------------------------------------------------------------

#: "none" goes out as application/octet-stream: HTTP clients (aiohttp included) label an unlabelled body so
WRONG_TYPES = ("text/plain", FORM_TYPE, "application/octet-stream")


@probe("content_type")

def wrong_content_type(bases: Sequence[Base]) -> list[ProbeRequest]:
    """The real, correctly signed event with a Content-Type it is not: text/plain, form-encoded, none."""
    base = bases[0]
    own = content_type(base)
    signed = {k: v for k, v in base.sign(base.body).items() if k.lower() != "content-type"}
    return [ProbeRequest(kind, base.body, {**signed, "Content-Type": kind}) for kind in WRONG_TYPES if kind != own]


@check(id="MAL-04", needs=frozenset({"content_type"}), suite="standard")
def content_type_enforced(context: Context) -> CheckResult:
    """A wrong or missing Content-Type is answered 415 (or a 4xx), or 2xx where the provider documents it; never 5xx.

    "Missing" is sent as `application/octet-stream`, which is what HTTP clients put on an unlabelled body. The
    documented tolerances are the adapter's `content_types` (MettaX: form `data=`); a 2xx to any other type
    fails (the receiver parses what it was not told is JSON).
    """
    probes = context.of("content_type")
    if not probes:
        return _missing("content_type")
    tolerated = context.provider.adapter.content_types
    for a in probes:
        if not _answered(a) or a.status is None or a.outcome in ("3xx", "429"):
            continue
        if a.status >= 500 or (a.status < 300 and a.variant not in tolerated):
            verb = "crashed on" if a.status >= 500 else "accepted"
            return CheckResult(FAILED, f"{verb} a body labelled {a.variant}: answered {a.status}", a,
                               f"415 (or a 4xx); 2xx only for {', '.join(tolerated)}; never 5xx")
    for a in probes:
        if not _answered(a) or a.outcome in ("3xx", "429"):
            return CheckResult(ERROR, f"{a.variant} got {a.status or a.outcome}: inconclusive", a)
    return CheckResult(PASSED, "; ".join(f"{a.variant}: {a.status}" for a in probes))


# --- MAL-08: the inner JSON string (MettaX `data`) ----------------------------------------------------------

BROKEN_TEXTS = (("data is truncated JSON", '{"id": "8600'), ("data holds an array", "[1, 2, 3]"),
                ("data holds a string", '"a string"'), ("data holds a number", "42"))


def _wraps_text(provider: Provider, has_secret: bool = False) -> bool:
    return provider.envelope_text("", settings={}) is not None


@probe("inner_text", applies=_wraps_text)

def inner_text(bases: Sequence[Base]) -> list[ProbeRequest]:
    """The provider's envelope whose inner JSON string is invalid JSON or holds the wrong type (signed as sent)."""
    base = bases[0]
    requests = []
    for variant, text in BROKEN_TEXTS:
        envelope = base.provider.envelope_text(text, settings=base.settings)
        if envelope is not None:
            requests.append(ProbeRequest(variant, envelope.body, base.sign(envelope.body)))
    return requests


@check(id="MAL-08", needs=frozenset({"inner_text"}), applies=_wraps_text, suite="standard",
       not_applicable="{provider} sends no message inside a JSON string")
def inner_text_refused(context: Context) -> CheckResult:
    """An inner JSON string (MettaX `data`) that is invalid JSON or the wrong type gets a 4xx or 2xx; never 5xx.

    A 2xx is taken as quarantine (a dead letter): that nothing was written needs a probe of the receiver's state.
    """
    return _never_5xx(context, "inner_text", "broken inner documents",
                      "a 4xx (or a 2xx that quarantines it), never a 5xx")


# --- MAL-09: injection strings in free-text fields ----------------------------------------------------------


def _injected(base: Base, text: str) -> ProbeRequest | None:
    """The event with its first free-text field (one the schema still accepts `text` in) set to `text`."""
    doc = message(base)
    strings = [path for path, value in leaves(doc) if isinstance(value, str) and path]
    named = sorted(strings, key=lambda p: not _FREE_TEXT.search(str(p[-1])))  # stable: free-text names first
    kind = kind_read(base, doc)
    for path in named:
        candidate = replaced(doc, path, text)
        # fleetsim's own rules too: a receiver that takes a MettaX deviceId for digits, as every example has it,
        # may refuse `'; DROP TABLE` there, and MAL-09 asks for a 2xx; and the message stays of its kind (text in
        # the field that names the kind makes an unknown type, MAL-03's, whose text nobody stores)
        if kind_read(base, candidate) == kind and not breaks_schema(base, candidate, documented=False):
            return rewritten(base, f"{'/'.join(map(str, path))} = {text!r}", candidate)
    return None


@probe("injection", events=len(INJECTIONS))

def injection(bases: Sequence[Base]) -> list[ProbeRequest]:
    """Real events with an injection string (SQL, HTML/JS, CRLF, `../`) in a free-text field their schema allows."""
    requests = []
    for n, text in enumerate(INJECTIONS):
        for base in (*bases[n:], *bases[:n]):  # its own event first, another one if that has no free text
            made = _injected(base, text)
            if made is not None:
                requests.append(made)
                break
    return requests


@check(id="MAL-09", needs=frozenset({"injection"}), suite="standard")
def injection_accepted(context: Context) -> CheckResult:
    """Injection strings in free-text fields (SQL, HTML/JS, CRLF, `../`) are accepted (2xx) like any text; never 5xx.

    The field is found generically: the first string field (names like *name*, *text*, *fence* first) whose
    schema still accepts the string. Graded on HTTP only: that they are stored and shown safely needs a probe of
    the receiver's state. Skipped when the events carry no free-text field.
    """
    probes = context.of("injection")
    if not probes:
        return CheckResult(SKIPPED, "the events sent carry no free-text field the schema accepts these strings in")
    delivery = context.provider.delivery
    expected = f"{delivery.describe_success()}: text is data, stored and shown escaped"
    trouble = _not_acknowledged(context, probes, expected)
    if trouble:
        return trouble
    return CheckResult(PASSED, f"{len(probes)}/{len(probes)} accepted; graded on HTTP only: safe storage and "
                       "display need a probe of the receiver's state")


# --- LIM-01: one byte over the declared limit (1 MiB unless --body-limit) ------------------------------------


@probe("oversized")

def oversized(bases: Sequence[Base]) -> list[ProbeRequest]:
    """The real event padded with an unknown string field to one byte over the declared limit, correctly signed."""
    base = bases[0]
    doc = message(base)

    def body(padding: int) -> bytes:
        return base.provider.envelope(base.record.kind, {**doc, PADDING_FIELD: "x" * padding},
                                      message_id=base.event_id, settings=base.settings).body

    # "x" needs no escaping in JSON, a JSON string or a form field: the body grows by one byte per character
    sized = body(base.body_limit + 1 - len(body(0)))
    return [ProbeRequest(f"{len(sized)} bytes", sized, base.sign(sized))]


@check(id="LIM-01", needs=frozenset({"oversized"}), suite="standard")
def oversized_refused(context: Context) -> CheckResult:
    """A correctly signed body one byte over the receiver's limit gets 413 (or a 4xx): never 2xx, 5xx or a hang.

    The limit is the catalogue's default, 1 MiB, unless the receiver declares its own (`--body-limit BYTES`):
    a receiver that takes 5 MB bodies by design is checked at 5 MB + 1, not failed at 1 MiB + 1. The
    catalogue's 25 MB step is left to `fleetsim load`. A receiver that answers
    413 and closes while the body is still arriving may be seen as a reset: that counts as refused when the
    receiver answered nothing else (flat memory is not measured here).
    """
    probes = context.of("oversized")
    if not probes:
        return _missing("oversized")
    expected = "413 (or a 4xx) before the whole body is read; never 2xx, 5xx or a hang"
    for a in probes:
        if a.outcome in ("timeout_total", "timeout_connect"):
            return CheckResult(FAILED, f"no answer to a {a.variant} body within the deadline", a, expected)
        if _answered(a) and a.status is not None and (a.status < 300 or a.status >= 500):
            return CheckResult(FAILED, f"a {a.variant} body was answered {a.status}", a, expected)
        if not (_answered(a) and a.status is not None and 400 <= a.status < 500) and a.outcome != "reset":
            return CheckResult(ERROR, f"a {a.variant} body got {a.status or a.outcome}: inconclusive", a, expected)
    got = ", ".join(str(a.status) if a.status else "closed early" for a in probes)
    return CheckResult(PASSED, f"a {probes[0].variant} body was refused ({got})")


# --- LIM-04: gzip bomb --------------------------------------------------------------------------------------


@functools.cache
def _bomb_prefix() -> tuple[bytes, zlib._Compress]:
    """The compressed 128 MiB of whitespace and the compressor's state after it (built once, on first use, in
    1 MiB steps: never 128 MiB in memory). Whitespace before a JSON document is still that document."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip member
    chunk = b" " * (1 << 20)
    prefix = b"".join(compressor.compress(chunk) for _ in range(BOMB_INFLATED_BYTES >> 20))
    return prefix, compressor


def gzip_bomb(document: bytes) -> bytes:
    """One gzip member that inflates to 128 MiB of whitespace followed by `document` (about 130 KB)."""
    prefix, state = _bomb_prefix()
    compressor = state.copy()
    return prefix + compressor.compress(document) + compressor.flush()


@probe("gzip_bomb")

def gzip_bomb_probe(bases: Sequence[Base]) -> list[ProbeRequest]:
    """`Content-Encoding: gzip`, ~130 KB that inflates to 128 MiB of whitespace and the real event."""
    base = bases[0]
    body = gzip_bomb(base.body)
    headers = {**base.sign(body), "Content-Encoding": "gzip"}
    return [ProbeRequest(f"{len(body)} bytes inflating to {BOMB_INFLATED_BYTES + len(base.body)}", body, headers)]


@check(id="LIM-04", needs=frozenset({"gzip_bomb"}), suite="standard")
def gzip_bomb_refused(context: Context) -> CheckResult:
    """A gzip bomb (~130 KB inflating to 128 MiB) is refused with 413/415 before inflating; never 2xx, 5xx, a timeout.

    The signature covers the compressed bytes as sent (signing 128 MiB would cost the harness what it tests the
    receiver for). 413 and 415 are what the catalogue names. Another 4xx passes with a note: HTTP cannot tell a
    receiver that never inflated the body (it checked the signature over the bytes sent, or could not parse
    them) from one that inflated all 128 MiB and then refused the signature, which covers only the compressed
    bytes. A timeout fails: the receiver was busy inflating.
    """
    probes = context.of("gzip_bomb")
    if not probes:
        return _missing("gzip_bomb")
    expected = "413 (decoding bounded at the body limit) or 415 (no gzip taken), before inflating it all"
    for a in probes:
        if a.outcome in ("timeout_total", "timeout_connect"):
            return CheckResult(FAILED, f"no answer to a gzip bomb within {context.timeout_s:g} s (inflating it?)",
                               a, expected)
    found = _rejected(context, "gzip_bomb", "gzip bombs")
    other = sorted({a.status for a in probes if a.status is not None and a.status not in (413, 415)})
    if found.status != PASSED or not other:
        return found
    return CheckResult(PASSED, f"{found.reason}; note: {'/'.join(map(str, other))}, not 413/415: if the receiver "
                       "inflates before it checks the signature, make sure its decoding stops at the body limit "
                       "(HTTP cannot show whether it inflated all 128 MiB first)", found.exchange, found.expected,
                       dict(found.metrics))


# --- LIM-05: a burst --------------------------------------------------------------------------------------


@probe("burst", events=BURST_EVENTS, well_formed=True)
def burst(bases: Sequence[Base]) -> list[ProbeRequest]:
    """Genuine fresh events, correctly signed, sent back to back at the harness's full concurrency."""
    return [ProbeRequest("fresh event", base.body, base.sign(base.body), event_id=base.event_id) for base in bases]


@check(id="LIM-05", needs=frozenset({"burst"}), suite="full")
def burst_absorbed(context: Context) -> CheckResult:
    """A burst of genuine events is acknowledged (2xx), or pushed back with 429/503 and Retry-After; never a 5xx.

    Adapted: 40 fresh events as fast as the harness's connections allow (4 in flight), not the catalogue's
    60 s at 10x the nominal rate (`fleetsim load` runs that). That no event is missing after retries needs a
    probe of the receiver's state.
    """
    probes = context.of("burst")
    if not probes:
        return _missing("burst")
    delivery = context.provider.delivery
    expected = f"{delivery.describe_success()}, or 429/503 with Retry-After; never another 5xx"
    pushed_back = 0
    for a in probes:
        if a.status in (429, 503):
            if a.retry_after_s is None:
                return CheckResult(FAILED, f"a burst event was answered {a.status} without Retry-After", a, expected)
            pushed_back += 1
        elif a.outcome in ("timeout_total", "timeout_connect"):
            return CheckResult(FAILED, f"a burst event got no answer within {context.timeout_s:g} s", a, expected)
        elif _answered(a) and a.status is not None and not delivery.is_success(a.status):
            return CheckResult(FAILED, f"a burst event was answered {a.status}", a, expected)
        elif not _answered(a):
            return CheckResult(ERROR, f"a burst event got no HTTP answer ({a.outcome})", a, expected)
    slowest = max(a.latency_s for a in probes)
    return CheckResult(PASSED, f"{len(probes) - pushed_back}/{len(probes)} acknowledged, {pushed_back} pushed back "
                       f"with Retry-After; slowest {slowest * 1000:.0f} ms",
                       metrics={"count": float(len(probes)), "pushed_back": float(pushed_back)})


# --- TIM-04: the status-code audit ------------------------------------------------------------------------

#: copies whose every answer must be a 4xx: a 2xx is silent acceptance
MUST_REJECT = frozenset({"tampered_signature", "missing_signature", "stale_timestamp", "future_timestamp",
                         "corrupt_body", "gzip_bomb", "oversized"})
#: probes whose every request must get a 4xx too (a body, signature or timestamp changed after signing, a wrong or
#: malformed signature, a malformed timestamp), but for the one variant named: a genuine delivery sent after them
MUST_REJECT_PROBES: dict[str, str | None] = {
    "tampered_body": None, "signature_echo": None, "timestamp_changed": None, "malformed_timestamp": None,
    "malformed_signature": "genuine afterwards",
}
#: the delivery engine's copies that carry well-formed, acceptable deliveries: a 5xx there is not "bad input"
#: (SIG-01 and IDM-01 judge them); probes say so themselves (`Probe.well_formed`); everything else is bad input
WELL_FORMED = frozenset({GENUINE, DUPLICATE})


def _well_formed(copy: str) -> bool:
    probe = PROBES.get(copy)
    return copy in WELL_FORMED or (probe is not None and probe.well_formed)


def _finding(a: Attempt) -> str | None:
    status = a.status
    if not _answered(a) or status is None:
        return None
    if status < 300 and (a.copy in MUST_REJECT or (a.copy in MUST_REJECT_PROBES
                                                     and a.variant != MUST_REJECT_PROBES[a.copy])):
        return f"{status} on {a.copy} (silent acceptance)"
    if a.copy == "forward_compat":  # to be acknowledged, not refused: MAL-03 judges it, TIM-04 names the class
        if a.variant in UNKNOWN_TYPES and 400 <= status < 500 and status != 429:
            return f"{status} on an {a.variant} (a retry storm or a lost event)"
        if status >= 500 and not (status == 503 and a.retry_after_s is not None):
            return f"{status} on forward_compat, {a.variant} (acknowledge what is not understood: 2xx)"
        return None
    if not _well_formed(a.copy) and status >= 500 and not (status == 503 and a.retry_after_s is not None):
        return f"{status} on {a.copy} (bad input is permanent: 4xx)"
    return None


@check(id="TIM-04", suite="standard")
def status_code_audit(context: Context) -> CheckResult:
    """Across all exchanges: no 2xx on what must be refused, no 4xx on an unknown event type, no 5xx on bad input.

    Audits whatever the other selected checks sent (it sends nothing itself): 2xx on a bad, malformed or missing
    signature, a body or timestamp changed after signing, a stale, future or malformed timestamp, a truncated
    body, an oversized body or a gzip bomb is silent acceptance; a 4xx
    on MAL-03's unknown event type (or alert condition id) makes the platform retry or drop it; a 5xx on any
    probe that is not a well-formed delivery (503 with Retry-After aside) is a crash on bad input, and a 5xx on
    MAL-03's deliveries a failure to acknowledge what is not understood.
    """
    audited = [a for a in context.exchanges if _answered(a)]
    if not audited:
        return CheckResult(SKIPPED, "no exchange was answered: nothing to audit")
    found = [(a, text) for a in audited if (text := _finding(a)) is not None]
    # the exchange shown: a delivery engine's copy before a probe's (a probe may carry a 64 KiB header)
    found.sort(key=lambda item: item[0].copy not in MUST_REJECT)
    if not found:
        return CheckResult(PASSED, f"{len(audited)} answered exchanges audited: every status fits its class")
    counted: dict[str, int] = {}
    for _, text in found:
        counted[text] = counted.get(text, 0) + 1
    summary = "; ".join(f"{text} x{n}" if n > 1 else text for text, n in counted.items())
    return CheckResult(FAILED, f"{len(found)} of {len(audited)} exchanges break their class: {summary}",
                       found[0][0], "2xx only for accepted events, 4xx for permanent errors, 5xx only for "
                       "transient ones")
