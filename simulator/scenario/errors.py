"""ScenarioError: everything wrong with a scenario file, found before anything is sent (exit 2)."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import UsageError


class ScenarioError(UsageError):
    """One or more problems with a scenario file, each "file:line:col: path: what is wrong".

    `problems` are ordered most relevant first; `str(err)` is all of them, one per line. No problem ever
    quotes a secret.
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: list[str] = list(problems) or ["invalid scenario"]
        super().__init__("\n".join(self.problems))
