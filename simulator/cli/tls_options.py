"""The options every serving command shares for HTTPS (`fleetsim receiver`, `fleetsim serve`; docs/tls.md):
--tls (fleetsim's local CA), --tls-dir DIR (where it is kept), --tls-cert FILE --tls-key FILE (your own)."""

from __future__ import annotations

import argparse
from typing import Any

from ..servers.tls import DEFAULT_TLS_DIR, ServerTLS, server_tls

__all__ = ["add_tls_options", "tls_note", "tls_of"]


def add_tls_options(p: Any) -> None:
    """--tls, --tls-dir, --tls-cert, --tls-key: the same for every command that serves (docs/tls.md)."""
    p.add_argument("--tls", action="store_true",
                   help="serve HTTPS with a certificate of fleetsim's local CA (made on first use, then reused; "
                   "its ca.pem is printed: pass it to clients as --ca-bundle)")
    p.add_argument("--tls-dir", metavar="DIR", help=f"with --tls: the local CA's directory (default {DEFAULT_TLS_DIR})")
    p.add_argument("--tls-cert", metavar="FILE",
                   help="serve HTTPS with your own certificate chain (PEM; with --tls-key)")
    p.add_argument("--tls-key", metavar="FILE", help="the private key of --tls-cert (PEM)")


def tls_of(args: argparse.Namespace) -> ServerTLS | None:
    """The TLS the parsed options ask for (None: plain http); a mistake is a UsageError (exit 2)."""
    return server_tls(tls=args.tls, tls_dir=args.tls_dir, cert=args.tls_cert, key=args.tls_key, host=args.host)


def tls_note(tls: ServerTLS | None) -> str | None:
    """One line for the console: which CA a client must trust."""
    if tls is None:
        return None
    if tls.ca_file is None:
        return "TLS: your own certificate (--tls-cert)"
    return (f"TLS: certificate for {', '.join(tls.names)} issued by fleetsim's local CA {tls.ca_file} "
            f"(clients: --ca-bundle {tls.ca_file})")
