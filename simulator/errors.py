"""The one exception tree fleetsim raises.

Third-party exceptions (yaml, jsonschema, aiohttp, OSError, ...) are translated into these at the edge
that touches them, so the CLI can turn any of them into one clear line and the documented exit code:

    0 pass · 1 receiver failed checks / invalid documents · 2 usage, scenario or config error · 3 harness error
    · 130 interrupted (Ctrl-C / SIGTERM; the reports are still written)

Messages must never contain secrets: callers pass redacted values only.
"""

from __future__ import annotations

from collections.abc import Iterable

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_HARNESS = 3
EXIT_INTERRUPTED = 130


class FleetsimError(Exception):
    """Base of every error fleetsim raises on purpose."""

    exit_code = EXIT_HARNESS

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(FleetsimError):
    """The user asked for something that cannot be done as asked (exit 2)."""

    exit_code = EXIT_USAGE


class UnknownNameError(UsageError):
    """An unknown provider, kind, signer, ... with a "did you mean" suggestion when one is close."""

    #: more known names than this are not listed (a message stays one readable line); `listed_by` says where
    LIST_AT_MOST = 16

    def __init__(self, what: str, name: str, known: Iterable[str], listed_by: str | None = None) -> None:
        import difflib  # only when a name is unknown: every command imports this module

        known_list = sorted(known)
        close = difflib.get_close_matches(name, known_list, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        if len(known_list) > self.LIST_AT_MOST and listed_by:
            names = f"{len(known_list)} known: {listed_by} lists them"
        else:
            names = f"known: {', '.join(known_list)}"
        super().__init__(f"unknown {what} {name!r}{hint} ({names})")
        self.name = name
        self.suggestion = close[0] if close else None


class SecretError(UsageError):
    """A secret that cannot be used as given. The message never repeats the secret itself."""


class InputError(UsageError):
    """A file or document fleetsim was given cannot be read or parsed.

    `location` is "file", "file:line" or "file:line:column" so editors can jump to it.
    """

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(f"{location}: {problem}")
        self.location = location
        self.problem = problem


class ScenarioError(UsageError):
    """One or more problems with a scenario or settings file, each "file:line:col: path: what is wrong".

    `problems` are ordered most relevant first; `str(err)` is all of them, one per line. No problem ever
    quotes a secret.
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: list[str] = list(problems) or ["invalid scenario"]
        super().__init__("\n".join(self.problems))


class StoreUnavailable(FleetsimError):
    """The reference receiver's database failed (disk full, file locked, corrupt...): a transient error, answered
    with 503 so the sender retries."""


class HarnessError(FleetsimError):
    """A bug or broken invariant inside fleetsim itself (exit 3)."""

    exit_code = EXIT_HARNESS
