"""The API-client checks' registry: `API_CHECKS`, filled by `@api_check` as checks.py imports.

Their own registry, not `registry.CHECKS`: they judge the calls an integrator made to an API fleetsim served
(`ApiContext`), not the exchanges of a webhook delivery. Their results are the same `CheckResult`s, so the
terminal, json, junit and html reports show them like any other; `registry.MORE_RULES` gives the reports their
rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simulator.errors import HarnessError
from simulator.servers.smartgps.context import Call

from ..registry import ERROR, MORE_RULES, CheckResult, rule_and_details

__all__ = ["API_CHECKS", "PHASES", "Activation", "ApiCheck", "ApiContext", "api_check"]

#: the phases of a run, in the order they are played (runner.py says what each does)
PHASES = ("first", "second", "expired", "revoked", "limited", "dropped", "retried")


@dataclass(frozen=True)
class Activation:
    """One activation fleetsim triggered, and how the integrator's code answered it."""

    phase: str
    imei: str
    plate: str
    fresh: bool  # a tracker and vehicle never activated before (False: the same activation again)
    start: float  # wall clock, epoch seconds
    end: float
    ok: bool  # a 2xx from the activation endpoint, or exit status 0 of the command
    outcome: str  # "answered 201", "exit status 1", "no answer within 30 s", ...


@dataclass(frozen=True)
class ApiContext:
    calls: tuple[Call, ...]
    activations: tuple[Activation, ...]
    token_ttl_s: float
    #: wall clock of the revocation (phase "revoked"), if it was played
    revoked_at: float | None = None
    #: the rate limit of phase "limited" (requests per second)
    lowered_limit: int = 0
    #: each activation is its own process (--client-command without --activate-url): it cannot keep a token
    #: from one activation to the next
    per_process: bool = False
    #: wall clock when the run started: times in reasons are shown from it
    t0: float = 0.0

    def phase(self, name: str) -> Activation | None:
        return next((a for a in self.activations if a.phase == name), None)

    def during(self, activation: Activation) -> list[Call]:
        """The calls answered while the activation ran."""
        return [c for c in self.calls if activation.start <= c.t <= activation.end]

    def at(self, t: float) -> str:
        return f"+{t - self.t0:.2f} s"


ApiCheckFunction = Callable[[ApiContext], CheckResult]


@dataclass(frozen=True)
class ApiCheck:
    id: str
    rule: str
    needs: tuple[str, ...]  # the phases it judges (PHASES)
    function: ApiCheckFunction
    details: str = ""

    def run(self, context: ApiContext, provider: str) -> CheckResult:
        try:
            result = self.function(context)
        except Exception as exc:  # a bug in a check is the harness's trouble, never the client's
            result = CheckResult(ERROR, f"the check itself failed: {type(exc).__name__}: {exc}")
        return CheckResult(result.status, result.reason, None, result.expected, dict(result.metrics),
                           check_id=self.id, provider=provider)


API_CHECKS: dict[str, ApiCheck] = {}


def api_check(*, id: str, needs: tuple[str, ...]) -> Callable[[ApiCheckFunction], ApiCheckFunction]:
    """Register the decorated function as API-client check `id`; its docstring's first line is the rule, and
    `needs` the phases it judges (the runner plays only the phases the selected checks need)."""
    unknown = set(needs) - set(PHASES)
    if unknown:
        raise HarnessError(f"check {id}: unknown phases: {', '.join(sorted(unknown))}")

    def register(function: ApiCheckFunction) -> ApiCheckFunction:
        if id in API_CHECKS or id in MORE_RULES:
            raise HarnessError(f"check {id} registered twice")
        rule, details = rule_and_details(id, function)
        API_CHECKS[id] = ApiCheck(id, rule, needs, function, details)
        MORE_RULES[id] = rule
        return function

    return register
