"""FUZ-01, the check of the fuzz phase (`fleetsim check --suite fuzz`), and what the phase and the check share.

The phase itself (conformance/fuzz.py: Hypothesis, hypothesis-jsonschema, a worker thread) is imported only
when a run selects FUZ-01, so the other suites never pay for loading it. Like every check, FUZ-01 only judges
recorded exchanges: the phase records each document it sent with copy "fuzz", and the minimal finding once more
as variant "minimal: <finding>".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .checks import HTTP_OUTCOMES
from .registry import ERROR, FAILED, FUZZ, PASSED, CheckResult, Context, check

__all__ = ["ACCEPTED_INVALID", "AS_GENERATED", "CUT", "DATABASE_DIR", "FUZZ", "HANG", "MINIMAL", "SERVER_ERROR",
           "FuzzSettings", "cut_note"]

#: how the variant of a document sent as Hypothesis drew it ends ("<kind>: as generated"; a broken one names its
#: break); drawn from the whole schema, such a document may still break a rule hypothesis-jsonschema cannot keep
AS_GENERATED = "as generated"
#: the findings; the minimal exchange's variant is MINIMAL + one of them
SERVER_ERROR, HANG, ACCEPTED_INVALID = "5xx", "hang", "accepted invalid document"
MINIMAL = "minimal: "
#: the variant of the exchange that says the budget ended the phase (CUT + how far it got)
CUT = "cut: "
HANG_OUTCOMES = frozenset({"timeout_total"})  # the receiver took the request and did not answer in time
DATABASE_DIR = Path(".fleetsim") / "hypothesis"  # Hypothesis's example database, under the working directory


@dataclass(frozen=True)
class FuzzSettings:
    """How far the fuzz phase goes."""

    examples: int = 100  # Hypothesis max_examples: documents generated before giving up finding anything
    budget_s: float = 120.0  # wall-clock bound of the whole phase, shrinking included
    #: the receiver acknowledges schema-invalid documents and quarantines them (MAL-02 allows it): then an
    #: accepted invalid document is no finding (a 5xx or a hang still is)
    quarantine: bool = False
    database: Path | None = None  # None: DATABASE_DIR under the working directory at run time


def cut_note(sent: int, settings: FuzzSettings) -> str:
    """What a phase the budget ended says: how many documents of the --fuzz-examples asked for went out (a
    finding's shrinking sends more than were generated)."""
    return f"{CUT}{sent} documents sent of {settings.examples} asked, within the {settings.budget_s:g} s budget"


_EXPECTED = {
    SERVER_ERROR: "a 2xx or a 4xx: never a 5xx for what the sender sent",
    HANG: "an answer within the {timeout:g} s deadline",
    ACCEPTED_INVALID: "a 4xx: the document breaks its kind's schema (run with --quarantine if invalid documents "
                      "are acknowledged and quarantined, as MAL-02 allows)",
}


@check(id="FUZ-01", needs=frozenset({FUZZ}), suite="fuzz")
def fuzz_finds_nothing(context: Context) -> CheckResult:
    """Schema-driven fuzzing finds no 5xx, no hang and no accepted invalid document.

    Not a catalogue row but a search over MAL-02's space: Hypothesis draws documents of the provider's webhook kinds
    from their JSON Schemas (hypothesis-jsonschema), valid ones and broken ones (a wrong type, a field left out, a
    number out of range, a long string), the provider writes each as it would and it is signed as the provider
    signs, so every one reaches parsing and validation. What the receiver should do is asked of the provider's own
    reading (its adapter, as `fleetsim schemas validate`), by what the vendor states: unknown extra fields and
    unknown event types are valid (MAL-03), and so is a value only a rule fleetsim chose refuses (a speed over 300
    km/h, a MettaX device id of letters: `x-inferred` in the schemas). Fails on a 5xx, on no answer within the
    deadline, or on a 2xx for an invalid document (not one under the event id of a valid document the receiver
    already acknowledged: a duplicate may be acknowledged unread, IDM-01); MAL-02 also allows a 2xx that
    quarantines, which HTTP cannot
    show, so a receiver that quarantines is checked with --quarantine (then only 5xx and hangs count). The first
    finding is shrunk by Hypothesis to a minimal document, and kept in .fleetsim/hypothesis/ under the working
    directory, where the next run replays it first. Bounded: --fuzz-examples documents (default 100) and a 120 s
    budget per provider; a run the budget cuts says so in its result (how many documents of those asked went out),
    pass or fail.
    """
    sent = [a for a in context.of(FUZZ) if not a.variant.startswith((MINIMAL, CUT))]
    # the budget ended the phase before Hypothesis did: said in the result, never passed off as a whole run
    cut = next((a.variant.removeprefix(CUT) for a in context.of(FUZZ) if a.variant.startswith(CUT)), None)
    if not sent:
        return CheckResult(ERROR, "the fuzz phase sent nothing" + (f" (cut: {cut})" if cut else ""))
    minimal = [a for a in context.of(FUZZ) if a.variant.startswith(MINIMAL)]
    if minimal:
        a = minimal[-1]
        finding = a.variant.removeprefix(MINIMAL)
        what = f"answered {a.status}" if a.status is not None else f"not answered within {context.timeout_s:g} s"
        # the minimal exchange is a copy of the one sent: that one's variant says how the document was made
        made = next((s.variant for s in sent if s.attempt == a.attempt), a.kind)
        kind, _, how = made.partition(": ")
        article = "an" if kind[:1] in ("a", "e", "i", "o", "u") else "a"
        document = f"{article} {kind} document" + (f" {how}" if how == AS_GENERATED else f" with {how}" if how else "")
        how_far = f"shrinking cut: {cut}" if cut else f"{len(sent)} documents sent"
        return CheckResult(FAILED, f"{finding}: {document}, {len(a.request_body)} bytes after shrinking, was "
                           f"{what} ({how_far})", a,
                           _EXPECTED.get(finding, "-").format(timeout=context.timeout_s))
    trouble = [a for a in sent if a.outcome not in HTTP_OUTCOMES | HANG_OUTCOMES]
    if trouble:
        a = trouble[-1]
        return CheckResult(ERROR, f"the fuzz phase stopped after {len(sent)} documents: no HTTP answer "
                           f"({a.outcome}: {a.error or ''})".rstrip(), a)
    broken = sum(1 for a in sent if not a.variant.endswith(f": {AS_GENERATED}"))
    how_many = f"only {cut}" if cut else f"{len(sent)} documents sent"
    return CheckResult(PASSED, f"{how_many} ({len(sent) - broken} as generated, {broken} broken), "
                       "each signed: no 5xx, no hang, no invalid document acknowledged",
                       metrics={"documents": float(len(sent)), "broken": float(broken), "cut": float(cut is not None)})
