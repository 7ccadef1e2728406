"""Hypothesis properties for every signing profile.

One drawn case (secrets, body, timestamp, message id) per example feeds every property, so each profile
gets ~100 examples of each property while the folder stays fast:
round trip · any one-byte body change fails · any timestamp change fails · any one-character change of the
signature fails · outside the tolerance fails (both directions), inside passes · rotation.
"""

from __future__ import annotations

import base64
import string
from dataclasses import dataclass

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from simulator.signing import SIGNERS, CIHeaders, Secret, Signer, Verdict, get_signer
from simulator.signing.hmac_sha256 import HmacSha256Signer

FAST = settings(max_examples=100, deadline=None)


@dataclass(frozen=True)
class Profile:
    signer: Signer
    #: secret text as the provider hands it out; None when the profile takes none
    secret_text: st.SearchStrategy[str] | None
    #: the header holding the authenticating value (signature or PSK)
    auth_header: str | None
    timestamp_header: str | None
    body_signed: bool


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


UNICODE_TEXT = st.text(min_size=1, max_size=16)
PRINTABLE_ASCII = "".join(map(chr, range(0x20, 0x7F)))
PSK_TEXT = st.builds(
    lambda first, rest: (first + rest).rstrip(),
    st.sampled_from(PRINTABLE_ASCII[1:]),
    st.text(PRINTABLE_ASCII, max_size=23),
)

PROFILES: dict[str, Profile] = {
    "samsara": Profile(
        get_signer("samsara"),
        st.binary(min_size=1, max_size=64).map(_b64),
        "X-Samsara-Signature",
        "X-Samsara-Timestamp",
        True,
    ),
    "hmac-sha256": Profile(get_signer("hmac-sha256"), UNICODE_TEXT, "X-Hub-Signature-256", None, True),
    "smartgps": Profile(get_signer("smartgps"), UNICODE_TEXT, "X-SmartGPS-Signature", None, True),
    "shopify-style": Profile(
        HmacSha256Signer("shopify", header="X-Shopify-Hmac-Sha256", prefix="", encoding="base64"),
        UNICODE_TEXT,
        "X-Shopify-Hmac-Sha256",
        None,
        True,
    ),
    "standard-webhooks": Profile(
        get_signer("standard-webhooks"),
        st.binary(min_size=24, max_size=64).map(lambda raw: "whsec_" + _b64(raw)),
        "webhook-signature",
        "webhook-timestamp",
        True,
    ),
    "powunity": Profile(get_signer("powunity"), PSK_TEXT, "Authorization", None, False),
    "none": Profile(get_signer("none"), None, None, None, False),
}

BODIES = st.binary(max_size=200)
TIMESTAMPS = st.integers(min_value=0, max_value=4_000_000_000)
MESSAGE_IDS = st.text(string.ascii_letters + string.digits + "_.-", min_size=1, max_size=24)
TOLERANCE = 300
REPLACEMENT_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x24F)


def test_the_table_covers_every_registered_profile() -> None:
    assert {p.signer.name for p in PROFILES.values()} >= set(SIGNERS)
    timestamped = {name for name, p in PROFILES.items() if p.signer.timestamped}
    assert (
        timestamped
        == {name for name, p in PROFILES.items() if p.timestamp_header}
        == {
            "samsara",
            "standard-webhooks",
        }
    )


@dataclass(frozen=True)
class Case:
    """One signed request plus everything the properties need to tamper with it."""

    profile: Profile
    secret: list[Secret]  # what the request is signed with ([] for profiles without a secret)
    other: Secret | None  # a different secret of the same profile
    body: bytes
    ts: int
    msg_id: str
    headers: dict[str, str]
    # tampering material, drawn up front in one composite strategy (much faster than st.data() draws)
    flips: int  # bit mask: which header-name characters to swap case
    edit: str  # "replace" | "insert" | "delete" one body byte
    position: int  # reduced modulo the length of whatever is edited
    byte: int
    other_ts: str  # a different timestamp text
    char: str  # replacement for one character of the signature
    tolerance: int
    offset: int  # now - timestamp

    def verify(
        self, *, body: bytes | None = None, headers: dict[str, str] | None = None, secrets: list[Secret] | None = None,
        now: int | None = None, tolerance: int = TOLERANCE,
    ) -> Verdict:  # fmt: skip
        return self.profile.signer.verify(
            self.body if body is None else body,
            CIHeaders(self.headers if headers is None else headers),
            self.secret if secrets is None else secrets,
            now=self.ts if now is None else now,
            tolerance=tolerance,
        )


@st.composite
def cases(draw: st.DrawFn, profile: Profile) -> Case:
    secret: list[Secret] = []
    other = None
    if profile.secret_text is not None:
        first = profile.signer.parse_secret(draw(profile.secret_text))
        second = draw(profile.secret_text.map(profile.signer.parse_secret).filter(lambda key: key != first))
        secret, other = [first], second
    body, ts, msg_id = draw(BODIES), draw(TIMESTAMPS), draw(MESSAGE_IDS)
    headers = profile.signer.sign(body, secret, timestamp=ts, message_id=msg_id)
    other_ts = draw(st.one_of(TIMESTAMPS.map(str), st.just("0" + str(ts))))
    if other_ts == str(ts):
        other_ts = str(ts + 1)
    tolerance = draw(st.integers(0, 3600))
    offset = draw(
        st.one_of(st.integers(-8000, 8000), st.sampled_from([tolerance, tolerance + 1, -tolerance, -tolerance - 1]))
    )
    return Case(
        profile, secret, other, body, ts, msg_id, headers,
        flips=draw(st.integers(0, 2**32 - 1)),
        edit=draw(st.sampled_from(["replace", "insert", "delete"])),
        position=draw(st.integers(0, 2**16)),
        byte=draw(st.integers(0, 255)),
        other_ts=other_ts,
        char=draw(REPLACEMENT_CHARS),
        tolerance=tolerance,
        offset=offset,
    )  # fmt: skip


def rejected(verdict: Verdict, *codes: str) -> bool:
    return not verdict.ok and verdict.code in codes


# --- the properties -----------------------------------------------------------------------------------------


def check_round_trip(case: Case) -> None:
    verdict = case.verify()
    assert verdict.ok and verdict.code == "ok", verdict
    # header names match without regard to case, also when a plain dict is passed
    recased = {
        "".join(ch.swapcase() if case.flips >> (i % 32) & 1 else ch for i, ch in enumerate(key)): value
        for key, value in case.headers.items()
    }
    assert case.profile.signer.verify(case.body, recased, case.secret, now=case.ts, tolerance=TOLERANCE).ok


def check_body_change(case: Case) -> None:
    body, byte = case.body, case.byte
    if case.edit == "insert" or not body:
        index = case.position % (len(body) + 1)
        changed = body[:index] + bytes([byte]) + body[index:]
    elif case.edit == "delete":
        index = case.position % len(body)
        changed = body[:index] + body[index + 1 :]
    else:
        index = case.position % len(body)
        changed = body[:index] + bytes([byte ^ 0xFF if byte == body[index] else byte]) + body[index + 1 :]
    assert changed != body
    verdict = case.verify(body=changed)
    if case.profile.body_signed:
        assert rejected(verdict, "mismatch"), verdict
    else:  # PSK and unsigned profiles do not authenticate the body: documented, not hidden
        assert verdict.ok


def check_timestamp_change(case: Case) -> None:
    header = case.profile.timestamp_header
    assert header is not None
    # verified at the altered time, so only the MAC can catch it (RPL-04)
    verdict = case.verify(headers={**case.headers, header: case.other_ts}, now=int(case.other_ts))
    assert rejected(verdict, "mismatch"), verdict


def check_signature_char_change(case: Case) -> None:
    header = case.profile.auth_header
    assert header is not None
    value = case.headers[header]
    index = case.position % len(value)
    char = case.char if case.char != value[index] else chr(ord(case.char) + 1)
    verdict = case.verify(headers={**case.headers, header: value[:index] + char + value[index + 1 :]})
    assert rejected(verdict, "mismatch", "malformed_header"), verdict


def check_tolerance(case: Case) -> None:
    tolerance, offset = case.tolerance, case.offset
    verdict = case.verify(now=case.ts + offset, tolerance=tolerance)
    if not case.profile.signer.timestamped or abs(offset) <= tolerance:
        assert verdict.ok, verdict
    elif offset > 0:  # the request is old
        assert rejected(verdict, "stale"), verdict
    else:  # the request comes from the future
        assert rejected(verdict, "future"), verdict


def check_rotation(case: Case) -> None:
    if case.other is None:
        return
    old, new = case.secret[0], case.other
    assert case.verify(secrets=[old, new]).ok
    assert case.verify(secrets=[new, old]).ok
    signed_new = case.profile.signer.sign(case.body, [new], timestamp=case.ts, message_id=case.msg_id)
    assert case.verify(headers=signed_new, secrets=[old, new]).ok
    # only invalid: the verifier knows none of the secrets the request was signed with
    assert rejected(case.verify(secrets=[new]), "mismatch", "malformed_header")
    assert rejected(case.verify(headers=signed_new, secrets=[old]), "mismatch", "malformed_header")


@pytest.mark.parametrize("name", sorted(PROFILES))
@FAST
@given(data=st.data())
def test_signing_properties(name: str, data: st.DataObject) -> None:
    case = data.draw(cases(PROFILES[name]))
    check_round_trip(case)
    check_body_change(case)
    if case.profile.timestamp_header:
        check_timestamp_change(case)
    if case.profile.auth_header:
        check_signature_char_change(case)
    check_tolerance(case)
    check_rotation(case)


# --- Standard Webhooks header-level rotation (SIG-07) ---------------------------------------------------------

SW = PROFILES["standard-webhooks"]
DIGESTS = st.binary(min_size=32, max_size=32).map(_b64)


@FAST
@given(case=cases(SW), junk=DIGESTS, version=st.sampled_from(["v2", "v1a", "v0", "V1"]), order=st.booleans())
def test_standard_webhooks_rotation_header(case: Case, junk: str, version: str, order: bool) -> None:
    assert case.other is not None
    old, new = case.secret[0], case.other
    both = SW.signer.sign(case.body, [old, new], timestamp=case.ts, message_id=case.msg_id)["webhook-signature"]
    valid = SW.signer.sign(case.body, [new], timestamp=case.ts, message_id=case.msg_id)["webhook-signature"]
    digest = valid.removeprefix("v1,")
    assume(junk != digest)

    def check(signature: str) -> Verdict:
        return case.verify(headers={**case.headers, "webhook-signature": signature}, secrets=[new])

    # old-valid + new-valid: a verifier holding either secret accepts
    assert case.verify(headers={**case.headers, "webhook-signature": both}, secrets=[old]).ok
    assert check(both).ok
    # invalid + valid, and an unknown version + valid, in either order
    for extra in (f"v1,{junk}", f"{version},{junk}", f"{version},{digest}"):
        assert check(f"{extra} {valid}" if order else f"{valid} {extra}").ok
    # only invalid values
    assert rejected(check(f"v1,{junk}"), "mismatch")
    assert rejected(check(f"v1,{junk} {version},{digest}"), "mismatch")
    assert rejected(check(f"{version},{digest}"), "malformed_header")
