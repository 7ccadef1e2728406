"""Is anything listening where a command is about to send? Asked once, before any work starts, so that a receiver
that is not running (a typo in the port, the wrong host, a name that does not resolve) is one line and exit 2
rather than a run of connection errors (docs/delivery.md, "Verdicts and exit codes"). A receiver that goes away
later in a run is the receiver's result, as before: failed events, exit 1."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

from ..errors import UsageError
from .urls import shown_url

__all__ = ["CONNECT_TIMEOUT_S", "all_reachable", "reachable"]

#: how long one TCP connect may take before the host counts as not answering
CONNECT_TIMEOUT_S = 5.0


def reachable(url: str, what: str = "the target", *, wait_s: float = 0.0, handshake: bool = False,
              ca_bundle: str | None = None, listener: str = "the receiver") -> None:
    """Return when something accepts a TCP connection at `url`'s host and port; else raise a UsageError naming
    `what`, the URL (without credentials or query) and why. Refused connections are tried again for `wait_s`
    seconds (a process started a moment earlier may not listen yet). With `handshake`, an https URL's certificate
    is verified too (with `ca_bundle`'s CAs as well as the system's). `listener` is who should be listening, for
    the hint after a refusal."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            with socket.create_connection((parts.hostname or "", port), timeout=CONNECT_TIMEOUT_S) as connection:
                if handshake and parts.scheme == "https":
                    _handshake(connection, parts.hostname or "", what, url, ca_bundle)
                return
        except ConnectionRefusedError:
            if time.monotonic() >= deadline:
                raise UsageError(f"cannot reach {what} {shown_url(url)}: connection refused (is {listener} "
                                 "running, and on that port?)") from None
            time.sleep(0.2)
        except TimeoutError:
            raise UsageError(f"cannot reach {what} {shown_url(url)}: no answer to a TCP connect in "
                             f"{CONNECT_TIMEOUT_S:g} s") from None
        except socket.gaierror as exc:
            raise UsageError(f"cannot reach {what} {shown_url(url)}: the host name does not resolve "
                             f"({exc.strerror or 'no address'})") from None
        except (OSError, ValueError, UnicodeError) as exc:
            why = getattr(exc, "strerror", None) or type(exc).__name__
            raise UsageError(f"cannot reach {what} {shown_url(url)}: {why}") from None


def all_reachable(urls: Iterable[tuple[str, str]]) -> None:
    """`reachable` for each (url, what), asking each host and port once."""
    asked: set[tuple[str, str | None, int | None]] = set()
    for url, what in urls:
        try:
            parts = urlsplit(url)
            where = (parts.scheme, parts.hostname, parts.port)
        except ValueError:
            where = (url, None, None)  # reachable() words the problem
        if where not in asked:
            asked.add(where)
            reachable(url, what)


def _handshake(connection: socket.socket, host: str, what: str, url: str, ca_bundle: str | None) -> None:
    from .transport import trust_context, verify_failure

    try:
        with trust_context(ca_bundle).wrap_socket(connection, server_hostname=host):
            return
    except ssl.SSLError as exc:
        line = verify_failure(exc) or f"TLS handshake failed ({exc.reason or exc})"
        raise UsageError(f"cannot reach {what} {shown_url(url)}: {line}") from None
