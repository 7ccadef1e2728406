"""Signature and replay checks beyond the first slice (checks.py): SIG-02, SIG-03, SIG-05, SIG-06, SIG-07,
SIG-10, SIG-11, RPL-03, RPL-04 and RPL-05.

Probes are built from fresh events of the scenario and signed exactly as the provider signs (`Base.sign`);
checks judge the recorded answers. See docs/conformance-catalogue.md §1.1 and §1.2.

Nothing here knows a provider by name: which header carries the signature, which the timestamp, the signature's
prefix and alphabet, and whether several signatures may be sent at once are all found by asking the provider's
signer (signing the same body at two timestamps, two bodies at one timestamp, with one key and with two).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any
from urllib.parse import quote_plus, urlencode

import orjson

from simulator.delivery.faults import wrong_psk
from simulator.delivery.model import Attempt
from simulator.delivery.redaction import MASK
from simulator.errors import SecretError
from simulator.providers import Provider
from simulator.signing import SIGNERS, Secret

from .checks import _answered, _missing, _rejected, signs
from .probing import Base, ProbeRequest, probe
from .registry import ERROR, FAILED, PASSED, SKIPPED, CheckResult, Context, check

#: RPL-03's offsets: 10 s inside the catalogue's 299 s, for clock skew and the time the probes take to arrive
EDGE_S = 290
#: text in an error answer that shows a stack trace (Python, Java)
STACK_MARKERS = ("Traceback (most recent call last)", "at java.", 'File "')
#: separators that end a signature's scheme prefix (`v1=`, `sha256=`, `v1,`)
_PREFIX_ENDS = "=,:"
_HEX = re.compile(r"[0-9a-f]+")
#: answers that show nothing about the rule: a redirect, or being told to slow down
_INCONCLUSIVE = frozenset({"3xx", "429"})
#: a key the receiver never had: SIG-07's "valid under the old key" entry (fixed, so probes stay pure)
RETIRED_KEY = Secret(hashlib.sha256(b"fleetsim SIG-07 retired signing key").digest())


# --- what the provider's signer tells us ------------------------------------------------------------------------


def _has_auth(provider: Provider, has_secret: bool) -> bool:
    return signs(provider) and has_secret


def _authenticated(provider: Provider, has_secret: bool) -> bool:
    """The settings authenticate the provider's requests: a signer's secret, or a static token (MettaX)."""
    return has_secret


def can_authenticate(provider: Provider) -> bool:
    """The provider signs its requests, or its settings take a credential it sends as it is (a MettaX token)."""
    return signs(provider) or any(isinstance(v, dict) and v.get("x-secret") and key != "secret"
                                  for key, v in provider.settings_schema.get("properties", {}).items())


def _pre_shared(provider: Provider) -> bool:
    return can_authenticate(provider) and not provider.auth.covers_body


_NOTHING_CONFIGURED = ("{provider} authenticates nothing as configured (no secret or token in its settings): "
                       "there is no credential to leave out or get wrong")


def _covers_body(provider: Provider) -> bool:
    return provider.auth.covers_body


def _timestamped(provider: Provider) -> bool:
    return provider.auth.signed_timestamp


@cache
def _rotating(signing: str) -> bool:
    signer = SIGNERS[signing]
    if not signer.covers_body:
        return False
    keys = (Secret(b"\x01" * 32), Secret(b"\x02" * 32))
    try:  # a profile that signs with one key at a time refuses two (signing_secret)
        both = signer.sign(b"{}", keys, timestamp=0, message_id="probe")
    except SecretError:
        return False
    one = signer.sign(b"{}", keys[:1], timestamp=0, message_id="probe")
    return any(len(value) > len(one.get(name, "")) for name, value in both.items())


def rotates(provider: Provider) -> bool:
    """True when the provider's signer puts one signature per key in a header (key rotation, SIG-07)."""
    return _rotating(provider.signing)


def _signature_header(base: Base) -> str:
    """The authentication header whose value depends on the body: the signature."""
    one, two = base.sign(b"0"), base.sign(b"1")
    return next(name for name in sorted(base.auth_header_names()) if one[name] != two[name])


def _timestamp_headers(base: Base) -> list[str]:
    """The authentication headers that carry the signing timestamp as sent."""
    now, later = base.sign(base.body), base.sign(base.body, timestamp=base.now + 1)
    return [name for name in sorted(base.auth_header_names())
            if now[name] == str(base.now) and later[name] == str(base.now + 1)]


def _split(base: Base, name: str) -> tuple[str, str]:
    """The signature header of `base`'s own signature as (scheme prefix, digest): the prefix is what signatures
    of different bodies share, up to its last separator."""
    values = [base.sign(bytes([48 + n]))[name] for n in range(4)]
    shared = values[0]
    for value in values[1:]:
        while not value.startswith(shared):
            shared = shared[:-1]
    cut = max(shared.rfind(ch) for ch in _PREFIX_ENDS) + 1
    value = base.sign(base.body)[name]
    return value[:cut], value[cut:]


def _flip(digest: str) -> str:
    """`digest` with one significant character changed within both alphabets (hex, base64): well-formed, wrong."""
    i = len(digest.rstrip("=")) - 2
    return digest[:i] + ("1" if digest[i] == "0" else "0") + digest[i + 1:]


def _readable(base: Base, body: bytes) -> bool:
    """True when the provider's adapter reads `body` as a valid message: then only authentication can refuse it."""
    try:
        checked = base.provider.adapter.inspect(base.provider, body, base.record.headers.get("Content-Type", ""))
    except Exception:  # Rejected, or anything an adapter raises on bytes it cannot read
        return False
    return not checked.errors


class _Text(int):
    """A timestamp whose text is `text`: signers format the timestamp with str(), so they sign over exactly the
    (malformed) text that is sent (RPL-05)."""

    text: str

    def __new__(cls, text: str) -> _Text:
        made = super().__new__(cls, 0)
        made.text = text
        return made

    def __str__(self) -> str:
        return self.text


# --- grading helpers --------------------------------------------------------------------------------------------


def _only(context: Context, keep: Callable[[Attempt], bool]) -> Context:
    return dataclasses.replace(context, exchanges=tuple(a for a in context.exchanges if keep(a)))


def _accepted(context: Context, copy: str, what: str, *, variant: str | None = None) -> CheckResult:
    """Every `copy` probe (of `variant`, if given) acknowledged as the provider counts success."""
    probes = context.of(copy, variant)
    if not probes:
        return _missing(copy)
    delivery = context.provider.delivery
    expected = f"{delivery.describe_success()}: a correctly signed delivery"
    for a in probes:
        if _answered(a) and a.status is not None and not delivery.is_success(a.status) \
                and a.outcome not in _INCONCLUSIVE:
            return CheckResult(FAILED, f"refused {what} ({a.variant}): answered {a.status}", a, expected)
    for a in probes:
        if not _answered(a) or a.outcome in _INCONCLUSIVE:
            got = a.status if _answered(a) else a.outcome
            return CheckResult(ERROR, f"{what} ({a.variant}) got {got}: inconclusive", a, expected)
    return CheckResult(PASSED, f"{len(probes)}/{len(probes)} {what} acknowledged")


def _both(first: CheckResult, second: CheckResult, reason: str) -> CheckResult:
    """`first` unless it passed, then `second` unless it passed, then a pass with `reason`."""
    for result in (first, second):
        if result.status != PASSED:
            return result
    return CheckResult(PASSED, reason)


# --- SIG-02 ------------------------------------------------------------------------------------------------------


@probe("missing_signature", applies=_authenticated)

def missing_signature(bases: Sequence[Base]) -> list[ProbeRequest]:
    """The event without its authentication headers (each one left out alone, then all of them)."""
    base = bases[0]
    signed = base.sign(base.body)
    names = sorted(base.auth_header_names())
    requests = [ProbeRequest(f"without {name}", base.body, {k: v for k, v in signed.items() if k != name})
                for name in names]
    if len(names) > 1:
        requests.append(ProbeRequest("without any", base.body, base.unsigned_headers()))
    return requests


@check(id="SIG-02", needs=frozenset({"missing_signature"}), applies=can_authenticate,
       not_applicable="{provider} authenticates nothing: there is no header to leave out")
def missing_signature_rejected(context: Context) -> CheckResult:
    """A delivery without its signature header (or without its timestamp header) is rejected: 4xx, never 2xx.

    A static credential header (a MettaX token) is an authentication header too, when the settings give one.
    """
    if not context.of("missing_signature"):
        return CheckResult(SKIPPED, _NOTHING_CONFIGURED.format(provider=context.provider.name))
    return _rejected(context, "missing_signature", "deliveries without an authentication header")


# --- SIG-09's variants of a pre-shared header --------------------------------------------------------------------


def _psk_variants_apply(provider: Provider, has_secret: bool) -> bool:
    return has_secret and _pre_shared(provider)


@probe("psk_variants", applies=_psk_variants_apply)
def psk_variants(bases: Sequence[Base]) -> list[ProbeRequest]:
    """The pre-shared value near-right: its scheme in another case, a doubled space, the credential without its
    scheme, another case altogether, and the whole value moved to the query string (catalogue SIG-09)."""
    base = bases[0]
    signed = base.sign(base.body)
    names = sorted(base.auth_header_names())
    if not names:
        return []
    header = next(k for k in signed if k.lower() == names[0].lower())
    value = signed[header]
    scheme, space, credential = value.partition(" ")
    wrong: list[tuple[str, str]] = []
    if space:
        wrong += [("scheme in another case", f"{scheme.swapcase()} {credential}"),
                  ("a doubled space", f"{scheme}  {credential}"),
                  ("the credential without its scheme", credential)]
    if value.swapcase() != value:
        wrong.append(("the value in another case", value.swapcase()))
    if not base.secrets:  # a static token (MettaX): check's plan sends no engine tampered copy of it, so this does
        wrong.insert(0, ("a wrong value of the same shape", wrong_psk(Secret(value.encode())).reveal().decode()))
    requests = [ProbeRequest(f"{what}", base.body, {**signed, header: text}, redact=(text,))
                for what, text in wrong if text != value]
    unauthenticated = {k: v for k, v in signed.items() if k != header}
    requests.append(ProbeRequest("in the query string, not the header", base.body, unauthenticated,
                                 path="?" + urlencode({"token": value}), redact=(value, quote_plus(value))))
    return requests


@check(id="SIG-09", needs=frozenset({"tampered_signature", "psk_variants"}), applies=_pre_shared,
       not_applicable="{provider} sends no pre-shared header")
def wrong_psk_rejected(context: Context) -> CheckResult:
    """A delivery carrying a wrong pre-shared header value (same shape) is rejected: 4xx, never 2xx or 5xx.

    The wrong value keeps the scheme word (e.g. `Bearer`) and replaces the credential by one of the same length.
    The near-right variants the catalogue lists are rejected too: the scheme in another case, a doubled space,
    the credential without its scheme, the value in another case, the value in the query string instead of the
    header (leading and trailing whitespace is not sent: HTTP takes it off every header value).
    """
    if not context.of("tampered_signature") and not context.of("psk_variants"):
        return CheckResult(SKIPPED, _NOTHING_CONFIGURED.format(provider=context.provider.name))
    if not context.of("tampered_signature"):  # a static token: its wrong value is among the variants
        return _rejected(context, "psk_variants", "wrong or near-right values")
    wrong = _rejected(context, "tampered_signature", "wrong pre-shared values")
    if wrong.status != PASSED or not context.of("psk_variants"):
        return wrong
    near = _rejected(context, "psk_variants", "near-right variants")
    if near.status != PASSED:
        return near
    return CheckResult(PASSED, f"{wrong.reason}; {near.reason}")


# --- SIG-03 ------------------------------------------------------------------------------------------------------


def _digit_changed(base: Base) -> bytes | None:
    """The body with one digit changed (from the end: coordinates and ids, rarely a structural number), the
    first such change the adapter still reads as a valid message."""
    body = base.body
    tries = 0
    for i in range(len(body) - 1, -1, -1):
        if 48 <= body[i] <= 57:
            changed = body[:i] + bytes([48 + (body[i] - 47) % 10]) + body[i + 1:]
            if _readable(base, changed):
                return changed
            tries += 1
            if tries >= 40:
                break
    return None


def _first_number(value: Any) -> list[Any] | None:
    """The path to the first number (not a boolean) in a JSON document, depth first."""
    if isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            path = _first_number(item)
            if path is not None:
                return [key, *path]
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return []
    return None


def _value_changed(base: Base) -> bytes | None:
    """The body with its first number increased by one, serialised again (the body is compact JSON)."""
    try:
        doc = orjson.loads(base.body)
    except orjson.JSONDecodeError:
        return None
    path = _first_number(doc)
    if not path:
        return None
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] += 1
    changed = orjson.dumps(doc)
    return changed if _readable(base, changed) else None


@probe("tampered_body", applies=lambda p, secret: _has_auth(p, secret) and p.auth.covers_body)

def tampered_body(bases: Sequence[Base]) -> list[ProbeRequest]:
    """The event with one byte (a digit) or one JSON value (a number) changed after signing, the signature kept."""
    base = bases[0]
    signed = base.sign(base.body)
    variants = [("one digit changed", _digit_changed(base)), ("one JSON number changed", _value_changed(base))]
    return [ProbeRequest(label, body, signed) for label, body in variants if body is not None]


@check(id="SIG-03", needs=frozenset({"tampered_body"}), applies=_covers_body,
       not_applicable="{provider} signs no body: a changed body cannot be told from the original")
def tampered_body_rejected(context: Context) -> CheckResult:
    """A body changed by one byte or one JSON value after signing, the signature kept, is rejected: 4xx.

    Each changed body is still a valid message of its kind (the probe asks the provider's adapter), so a receiver
    that does not verify would accept it rather than refuse it for its content.
    """
    return _rejected(context, "tampered_body", "bodies changed after signing")


# --- SIG-05 ------------------------------------------------------------------------------------------------------


def _malformed_signatures(prefix: str, digest: str) -> list[tuple[str, str]]:
    swapped = {"=": ",", ",": "="}
    variants: list[tuple[str, str]] = []
    if prefix and prefix[-1] in swapped:
        variants.append((f"prefix {prefix[-1]!r} swapped", prefix[:-1] + swapped[prefix[-1]] + digest))
    middle = len(digest) // 2
    variants.append(("characters outside the alphabet", prefix + digest[:middle] + "#!" + digest[middle + 2:]))
    variants.append(("truncated", prefix + digest[:middle]))
    if _HEX.fullmatch(digest) and digest != digest.upper():
        variants.append(("upper-case hex", prefix + digest.upper()))
    variants.append(("empty", ""))
    variants.append(("64 KiB long", prefix + "a" * 65536))
    variants.append(("two values joined by a comma", f"{prefix}{digest},{prefix}{digest}"))
    return variants


@probe("malformed_signature", events=2, applies=lambda p, secret: _has_auth(p, secret) and p.auth.covers_body)

def malformed_signature(bases: Sequence[Base]) -> list[ProbeRequest]:
    """The event with a malformed signature header (prefix, alphabet, length, case, empty, 64 KiB, two values),
    then a genuine event once those were answered."""
    base, after = bases[0], bases[1]
    name = _signature_header(base)
    signed = base.sign(base.body)
    requests = [ProbeRequest(label, base.body, {**signed, name: value})
                for label, value in _malformed_signatures(*_split(base, name))]
    requests.append(ProbeRequest("genuine afterwards", after.body, after.sign(after.body), phase=1,
                                 event_id=after.event_id))
    return requests


@check(id="SIG-05", needs=frozenset({"malformed_signature"}), applies=_covers_body, suite="standard",
       not_applicable="{provider} sends no signature header to malform (a pre-shared value is SIG-09)")
def malformed_signature_rejected(context: Context) -> CheckResult:
    """A malformed signature header is answered 4xx, never 2xx or 5xx, and the receiver stays up.

    The variants follow the provider's scheme as its signer shows it: the prefix's separator swapped (`v1=` for
    `v1,` and back), characters outside the alphabet, truncated, upper-case (hex digests only), empty, 64 KiB
    long, two values joined by a comma. "Stays up" is a genuine delivery of a fresh event sent once every
    malformed one was answered: it must be acknowledged.
    """
    genuine = "genuine afterwards"
    malformed = _rejected(_only(context, lambda a: a.variant != genuine), "malformed_signature",
                          "malformed signature headers")
    after = _accepted(context, "malformed_signature", "a genuine delivery after the malformed ones",
                      variant=genuine)
    if after.status == ERROR and malformed.status != ERROR and after.exchange is not None \
            and after.exchange.outcome in ("conn_refused", "reset"):
        after = CheckResult(FAILED, "the receiver stopped answering after malformed signature headers "
                            f"({after.exchange.outcome})", after.exchange, after.expected)
    return _both(malformed, after, f"{malformed.reason}; a genuine delivery afterwards was acknowledged")


# --- SIG-06 ------------------------------------------------------------------------------------------------------


def _reordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _reordered(value[key]) for key in reversed(value)}
    if isinstance(value, list):
        return [_reordered(item) for item in value]
    return value


def _escape(text: str) -> str:
    """`text` as a JSON string with every non-ASCII character and every "e" written as a \\u escape."""
    return '"' + "".join(f"\\u{ord(ch):04x}" if ord(ch) > 127 or ch == "e" else json.dumps(ch)[1:-1]
                         for ch in text) + '"'


def _escaped(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{_escape(key)}:{_escaped(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_escaped(item) for item in value) + "]"
    if isinstance(value, str):
        return _escape(value)
    return orjson.dumps(value).decode()


def _reformatted(doc: Any, form: int) -> tuple[str, bytes]:
    """Form `form` of the same JSON document in other bytes."""
    if form == 0:
        return "extra whitespace", json.dumps(doc, indent=2, ensure_ascii=False).encode()
    if form == 1:
        return "keys reordered", orjson.dumps(_reordered(doc))
    if form == 2:
        return "\\u escapes", _escaped(doc).encode()
    return "trailing newline", orjson.dumps(doc) + b"\n"


@probe("reformatted_body", events=4, well_formed=True,
       applies=lambda p, secret: _has_auth(p, secret) and p.auth.covers_body)
def reformatted_body(bases: Sequence[Base]) -> list[ProbeRequest]:
    """Four events, each in other bytes of the same JSON (indented, keys reordered, \\u escapes, a trailing
    newline), each signed over exactly the bytes sent."""
    requests = []
    for form, base in enumerate(bases):
        try:
            doc = orjson.loads(base.body)
        except orjson.JSONDecodeError:
            continue  # not JSON: there is no other spelling of it to send
        label, body = _reformatted(doc, form)
        if _readable(base, body):
            requests.append(ProbeRequest(label, body, base.sign(body), event_id=base.event_id))
    return requests


@check(id="SIG-06", needs=frozenset({"reformatted_body"}), applies=_covers_body, suite="standard",
       not_applicable="{provider} signs no body: how its bytes are spelled cannot matter to authentication")
def raw_body_verified(context: Context) -> CheckResult:
    """The same JSON in other bytes, signed over exactly the bytes sent, is accepted: the raw body is verified.

    Each form is a different fresh event, so deduplication cannot hide a refusal, and only forms the provider's
    adapter reads as valid messages are sent (a provider whose bodies are not JSON gets none).
    """
    return _accepted(context, "reformatted_body", "re-spelled JSON bodies signed over their own bytes")


# --- SIG-07 ------------------------------------------------------------------------------------------------------


def _rotation_request(base: Base, form: int) -> ProbeRequest:
    name = _signature_header(base)
    current = base.sign(base.body)
    retired = base.sign(base.body, secrets=(RETIRED_KEY,))[name]
    both = base.sign(base.body, secrets=(RETIRED_KEY, *base.secrets))[name]
    valid = current[name]
    # what the signer puts between two entries (a space for Standard Webhooks)
    separator = both[len(retired):len(both) - len(valid)] if both.startswith(retired) else " "
    prefix, digest = _split(base, name)
    newer = re.sub(r"[0-9]+", lambda m: str(int(m.group()) + 1), prefix, count=1)
    invalid = prefix + _flip(digest)
    forms = [("retired key, then current key", both),
             ("an invalid value, then a valid one", invalid + separator + valid),
             ("an unknown version, then a valid one", newer + _flip(digest) + separator + valid),
             ("only invalid values", retired + separator + invalid)]
    label, value = forms[form]
    return ProbeRequest(label, base.body, {**current, name: value}, event_id=base.event_id)


@probe("rotated_signatures", events=4, applies=lambda p, secret: _has_auth(p, secret) and rotates(p))

def rotated_signatures(bases: Sequence[Base]) -> list[ProbeRequest]:
    """Four events, each with several signatures in one header: a retired key's and the current one, an invalid
    and a valid one, an unknown version and a valid one, and only invalid ones."""
    return [_rotation_request(base, form) for form, base in enumerate(bases)]


@check(id="SIG-07", needs=frozenset({"rotated_signatures"}), applies=rotates, suite="standard",
       not_applicable="{provider} sends one signature per request: there is no key rotation to test")
def rotation_accepted(context: Context) -> CheckResult:
    """Several signatures in one header are accepted when any one known-version entry is valid, rejected when none.

    "Valid under the old key" is a signature made with a key the receiver was never given (a retired key):
    to the receiver it is an entry that does not verify, like after a rotation. The unknown version is the
    scheme's version number plus one.
    """
    invalid = "only invalid values"
    accepted = _accepted(_only(context, lambda a: a.variant != invalid), "rotated_signatures",
                         "headers with one valid signature among several")
    rejected = _rejected(_only(context, lambda a: a.variant == invalid), "rotated_signatures",
                         "headers with only invalid signatures")
    return _both(accepted, rejected, f"{accepted.reason}; {rejected.reason}")


# --- SIG-10 ------------------------------------------------------------------------------------------------------


@probe("signature_echo", applies=lambda p, secret: _has_auth(p, secret) and p.auth.covers_body)

def signature_echo(bases: Sequence[Base]) -> list[ProbeRequest]:
    """The event with a wrong signature; the signature the receiver should expect is masked in its answer."""
    base = bases[0]
    name = _signature_header(base)
    prefix, digest = _split(base, name)
    signed = base.sign(base.body)
    return [ProbeRequest("wrong signature", base.body, {**signed, name: prefix + _flip(digest)},
                         redact=(prefix + digest, digest))]


def _leak(a: Attempt) -> str | None:
    """What an error answer gives away, if anything, and where (its body or which header)."""
    places = [("its body", a.response_body.decode("utf-8", "replace")),
              *((f"its {name} header", value) for name, value in a.response_headers.items())]
    for where, text in places:
        if MASK in text:
            return f"a configured secret or the expected signature, in {where}"
    for marker in STACK_MARKERS:
        for where, text in places:
            if marker in text:
                return f"a stack trace ({marker!r}), in {where}"
    return None


@check(id="SIG-10", needs=frozenset({"signature_echo", "tampered_signature", "corrupt_body"}), suite="standard")
def no_echo_of_secrets(context: Context) -> CheckResult:
    """No error answer (4xx or 5xx) echoes the expected signature, the secret or a stack trace.

    Checks cannot see secrets, so the harness masks them: every configured secret, in every form it can
    travel in, is replaced in recorded answers by the redaction mask, and so is the signature the receiver should
    have expected for the `signature_echo` probe (a wrong signature, sent with the right one listed as a value to
    mask). The mask in an error answer is therefore an echo. Judged over every error answer of the run: the
    delivery engine's tampered and corrupt copies and every probe.
    """
    errors = [a for a in context.exchanges if _answered(a) and a.status is not None and a.status >= 400]
    if not errors:
        return CheckResult(SKIPPED, "no delivery was refused: there is no error answer to judge")
    for a in errors:
        leak = _leak(a)
        if leak is not None:
            return CheckResult(FAILED, f"an error answer ({a.status}, {a.copy}) contains {leak}", a,
                               "error answers that name the failure only: no secret, expected signature or trace")
    return CheckResult(PASSED, f"{len(errors)} error answers checked: none echoes a secret, the expected signature "
                       "or a stack trace")


# --- SIG-11 ------------------------------------------------------------------------------------------------------

OTHER_METHODS = ("GET", "PUT", "DELETE", "PATCH")


@probe("other_methods")

def other_methods(bases: Sequence[Base]) -> list[ProbeRequest]:
    """The event, correctly signed, sent with GET, PUT, DELETE and PATCH instead of POST."""
    base = bases[0]
    signed = base.sign(base.body)
    return [ProbeRequest(method, base.body, signed, method=method) for method in OTHER_METHODS]


@check(id="SIG-11", needs=frozenset({"other_methods"}), suite="standard")
def other_methods_refused(context: Context) -> CheckResult:
    """GET, PUT, DELETE and PATCH to the webhook URL are answered 405, never 2xx (ideally with Allow).

    The requests carry a correctly signed event, so a receiver that ignores the method would process it. A
    missing `Allow` header is reported in the reason, not failed; that nothing happened is graded on HTTP only.
    """
    probes = context.of("other_methods")
    if not probes:
        return _missing("other_methods")
    expected = "405 Method Not Allowed (with Allow: POST), never 2xx"
    for a in probes:
        if _answered(a) and a.status is not None and a.status != 405 and a.outcome not in _INCONCLUSIVE:
            return CheckResult(FAILED, f"{a.method} to the webhook URL was answered {a.status}", a, expected)
    for a in probes:
        if not _answered(a) or a.status != 405:
            got = a.status if _answered(a) else a.outcome
            return CheckResult(ERROR, f"{a.method} got {got}: inconclusive", a, expected)
    no_allow = [a.method for a in probes if not any(k.lower() == "allow" for k in a.response_headers)]
    note = f"; no Allow header for {', '.join(no_allow)}" if no_allow else " with Allow"
    return CheckResult(PASSED, f"{', '.join(a.method for a in probes)} answered 405{note}")


# --- RPL-03 ------------------------------------------------------------------------------------------------------


@probe("timestamp_edges", events=2, well_formed=True,
       applies=lambda p, secret: _has_auth(p, secret) and p.auth.signed_timestamp)
def timestamp_edges(bases: Sequence[Base]) -> list[ProbeRequest]:
    """Two events correctly signed 290 s in the past and 290 s in the future (EDGE_S) of the second each is sent."""
    return [ProbeRequest(f"{label} {EDGE_S} s", base.body, base.sign(base.body, timestamp=base.now + offset),
                         event_id=base.event_id, sign_at=_edge_signer(base, offset))
            for base, (label, offset) in zip(bases, (("past", -EDGE_S), ("future", EDGE_S)), strict=True)]


def _edge_signer(base: Base, offset: int) -> Callable[[int], dict[str, str]]:
    return lambda second: base.sign(base.body, timestamp=second + offset)

_NO_TIMESTAMP = "{provider} signs no timestamp; replay exposure is a property of the platform (RPL-07)"


@check(id="RPL-03", needs=frozenset({"timestamp_edges"}), applies=_timestamped, suite="standard",
       not_applicable=_NO_TIMESTAMP)
def timestamp_edges_accepted(context: Context) -> CheckResult:
    """Correctly signed deliveries 290 s in the past and 290 s in the future are accepted (tolerance not too tight).

    290 s rather than the catalogue's 299 s: the probes are signed in the second they are sent and arrive a moment
    later, and the two clocks may differ by a second or two; a receiver with the usual 300 s window must not fail
    on that. Either way, both clocks must be on NTP. A past probe that still left more than 300 s old (it waited
    in the sender after it was signed) and was refused is inconclusive (error), not failed.
    """
    result = _accepted(context, "timestamp_edges", f"timestamps {EDGE_S} s off")
    late = _sent_late(result.exchange) if result.status == FAILED else None
    if late is not None:  # a refusal of a probe older than the usual window when it left says nothing
        return CheckResult(ERROR, f"inconclusive: the {result.exchange.variant if result.exchange else ''} probe "
                           f"went out {late:.0f} s after it was signed (it waited in the sender), "
                           f"{EDGE_S + late:.0f} s off by then: past a {USUAL_WINDOW_S} s window, so its refusal is "
                           "no verdict", result.exchange, result.expected)
    ntp = "; keep the receiver's clock on NTP: signed timestamps are only as good as both clocks"
    return dataclasses.replace(result, reason=result.reason + ntp)


#: RPL-03: the freshness window most receivers keep (Standard Webhooks' and Samsara's 5 minutes); a past probe
#: that waited so long behind slow answers that it left older than this proves nothing when refused
USUAL_WINDOW_S = 300


def _sent_late(a: Attempt | None) -> float | None:
    """How long after its signed timestamp's intended offset the past-edge probe `a` went out, when that made it
    older than USUAL_WINDOW_S; None otherwise (and for the future-edge probe, which only gets younger)."""
    if a is None or not (a.variant or "").startswith("past"):
        return None
    stamps = [v for k, v in a.request_headers.items() if "timestamp" in k.lower() and v.isdigit()]
    if not stamps:
        return None
    age = a.sent_at - int(stamps[0])
    return age - EDGE_S if age > USUAL_WINDOW_S else None


# --- RPL-04 ------------------------------------------------------------------------------------------------------


@probe("timestamp_changed", applies=lambda p, secret: _has_auth(p, secret) and p.auth.signed_timestamp)

def timestamp_changed(bases: Sequence[Base]) -> list[ProbeRequest]:
    """The event correctly signed, then its timestamp header moved by +1 s and by -60 s, the signature kept."""
    base = bases[0]
    signed = base.sign(base.body)
    names = _timestamp_headers(base)
    return [ProbeRequest(f"timestamp {shift:+d} s", base.body, {**signed, **{n: str(base.now + shift) for n in names}})
            for shift in (1, -60)]


@check(id="RPL-04", needs=frozenset({"timestamp_changed"}), applies=_timestamped, suite="standard",
       not_applicable=_NO_TIMESTAMP)
def timestamp_changed_rejected(context: Context) -> CheckResult:
    """A delivery whose timestamp header was changed after signing (signature kept) is rejected: 4xx.

    Both changed timestamps are well inside any freshness window, so only a signature that covers the
    timestamp can refuse them.
    """
    return _rejected(context, "timestamp_changed", "timestamps changed after signing")


# --- RPL-05 ------------------------------------------------------------------------------------------------------


def _malformed_timestamps(now: int) -> list[tuple[str, int]]:
    return [("not a number", _Text("now")), ("milliseconds", now * 1000), ("negative", -now),
            ("a decimal", _Text(f"{now}.5")), ("1e12", _Text("1e12")), ("empty", _Text(""))]


@probe("malformed_timestamp", applies=lambda p, secret: _has_auth(p, secret) and p.auth.signed_timestamp)

def malformed_timestamp(bases: Sequence[Base]) -> list[ProbeRequest]:
    """The event with a malformed timestamp (not a number, milliseconds, negative, a decimal, 1e12, empty), each
    signed over that very text."""
    base = bases[0]
    names = _timestamp_headers(base)
    requests = []
    for label, stamp in _malformed_timestamps(base.now):
        headers = base.sign(base.body, timestamp=stamp)
        # a signer that formats the timestamp itself signs something else: the header still carries the text
        headers.update({n: str(stamp) for n in names})
        requests.append(ProbeRequest(label, base.body, headers))
    return requests


@check(id="RPL-05", needs=frozenset({"malformed_timestamp"}), applies=_timestamped, suite="standard",
       not_applicable=_NO_TIMESTAMP)
def malformed_timestamp_rejected(context: Context) -> CheckResult:
    """A malformed timestamp header (not a number, milliseconds, negative, a decimal, 1e12, empty) gets a 4xx.

    Each is signed over the very text sent, so only the timestamp's form is wrong.
    """
    return _rejected(context, "malformed_timestamp", "malformed timestamps")
