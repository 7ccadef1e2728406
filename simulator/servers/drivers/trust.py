"""The CAs send-test-event trusts: the system's, or a PEM bundle the user gives (a locally made CA, such as
`fleetsim receiver --tls` or trustme makes). Reading the file is an edge: its problems are the user's, exit 2."""

from __future__ import annotations

import ssl

from ...errors import UsageError

__all__ = ["ca_bundle_context"]


def ca_bundle_context(path: str) -> ssl.SSLContext:
    shown = path if len(path) <= 120 and path.isprintable() else f"{path[:120]!r}..."
    try:
        return ssl.create_default_context(cafile=path)
    except FileNotFoundError:
        raise UsageError(f"--test-event-ca-bundle {shown}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"--test-event-ca-bundle {shown}: is a directory, expected a PEM file") from None
    except PermissionError:
        raise UsageError(f"--test-event-ca-bundle {shown}: permission denied") from None
    except (ssl.SSLError, OSError, ValueError, UnicodeError):
        raise UsageError(f"--test-event-ca-bundle {shown}: not a PEM file of CA certificates") from None
