"""The drivers API's own Bearer tokens from a file (`fleetsim serve --api drivers --token-file FILE`), so that a
tenant's real tokens never stand on a command line (shell history, `ps`) and are never printed.

The file holds one token a line, after the permission it has:

    # fleetsim drivers API tokens
    manage 9c1f2e...   # may manage drivers (DRIVERS_MANAGE)
    read   47ab0d...   # may only read them

Blank lines and `#` comments are skipped. A mistake is one line naming the file, the line and what was expected,
never the token: `TOKEN_FILE:3: expected "manage TOKEN" or "read TOKEN"`. The tokens it gives replace the demo
tokens (docs/drivers-api.md, "Authentication").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ...errors import UsageError

__all__ = ["MAX_BYTES", "MIN_TOKEN_CHARS", "PERMISSIONS", "TokenFile", "load_token_file"]

#: what each permission word grants (DRIVERS_MANAGE is the seed's permission name; app.py checks it)
PERMISSIONS: Mapping[str, frozenset[str]] = {"manage": frozenset({"DRIVERS_MANAGE"}), "read": frozenset()}
#: a token file is a handful of lines: anything bigger is not one
MAX_BYTES = 64 * 1024
#: shorter tokens are guessable; the demo tokens are longer too
MIN_TOKEN_CHARS = 16
#: RFC 6750's b64token: what a Bearer credential may hold
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


@dataclass(frozen=True)
class TokenFile:
    """The tokens read from `path`; no repr shows them (the parsed arguments hold this object)."""

    path: str
    tokens: Mapping[str, frozenset[str]] = field(repr=False)

    def describe(self) -> str:
        """The banner's words for them: how many, never which."""
        manage = sum(1 for p in self.tokens.values() if p)
        read = len(self.tokens) - manage
        return f"{manage} token{'s' if manage != 1 else ''} from {_shown(self.path)} may manage them, {read} only read"


def _shown(path: str) -> str:
    """As --ca-bundle shows its file (simulator/delivery/transport.py): whole when it is a sane path."""
    return repr(path) if len(path) <= 256 and path.isprintable() else f"{path[:60]!r}... ({len(path)} characters)"


def load_token_file(path: str) -> TokenFile:
    """Read and check the token file; a UsageError (one line, no token in it) for any mistake."""
    where = _shown(path)
    try:  # not only a regular file: `--token-file <(pass show drivers)` reads a pipe
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except (OSError, ValueError) as exc:  # missing, a directory, unreadable, a NUL in the name
        raise UsageError(f"--token-file {where}: cannot read it "
                         f"({getattr(exc, 'strerror', None) or type(exc).__name__})") from None
    if len(data) > MAX_BYTES:
        raise UsageError(f"--token-file {where}: larger than {MAX_BYTES // 1024} KiB; a token file holds a few lines")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"--token-file {where}: not UTF-8 text") from None
    tokens: dict[str, frozenset[str]] = {}
    first_line: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if len(words) != 2 or words[0] not in PERMISSIONS:
            raise UsageError(f"--token-file {where}:{number}: expected \"manage TOKEN\" or \"read TOKEN\" "
                             "(one token a line, after its permission)")
        permission, token = words
        if not _TOKEN.fullmatch(token):
            raise UsageError(f"--token-file {where}:{number}: the token holds a character a Bearer token cannot "
                             "(letters, digits and - . _ ~ + / only, = at the end)")
        if len(token) < MIN_TOKEN_CHARS:
            raise UsageError(f"--token-file {where}:{number}: the token is shorter than {MIN_TOKEN_CHARS} characters; "
                             "use a long random one, e.g. from `openssl rand -hex 24`")
        if token in tokens:
            raise UsageError(f"--token-file {where}:{number}: the same token as line {first_line[token]}: each "
                             "token is listed once")
        tokens[token], first_line[token] = PERMISSIONS[permission], number
    if not tokens:
        raise UsageError(f"--token-file {where}: no token in it (expected lines such as \"manage TOKEN\")")
    return TokenFile(path, tokens)
