"""The check registry: `CHECKS`, filled by the `@check` decorator as check modules import.

A check is a small function over the exchanges one `fleetsim check` run recorded (every `Attempt`, genuine
copies, duplicates and probes alike) that returns a `CheckResult`. Checks never send anything: the planner
(plan.py) decides which delivery faults a run needs from the selected checks' `needs`, and the runner
(run.py) hands the recorded exchanges to every check. A check's docstring is its one-line rule; its id is the
catalogue's (docs/conformance-catalogue.md).

Statuses: passed, failed (the receiver broke the rule), skipped (with why: the check does not apply to the
provider, or there is nothing to judge), error (harness or network trouble; never counted against the
receiver).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from simulator.delivery.model import COPIES, Attempt
from simulator.errors import HarnessError
from simulator.providers import PROVIDERS, Provider

from .probing import PROBES
from .socket_client import SOCKET_PROVIDER
from .socket_client.recording import Recording
from .state import Readings, StateProbe

__all__ = ["CHECKS", "FUZZ", "MORE_RULES", "PHASES", "STATUSES", "SUITES", "Check", "CheckResult", "Context", "check",
           "rule_of"]

STATUSES = ("passed", "failed", "skipped", "error")
PASSED, FAILED, SKIPPED, ERROR = STATUSES
#: suites, smallest first: a check belongs to its own suite and every larger one ("fuzz" is full plus fuzzing)
SUITES = ("quick", "standard", "full", "fuzz")
#: phases the runner adds when a selected check needs one (beyond copies and probes): "fuzz" (conformance/fuzz.py)
FUZZ = "fuzz"
PHASES = frozenset({FUZZ})


@dataclass(frozen=True)
class CheckResult:
    status: str  # one of STATUSES
    reason: str  # one line
    #: for failures (and errors with an exchange): the offending exchange and what was expected of it
    exchange: Attempt | None = None
    expected: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    check_id: str = ""  # filled in by the runner
    provider: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise HarnessError(f"unknown check status {self.status!r}")

    def scrubbed(self, text: Callable[[str], str]) -> CheckResult:
        """This result with its words passed through `text` (a Redactor's: what a client printed may be quoted)."""
        return replace(self, reason=text(self.reason), expected=None if self.expected is None else text(self.expected))


@dataclass(frozen=True)
class Context:
    """What a check judges: one provider and every exchange its run recorded."""

    provider: Provider
    exchanges: tuple[Attempt, ...]
    timeout_s: float  # the per-attempt deadline the run used (the provider's own unless overridden)
    #: the receiver runs in-process (--app): nothing went over a real socket
    in_process: bool = False
    #: the receiver's state probe (conformance/state.py); None: checks are graded on HTTP answers only
    state: StateProbe | None = None
    #: what the state probe answered to the readings the checks declared (`state.READS`), taken after sending
    readings: Readings = field(default_factory=Readings)
    #: a socket-client session's recording (conformance/socket_client/): what the client checks grade
    client: Recording | None = None

    def of(self, copy: str, variant: str | None = None) -> list[Attempt]:
        """The exchanges of one copy or probe (and one variant of it, if given), in the order sent."""
        return [a for a in self.exchanges if a.copy == copy and (variant is None or a.variant == variant)]


CheckFunction = Callable[[Context], CheckResult]


@dataclass(frozen=True)
class Check:
    id: str
    rule: str  # the docstring's first line
    needs: frozenset[str]  # the copies (simulator.delivery.model.COPIES) a run must send for it
    applies: Callable[[Provider], bool]
    #: why it is skipped where it does not apply ("{provider}" is replaced by the provider's name)
    not_applicable: str
    function: CheckFunction
    suite: str = "quick"  # the smallest suite that runs it (SUITES)
    socket: bool = False  # needs a real socket: skipped for in-process receivers (--app)
    details: str = ""  # the docstring after its first line: how the check adapts the catalogue's rule
    #: grades a socket client over a session recording (`--provider powunity-socket`), not a webhook receiver
    client: bool = False

    def _call(self, context: Context) -> CheckResult:
        try:
            return self.function(context)
        except Exception as exc:  # a bug in a check is the harness's trouble, never the receiver's
            return CheckResult(ERROR, f"the check itself failed: {type(exc).__name__}: {exc}")

    def in_suite(self, suite: str) -> bool:
        return SUITES.index(self.suite) <= SUITES.index(suite)

    def providers(self) -> list[str]:
        if self.client:
            return [SOCKET_PROVIDER]
        return [name for name, p in sorted(PROVIDERS.items()) if "webhook" in p.channels and self.applies(p)]

    def run(self, context: Context) -> CheckResult:
        provider = context.provider.name
        if self.client and context.client is not None:
            result = self._call(context)
        elif not self.applies(context.provider):
            result = CheckResult(SKIPPED, self.not_applicable.format(provider=provider))
        elif self.socket and context.in_process:
            result = CheckResult(SKIPPED, "needs a real socket; the receiver runs in-process (--app): check it over "
                                 "--target URL for this one")
        else:
            result = self._call(context)
        return CheckResult(result.status, result.reason, result.exchange, result.expected, dict(result.metrics),
                           check_id=self.id, provider=provider)


CHECKS: dict[str, Check] = {}
#: the rules of checks kept in registries of their own (the API-client checks, conformance/api_client/), by id:
#: the reports look every rule up through `rule_of`
MORE_RULES: dict[str, str] = {}


def rule_of(check_id: str) -> str:
    return CHECKS[check_id].rule if check_id in CHECKS else MORE_RULES[check_id]


#: the catalogue's families in its order (docs/conformance-catalogue.md §1.1-1.8), then fleetsim's own (FUZ),
#: then the API-client checks (conformance-catalogue §1.11)
FAMILIES = ("SIG", "RPL", "IDM", "ORD", "MAL", "LIM", "TIM", "TRN", "FUZ", "API")


def catalogue_order(check_id: str) -> tuple[int, str]:
    """Sort key: by family in the catalogue's order, then by id."""
    family = check_id.split("-")[0]
    return (FAMILIES.index(family) if family in FAMILIES else len(FAMILIES), check_id)


def rule_and_details(id: str, function: Callable[..., Any]) -> tuple[str, str]:
    """A check's docstring read as the registries want it: the first line is the rule, the rest (joined into one
    paragraph) is how the check adapts the catalogue, rendered into docs/checks.md."""
    doc = (function.__doc__ or "").strip()
    if not doc:
        raise HarnessError(f"check {id} has no docstring: its first line is the rule")
    first, _, rest = doc.partition("\n")
    return first.strip(), " ".join(line.strip() for line in rest.splitlines() if line.strip())


def check(*, id: str, needs: frozenset[str] = frozenset(), applies: Callable[[Provider], bool] = lambda p: True,
          not_applicable: str = "does not apply to {provider}", suite: str = "quick",
          socket: bool = False, client: bool = False) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated function as check `id`; its docstring's first line is the rule.

    `needs` names delivery-engine copies (simulator.delivery.model.COPIES), registered probes (probing.PROBES) and
    runner phases (PHASES): register a check's probes before the check. A `client` check grades a socket client
    from `Context.client`; against a webhook receiver it is skipped (give it `applies=lambda p: False`)."""
    unknown = needs - frozenset(COPIES) - frozenset(PROBES) - PHASES
    if unknown:
        raise HarnessError(f"check {id}: unknown copies or probes in needs: {', '.join(sorted(unknown))}")
    if suite not in SUITES:
        raise HarnessError(f"check {id}: unknown suite {suite!r}")

    def register(function: CheckFunction) -> CheckFunction:
        if id in CHECKS:
            raise HarnessError(f"check {id} registered twice")
        rule, details = rule_and_details(id, function)
        CHECKS[id] = Check(id, rule, needs, applies, not_applicable, function, suite, socket, details, client)
        return function

    return register
