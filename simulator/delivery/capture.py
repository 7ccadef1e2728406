"""NDJSON captures of exactly what was sent, and replaying them.

One line per HTTP attempt: the request as it went on the wire (method, URL, every header, the body bytes —
as text when it is UTF-8, else base64), when it was sent, and what came back. A capture can be edited by
hand and replayed: `fleetsim replay CAPTURE --target URL` re-sends each request byte for byte; with
`--resign` the signature headers are recomputed at replay time (fresh timestamps) from the settings file.

Captures contain signed requests but never secrets (signatures are not secrets): a header carrying a configured
secret (PowUnity's PSK in Authorization, a MettaX token) is written "<redacted>", and the URL keeps no password
and no secret-looking query value (`?code=***`, an Azure Functions key). Replay takes the credentials from its
own `--target`, the masked query values from the provider's `url` in `--settings FILE` (`retarget`), and the
credential headers from `--resign --settings FILE`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from ..errors import InputError, UsageError
from .model import Attempt
from .redaction import MASK, Redactor
from .urls import SECRET_QUERY_NAME, URL_MASK, masked_url_secrets, shown_url

REDACTED = MASK
#: headers that carry a shared secret as-is (not a signature over the body)
SECRET_HEADERS = frozenset({"authorization"})


def encode_body(body: bytes) -> dict[str, str]:
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_b64": base64.b64encode(body).decode("ascii")}


def decode_body(record: dict[str, Any], where: str) -> bytes:
    if "body" in record and isinstance(record["body"], str):
        return record["body"].encode("utf-8")
    if "body_b64" in record and isinstance(record["body_b64"], str):
        try:
            return base64.b64decode(record["body_b64"], validate=True)
        except ValueError:
            raise InputError(where, "body_b64: not valid base64") from None
    raise InputError(where, "expected a 'body' (text) or 'body_b64' field")


class CaptureWriter:
    """Writes a capture. Unless `keep_secrets`, every header holding a configured secret (by value: PowUnity's
    PSK, a MettaX token under any header name) and every `Authorization` header is written as "<redacted>";
    `redact_with` gives it the run's secrets."""

    def __init__(self, path: str | Path, *, keep_secrets: bool = False) -> None:
        self.path = Path(path)
        self.keep_secrets = keep_secrets
        self.redactor = Redactor()
        self.secret_headers = SECRET_HEADERS
        shown = str(path) if len(str(path)) <= 256 else f"{str(path)[:60]!r}... ({len(str(path))} characters)"
        try:
            if self.path.exists() and not self.path.is_file():
                raise UsageError(f"{shown}: cannot write the capture here (not a regular file)")
            self._file: IO[bytes] = self.path.open("wb")
        except OSError as exc:
            raise UsageError(f"{shown}: cannot write the capture ({exc.strerror or exc})") from None
        self.count = 0

    def redact_with(self, redactor: Redactor, *, names: frozenset[str] = frozenset()) -> None:
        """Scrub with `redactor`, and mask the headers `names` (credential headers) whatever their value."""
        self.redactor = redactor
        self.secret_headers = SECRET_HEADERS | {n.lower() for n in names}

    def write(self, attempt: Attempt) -> None:
        if self.keep_secrets:
            headers = dict(attempt.request_headers)
        else:
            headers = {k: (REDACTED if k.lower() in self.secret_headers else v)
                       for k, v in self.redactor.headers(attempt.request_headers).items()}
        line = {
            "event_id": attempt.event_id,
            "provider": attempt.provider,
            "kind": attempt.kind,
            "copy": attempt.copy,
            "attempt": attempt.attempt,
            "method": "POST",
            # a user:password@ of the target is sent as Basic auth and a secret-looking query value (an Azure
            # Functions `code`, a `token`) is a credential: neither is written down. Replay takes the scheme, host
            # and credentials from its own --target, a masked query value from the provider's url in --settings
            # (`retarget`); the rest of the query is kept, and sent again
            "url": attempt.url if self.keep_secrets else masked_url_secrets(attempt.url),
            "headers": headers,
            **encode_body(attempt.request_body),
            "sent_at": attempt.sent_at,
            "response": {
                "outcome": attempt.outcome,
                "status": attempt.status,
                "latency_ms": round(attempt.latency_s * 1000, 3),
                "error": attempt.error,
            },
        }
        try:
            self._file.write(orjson.dumps(line) + b"\n")
        except OSError as exc:  # disk full, a device that takes no writes: the user's to fix, never exit 3
            raise UsageError(f"{self.path}: cannot write the capture ({exc.strerror or exc})") from None
        self.count += 1

    def close(self) -> None:
        try:
            self._file.close()
        except OSError as exc:  # buffered bytes are flushed here
            raise UsageError(f"{self.path}: cannot write the capture ({exc.strerror or exc})") from None


@dataclass
class CapturedRequest:
    line: int
    event_id: str
    provider: str
    copy: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes


#: the longest capture line read: a request's body (at most a few MiB, even an oversized probe) as JSON text
MAX_LINE_BYTES = 64 << 20


def read_capture(path: str | Path) -> Iterator[CapturedRequest]:
    """Requests of a capture file, one per line; any malformed line is an InputError naming file:line."""
    try:
        handle = Path(path).open("rb")  # noqa: SIM115  (closed by the with-block below, after the error checks)
    except FileNotFoundError:
        raise InputError(str(path), "no such file") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot be read ({exc.strerror or exc})") from None
    with handle:
        # a line at a time, each bounded: a file with no newline (a device, a wrong file) is one clear error, not
        # a read that grows until memory runs out
        for number, raw in enumerate(iter(lambda: handle.readline(MAX_LINE_BYTES + 1), b""), 1):
            where = f"{path}:{number}"
            if len(raw) > MAX_LINE_BYTES:
                raise InputError(where, f"a line longer than {MAX_LINE_BYTES} bytes: not a capture line")
            if not raw.strip():
                continue
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                # the decoder counts lines within this one line (its newline makes a "line 2"): the file's line
                # is `where`, so only the column is added (its position in characters, as editors count)
                raise InputError(f"{where}:{exc.pos + 1}", f"not a JSON capture line ({exc.msg})") from None
            if not isinstance(record, dict):
                raise InputError(where, "expected a JSON object per line")
            headers = record.get("headers")
            url = record.get("url")
            if not isinstance(url, str) or not isinstance(headers, dict):
                raise InputError(where, "expected 'url' (text) and 'headers' (object)")
            if not all(isinstance(v, str) for v in headers.values()):
                raise InputError(where, "header values must be text")
            _check_sendable(record, url, headers, where)
            yield CapturedRequest(
                line=number,
                event_id=str(record.get("event_id", "")),
                provider=str(record.get("provider", "")),
                copy=str(record.get("copy", "genuine")),
                url=url,
                headers=list(headers.items()),
                body=decode_body(record, where),
            )


#: an HTTP header name (RFC 9110 token) and what no header value may hold (RFC 9110 5.5: CR, LF and NUL)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FORBIDDEN_IN_VALUE = re.compile(r"[\r\n\x00]")


def _check_sendable(record: dict[str, Any], url: str, headers: dict[str, str], where: str) -> None:
    """A line no HTTP client can send is the file's fault, said before anything is sent: it was replayed as a
    failed request (exit 1), or as a POST whatever method it named. Header values are never quoted (a captured
    credential may stand there)."""
    method = record.get("method", "POST")
    if method != "POST":
        raise InputError(where, f"method {str(method)[:40]!r}: fleetsim captures and replays POST requests only")
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise InputError(where, f"url {shown_url(url)}: expected an http:// or https:// URL")
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name):
            raise InputError(where, f"header {name[:60]!r}: a name is an HTTP token (letters, digits, !#$%&'*+-.^_`|~)")
        if _FORBIDDEN_IN_VALUE.search(value):
            raise InputError(where, f"header {name!r}: a value may not hold CR, LF or NUL")


def retarget(url: str, target: str, given: str = "") -> str:
    """The captured URL's path on the new target's scheme, host and port (and base path), its query kept but for
    the values masked when it was captured (`name=***`), which are taken from the query `given` (the provider's
    `url` setting's: `replay --settings`) where it has the same names (`masked_query_names` says beforehand which
    it lacks)."""
    old, new = urlsplit(url), urlsplit(target)
    path = new.path.rstrip("/") + old.path if new.path not in ("", "/") else old.path
    query = old.query
    if _MASKED_VALUE in f"{query}&":
        values = _query_values(given)
        query = "&".join(f"{name}={values[name]}" if value == URL_MASK and name in values else part
                         for part in query.split("&")
                         for name, _, value in [part.partition("=")])
    return urlunsplit((new.scheme, new.netloc, path, query, ""))


_MASKED_VALUE = f"={URL_MASK}&"


def masked_query_names(url: str, given: str = "") -> list[str]:
    """The names of the query parameters masked in captured `url` (`token=***`) that the query `given` does not
    hold: replay cannot send them (a masked value would only earn a 401)."""
    query = urlsplit(url).query
    if _MASKED_VALUE not in f"{query}&":
        return []
    values = _query_values(given)
    masked = [name for name, _, value in (part.partition("=") for part in query.split("&"))
              if value == URL_MASK and SECRET_QUERY_NAME.search(name)]
    return [name for name in dict.fromkeys(masked) if name not in values]


def _query_values(query: str) -> dict[str, str]:
    """Each parameter's value in `query` as written (percent-encoding kept), by its name as written; the first
    of a repeated name."""
    values: dict[str, str] = {}
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        if eq and name not in values:
            values[name] = value
    return values
