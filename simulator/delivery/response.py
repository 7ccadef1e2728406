"""What a POST came to, the same whichever transport carried it: `Response`, the caps on what is read and kept,
the outcome a status gives, Retry-After, and the one-line error text.

Both HTTP transports (`transport.HttpTransport` over aiohttp, `h1.H1Transport` over asyncio Protocols) and the
in-process senders (conformance/inprocess.py) answer with these, so a run, a replay or a check reads one shape.
Pure: no sockets, no clock reads (the wall clock for Retry-After dates is passed in).
"""

from __future__ import annotations

import errno
import math
import re
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Final

__all__ = [
    "DEFAULT_KEEP_HEADERS",
    "ERROR_HEADERS_CAP",
    "KEEP_ALL_HEADERS_FROM",
    "KEEP_CAP",
    "READ_CAP",
    "Response",
    "one_line",
    "parse_retry_after",
    "select_headers",
    "status_outcome",
    "timeout_error",
]

READ_CAP: Final = 64 * 1024  # most bytes of a response body ever read
KEEP_CAP: Final = 4 * 1024  # most bytes of a response body kept in the Response
HEADER_VALUE_CAP: Final = 512  # most characters of a kept response header's value
ERROR_CAP: Final = 300  # most characters of Response.error

# response headers kept in Response.headers (lower-cased names)
DEFAULT_KEEP_HEADERS: Final = (
    "content-type", "content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive",
    "retry-after", "location", "date", "server", "x-request-id", "allow",
    "accept-encoding",  # what a 415 for a content coding offers instead (RFC 7694; conformance TRN-04)
)

#: from this status on, an answer keeps every header (the first of each name, at most ERROR_HEADERS_CAP), not only
#: DEFAULT_KEEP_HEADERS: an error answer's headers are judged for an echoed secret or signature as its body is
#: (SIG-10), and redacted in reports and captures like everything else kept
KEEP_ALL_HEADERS_FROM: Final = 400
ERROR_HEADERS_CAP: Final = 64

def select_headers(headers: Iterable[tuple[str, str]], status: int, keep: Container[str]) -> dict[str, str]:
    """The response headers kept (lower-cased names, the first of repeated ones, values cut at HEADER_VALUE_CAP):
    those in `keep`, or from KEEP_ALL_HEADERS_FROM on every one, up to ERROR_HEADERS_CAP. One walk over the few
    headers a receiver sends, not a lookup per name kept: cheaper on every delivery (h1.py keeps the same on bytes)."""
    kept: dict[str, str] = {}
    every = status >= KEEP_ALL_HEADERS_FROM
    for name, value in headers:
        lower = name.lower()
        if (lower in keep or (every and len(kept) < ERROR_HEADERS_CAP)) and lower not in kept:
            kept[lower] = value[:HEADER_VALUE_CAP]
    return kept


#: errnos of a connection the peer reset or that died under a write
RESET_ERRNOS: Final = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})
_SECONDS_RE: Final = re.compile(r"\d{1,12}(?:\.\d{1,9})?")


@dataclass(slots=True)
class Response:
    """What happened to one POST. `outcome` is always one of `model.OUTCOMES`. Treat it as read-only: it is not
    frozen only because a frozen dataclass's __init__ costs twice as much, once per request."""

    outcome: str
    status: int | None = None  # set whenever a status line was parsed, even if the body then timed out
    retry_after_s: float | None = None  # Retry-After in seconds from now (delay-seconds or HTTP-date), >= 0
    headers: dict[str, str] = field(default_factory=dict)  # selected response headers, lower-cased names
    body: bytes = b""  # at most KEEP_CAP bytes of the response body (whatever was read before an error, too)
    latency_s: float = 0.0  # from the call to the headers + capped body, or to the error (retry included)
    error: str | None = None  # one line, for transport errors and timeouts
    stale_retried: bool = False  # a stale pooled connection was retried transparently (not an attempt)


def timeout_error(connected: bool, deadline_s: float) -> str:
    """The one line of a request its deadline stopped: after its connection was established
    ("timeout_total") or before ("timeout_connect")."""
    if connected:
        return f"no complete response within the {deadline_s:g} s deadline"
    return f"no connection established within the {deadline_s:g} s deadline"


def parse_retry_after(value: str, now: float) -> float | None:
    """Seconds to wait according to a Retry-After value: delay-seconds or an HTTP-date.

    `now` is the wall clock (UTC epoch seconds) the date is measured against. Dates in the past give 0.0;
    anything unparsable gives None. Fractional seconds are accepted leniently.
    """
    text = value.strip()
    if not text:
        return None
    if _SECONDS_RE.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        delay = when.timestamp() - now  # naive results ("-0000") are UTC per email.utils; fine either way for GMT
    except (OverflowError, OSError, ValueError):
        return None
    if not math.isfinite(delay):
        return None
    return max(0.0, delay)


def status_outcome(status: int) -> str:
    if status == 429:
        return "429"
    if 200 <= status < 300:
        return "2xx"
    if 300 <= status < 400:
        return "3xx"
    if 400 <= status < 500:
        return "4xx"
    if 500 <= status < 600:
        return "5xx"
    return "protocol_error"  # 1xx as a final status, or a status outside 100-599


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return line if len(line) <= ERROR_CAP else line[: ERROR_CAP - 3] + "..."
