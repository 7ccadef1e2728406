"""Whom fleetsim's HTTP clients trust: the TLS client contexts, and the one line a failed verification becomes.

Shared by both transports (transport.py, h1.py) and the commands' --ca-bundle option; no aiohttp here, so a
command that only reads a CA bundle does not import an HTTP client.
"""

from __future__ import annotations

import functools
import ssl
from typing import Final

from ..errors import UsageError

__all__ = ["CA_BUNDLE_HINT", "check_client_options", "default_trust", "handshake_closed", "no_trust", "trust_context",
           "verify_failure"]

#: what a failed chain verification says next to OpenSSL's reason: the way to trust a local CA
CA_BUNDLE_HINT: Final = "pass --ca-bundle FILE (fleetsim receiver --tls prints it)"


def check_client_options(concurrency: int, verify: bool, ssl_context: ssl.SSLContext | None) -> None:
    """The options both HTTP clients take, refused alike: a UsageError for a concurrency that is not a positive
    integer, or for a TLS context given together with verify=False."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise UsageError(f"transport concurrency must be a positive integer, got {concurrency!r}")
    if ssl_context is not None and not verify:
        raise UsageError("pass either a TLS context or verify=False, not both")


def handshake_closed(line: str) -> str:
    """The one line of a TLS connection reset during its handshake (`line`: the error as it came). A reset
    answering the SYN is ECONNREFUSED; one after the TCP connection was made came in the TLS handshake: asyncio's
    TLS servers close without an alert when no version or cipher is shared."""
    return (f"the connection was closed during the TLS handshake: the server offers no TLS version or cipher "
            f"this client accepts (TLS 1.2 or later)? ({line})")


def trust_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """The TLS context of fleetsim's clients: chain and host name verified, TLS 1.2 or later (TRN-01), trusting
    the system's CAs (with SSL_CERT_FILE / SSL_CERT_DIR honoured, as Python does) and `ca_bundle`'s (a PEM file,
    such as the ca.pem `fleetsim receiver --tls` prints). A bundle that cannot be read is a UsageError."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=ca_bundle)
        except ssl.SSLError as exc:
            raise UsageError(f"--ca-bundle {_path(ca_bundle)}: not a PEM file of CA certificates "
                             f"({exc.reason or exc})") from None
        except (OSError, ValueError) as exc:  # missing, a directory, unreadable, a NUL in the name
            raise UsageError(f"--ca-bundle {_path(ca_bundle)}: cannot read it "
                             f"({getattr(exc, 'strerror', None) or type(exc).__name__})") from None
    return context


@functools.cache
def default_trust() -> ssl.SSLContext:
    """`trust_context()` made once per process and never changed: loading the system's CAs takes tens of
    milliseconds, and transports are made per run, per probe phase and per test (aiohttp caches its own the same
    way). `trust_context()` itself always gives a fresh context, which a caller may add CAs to."""
    return trust_context()


@functools.cache
def no_trust() -> ssl.SSLContext:
    """The context of `verify=False` (--insecure, self-signed test receivers): no chain or host name check at all,
    any TLS version OpenSSL allows by default (as aiohttp's `ssl=False`)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _path(path: str) -> str:
    return repr(path) if len(path) <= 256 and path.isprintable() else f"{path[:60]!r}... ({len(path)} characters)"


def verify_failure(exc: BaseException) -> str | None:
    """One line for a certificate that did not verify: OpenSSL's reason and, when the chain found no trusted
    issuer (a local or private CA), how to trust it. None: not a verification failure."""
    cause: BaseException | None = exc
    # aiohttp wraps it (its ClientConnectorCertificateError is itself an ssl.CertificateError, with no verify_*)
    for _ in range(4):
        if cause is None or type(cause) is ssl.SSLCertVerificationError:
            break
        cause = getattr(cause, "certificate_error", None) or getattr(cause, "os_error", None) or cause.__cause__
    if not isinstance(cause, ssl.SSLCertVerificationError):
        return None
    reason = str(getattr(cause, "verify_message", None) or cause.reason or "the certificate did not verify")
    untrusted = getattr(cause, "verify_code", None) in _UNTRUSTED_ISSUER
    return f"certificate verify failed: {reason}" + (f" — {CA_BUNDLE_HINT}" if untrusted else "")


#: X509_V_ERR_* codes of a chain that reaches no trusted CA (self-signed; issuer unknown; no local issuer)
_UNTRUSTED_ISSUER: Final = frozenset({2, 18, 19, 20, 21})
