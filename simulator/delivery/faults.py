"""Delivery faults: which copies of each event go out and when (`plan_jobs`), and the exact bytes of each copy
at send time (`apply_fault`).

Pure: no clock, no I/O, no global random state. The scenario's `Faults` and a seeded `random.Random` are
passed in, so the same records, faults and seed always give the same plan.

Plan, per record (after the optional reorder):

- drop (share) -> `Skip(record, "fault_drop")`: nothing is sent; accounting counts it as skipped;
- otherwise one genuine `Job`, due at ``(send_t - start) + delay ± jitter`` (scenario seconds, >= 0);
- probes (each with its share, only where the provider's signer makes the probe meaningful, see
  `applicable_probes`): an extra Job per probe, due just BEFORE the genuine one;
- duplicate (share): an extra Job "duplicate", due just after the genuine one.

A probe never replaces the genuine delivery. The event must still be delivered so the accounting stays
meaningful (every generated event ends delivered, failed or skipped for a stated reason, and "failed" keeps
meaning "the receiver did not take a correct delivery"), while the probe tests the receiver's rejection path.
Sending the probe first also checks that a rejected request does not poison the real one (a receiver that
records the event id before verifying would then swallow the genuine delivery as a "duplicate").

Reorder: records are shuffled within consecutive windows of `reorder_window` records. The shuffled records
take over the send slots of the window in order (the first record out gets the window's earliest send time),
so sending by `due` really delivers them out of order. Memory is one window of records.

Order of the output: plan_jobs yields in stream order (probes, then the genuine job, then its duplicate);
`due` is not monotonic when jitter or probes are in play, but a job is never due more than
`max_disorder_s(faults)` earlier than any job yielded before it, so a runner can order jobs with a bounded
look-ahead buffer. Ties in `due` (e.g. clamped to 0) should be broken by yield order.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import orjson

from ..errors import HarnessError, UsageError
from ..providers import PROVIDERS
from ..scenario.model import Faults
from ..signing import SIGNERS, Secret, Signer
from ..stream import Outgoing
from .model import DUPLICATE, GENUINE, PROBES, SKIP_REASONS, Job

TAMPERED_SIGNATURE, STALE_TIMESTAMP, FUTURE_TIMESTAMP, CORRUPT_BODY = PROBES

#: how far stale/future probes move the signed timestamp: twice the usual 300 s tolerance (RPL-01/02)
TIMESTAMP_SKEW_S = 600
#: a probe goes this much before the genuine job (several probes of one event are staggered by it)
PROBE_LEAD_S = 0.010
#: a duplicate goes this much after the genuine job (IDM-01; close enough to race it, IDM-02)
DUPLICATE_LAG_S = 0.010
#: a duplicate is a re-send: its signed timestamp is this much later than the wall clock when it goes, so it never
#: shares the genuine copy's second (and with it the very same signature) however soon after it goes; well inside
#: any tolerance (RPL-03 accepts 290 s)
DUPLICATE_LATER_S = 1

#: the Faults field holding each probe's share (the scenario says "tamper_signature", the copy is "tampered_...")
PROBE_SHARE_FIELDS = {
    TAMPERED_SIGNATURE: "tamper_signature",
    STALE_TIMESTAMP: "stale_timestamp",
    FUTURE_TIMESTAMP: "future_timestamp",
    CORRUPT_BODY: "corrupt_body",
}

_HEX = "0123456789abcdef"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@dataclass(frozen=True, slots=True)
class Skip:
    """A record that will not be sent, with its reason (one of model.SKIP_REASONS)."""

    record: Outgoing
    reason: str = "fault_drop"

    def __post_init__(self) -> None:
        if self.reason not in SKIP_REASONS:
            raise HarnessError(f"unknown skip reason {self.reason!r} (known: {', '.join(SKIP_REASONS)})")


def applicable_probes(signer: Signer, *, has_secret: bool, has_credential: bool = False) -> frozenset[str]:
    """The probes that mean something for a provider signed by `signer`.

    - tampered_signature: needs something to tamper with. Signers that cover the body get one character of
      the real signature flipped; PSK signers (PowUnity/Traccar) a wrong pre-shared value; a static credential
      header the settings add (`has_credential`: a MettaX token) a wrong value of the same shape. Without any
      (an unsigned provider without a token, a PSK profile with no PSK set) nothing authenticates the request,
      so a correct receiver has no reason to reject it: no probe.
    - stale_timestamp / future_timestamp: only where the signed content includes a timestamp.
    - corrupt_body: always; the receiver must answer a garbled body with 4xx (MAL-01), signed or not.
    """
    probes = {CORRUPT_BODY}
    if has_secret or has_credential:
        probes.add(TAMPERED_SIGNATURE)
    if has_secret and signer.timestamped:
        probes.update((STALE_TIMESTAMP, FUTURE_TIMESTAMP))
    return frozenset(probes)


def default_applicable(provider: str) -> frozenset[str]:
    """`applicable_probes` for a registered provider, assuming a secret is configured where its signer takes
    one. Runners that know the real secrets should pass `plan_jobs(applicable=...)` instead."""
    spec = PROVIDERS.get(provider)
    if spec is None:
        return frozenset({CORRUPT_BODY})
    signer = SIGNERS[spec.signing]
    return applicable_probes(signer, has_secret=signer.name != "none")


def max_disorder_s(faults: Faults) -> float:
    """How much earlier than an already-yielded job a later job of `plan_jobs` can be due (seconds)."""
    return 2 * faults.jitter_ms / 1000.0 + DUPLICATE_LAG_S + len(PROBES) * PROBE_LEAD_S


def _check_faults(faults: Faults) -> None:
    for name in ("duplicate", "drop", *PROBE_SHARE_FIELDS.values()):
        share = getattr(faults, name)
        if not 0.0 <= share <= 1.0:
            raise UsageError(f"faults.{name} is a share of events and must be between 0 and 1, not {share}")
    if faults.reorder_window < 0:
        raise UsageError(f"faults.reorder_window must be 0 or more records, not {faults.reorder_window}")
    if faults.delay_ms < 0 or faults.jitter_ms < 0:
        raise UsageError("faults.delay and faults.jitter must not be negative")


def _windows(records: Iterable[Outgoing], size: int, rng: random.Random) -> Iterator[tuple[Outgoing, float]]:
    """(record, slot send time): each window of `size` records shuffled; slots keep the window's times."""
    if size <= 1:
        for record in records:
            yield record, record.send_t
        return
    window: list[Outgoing] = []

    def flush() -> Iterator[tuple[Outgoing, float]]:
        slots = sorted(r.send_t for r in window)
        rng.shuffle(window)
        yield from zip(window, slots, strict=True)
        window.clear()

    for record in records:
        window.append(record)
        if len(window) == size:
            yield from flush()
    if window:
        yield from flush()


def plan_jobs(
    records: Iterable[Outgoing],
    faults: Faults,
    rng: random.Random,
    *,
    start: float,
    applicable: Mapping[str, Collection[str]] | None = None,
) -> Iterator[Job | Skip]:
    """Lazily turn the stream into jobs and skips (see the module docstring).

    `start` is the scenario start (epoch seconds): `due` is in seconds since it. `applicable` maps a provider
    to the probes that make sense for it (build it with `applicable_probes` from the real signer and whether
    a secret is configured); missing providers fall back to `default_applicable`. Probes are planned for
    webhook records only (a WebSocket frame has no signature headers to tamper with).
    """
    _check_faults(faults)
    delay = faults.delay_ms / 1000.0
    jitter = faults.jitter_ms / 1000.0
    cache: dict[str, frozenset[str]] = {}

    def probes_for(provider: str) -> frozenset[str]:
        found = cache.get(provider)
        if found is None:
            if applicable is not None and provider in applicable:
                found = frozenset(applicable[provider]) & frozenset(PROBES)
            else:
                found = default_applicable(provider)
            cache[provider] = found
        return found

    for record, slot_t in _windows(records, faults.reorder_window, rng):
        if faults.drop and rng.random() < faults.drop:
            yield Skip(record, "fault_drop")
            continue
        due = (slot_t - start) + delay
        if jitter:
            due += rng.uniform(-jitter, jitter)
        due = max(0.0, due)
        chosen: list[str] = []
        allowed = probes_for(record.provider) if record.channel == "webhook" else frozenset()
        for probe in PROBES:
            share: float = getattr(faults, PROBE_SHARE_FIELDS[probe])
            # draw whenever the share is set, applicable or not, so the plan of one provider does not
            # depend on which other providers' probes apply
            if share and rng.random() < share and probe in allowed:
                chosen.append(probe)
        for n, probe in enumerate(chosen):
            yield Job(record, probe, max(0.0, due - PROBE_LEAD_S * (len(chosen) - n)))
        yield Job(record, GENUINE, due)
        if faults.duplicate and rng.random() < faults.duplicate:
            yield Job(record, DUPLICATE, due + DUPLICATE_LAG_S)


# --- bytes of a copy at send time ---------------------------------------------------------------------------


def apply_fault(
    job: Job,
    body: bytes,
    headers: Mapping[str, str],
    *,
    signer: Signer,
    secrets: Sequence[Secret],
    now: int,
    message_id: str,
    delivery_header: str | None = None,
    credential_headers: frozenset[str] = frozenset(),
) -> tuple[bytes, dict[str, str]]:
    """The body and headers to send for `job`'s copy, signed at `now` (real wall-clock Unix seconds).

    `body`/`headers` are the record's (its headers may hold a signature made at the scheduled time; the
    signer's headers are replaced). `message_id` is the event id: retries, duplicates and probes all keep it.

    - genuine: a fresh, valid signature at `now`;
    - duplicate: a re-send of the event, as a platform's retry is: the same event id and body, a valid signature
      at a later second than the genuine copy's (DUPLICATE_LATER_S), and a new value of the provider's
      per-delivery id header when it has one (`delivery_header`: Samsara's X-Samsara-Request names one
      notification, provider-facts §3.4). A receiver deduplicating on the signature or the delivery id, not the
      event, applies it twice (IDM-01);
    - tampered_signature: valid-looking but wrong: one character of each signature entry flipped (same
      alphabet, same length), or for PSK profiles a wrong pre-shared value of the same shape; for a provider
      that signs nothing, its static credential headers (`credential_headers`, a MettaX token) made wrong alike;
    - stale_timestamp / future_timestamp: correctly signed at now -/+ TIMESTAMP_SKEW_S;
    - corrupt_body: a validly signed truncated body that is not valid JSON; the receiver must answer 400 (4xx),
      never 5xx.

    Probes that do not apply to `signer` (see `applicable_probes`) raise HarnessError: plan_jobs never
    plans them, so getting one is a harness bug. Unsigned profiles (no secret) send no signature headers.
    """
    copy = job.copy
    if copy == GENUINE:  # every delivery: one copy of the headers (it was two)
        if not secrets:
            return body, dict(headers)
        return body, {**headers, **signer.sign(body, secrets, timestamp=now, message_id=message_id)}
    if copy == DUPLICATE:
        again = dict(headers)
        if delivery_header and delivery_header in again:
            again[delivery_header] = f"{again[delivery_header]}-resent"
        if not secrets:
            return body, again
        signed = signer.sign(body, secrets, timestamp=now + DUPLICATE_LATER_S, message_id=message_id)
        return body, {**again, **{k: v for k, v in signed.items() if k != delivery_header}}
    base = dict(headers)
    if copy == CORRUPT_BODY:
        garbled = corrupt(body)
        return garbled, _signed(base, garbled, signer, secrets, now, message_id)
    if copy in (STALE_TIMESTAMP, FUTURE_TIMESTAMP):
        if not (signer.timestamped and secrets):
            raise HarnessError(f"{copy} probe planned for {signer.name!r}, which signs no timestamp")
        skew = -TIMESTAMP_SKEW_S if copy == STALE_TIMESTAMP else TIMESTAMP_SKEW_S
        return body, _signed(base, body, signer, secrets, now + skew, message_id)
    if copy == TAMPERED_SIGNATURE:
        if secrets:
            return body, {**base, **tampered_headers(body, signer, secrets, now=now, message_id=message_id)}
        lowered = {c.lower() for c in credential_headers}
        named = {k: v for k, v in base.items() if k.lower() in lowered}
        if not named:
            raise HarnessError(f"tampered_signature probe planned for {signer.name!r} without a secret or a "
                               "credential header: there is nothing to tamper with")
        wrong = {k: wrong_psk(Secret(v.encode("utf-8"))).reveal().decode("utf-8") for k, v in named.items()}
        return body, {**base, **wrong}
    raise HarnessError(f"unknown copy {copy!r}")


def send_headers(body: bytes, headers: Mapping[str, str], signer: Signer, secrets: Sequence[Secret], now: int,
                 message_id: str) -> Mapping[str, str]:
    """The headers `apply_fault` gives a genuine copy sent at `now`, for the runner's fast path: without a secret
    `headers` themselves, not a copy of them (the caller must not change what it gets)."""
    if not secrets:
        return headers
    return {**headers, **signer.sign(body, secrets, timestamp=now, message_id=message_id)}


def _signed(headers: dict[str, str], body: bytes, signer: Signer, secrets: Sequence[Secret], timestamp: int,
            message_id: str) -> dict[str, str]:
    if not secrets:  # as the Encoder: without a secret the envelope's headers go as they are
        return headers
    return {**headers, **signer.sign(body, secrets, timestamp=timestamp, message_id=message_id)}


def corrupt(body: bytes) -> bytes:
    """`body` cut in half; if that half still parses as JSON, prefixed with '{' so it cannot."""
    garbled = body[: max(1, len(body) // 2)] if body else b"{"
    try:
        orjson.loads(garbled)
    except orjson.JSONDecodeError:
        return garbled
    return b"{" + garbled


def tampered_headers(body: bytes, signer: Signer, secrets: Sequence[Secret], *, now: int,
                     message_id: str) -> dict[str, str]:
    """The signer's headers for `body` with the authenticating value made wrong but plausible."""
    if not signer.covers_body:
        # a PSK header: authenticates the sender only; send a wrong value of the same shape
        return signer.sign(body, [wrong_psk(s) for s in secrets[:1]], timestamp=now, message_id=message_id)
    real = signer.sign(body, secrets, timestamp=now, message_id=message_id)
    # which headers carry the signature: the ones that change with the key
    other_key = Secret(b"\x00" * 32 if secrets[0].reveal() != b"\x00" * 32 else b"\x01" * 32)
    other = signer.sign(body, [other_key] * len(secrets), timestamp=now, message_id=message_id)
    signature_headers = [name for name, value in real.items() if other.get(name) != value]
    if not signature_headers:
        raise HarnessError(f"cannot find the signature header of {signer.name!r} to tamper with")
    return {name: (flip_signature(value) if name in signature_headers else value) for name, value in real.items()}


def flip_signature(value: str) -> str:
    """Change the first digest character of every space-separated entry ("v1=<hex>", "v1,<b64>",
    "sha256=<hex>", bare base64) to another character of the same alphabet. Length and shape are kept."""
    return " ".join(_flip_entry(entry) for entry in value.split(" "))


def _flip_entry(entry: str) -> str:
    cuts = [i for i in (entry.find(","), entry.find("=")) if i >= 0]
    at = min(cuts) + 1 if cuts else 0
    if at >= len(entry):
        raise HarnessError("signature entry has no digest to tamper with")
    ch = entry[at]
    if ch in _HEX:
        new = _HEX[(_HEX.index(ch) + 1) % len(_HEX)]
    elif ch in _B64:
        new = _B64[(_B64.index(ch) + 1) % len(_B64)]
    else:
        new = "A" if ch != "A" else "B"
    return entry[:at] + new + entry[at + 1 :]


def wrong_psk(secret: Secret) -> Secret:
    """A pre-shared value of the same shape that is not `secret`: the auth scheme word (e.g. "Bearer") is kept,
    the credential replaced by hex of the same length derived one-way from it (never revealing it)."""
    value = secret.reveal()
    scheme, space, credential = value.partition(b" ")
    if not space:
        scheme, credential = b"", value
    digest = hashlib.sha256(b"fleetsim-wrong-psk:" + value).hexdigest().encode("ascii")
    replacement = (digest * (len(credential) // len(digest) + 1))[: max(1, len(credential))]
    wrong = scheme + space + replacement
    if wrong == value:
        wrong = wrong[:-1] + (b"0" if wrong[-1:] != b"0" else b"1")
    return Secret(wrong)
