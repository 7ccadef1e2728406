"""Redactor (scrubbing configured secrets by value, in every form they travel in) and CaptureWriter (which
writes requests with their credentials redacted unless asked to keep them), as units.
tests/cli/test_no_secret_leaks.py covers a whole run; these pin each form and each rule down."""

from __future__ import annotations

import base64
import binascii
import errno
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import orjson
import pytest

from simulator.delivery.capture import REDACTED, CaptureWriter, read_capture
from simulator.delivery.model import Attempt
from simulator.delivery.redaction import MASK, MIN_SECRET_CHARS, Redactor, secrets_in_settings
from simulator.errors import InputError, UsageError
from simulator.signing import Secret

PSK_TOKEN = "ps/k+Tok?en=420"  # characters that percent-encoding changes; base64 of the PSK ends in "=="
PSK = f"Bearer {PSK_TOKEN}"
QUOTED = 'se"cr\\et-é-99'  # JSON has to escape it
RAW_KEY = bytes(range(250, 256)) + b"\x00\xfe\xfb\xff-samsara!"  # not UTF-8; base64 has + / and padding


def test_a_redactor_without_secrets_changes_nothing() -> None:
    redactor = Redactor()
    assert not redactor
    assert redactor.text(PSK) == PSK and redactor.bytes(PSK.encode()) == PSK.encode()
    assert redactor.headers({"Authorization": PSK}) == {"Authorization": PSK}
    assert redactor.optional_text(None) is None


@pytest.mark.parametrize(
    ("form", "encoded"),
    [
        ("raw", PSK),
        ("token word of Bearer <token>", PSK_TOKEN),
        ("base64", base64.b64encode(PSK.encode()).decode()),
        ("base64 without padding", base64.b64encode(PSK.encode()).decode().rstrip("=")),
        ("urlsafe base64", base64.urlsafe_b64encode(PSK.encode()).decode()),
        ("hex", binascii.hexlify(PSK.encode()).decode()),
        ("percent-encoded", quote(PSK, safe="")),
        ("form-encoded (plus for space)", quote_plus(PSK, safe="")),
        ("JSON-escaped", json.dumps(QUOTED)[1:-1]),
        ("raw, not ASCII", QUOTED),
    ],
)
def test_every_form_of_a_secret_is_scrubbed_from_text_and_bytes(form: str, encoded: str) -> None:
    redactor = Redactor([PSK.encode(), QUOTED.encode()])
    assert encoded not in (PSK, QUOTED) or form.startswith("raw")  # each case really is another form
    assert base64.b64encode(PSK.encode()).endswith(b"=")  # so that "without padding" is another form too
    text = f'401 {{"echo": "{encoded}", "hint": "check the Authorization header"}}'
    expected = f'401 {{"echo": "{MASK}", "hint": "check the Authorization header"}}'
    assert redactor.text(text) == expected, form
    assert redactor.bytes(text.encode()) == expected.encode(), form


def test_the_encoded_forms_of_a_binary_key_are_scrubbed() -> None:
    redactor = Redactor([RAW_KEY])
    b64, urlsafe = base64.b64encode(RAW_KEY).decode(), base64.urlsafe_b64encode(RAW_KEY).decode()
    assert b64 != urlsafe and b64.endswith("=")  # the key was chosen so that every form differs
    for encoded in (b64, b64.rstrip("="), urlsafe, urlsafe.rstrip("="), RAW_KEY.hex()):
        assert redactor.text(f"secret: {encoded}!") == f"secret: {MASK}!"
    assert redactor.bytes(b"head " + RAW_KEY + b" tail") == b"head " + MASK.encode() + b" tail"


def test_a_whole_value_is_masked_once_not_word_by_word() -> None:
    redactor = Redactor([b"Bearer token-value-123"])
    assert redactor.text("Authorization: Bearer token-value-123") == f"Authorization: {MASK}"
    assert redactor.text("token-value-123 alone") == f"{MASK} alone"


def test_short_fragments_are_not_scrubbed() -> None:
    redactor = Redactor([b"Bearer abc", b"longer-secret-value"])
    # "abc" (a word of a PSK) is too short to mean anything on its own, nor is a piece of a longer secret
    assert redactor.text("abc abcdef") == "abc abcdef"
    assert redactor.text("longer-sec") == "longer-sec"
    assert redactor.text("Bearer abc") == MASK  # the whole value still is
    assert len("abc") < MIN_SECRET_CHARS <= len("abcdef")


@pytest.mark.parametrize("echo", [
    "password=1234&user=a", '{"password":"1234"}', "you sent 1234", "1234", "pin 1234.", "Authorization: 1234",
])
def test_a_short_whole_secret_is_scrubbed_where_it_stands_alone(echo: str) -> None:
    # a 4-digit password echoed back is a whole secret, however short: it must not reach a report
    redactor = Redactor([b"1234"])
    assert "1234" not in redactor.text(echo)
    assert b"1234" not in redactor.bytes(echo.encode())
    assert MASK in redactor.text(echo)
    assert redactor.headers({"X-Echo": echo}) == {"X-Echo": MASK}


@pytest.mark.parametrize("text", ["t=1712345678", "a1234", "12345", "id-x1234y", "12340"])
def test_a_short_secret_inside_a_longer_word_or_number_is_left(text: str) -> None:
    # the same 4 digits inside a timestamp or a longer token are ordinary text, not the secret
    redactor = Redactor([b"1234"])
    assert redactor.text(text) == text
    assert redactor.bytes(text.encode()) == text.encode()


def test_headers_holding_a_secret_are_masked_whole() -> None:
    redactor = Redactor([PSK.encode()])
    headers = {"Authorization": PSK, "X-Echo": f"you sent {quote(PSK, safe='')}", "Content-Type": "text/plain",
               "X-Request": "abc-123"}
    assert redactor.headers(headers) == {"Authorization": MASK, "X-Echo": MASK, "Content-Type": "text/plain",
                                         "X-Request": "abc-123"}


def test_secrets_in_settings_are_every_secret_and_plain_credential() -> None:
    settings: dict[str, dict[str, Any]] = {
        "samsara": {"secret": Secret(RAW_KEY), "org_id": 4000},
        "powunity": {"secret": Secret(PSK.encode())},
        "mettax": {"token": "mettax-token-1", "token_header": "X-Token", "envelope": "json"},
        "other": {"psk": "psk-value-2", "password": "pass-word-3", "url": "http://example.invalid", "token": ""},
    }
    assert sorted(secrets_in_settings(settings)) == sorted(
        [RAW_KEY, PSK.encode(), b"mettax-token-1", b"psk-value-2", b"pass-word-3"])
    redactor = Redactor.from_settings(settings)
    assert redactor.text("X-Token: mettax-token-1, url http://example.invalid") == \
        f"X-Token: {MASK}, url http://example.invalid"


def test_credentials_are_found_at_any_depth_and_under_longer_names() -> None:
    settings: dict[str, dict[str, Any]] = {
        "powunity": {"accounts": [{"email": "a@b.c", "password": Secret(b"acct-pass-1"), "token": "acct-token-2"},
                                  {"email": "d@e.f", "password": "acct-pass-3"}]},
        "smartgps": {"api_client_id": "acme", "api_client_secret": "client-secret-4", "api_token_ttl_s": 60,
                     "secret_env": "SMARTGPS_SECRET_NAME"},
        "drivers": {"oauth_settings.custom_oauth.client_secret": "oauth-secret-5", "token_header": "X-Token-Name"},
    }
    assert sorted(secrets_in_settings(settings)) == sorted(
        [b"acct-pass-1", b"acct-token-2", b"acct-pass-3", b"client-secret-4", b"oauth-secret-5"])
    redactor = Redactor.from_settings(settings)
    assert redactor.text("acme client-secret-4 X-Token-Name acct-pass-3") == \
        f"acme {MASK} X-Token-Name {MASK}"


# --- CaptureWriter ------------------------------------------------------------------------------------------


def _attempt(headers: dict[str, str], body: bytes = b'{"id": 1}') -> Attempt:
    return Attempt(event_id="e-1", provider="powunity", kind="webhook", copy="genuine", attempt=2,
                   url="http://127.0.0.1:1/powunity", sent_at=1_700_000_000.5, latency_s=0.0123, outcome="4xx",
                   status=401, error=None, request_headers=headers, request_body=body)


HEADERS = {
    "Content-Type": "application/json",
    "Authorization": PSK,
    "X-PowTxn": "txn-1",
    "X-Token": "mettax-token-1",
    "X-Forwarded-Auth": base64.b64encode(PSK.encode()).decode(),
    "X-Samsara-Signature": "v1=" + "ab" * 32,  # a signature is not a secret: kept
}
SECRETS = [PSK.encode(), b"mettax-token-1"]
FORMS = [PSK, PSK_TOKEN, "mettax-token-1", base64.b64encode(PSK.encode()).decode()]


def test_the_capture_redacts_credentials_by_value_and_authorization_by_name(tmp_path: Path) -> None:
    path = tmp_path / "capture.ndjson"
    writer = CaptureWriter(path)
    writer.redact_with(Redactor(SECRETS))
    writer.write(_attempt(HEADERS))
    writer.write(_attempt({"Authorization": "Basic dXNlcjpwYXNz"}))  # not configured: redacted by its name
    writer.close()
    assert writer.count == 2
    text = path.read_text()
    for form in [*FORMS, "dXNlcjpwYXNz"]:
        assert form not in text, form
    first, second = (orjson.loads(line) for line in text.splitlines())
    assert first["headers"] == {"Content-Type": "application/json", "Authorization": REDACTED, "X-PowTxn": "txn-1",
                                "X-Token": REDACTED, "X-Forwarded-Auth": REDACTED,
                                "X-Samsara-Signature": "v1=" + "ab" * 32}
    assert second["headers"] == {"Authorization": REDACTED}
    # everything else is the request as sent, and what came back
    assert {k: first[k] for k in ("event_id", "provider", "kind", "copy", "attempt", "method", "url", "body",
                                  "sent_at")} == {
        "event_id": "e-1", "provider": "powunity", "kind": "webhook", "copy": "genuine", "attempt": 2,
        "method": "POST", "url": "http://127.0.0.1:1/powunity", "body": '{"id": 1}', "sent_at": 1_700_000_000.5}
    assert first["response"] == {"outcome": "4xx", "status": 401, "latency_ms": 12.3, "error": None}
    # and it reads back as a replayable request whose credentials are marked redacted
    request = next(read_capture(path))
    assert dict(request.headers)["Authorization"] == REDACTED and request.body == b'{"id": 1}'


def test_keep_secrets_writes_the_credentials_raw(tmp_path: Path) -> None:
    path = tmp_path / "capture.ndjson"
    writer = CaptureWriter(path, keep_secrets=True)
    writer.redact_with(Redactor(SECRETS))
    writer.write(_attempt(HEADERS))
    writer.close()
    assert orjson.loads(path.read_bytes())["headers"] == HEADERS
    assert dict(next(read_capture(path)).headers) == HEADERS


def test_binary_bodies_are_captured_as_base64_and_read_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "capture.ndjson"
    writer = CaptureWriter(path)
    writer.write(_attempt({}, body=b"\xff\xfe\x00binary"))
    writer.write(_attempt({}, body="Zoë ✓".encode()))
    writer.close()
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert "body" not in lines[0] and base64.b64decode(lines[0]["body_b64"]) == b"\xff\xfe\x00binary"
    assert lines[1]["body"] == "Zoë ✓"
    assert [r.body for r in read_capture(path)] == [b"\xff\xfe\x00binary", "Zoë ✓".encode()]


def test_a_capture_that_cannot_be_written_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a regular file"):
        CaptureWriter(tmp_path)
    with pytest.raises(UsageError, match="cannot write the capture"):
        CaptureWriter(tmp_path / "missing" / "capture.ndjson")

    class DiskFull(io.BytesIO):
        def write(self, data: Any) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    writer = CaptureWriter(tmp_path / "capture.ndjson")
    writer._file.close()
    writer._file = DiskFull()
    with pytest.raises(UsageError, match="No space left on device"):
        writer.write(_attempt({}))
    assert writer.count == 0


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not json\n", "not a JSON capture line"),
        (b"[1, 2]\n", "expected a JSON object per line"),
        (b'{"headers": {}}\n', "expected 'url' (text) and 'headers' (object)"),
        (b'{"url": "http://x/", "headers": {"A": 1}, "body": ""}\n', "header values must be text"),
        (b'{"url": "http://x/", "headers": {}, "body_b64": "***"}\n', "body_b64: not valid base64"),
        (b'{"url": "http://x/", "headers": {}}\n', "expected a 'body' (text) or 'body_b64' field"),
        # what no HTTP client can send: once replayed as a failed request (exit 1), or as a POST whatever it said
        (b'{"url": "http://x/", "headers": {"X-A": "1\\r\\nX-B: 2"}, "body": ""}\n',
         "header 'X-A': a value may not hold CR, LF or NUL"),
        (b'{"url": "http://x/", "headers": {"Bad Name": "1"}, "body": ""}\n',
         "header 'Bad Name': a name is an HTTP token"),
        (b'{"url": "http://x/", "headers": {}, "method": "FOO BAR", "body": ""}\n',
         "method 'FOO BAR': fleetsim captures and replays POST requests only"),
        (b'{"url": "ftp://x/", "headers": {}, "body": ""}\n', "url 'ftp://x/': expected an http:// or https:// URL"),
    ],
)
def test_a_malformed_capture_line_is_an_input_error_naming_file_and_line(
    tmp_path: Path, content: bytes, problem: str,
) -> None:
    path = tmp_path / "capture.ndjson"
    path.write_bytes(b'{"url": "http://x/", "headers": {}, "body": ""}\n\n' + content)
    with pytest.raises(InputError) as failed:
        list(read_capture(path))
    where = f"{path}:3:1" if problem.startswith("not a JSON") else f"{path}:3"  # JSON errors add their column
    assert failed.value.location == where and str(failed.value).startswith(f"{where}: {problem}")


def test_a_line_cut_short_is_located_by_its_column_not_a_line_of_its_own(tmp_path: Path) -> None:
    # the decoder sees the line's own newline as a second line: the message must not say "line 2" of line 1
    path = tmp_path / "capture.ndjson"
    path.write_bytes(b'{"url": "http://x/", "headers": {}, "body": ""}\n{"event_id": "\\u00e9a",\n')
    with pytest.raises(InputError) as failed:
        list(read_capture(path))
    assert str(failed.value) == f"{path}:2:25: not a JSON capture line (unexpected end of data)"


def test_a_password_in_the_target_url_is_masked_and_replay_does_not_need_it(tmp_path: Path) -> None:
    import dataclasses

    from simulator.delivery.capture import retarget

    path = tmp_path / "capture.ndjson"
    writer = CaptureWriter(path)
    sent = dataclasses.replace(_attempt({}), url="http://hooks:hunter2@127.0.0.1:1/powunity?tenant=7")
    writer.write(sent)
    writer.close()
    assert "hunter2" not in path.read_text()
    request = next(read_capture(path))
    assert request.url == "http://hooks:***@127.0.0.1:1/powunity?tenant=7"  # the query is kept: replay sends it
    # replay takes scheme, host and credentials from its own --target: the masked ones never go out
    assert retarget(request.url, "http://hooks:hunter2@10.0.0.5:8080") == \
        "http://hooks:hunter2@10.0.0.5:8080/powunity?tenant=7"


def test_a_secret_query_value_is_masked_in_the_capture_and_replay_takes_it_from_the_settings(tmp_path: Path) -> None:
    import dataclasses

    from simulator.delivery.capture import masked_query_names, retarget
    from simulator.delivery.replay import Replayer

    path = tmp_path / "capture.ndjson"
    writer = CaptureWriter(path)
    # an Azure Functions key, as the function's URL (the provider's url setting) carries it
    writer.write(dataclasses.replace(_attempt({}), url="https://fn.example/api/powunity?code=AzF-k3y%2Bz&tenant=7"))
    writer.close()
    assert "AzF-k3y" not in path.read_text()
    request = next(read_capture(path))
    assert request.url == "https://fn.example/api/powunity?code=***&tenant=7"
    # replay puts the value back from the provider's url in --settings, encoded as given; the rest of the query is
    # the capture's
    given = "code=AzF-k3y%2Bz"
    assert masked_query_names(request.url, given) == []
    assert retarget(request.url, "http://10.0.0.5:8080", given) == \
        "http://10.0.0.5:8080/api/powunity?code=AzF-k3y%2Bz&tenant=7"
    settings = {"powunity": {"url": "/api/powunity?code=AzF-k3y%2Bz"}}
    Replayer(path, "http://10.0.0.5:8080", settings=settings).check_capture()
    # without it, the masked value cannot be sent: said before anything is sent, where it stands
    assert masked_query_names(request.url, "tenant=7") == ["code"]
    with pytest.raises(InputError) as refused:
        Replayer(path, "http://10.0.0.5:8080/").check_capture()
    assert refused.value.location == f"{path}:1"
    assert "the query's 'code' was masked when captured" in str(refused.value)
    assert "providers: {powunity: {url: '/api/powunity?code=VALUE'}}" in str(refused.value)
    # kept on request: written as sent
    kept = tmp_path / "kept.ndjson"
    writer = CaptureWriter(kept, keep_secrets=True)
    writer.write(dataclasses.replace(_attempt({}), url="https://fn.example/api/powunity?code=AzF-k3y"))
    writer.close()
    assert next(read_capture(kept)).url == "https://fn.example/api/powunity?code=AzF-k3y"


@pytest.mark.parametrize(("text", "password_only", "secrets"), [
    ("http://u:p4ss@h:1/x", "http://u:***@h:1/x", "http://u:***@h:1/x"),
    ("see https://h/x?token=abc&a=1 and http://v:w@h2/", "see https://h/x?token=abc&a=1 and http://v:***@h2/",
     "see https://h/x?token=***&a=1 and http://v:***@h2/"),
    ("http://h/plain", "http://h/plain", "http://h/plain"),
    ("https://ghp_T0KEN@h/x?a=b@c", "https://***@h/x?a=b@c", "https://***@h/x?a=b@c"),  # a token as the user
    ("url: 'http://:p4ss@h/'", "url: 'http://:***@h/'", "url: 'http://:***@h/'"),
    ("http://h:8080/a@b http://h/a@b", "http://h:8080/a@b http://h/a@b", "http://h:8080/a@b http://h/a@b"),
])
def test_url_masks(text: str, password_only: str, secrets: str) -> None:
    from simulator.delivery.urls import masked_url_password, masked_url_secrets

    assert (masked_url_password(text), masked_url_secrets(text)) == (password_only, secrets)


PSK_WORD = "h2-test-psk-7d1f0a93c2"


@pytest.mark.parametrize(("form", "echo"), [
    ("base64 of the token word", base64.b64encode(PSK_WORD.encode()).decode()),
    ("urlsafe base64 of the token word, unpadded", base64.urlsafe_b64encode(PSK_WORD.encode()).decode().rstrip("=")),
    ("hex of the token word", PSK_WORD.encode().hex()),
    ("hex, upper case", PSK_WORD.encode().hex().upper()),
    ("the PSK upper-cased", f"BEARER {PSK_WORD.upper()}"),
    ("the token word's first 16 characters", PSK_WORD[:16]),
    ("the PSK's first two thirds", f"Bearer {PSK_WORD}"[:20]),
])
def test_an_echo_that_encodes_changes_case_or_truncates_is_scrubbed(form: str, echo: str) -> None:
    # each of these reached a check report once, from a receiver that quoted the PSK it was sent in a 401
    redactor = Redactor([f"Bearer {PSK_WORD}".encode()])
    assert redactor.text(f'401 {{"got": "{echo}"}}') == f'401 {{"got": "{MASK}"}}', form
    assert redactor.bytes(f"got {echo}.".encode()) == f"got {MASK}.".encode(), form


def test_a_short_beginning_and_the_scheme_word_are_left() -> None:
    redactor = Redactor([f"Bearer {PSK_WORD}".encode()])
    assert redactor.text(f"got {PSK_WORD[:9]}") == f"got {PSK_WORD[:9]}"  # under two thirds: too little to matter
    assert redactor.text("expected a Bearer token") == "expected a Bearer token"


ESCAPED = 'S3cr/et&pow<12>"34+='  # characters every escaping changes


@pytest.mark.parametrize(("form", "echo"), [
    ("PHP json_encode (escaped slash)", json.dumps(ESCAPED).replace("/", "\\/")[1:-1]),
    ("Go encoding/json (\\u0026 for &<>)",
     json.dumps(ESCAPED).replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")[1:-1]),
    ("every character as \\uXXXX", "".join(f"\\u{ord(c):04X}" for c in ESCAPED)),
    ("HTML-escaped", "S3cr/et&amp;pow&lt;12&gt;&quot;34+="),
    ("numeric character references", "".join(f"&#{ord(c)};" for c in ESCAPED)),
    ("colon-separated hex", ESCAPED.encode().hex(":")),
    ("base64 of the secret with more after it", base64.b64encode(ESCAPED.encode() + b"!").decode()),
    ("base64 of the secret one byte in", base64.b64encode(b"x" + ESCAPED.encode() + b"yz").decode()),
    ("base64 of the secret two bytes in", base64.b64encode(b"ab" + ESCAPED.encode()).decode()),
    ("its last two thirds", ESCAPED[-14:]),
])
def test_an_echo_escaped_or_embedded_the_ways_receivers_do_is_scrubbed(form: str, echo: str) -> None:
    redactor = Redactor([ESCAPED.encode()])
    scrubbed = redactor.text(f"got [{echo}] back")
    assert scrubbed.startswith("got [") and scrubbed.endswith("] back"), form
    # what remains of a base64 run is the other bytes' quanta: at most four characters either side
    before, masked, after = scrubbed.removeprefix("got [").removesuffix("] back").partition(MASK)
    assert masked and len(before) <= 4 and len(after) <= 4, (form, scrubbed)


def test_a_secret_cut_by_the_kept_body_cap_is_scrubbed_to_its_first_characters() -> None:
    from simulator.delivery.response import KEEP_CAP

    token = "Zq7-S3CR3T-9k"  # shorter than the two-thirds rule covers
    redactor = Redactor([token.encode()])
    for kept in (5, 8, 12):
        body = b"x" * (KEEP_CAP - kept) + token[:kept].encode()
        assert redactor.bytes(body) == b"x" * (KEEP_CAP - kept) + MASK.encode(), kept
    # a short body is not cut: its last characters are only a fragment, as anywhere else
    assert redactor.bytes(b"ends in Zq7-S3") == b"ends in Zq7-S3"


def test_a_target_urls_credentials_are_scrubbed_in_every_form_they_travel() -> None:
    redactor = Redactor.from_settings({"samsara": {"url": "https://h/in?code=azure-fn-key-77&page=2"}},
                                      ["http://hook:pa%40ss-w0rd-99@h:1"])
    basic = base64.b64encode(b"hook:pa@ss-w0rd-99").decode()
    for echo in ("pa@ss-w0rd-99", "pa%40ss-w0rd-99", f"Basic {basic}", "azure-fn-key-77"):
        assert echo.removeprefix("Basic ") not in redactor.text(f"you sent {echo}"), echo
    assert redactor.text("page=2 at h:1") == "page=2 at h:1"


@pytest.mark.parametrize(("url", "shown"), [
    ("http://u:p4ss@word@h:1/x", "http://u:***@h:1/x"),  # an '@' left in the password
    ("https://h/in?code=K&pwd=P&jwt=J&x-amz-signature=S&page=2", "https://h/in?code=***&pwd=***&jwt=***"
                                                             "&x-amz-signature=***&page=2"),
])
def test_url_masks_for_unencoded_at_signs_and_more_credential_names(url: str, shown: str) -> None:
    from simulator.delivery.urls import masked_url_secrets

    assert masked_url_secrets(url) == shown
