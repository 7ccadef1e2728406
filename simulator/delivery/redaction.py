"""Scrub configured secrets out of everything fleetsim stores or prints about an exchange.

A receiver may echo what it was sent: a 401 body quoting the request's `Authorization` header carries
PowUnity's PSK, a debug page may print the MettaX token, a proxy may reflect a whole header block. Name-based
redaction (reports.redact) cannot see those, so every response body, response header, request header and
error line is scrubbed *by value* before it reaches the ledger, a report, a capture or the terminal.

A `Redactor` knows each configured secret in the forms it can travel in: the raw bytes (PSKs and tokens are
sent as they are), base64 (Samsara and Standard Webhooks secrets are written that way, and an echo may base64 a
whole header block), hex, text escaped the ways JSON encoders, HTML and XML escape it, percent-encoded text, and
every whitespace-separated word of it that is long enough to be a credential on its own (the token part of
`Bearer <token>`) in those same forms; in any letter case; the beginning or end of a long secret or word (two
thirds of it or more), which an echo that truncates what it quotes still gives away; and any beginning of five
characters or more where the data ends, which is what a secret cut by fleetsim's own 4 KiB body cap leaves. Short
fragments of a secret are not scrubbed: replacing every "a" would destroy reports without protecting anything.
A whole secret shorter than that (a 4-digit PIN as a password) is still scrubbed, where it stands as a token of
its own, not inside a longer word or number: an echo of `password=1234` loses it, a timestamp containing 1234
does not.

Pure: built from settings, no I/O.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from ..signing import Secret
from .response import KEEP_CAP
from .urls import url_secrets

__all__ = ["MASK", "MIN_SECRET_CHARS", "Redactor", "secrets_in_settings"]

MASK = "<redacted>"
#: shortest value (in bytes) scrubbed wherever it appears; a shorter whole secret is scrubbed only where it stands
#: alone (`_SHORT_LEFT`/`_SHORT_RIGHT`), a shorter fragment of one never: either is too likely to match ordinary text
MIN_SECRET_CHARS = 6
#: around a short whole secret: no letter or digit, so it is a token of its own, not part of a longer word or number
_SHORT_LEFT = rb"(?<![A-Za-z0-9])"
_SHORT_RIGHT = rb"(?![A-Za-z0-9])"
#: settings that hold credentials when they were given as plain text programmatically (files load them as Secret),
#: also as the last word of a longer name (`api_client_secret`)
_PLAIN_CREDENTIAL_KEYS = ("secret", "token", "psk", "password")


def secrets_in_settings(settings: Mapping[str, Mapping[str, Any]]) -> list[bytes]:
    """Every credential configured for any provider, as raw bytes, at any depth (each account of powunity's
    `accounts` list holds a password and maybe a token): every `Secret` (what the loader makes of each
    credential), plain-text values under credential keys (settings built in code), and what a `url` carries."""
    found: list[bytes] = []
    for values in settings.values():
        _collect(values, found)
    return found


def _collect(value: Any, found: list[bytes], key: object = None) -> None:
    if isinstance(value, Secret):
        found.append(value.reveal())
    elif isinstance(value, str):
        if _credential_key(key) and value:
            found.append(value.encode("utf-8", "surrogatepass"))
        elif key == "url":  # a provider's own endpoint may carry user:password@ or a ?token=
            found += [v.encode("utf-8", "surrogatepass") for v in url_secrets(value)]
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _collect(v, found, k)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _collect(v, found, key)  # a list under "token" holds tokens


def _credential_key(key: object) -> bool:
    """"token", or a name ending in one such word: smartgps's `api_client_secret` (which fleetsim serve keeps as
    text), the drivers API's `oauth_settings.custom_oauth.client_secret`; not `token_header` or `secret_env`,
    which name where a credential goes or comes from."""
    if not isinstance(key, str):
        return False
    word = key.rpartition(".")[2].rpartition("_")[2]
    return key in _PLAIN_CREDENTIAL_KEYS or word in _PLAIN_CREDENTIAL_KEYS


def _encoded(secret: bytes) -> set[bytes]:
    r"""`secret` as it may travel: raw; base64 (standard and URL-safe, padded or not, and the run of characters it
    gives at each of the three alignments inside a longer base64'd blob: an echoed header block, `token + "!"`);
    hex (plain and colon-separated); escaped as JSON strings are by common encoders (Python's, PHP's `\/`, Go's
    `\u0026` for `&<>`, every character as `\uXXXX`), as HTML and XML escape text, and percent-encoded."""
    forms = {secret}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encode(secret)
        forms.add(encoded)
        forms.add(encoded.rstrip(b"="))
        for offset in (0, 1, 2):  # the characters that depend on the secret's bytes alone, wherever it starts
            inner = encode(b"\0" * offset + secret)
            forms.add(inner[-(-8 * offset // 6):8 * (offset + len(secret)) // 6])
    hexed = binascii.hexlify(secret)
    forms |= {hexed, binascii.hexlify(secret, ":")}
    try:
        text = secret.decode("utf-8")
    except UnicodeDecodeError:
        return forms
    escaped_json = {json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
    escaped_json |= {j.replace("/", "\\/") for j in escaped_json}
    escaped_json |= {j.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
                     for j in escaped_json}
    escaped_json.add("".join(f"\\u{ord(c):04x}" for c in text if ord(c) < 0x10000))
    markup = {html.escape(text, quote=False), html.escape(text)}
    markup |= {m.replace("&#x27;", variant) for m in markup for variant in ("&#39;", "&apos;")}
    markup.add("".join(f"&#{ord(c)};" for c in text))
    percent = {quote(text, safe=""), quote_plus(text, safe="")}
    forms |= {f.encode() for f in escaped_json | markup | percent}
    return forms


def _words(secret: bytes) -> list[bytes]:
    """The whitespace-separated words of `secret` long enough to be a credential on their own (the token of
    `Bearer <token>`), when it has more than one."""
    try:
        words = secret.decode("utf-8").split()
    except UnicodeDecodeError:
        return []
    return [w.encode() for w in words if len(w) >= MIN_SECRET_CHARS and w.lower() not in _SCHEMES] \
        if len(words) > 1 else []


#: authorization schemes: the first word of `Bearer <token>` is no secret, and masking it everywhere would hide
#: a receiver's "expected a Bearer token" from its own report
_SCHEMES = frozenset({"bearer", "basic", "digest", "token", "apikey", "api-key"})


def _forms(secret: bytes) -> tuple[set[bytes], set[bytes]]:
    """The forms of `secret` scrubbed wherever they appear (its own and its long words', each encoded every way
    it may travel), and those (the whole secret's own forms, too short for that) scrubbed only where they stand
    alone."""
    forms = _encoded(secret)
    whole = {f for f in forms if 0 < len(f) < MIN_SECRET_CHARS}
    for word in _words(secret):
        forms |= _encoded(word)
    return {f for f in forms if len(f) >= MIN_SECRET_CHARS}, whole


#: a secret (or a word of one) this long is scrubbed also where only its beginning is echoed: a receiver that
#: quotes "the first 16 characters you sent" has given most of it away. The shortest prefix scrubbed is two
#: thirds of the secret (`_prefix_pattern`), and never under PREFIX_MIN characters
PREFIX_FROM = 16
PREFIX_MIN = 10


def _prefix_pattern(secret: bytes) -> bytes | None:
    """A pattern matching any beginning of `secret` from its shortest scrubbed length to the whole of it:
    `abcdefghij(?:k(?:l(?:m)?)?)?`, one alternative instead of one per length."""
    if len(secret) < PREFIX_FROM:
        return None
    return _beginnings(secret, max(PREFIX_MIN, -(-len(secret) * 2 // 3)))  # two thirds, rounded up, in integers


def _suffix_pattern(secret: bytes) -> bytes | None:
    """The mirror of `_prefix_pattern`: any ending of `secret` of two thirds of it or more (an echo that quotes
    "...the last characters"), `(?:(?:a)?b)?cdefghijklm`."""
    if len(secret) < PREFIX_FROM:
        return None
    shortest = max(PREFIX_MIN, -(-len(secret) * 2 // 3))
    pattern = b""
    for i in range(len(secret) - shortest):
        pattern = b"(?:" + pattern + re.escape(secret[i:i + 1]) + b")?"
    return pattern + re.escape(secret[len(secret) - shortest:])


#: a body fleetsim keeps is cut (KEEP_CAP, 4 KiB of a response): a secret the cut runs through leaves only its
#: beginning, at the very end of the kept bytes, so in data that long a beginning of this many characters or more
#: is scrubbed there
CUT_MIN = 5


def _cut_pattern(secret: bytes) -> bytes | None:
    """Any beginning of `secret` (CUT_MIN characters or more, short of the whole) ending the data."""
    if len(secret) <= CUT_MIN:
        return None
    return _beginnings(secret[:-1], CUT_MIN) + rb"\Z"


def _beginnings(secret: bytes, shortest: int) -> bytes:
    pattern = b""
    for i in range(len(secret) - 1, shortest - 1, -1):
        pattern = b"(?:" + re.escape(secret[i:i + 1]) + pattern + b")?"
    return re.escape(secret[:shortest]) + pattern


class Redactor:
    """Replaces any configured secret, in any of its forms, with "<redacted>"."""

    def __init__(self, secrets: Iterable[bytes] = ()) -> None:
        forms: set[bytes] = set()
        short: set[bytes] = set()
        prefixes: set[bytes] = set()
        cut: set[bytes] = set()
        for secret in secrets:
            anywhere, alone = _forms(secret)
            forms |= anywhere
            short |= alone
            whole_and_words = [secret, *_words(secret)]
            prefixes |= {p for p in map(_prefix_pattern, whole_and_words) if p is not None}
            prefixes |= {p for p in map(_suffix_pattern, whole_and_words) if p is not None}
            # a secret opening with an authorization scheme (`Bearer <token>`) is cut-scrubbed by its token alone:
            # a body ending in "Bearer" is not a leak
            opens_with_scheme = secret.split(b" ", 1)[0].lower().decode("latin-1") in _SCHEMES
            cut |= {p for p in map(_cut_pattern, whole_and_words[opens_with_scheme:]) if p is not None}
        # longest first, so a whole value is masked before any word of it; then the beginnings of long secrets
        # (each alternative takes as much of the secret as is there); the short whole secrets last, each only
        # where it stands alone
        ordered = sorted(forms, key=len, reverse=True)
        bounded = sorted(short - forms, key=len, reverse=True)
        patterns = ([re.escape(f) for f in ordered] + sorted(prefixes, key=len, reverse=True)
                    + [_SHORT_LEFT + re.escape(f) + _SHORT_RIGHT for f in bounded])
        # any case: an echo may upper-case what it quotes (hex digests often are); a random string of six or
        # more characters matching a secret's form but for case is not ordinary text either
        self._bytes_re = re.compile(b"|".join(patterns), re.IGNORECASE) if patterns else None
        texts = [p.decode("utf-8") for p in patterns if _is_utf8(p)]
        self._text_re = re.compile("|".join(texts), re.IGNORECASE) if texts else None
        cuts = sorted(cut, key=len, reverse=True)
        self._cut_bytes_re = re.compile(b"|".join(cuts), re.IGNORECASE) if cuts else None
        cut_texts = [p.decode("utf-8") for p in cuts if _is_utf8(p)]
        self._cut_text_re = re.compile("|".join(cut_texts), re.IGNORECASE) if cut_texts else None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Mapping[str, Any]], urls: Iterable[str | None] = ()) -> Redactor:
        """Every credential of `settings`, and those the target `urls` carry (user:password@ is sent as Basic
        auth, and a receiver echoing its Authorization header gives both away)."""
        from_urls = [v.encode("utf-8", "surrogatepass") for url in urls if url for v in url_secrets(url)]
        return cls([*secrets_in_settings(settings), *from_urls])

    def __bool__(self) -> bool:
        return self._bytes_re is not None

    def bytes(self, data: bytes) -> bytes:
        if self._bytes_re is None or not data:
            return data
        data = self._bytes_re.sub(MASK.encode(), data)
        if self._cut_bytes_re is not None and len(data) >= KEEP_CAP:  # as long as a kept body: it may be cut
            data = self._cut_bytes_re.sub(MASK.encode(), data)
        return data

    def text(self, data: str) -> str:
        if self._text_re is None or not data:
            return data
        data = self._text_re.sub(MASK, data)
        # a kept body decoded: 4 KiB of UTF-8 is at least a quarter as many characters
        if self._cut_text_re is not None and len(data) >= KEEP_CAP // 4:
            data = self._cut_text_re.sub(MASK, data)
        return data

    def optional_text(self, data: str | None) -> str | None:
        return None if data is None else self.text(data)

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Header values holding a secret are replaced whole: a partly masked credential still leaks its length
        and the rest of its words."""
        if self._text_re is None:
            return dict(headers)
        return {name: (MASK if self._text_re.search(value) else value) for name, value in headers.items()}


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
