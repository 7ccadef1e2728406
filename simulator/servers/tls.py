"""HTTPS for fleetsim's servers (`fleetsim receiver --tls`, `fleetsim serve --tls`): a local fleetsim CA kept in a
directory and the server contexts it issues certificates for (docs/tls.md).

The CA is made with trustme and kept in `DIR/ca.pem` and `DIR/ca-key.pem` (default `.fleetsim/tls/` under the
working directory), so a user trusts it once (`--ca-bundle DIR/ca.pem`, or their system's trust store) and every
later run reuses it. The server certificate is issued afresh at every start, in memory, for localhost,
127.0.0.1, ::1 and the address the server listens on. Private keys are written 0600 and never printed.

A user's own certificate (`--tls-cert FILE --tls-key FILE`) replaces the local CA. Every mistake (a directory
that cannot hold the CA, a file that is no certificate, a key that does not match) is a UsageError: one line.
The contexts refuse TLS below 1.2 (TRN-01's rule, docs/conformance-catalogue.md).
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from ..errors import UsageError

if TYPE_CHECKING:
    import trustme

__all__ = ["CA_FILE", "CA_KEY_FILE", "DEFAULT_TLS_DIR", "ServerTLS", "local_ca_tls", "own_certificate_tls",
           "self_trusted_tls", "server_names", "server_tls"]

#: where the local CA lives unless --tls-dir says otherwise (relative: under the working directory)
DEFAULT_TLS_DIR: Final = Path(".fleetsim") / "tls"
CA_FILE: Final = "ca.pem"
CA_KEY_FILE: Final = "ca-key.pem"
#: names every local certificate holds, whatever address the server listens on
LOCAL_NAMES: Final = ("localhost", "127.0.0.1", "::1")
#: the only files a TLS directory holds: fleetsim never writes its CA key into a directory of other things
_OWN_FILES: Final = frozenset({CA_FILE, CA_KEY_FILE})


@dataclass(frozen=True)
class ServerTLS:
    """A server's TLS: the context it serves with, and the CA file a client must trust (None: the user's own
    certificate, whose issuer fleetsim does not know)."""

    context: ssl.SSLContext
    ca_file: Path | None
    names: tuple[str, ...] = ()
    #: the CA certificate (PEM) of a throwaway CA that is written nowhere, for a client that needs it as a file
    #: (a state probe's command under `fleetsim check --tls`); None otherwise
    ca_pem: bytes | None = None


def server_names(host: str) -> tuple[str, ...]:
    """The names a certificate for a server listening on `host` holds: the local ones, and `host` itself when it
    is a name or a specific address (a wildcard such as 0.0.0.0 is no name a client connects to)."""
    names = list(LOCAL_NAMES)
    host = host.strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host and host.isascii() and host.isprintable() and host.lower() not in names:
            names.append(host.lower())
    else:
        if not address.is_unspecified and str(address) not in names:
            names.append(str(address))
    return tuple(names)


def _server_context() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def local_ca_tls(directory: Path, host: str) -> ServerTLS:
    """The local CA of `directory` (made there on first use), and a context serving a certificate it issues
    for `server_names(host)`."""

    ca = _load_or_create_ca(directory)
    names = server_names(host)
    try:
        leaf = ca.issue_cert(*names)
    except (ValueError, UnicodeError) as exc:
        raise UsageError(f"--tls: cannot issue a certificate for {names[-1][:60]!r}: {exc}") from None
    context = _server_context()
    leaf.configure_cert(context)
    return ServerTLS(context, (directory / CA_FILE).absolute(), names)


def self_trusted_tls(client: ssl.SSLContext, host: str = "127.0.0.1") -> ServerTLS:
    """For a receiver fleetsim starts for itself (`fleetsim run --tls`, `fleetsim check --tls` without --target):
    a throwaway CA in memory, nothing written; `client` (a `trust_context()`) is made to trust it, so fleetsim's own
    requests verify as they would against any receiver."""
    import trustme

    ca = trustme.CA(organization_name="fleetsim", organization_unit_name="fleetsim throwaway CA")
    names = server_names(host)
    context = _server_context()
    ca.issue_cert(*names).configure_cert(context)
    ca.configure_trust(client)
    return ServerTLS(context, None, names, ca.cert_pem.bytes())


def own_certificate_tls(cert_file: str, key_file: str) -> ServerTLS:
    """A context serving the user's own certificate chain and key (PEM files)."""
    context = _server_context()
    for option, path in (("--tls-cert", cert_file), ("--tls-key", key_file)):
        if not os.path.isfile(path):
            raise UsageError(f"{option} {_shown(path)}: {'no such file' if not os.path.exists(path) else 'not a file'}")
    try:
        context.load_cert_chain(cert_file, key_file)
    except ssl.SSLError as exc:
        raise UsageError(f"--tls-cert {_shown(cert_file)} --tls-key {_shown(key_file)}: not a PEM certificate "
                         f"chain and its matching private key ({exc.reason or exc})") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"--tls-cert/--tls-key: cannot read {_shown(cert_file)} or {_shown(key_file)} "
                         f"({getattr(exc, 'strerror', None) or exc})") from None
    return ServerTLS(context, None)


def server_tls(*, tls: bool, tls_dir: str | None, cert: str | None, key: str | None, host: str) -> ServerTLS | None:
    """What the --tls, --tls-dir, --tls-cert and --tls-key options ask for (None: plain http)."""
    if (cert is None) != (key is None):
        raise UsageError("--tls-cert FILE and --tls-key FILE go together: give both (or --tls for fleetsim's local CA)")
    if cert is not None and key is not None:
        if tls_dir is not None:
            raise UsageError("--tls-dir is the local CA's directory: it has no use with your own --tls-cert/--tls-key")
        return own_certificate_tls(cert, key)
    if tls_dir is not None and not tls:
        raise UsageError("--tls-dir DIR needs --tls (serve HTTPS with the local CA kept in DIR)")
    if not tls:
        return None
    return local_ca_tls(Path(tls_dir) if tls_dir is not None else DEFAULT_TLS_DIR, host)


# --- the CA on disk -----------------------------------------------------------------------------------------


def _load_or_create_ca(directory: Path) -> trustme.CA:
    import trustme

    where = _shown(str(directory))
    try:
        if directory.exists() and not directory.is_dir():
            raise UsageError(f"--tls-dir {where}: not a directory")
        if directory.is_dir():
            present = {p.name for p in directory.iterdir()}
            if present - _OWN_FILES:
                raise UsageError(f"--tls-dir {where}: holds other files; give an empty or new directory for "
                                 f"fleetsim's CA (it keeps only {CA_FILE} and {CA_KEY_FILE} there)")
            if present == _OWN_FILES:
                return _load_ca(directory)
            if present:
                missing = sorted(_OWN_FILES - present)[0]
                raise UsageError(f"--tls-dir {where}: {missing} is missing; remove the directory to make a new CA")
        directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="fleetsim", organization_unit_name="fleetsim local CA")
        # the key first, created 0600 and exclusive: two servers starting at once do not both write one
        try:
            descriptor = os.open(directory / CA_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another fleetsim made it a moment ago
            return _load_ca(directory)
        with os.fdopen(descriptor, "wb") as out:
            out.write(ca.private_key_pem.bytes())
        (directory / CA_FILE).write_bytes(ca.cert_pem.bytes())
        return ca
    except (OSError, ValueError) as exc:
        raise UsageError(f"--tls-dir {where}: cannot keep the CA there "
                         f"({getattr(exc, 'strerror', None) or type(exc).__name__})") from None


def _load_ca(directory: Path) -> trustme.CA:
    import trustme

    try:
        ca = trustme.CA.from_pem((directory / CA_FILE).read_bytes(), (directory / CA_KEY_FILE).read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise UsageError(f"--tls-dir {_shown(str(directory))}: its {CA_FILE} and {CA_KEY_FILE} are not a CA fleetsim "
                         f"made ({getattr(exc, 'strerror', None) or type(exc).__name__}); remove the directory to make "
                         "a new one") from None
    return ca


def _shown(path: str) -> str:
    return repr(path) if len(path) <= 256 and path.isprintable() else f"{path[:60]!r}... ({len(path)} characters)"
