"""Known-answer tests: published and provider-facts vectors, each cross-checked by an independent HMAC."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

import simulator.signing as signing
from simulator.errors import UnknownNameError
from simulator.signing import SIGNERS, CIHeaders, Secret, get_signer
from simulator.signing.hmac_sha256 import HmacSha256Signer


def independent_hmac_sha256(key: bytes, message: bytes) -> bytes:
    """RFC 2104 from hashlib alone (no `hmac` module), so the signers are not checked against themselves."""
    block = 64
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + message).digest()
    return hashlib.sha256(bytes(b ^ 0x5C for b in key) + inner).digest()


# --- Samsara (provider-facts 3.2) ------------------------------------------------------------------------

SAMSARA_SECRET = "c2Ftc2FyYS10ZXN0LXNlY3JldC0wMDAx"
SAMSARA_BODY = (
    b'{"eventId":"017db07f-6e95-470e-8cc0-a371f9deed2b","eventTime":"2023-11-14T22:13:20.000Z",'
    b'"eventType":"AlertIncident","orgId":20936,"webhookId":"1411751028848270","data":{"configurationId":'
    b'"9814a1fa-f0c6-408b-bf85-51dc3bc71ac7","happenedAtTime":"2023-11-14T22:13:19Z","isResolved":false,'
    b'"conditions":[{"triggerId":1034,"description":"Panic Button"}]}}'
)
SAMSARA_TS = 1700000000
SAMSARA_SIG = "v1=ec344d99f527500d296c93c28a970bd46244fea1daa4ea51b37ac3731aa57b84"
SAMSARA_NEGATIVE = "v1=beac2ec03f1360471e1fb13fce0d955a59cb7230831c30aa00ef625003b16796"
PING_BODY = b'{"eventId":"bf72239c-bebd-4c22-b64c-6fc692ef7c46","eventMs":1587597109477,"eventType":"Ping","event":{}}'
PING_TS = 1587597109
PING_SIG = "v1=a6c38af554e6b1c6862bdb261707b6e36d60f05ba122fdd4e41dd061ce49671e"


def test_samsara_secret_is_the_base64_decoded_key() -> None:
    secret = get_signer("samsara").parse_secret(SAMSARA_SECRET)
    assert secret.reveal() == b"samsara-test-secret-0001"
    assert secret.reveal().hex() == "73616d736172612d746573742d7365637265742d30303031"


@pytest.mark.parametrize(
    ("body", "ts", "expected"),
    [(SAMSARA_BODY, SAMSARA_TS, SAMSARA_SIG), (PING_BODY, PING_TS, PING_SIG)],
    ids=["alert-incident", "ping"],
)
def test_samsara_vectors(body: bytes, ts: int, expected: str) -> None:
    signer = get_signer("samsara")
    secret = signer.parse_secret(SAMSARA_SECRET)
    headers = signer.sign(body, [secret], timestamp=ts, message_id="ignored")
    assert headers == {"X-Samsara-Timestamp": str(ts), "X-Samsara-Signature": expected}
    independent = independent_hmac_sha256(b"samsara-test-secret-0001", b"v1:" + str(ts).encode() + b":" + body)
    assert expected == "v1=" + independent.hex()
    verdict = signer.verify(body, CIHeaders(headers), [secret], now=ts, tolerance=300)
    assert verdict.ok and verdict.code == "ok"


def test_samsara_body_vector_is_350_bytes() -> None:
    assert len(SAMSARA_BODY) == 350


def test_samsara_negative_vector_must_not_verify() -> None:
    """The signature a receiver gets when it keys the HMAC with the base64 *text*: must be rejected."""
    signer = get_signer("samsara")
    wrong_key = independent_hmac_sha256(SAMSARA_SECRET.encode(), b"v1:1700000000:" + SAMSARA_BODY)
    assert "v1=" + wrong_key.hex() == SAMSARA_NEGATIVE
    headers = CIHeaders({"X-Samsara-Timestamp": "1700000000", "X-Samsara-Signature": SAMSARA_NEGATIVE})
    verdict = signer.verify(SAMSARA_BODY, headers, [signer.parse_secret(SAMSARA_SECRET)], now=SAMSARA_TS, tolerance=300)
    assert not verdict.ok
    assert verdict.code == "mismatch"


# --- GitHub, SmartGPS, Shopify (provider-facts 4 and 6) ----------------------------------------------------

GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIG = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
SMARTGPS_SECRET = "smartgps-test-secret"
SMARTGPS_BODY = b'{"event":"SPEEDING","objectId":"SGO-ABC1234","speed":95,"limit":80}'
SMARTGPS_SIG = "sha256=0a232545305d18c55760c760865ffd7d69fd8593a0414ab50e98c01392401958"


@pytest.mark.parametrize(
    ("profile", "header", "secret", "body", "expected"),
    [
        ("hmac-sha256", "X-Hub-Signature-256", GITHUB_SECRET, GITHUB_BODY, GITHUB_SIG),
        ("smartgps", "X-SmartGPS-Signature", SMARTGPS_SECRET, SMARTGPS_BODY, SMARTGPS_SIG),
    ],
)
def test_github_style_vectors(profile: str, header: str, secret: str, body: bytes, expected: str) -> None:
    signer = get_signer(profile)
    key = signer.parse_secret(secret)
    assert key.reveal() == secret.encode("utf-8")
    headers = signer.sign(body, [key], timestamp=0, message_id="ignored")
    assert headers == {header: expected}
    assert expected == "sha256=" + independent_hmac_sha256(secret.encode(), body).hex()
    assert signer.verify(body, CIHeaders(headers), [key], now=0, tolerance=0).ok


SHOPIFY = HmacSha256Signer("shopify", header="X-Shopify-Hmac-Sha256", prefix="", encoding="base64")


@pytest.mark.parametrize(
    ("secret", "body", "expected"),
    [
        ("hush", b'{"id":1,"topic":"orders/create"}', "rlYwtxSz64KhPygOLXbekmzsjq0OqrcotnlUzAe2yuQ="),
        (GITHUB_SECRET, GITHUB_BODY, "dXEH6g6yUJ/CESIczphLijdXC211hsIsRvQ3nIsEPhc="),
    ],
)
def test_shopify_style_base64_vectors(secret: str, body: bytes, expected: str) -> None:
    key = SHOPIFY.parse_secret(secret)
    headers = SHOPIFY.sign(body, [key], timestamp=0, message_id="ignored")
    assert headers == {"X-Shopify-Hmac-Sha256": expected}
    assert expected == base64.b64encode(independent_hmac_sha256(secret.encode(), body)).decode()
    assert SHOPIFY.verify(body, CIHeaders(headers), [key], now=0, tolerance=0).ok


def test_default_constructor_is_github_style() -> None:
    signer = HmacSha256Signer(encoding="base64")
    key = signer.parse_secret(GITHUB_SECRET)
    assert signer.sign(GITHUB_BODY, [key], timestamp=0, message_id="x") == {
        "X-Hub-Signature-256": "sha256=dXEH6g6yUJ/CESIczphLijdXC211hsIsRvQ3nIsEPhc="
    }


# --- Standard Webhooks ------------------------------------------------------------------------------------

# The specification's published vector (also in the Svix docs and many receiver test suites).
SW_SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_SPEC_TS = 1614265330
SW_SPEC_BODY = b'{"test": 2432232314}'
SW_SPEC_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

# Our own vector: a 32-byte key 0x00..0x1f and a fleetsim-shaped body (value checked with openssl dgst).
SW_OWN_KEY = bytes(range(32))
SW_OWN_SECRET = "whsec_" + base64.b64encode(SW_OWN_KEY).decode()
SW_OWN_ID = "msg_fleetsim_0001"
SW_OWN_TS = 1700000000
SW_OWN_BODY = b'{"event":"SPEEDING","objectId":"SGO-ABC1234","speed":95,"limit":80}'
SW_OWN_SIG = "v1,yI36zCV+PYgVjJMdSkMmNKIsDSXmYmuyO++GclzzzwI="


def _sw_independent(key: bytes, msg_id: str, ts: int, body: bytes) -> str:
    content = msg_id.encode() + b"." + str(ts).encode() + b"." + body
    return "v1," + base64.b64encode(independent_hmac_sha256(key, content)).decode()


@pytest.mark.parametrize(
    ("secret", "key", "msg_id", "ts", "body", "expected"),
    [
        (SW_SPEC_SECRET, None, SW_SPEC_ID, SW_SPEC_TS, SW_SPEC_BODY, SW_SPEC_SIG),
        (SW_OWN_SECRET, SW_OWN_KEY, SW_OWN_ID, SW_OWN_TS, SW_OWN_BODY, SW_OWN_SIG),
    ],
    ids=["spec-vector", "own-vector"],
)
def test_standard_webhooks_vectors(
    secret: str, key: bytes | None, msg_id: str, ts: int, body: bytes, expected: str
) -> None:
    signer = get_signer("standard-webhooks")
    parsed = signer.parse_secret(secret)
    if key is not None:
        assert parsed.reveal() == key
    assert parsed.reveal() == base64.b64decode(secret.removeprefix("whsec_"))
    assert _sw_independent(parsed.reveal(), msg_id, ts, body) == expected
    headers = signer.sign(body, [parsed], timestamp=ts, message_id=msg_id)
    assert headers == {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": expected}
    assert signer.verify(body, CIHeaders(headers), [parsed], now=ts, tolerance=300).ok


def test_standard_webhooks_rotation_emits_one_entry_per_secret_in_order() -> None:
    signer = get_signer("standard-webhooks")
    old, new = signer.parse_secret(SW_SPEC_SECRET), signer.parse_secret(SW_OWN_SECRET)
    headers = signer.sign(SW_OWN_BODY, [old, new], timestamp=SW_OWN_TS, message_id=SW_OWN_ID)
    assert headers["webhook-signature"] == " ".join(
        _sw_independent(k.reveal(), SW_OWN_ID, SW_OWN_TS, SW_OWN_BODY) for k in (old, new)
    )


def test_powunity_and_none_headers() -> None:
    pow_ = get_signer("powunity")
    psk = pow_.parse_secret("Bearer abc123")
    assert pow_.sign(b"{}", [psk], timestamp=5, message_id="txn-1") == {
        "Authorization": "Bearer abc123",
        "X-PowTxn": "txn-1",
    }
    assert pow_.sign(b"{}", [], timestamp=5, message_id="txn-1") == {"X-PowTxn": "txn-1"}
    none = get_signer("none")
    assert none.sign(b"{}", [], timestamp=5, message_id="m") == {}
    verdict = none.verify(b"{}", CIHeaders(), [], now=0, tolerance=0)
    assert verdict.ok and verdict.reason == "provider does not sign requests"


# --- registry, headers, Secret, purity ----------------------------------------------------------------------


def test_registry_holds_every_profile_with_its_attributes() -> None:
    assert set(SIGNERS) == {"samsara", "hmac-sha256", "smartgps", "standard-webhooks", "powunity", "none"}
    for name, signer in SIGNERS.items():
        assert signer.name == name
        assert get_signer(name) is signer
        assert signer.summary and "\n" not in signer.summary
        assert isinstance(signer.timestamped, bool)
        assert isinstance(getattr(signer, "header_names"), tuple)  # noqa: B009
    assert SIGNERS["samsara"].timestamped and SIGNERS["standard-webhooks"].timestamped
    assert not any(SIGNERS[n].timestamped for n in ("hmac-sha256", "smartgps", "powunity", "none"))


def test_sign_sets_exactly_the_declared_headers() -> None:
    secrets = {
        "samsara": SAMSARA_SECRET,
        "hmac-sha256": GITHUB_SECRET,
        "smartgps": SMARTGPS_SECRET,
        "standard-webhooks": SW_OWN_SECRET,
        "powunity": "Bearer abc",
    }
    for name, signer in SIGNERS.items():
        keys = [signer.parse_secret(secrets[name])] if name in secrets else []
        headers = signer.sign(b"{}", keys, timestamp=1, message_id="m1")
        assert tuple(headers) == getattr(signer, "header_names")  # noqa: B009


def test_unknown_profile_suggests_the_close_one() -> None:
    with pytest.raises(UnknownNameError) as err:
        get_signer("samsra")
    assert err.value.suggestion == "samsara"
    assert "signing profile" in str(err.value)


def test_public_api_is_exported() -> None:
    for name in ("Secret", "Verdict", "Signer", "SIGNERS", "get_signer", "CIHeaders"):
        assert name in signing.__all__ and hasattr(signing, name)


def test_secret_repr_hides_the_value() -> None:
    secret = Secret(b"x")
    assert repr(secret) == str(secret) == "Secret('***')"
    assert "x" not in repr(secret).replace("Secret", "")
    assert repr([Secret(b"hunter2")]) == "[Secret('***')]"
    assert f"{Secret(b'hunter2')}" == "Secret('***')"


def test_ci_headers() -> None:
    headers = CIHeaders([("X-Samsara-Timestamp", "1"), ("x-samsara-timestamp", "2"), ("Authorization", "Bearer k")])
    assert headers["x-SAMSARA-timestamp"] == "1"
    assert headers.getall("X-SAMSARA-TIMESTAMP") == ["1", "2"]
    assert headers.getall("nope") == []
    assert len(headers) == 2
    assert list(headers) == ["X-Samsara-Timestamp", "Authorization"]
    not_a_name: object = 5  # a mapping of names: anything else is simply not in it
    assert "authorization" in headers and not_a_name not in headers and "nope" not in headers
    assert headers.get("NOPE") is None
    assert "Bearer k" not in repr(headers)
    assert dict(CIHeaders({"A": "1"})) == {"A": "1"}
    with pytest.raises(KeyError):
        headers["missing"]
    with pytest.raises(TypeError):
        headers["a"] = "b"  # type: ignore[index]


def test_signers_are_pure() -> None:
    """No clock, randomness or I/O in the signing modules (design: signers are pure)."""
    folder = Path(signing.__file__).parent
    banned = re.compile(
        r"^\s*(?:import|from)\s+(?:time|datetime|random|uuid|secrets|os|socket|asyncio)\b|os\.urandom", re.M
    )
    for path in folder.glob("*.py"):
        assert not banned.search(path.read_text()), path.name
