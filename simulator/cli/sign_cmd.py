"""`fleetsim sign` and `fleetsim verify`: compute or check a provider's signature headers.

For integrators debugging their own receiver: paste the headers and body a request carried and see exactly
why it does (not) verify. Secrets can come from --secret, --secret-env or --secret-file; they are never
printed back.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from typing import Any

from ..errors import SecretError, UnknownNameError, UsageError
from ..providers import PROVIDERS
from ..signing import SIGNERS, CIHeaders, Secret, Signer
from ..signing.hmac_sha256 import HmacSha256Signer
from ..signing.none import NONE
from .common import non_negative_int, read_input


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("provider", help="provider (samsara, smartgps, powunity, mettax) or signing profile "
                   "(standard-webhooks, hmac-sha256)")
    src = p.add_argument_group("secret (one of)")
    src.add_argument("--secret", action="append", default=[], metavar="S",
                     help="secret as the provider shows it (repeat for key rotation where supported)")
    src.add_argument("--secret-env", metavar="VAR", help="read the secret from this environment variable")
    src.add_argument("--secret-file", metavar="FILE", help="read the secret from this file (trailing newline ignored)")
    p.add_argument("--body-file", default="-", metavar="F", help="request body file, or - for stdin (default)")
    p.add_argument("--header-name", help="hmac-sha256 only: signature header (default X-Hub-Signature-256)")
    p.add_argument("--prefix", help="hmac-sha256 only: value prefix (default sha256=; '' for none)")
    p.add_argument("--encoding", choices=("hex", "base64"),
                   help="hmac-sha256 only: digest encoding (default hex; Shopify-style is --header-name "
                   "X-Shopify-Hmac-Sha256 --prefix '' --encoding base64)")


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("sign", help="print the headers that sign a body", description="Print the signature "
                       "headers a provider would send with this body, one `Name: value` per line.")
    _add_common(p)
    p.add_argument("--timestamp", type=non_negative_int, help="Unix seconds to sign with (default: now)")
    p.add_argument("--id", dest="message_id", type=header_text,
                   help="message/delivery id where the scheme signs or sends one (default: derived from body and "
                   "timestamp)")
    p.set_defaults(handler=run_sign)

    v = sub.add_parser("verify", help="check a request's signature headers",
                       description="Exit 0 when the headers authenticate the body, 1 (with the reason) when not.")
    _add_common(v)
    v.add_argument("--header", action="append", default=[], metavar="'Name: value'", help="a received header")
    v.add_argument("--now", type=non_negative_int, help="Unix seconds to judge freshness against (default: now)")
    v.add_argument("--tolerance", type=non_negative_int, default=300, metavar="SECONDS",
                   help="allowed clock difference for timestamped schemes (default 300)")
    v.set_defaults(handler=run_verify)


def resolve_signer(name: str, args: argparse.Namespace) -> Signer:
    if name in PROVIDERS:
        signer: Signer = SIGNERS[PROVIDERS[name].signing]
    elif name in SIGNERS:
        signer = SIGNERS[name]
    else:
        raise UnknownNameError("provider or signing profile", name, {*PROVIDERS, *SIGNERS})
    # `--prefix ''` is given (Shopify sends a bare digest): tested against None, not for truth
    if args.header_name or args.prefix is not None or args.encoding:
        if not isinstance(signer, HmacSha256Signer):
            raise UsageError(f"--header-name/--prefix/--encoding apply to hmac-sha256 style profiles, "
                             f"not {signer.name}")
        signer = HmacSha256Signer(
            signer.name,
            header=args.header_name or signer.header,
            prefix=args.prefix if args.prefix is not None else signer.prefix,
            encoding=args.encoding or signer.encoding,
        )
    return signer


def _secret_texts(args: argparse.Namespace) -> list[str]:
    texts: list[str] = list(args.secret)
    if args.secret_env:
        value = os.environ.get(args.secret_env)
        if value is None:
            raise SecretError(f"--secret-env: environment variable {args.secret_env} is not set")
        texts.append(value)
    if args.secret_file:
        name, raw = read_input(args.secret_file, limit=SECRET_FILE_LIMIT, what="a secret file")
        try:
            texts.append(raw.decode("utf-8").rstrip("\r\n"))
        except UnicodeDecodeError:
            raise SecretError(f"{name}: secret file is not UTF-8 text") from None
    if not texts:
        raise UsageError("a secret is required: give --secret, --secret-env or --secret-file")
    return texts


def secrets_for(signer: Signer, args: argparse.Namespace) -> list[Secret]:
    return [signer.parse_secret(text) for text in _secret_texts(args)]


def _default_id(body: bytes, timestamp: int) -> str:
    return "msg_" + hashlib.sha256(b"%d:" % timestamp + body).hexdigest()[:24]


def _signs_nothing(signer: Signer, args: argparse.Namespace, outcome: str) -> bool:
    """For profiles that sign nothing (MettaX): say so on stderr instead of demanding a secret to ignore."""
    if signer.name != NONE.name:
        return False
    if args.body_file != "-":
        read_input(args.body_file)  # a named body file that cannot be read is still a mistake worth a line
    who = args.provider if args.provider in PROVIDERS else f"signing profile {args.provider!r}"
    ignored = " (the secret given is not used)" if args.secret or args.secret_env or args.secret_file else ""
    print(f"fleetsim: note: {who} signs nothing: {outcome}{ignored}", file=sys.stderr)
    return True


#: Unix seconds beyond this are past the year 5000: a value this large is almost surely milliseconds
SECONDS_AT_MOST = 10**11


def _note_milliseconds(value: int, option: str) -> None:
    """Samsara's eventMs and most JavaScript clocks count milliseconds; signatures count seconds. Signed as
    given (the user may mean it), with a note that says what was probably meant."""
    if value > SECONDS_AT_MOST:
        print(f"fleetsim: note: {option} {value} is read as Unix seconds (the year {1970 + value // 31_556_952}); "
              f"if you meant milliseconds, that is {option} {value // 1000}", file=sys.stderr)


def run_sign(args: argparse.Namespace) -> int:
    signer = resolve_signer(args.provider, args)
    if _signs_nothing(signer, args, "there are no headers to add"):
        return 0
    secrets = secrets_for(signer, args)
    _, body = read_input(args.body_file, what="a body")
    timestamp = args.timestamp if args.timestamp is not None else int(time.time())
    _note_milliseconds(timestamp, "--timestamp")
    message_id = args.message_id or _default_id(body, timestamp)
    headers = signer.sign(body, secrets, timestamp=timestamp, message_id=message_id)
    for name, value in headers.items():
        print(f"{name}: {value}")
    return 0


def header_text(text: str) -> str:
    """An --id: it is sent as a header value, so printable text (a byte that is not UTF-8, or a control
    character, cannot be one)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError("expected text: the argument holds bytes that are not UTF-8") from None
    if not text or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise argparse.ArgumentTypeError("expected non-empty text without control characters (it is sent as a "
                                         "header value)")
    return text


#: a secret file holds a key of a few dozen bytes (a PEM-sized one at most)
SECRET_FILE_LIMIT = 64 * 1024


def _parse_headers(raw: list[str]) -> CIHeaders:
    pairs: list[tuple[str, str]] = []
    for item in raw:
        name, sep, value = item.partition(":")
        if not sep or not name.strip() or name != name.strip():
            # only a first word that is followed by more ("Authorization Bearer <psk>" without the colon): a single
            # word with no colon is as likely the credential itself as a header's name
            words = item.split(maxsplit=1)
            if len(words) == 2:
                got = f"{words[0][:40]!r} followed by more (not shown: it may be a credential)"
            else:
                got = "text with no colon (not shown: it may be a credential)" if words else "''"
            raise UsageError(f"--header expects 'Name: value', got {got}")
        pairs.append((name, value.strip()))
    return CIHeaders(pairs)


def run_verify(args: argparse.Namespace) -> int:
    signer = resolve_signer(args.provider, args)
    headers = _parse_headers(args.header)
    if _signs_nothing(signer, args, "there is nothing to verify"):
        return 0
    secrets = secrets_for(signer, args)
    _, body = read_input(args.body_file, what="a body")
    now = args.now if args.now is not None else int(time.time())
    _note_milliseconds(now, "--now")
    verdict = signer.verify(body, headers, secrets, now=now, tolerance=args.tolerance)
    if verdict.ok:
        print(f"valid: {verdict.reason}")
        return 0
    print(f"invalid ({verdict.code}): {verdict.reason}")
    return 1
