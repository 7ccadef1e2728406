"""The fuzz phase of `fleetsim check --suite fuzz` (check FUZ-01): schema-driven documents, valid and broken,
each signed as the provider signs, sent to the receiver until one makes it crash, hang or accept what its schema
forbids; Hypothesis then shrinks that document to a minimal one.

How a case is made: Hypothesis draws one of the provider's webhook kinds and a document of it from the kind's
JSON Schema (hypothesis-jsonschema's `from_schema`, over the schema with its `$ref`s inlined from fleetsim's own
registry, so nothing is fetched), then maybe breaks it: a wrong type, a field left out, a number out of range, a
long string. The provider writes it as it would (`Provider.envelope`: the MettaX `data` string, Samsara's
headers) and `Base.sign` signs exactly those bytes at the moment of sending, so every case passes authentication
and reaches the receiver's parsing and validation.

What the receiver should have done is asked of the provider's own reading (`provider.adapter.inspect`, the same
one `fleetsim schemas validate` and the reference receiver use), never of how the case was made: a document
whose known kind breaks its schema (unknown extra fields aside, which MAL-03 says to tolerate) is invalid; one
of an unknown type is valid (MAL-03: acknowledge and ignore).

Findings: a 5xx, no answer within the deadline (a hang), or an invalid document acknowledged (unless the receiver
quarantines invalid documents: `FuzzSettings.quarantine`, MAL-02). The first finding fixes what is searched for,
so shrinking keeps that finding and does not drift to another one.

The phase is an edge: it owns a worker thread (Hypothesis is synchronous), a clock (signatures carry the time of
sending) and the example database under the working directory (`.fleetsim/hypothesis/`), where a found failure
is kept and replayed first by the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import re
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError as FutureCancelled
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, Phase, Verbosity, given, reject
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Flaky, HypothesisWarning
from hypothesis_jsonschema import from_schema

from simulator.delivery.model import Attempt
from simulator.delivery.redaction import Redactor
from simulator.delivery.sending import Sender
from simulator.delivery.transport import Response
from simulator.errors import HarnessError
from simulator.providers import Provider
from simulator.providers.receiving import Rejected, vendor_errors
from simulator.schemastore import load_schema, registry

from .checks import HTTP_OUTCOMES
from .checks_fuzz import (
    ACCEPTED_INVALID,
    AS_GENERATED,
    DATABASE_DIR,
    FUZZ,
    HANG,
    HANG_OUTCOMES,
    MINIMAL,
    SERVER_ERROR,
    FuzzSettings,
    cut_note,
)
from .probing import Base

__all__ = ["MUTATIONS", "Case", "cases", "flat_schema", "is_invalid", "run_fuzz"]

MUTATIONS = ("none", "wrong type", "missing field", "out of range", "long string")
LONG_STRING = 100_000  # characters at most: far below the 1 MiB body cap, far above any field's maxLength
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- documents -------------------------------------------------------------------------------------------------


@cache
def flat_schema(rel: str) -> dict[str, Any]:
    """Schema `rel` with every `$ref` replaced by what it points to (resolved through fleetsim's registry, so a
    reference to another file never goes to the network), fleetsim's own `x-` annotations left out, and a
    `format` beside a `pattern` too."""
    schema = load_schema(rel)
    return _inline(schema, registry().resolver(base_uri=schema.get("$id", "")), 0)  # type: ignore[no-any-return]


def _inline(node: Any, resolver: Any, depth: int) -> Any:
    if depth > 64:
        raise HarnessError("a shipped schema's $refs nest too deep (a cycle?): it cannot be inlined for fuzzing")
    if isinstance(node, list):
        return [_inline(item, resolver, depth) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    if "$ref" in node:
        resolved = resolver.lookup(node["$ref"])
        out.update(_inline(resolved.contents, resolved.resolver, depth + 1))
    for key, value in node.items():
        if key in ("$ref", "$defs", "$id", "$schema") or key.startswith("x-"):
            continue
        if key == "format" and "pattern" in node:
            # the pattern already writes the format (a Traccar time); drawing from both, Hypothesis rejects
            # nearly every draw and gives up (Unsatisfiable)
            continue
        out[key] = _inline(value, resolver, depth)
    return out


@dataclass(frozen=True)
class Case:
    """One generated delivery: a document of `kind`, and how it was broken ("none": as the schema allows)."""

    kind: str
    document: Any
    mutation: str = "none"
    where: str = ""  # the JSON path the mutation changed ("/event/alertConditionId"), "" for none


def _webhook_kinds(provider: Provider) -> list[str]:
    return [name for name, spec in provider.kinds.items() if spec.channel == "webhook"]


def cases(provider: Provider) -> st.SearchStrategy[Case]:
    """Documents of the provider's webhook kinds, each maybe broken once. Shrinks towards the first kind, an
    unbroken document and the schema's smallest one."""
    kinds = _webhook_kinds(provider)
    if not kinds:
        raise HarnessError(f"{provider.name} has no webhook kinds to fuzz")
    by_kind = [st.tuples(st.just(k), from_schema(flat_schema(provider.kinds[k].schema))) for k in kinds]
    return st.one_of(by_kind).flatmap(lambda pair: _broken(pair[0], pair[1]))


def _broken(kind: str, document: Any) -> st.SearchStrategy[Case]:
    return st.sampled_from(MUTATIONS).flatmap(lambda mutation: _mutate(kind, document, mutation))


def _paths(node: Any, where: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], Any]]:
    """Every value below the root, with its path."""
    found: list[tuple[tuple[str | int, ...], Any]] = []
    children: list[tuple[str | int, Any]] = (
        list(node.items()) if isinstance(node, dict) else list(enumerate(node)) if isinstance(node, list) else [])
    for key, value in children:
        found.append(((*where, key), value))
        found += _paths(value, (*where, key))
    return found


def _replaced(node: Any, path: tuple[str | int, ...], value: Any, *, delete: bool = False) -> Any:
    """A copy of `node` with the value at `path` replaced (or deleted)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        copy: Any = dict(node)
    else:
        copy = list(node)
    if delete and not rest:
        del copy[head]
    else:
        copy[head] = _replaced(node[head], rest, value, delete=delete)
    return copy


_OTHER_TYPES: tuple[Any, ...] = (None, True, 0, 1.5, "", [], {})
#: what JSON can carry and orjson can write: 64-bit integers, finite floats
_NUMBERS = st.one_of(st.integers(min_value=-(2**63), max_value=2**64 - 1),
                     st.floats(allow_nan=False, allow_infinity=False))


#: a short unit repeated to a drawn length: long strings are cheap to draw (Hypothesis bounds what one example may
#: draw) and shrink to the shortest length that still fails
_LONG_STRINGS = st.builds(lambda unit, n: (unit * (n // len(unit) + 1))[:n],
                          st.text(st.characters(codec="utf-8"), min_size=1, max_size=4),
                          st.integers(min_value=0, max_value=LONG_STRING))


def _json_type(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return repr(value)
    return "number" if isinstance(value, int | float) else type(value).__name__


def _mutate(kind: str, document: Any, mutation: str) -> st.SearchStrategy[Case]:
    paths = _paths(document)
    if mutation == "wrong type":
        targets = paths
    elif mutation == "missing field":
        targets = [(p, v) for p, v in paths if isinstance(p[-1], str)]
    elif mutation == "out of range":
        targets = [(p, v) for p, v in paths if isinstance(v, int | float) and not isinstance(v, bool)]
    elif mutation == "long string":
        targets = [(p, v) for p, v in paths if isinstance(v, str)]
    else:
        targets = []
    if not targets:  # nothing of that shape in this document: it goes out as generated
        return st.just(Case(kind, document))

    def at(index: int) -> st.SearchStrategy[Case]:
        path, value = targets[index]
        where = "".join(f"/{p}" for p in path)
        if mutation == "missing field":
            return st.just(Case(kind, _replaced(document, path, None, delete=True), mutation, where))
        if mutation == "wrong type":
            others = [o for o in _OTHER_TYPES if _json_type(o) != _json_type(value)]
            new: st.SearchStrategy[Any] = st.sampled_from(others)
        elif mutation == "out of range":
            new = _NUMBERS
        else:
            new = _LONG_STRINGS
        return new.map(lambda v: Case(kind, _replaced(document, path, v), mutation, where))

    return st.integers(min_value=0, max_value=len(targets) - 1).flatmap(at)


def is_invalid(provider: Provider, body: bytes, content_type: str) -> bool:
    """True when the provider's own reading refuses the body: unreadable, or a known kind that breaks what its
    schema documents (unknown extra fields aside, MAL-03; bounds and patterns fleetsim chose, `x-inferred`, aside
    too: a receiver is judged by what the vendor states). A message of an unknown type is not invalid (MAL-03:
    2xx, ignored)."""
    try:
        checked = provider.adapter.inspect(provider, body, content_type)
    except Rejected:
        return True
    return bool(vendor_errors(provider, checked))


# --- the phase -------------------------------------------------------------------------------------------------


class _Stop(BaseException):
    """Ends the search at once (budget spent, trouble, Ctrl-C). A BaseException, so Hypothesis does not take it
    for a failure of the document and shrink towards it."""


@dataclass
class _Search:
    provider: Provider
    base: Base
    send: Callable[[bytes, Mapping[str, str]], Response]
    url: str
    redactor: Redactor
    settings: FuzzSettings
    now: Callable[[], float]
    monotonic: Callable[[], float]
    until: float  # monotonic() when the budget is spent
    stop: threading.Event
    attempts: list[Attempt] = field(default_factory=list)
    #: the event keys of valid documents the receiver acknowledged: another document under one of them may be
    #: acknowledged as a duplicate unread (IDM-01), which is no acceptance of it
    acknowledged: set[str] = field(default_factory=set)
    finding: str | None = None
    minimal: Attempt | None = None
    cut: bool = False  # the budget ended the search (generating or shrinking) before Hypothesis did

    def request(self, case: Case) -> tuple[bytes, dict[str, str]]:
        """The case as the provider writes it, signed now over exactly these bytes."""
        try:
            digest = hashlib.sha256(orjson.dumps([case.kind, case.document])).hexdigest()[:24]
            message_id = f"fuzz-{digest}"
            envelope = self.provider.envelope(case.kind, case.document, message_id=message_id,
                                              settings=self.base.settings)
        except (TypeError, ValueError, orjson.JSONEncodeError):  # beyond what JSON can carry: not a delivery
            reject()
        # a header the provider fills from the document (Samsara's X-Samsara-Event-Type) cannot carry a control
        # character: HTTP clients refuse to send it, so the platform could not either
        if any(_CONTROL.search(value) for value in envelope.headers.values()):
            reject()
        headers = self.base.sign(envelope.body, timestamp=int(self.now()), message_id=message_id)
        headers.update(envelope.headers)
        return envelope.body, headers

    def judge(self, body: bytes, headers: Mapping[str, str], r: Response) -> str | None:
        """The finding this answer is, if any."""
        if r.outcome in HANG_OUTCOMES:
            return HANG
        if r.outcome not in HTTP_OUTCOMES or r.status is None:
            return None
        if r.status >= 500:
            return SERVER_ERROR
        if self.settings.quarantine or not self.provider.delivery.is_success(r.status):
            return None
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        media_type = content_type.split(";")[0].strip()
        key = self._event_key(body, headers, media_type)
        if key in self.acknowledged:  # a duplicate of an acknowledged event: acknowledged unread, rightly
            return None
        if is_invalid(self.provider, body, media_type):
            return ACCEPTED_INVALID
        if key is not None:  # only a valid document's key: the same invalid one judged again is judged alike
            self.acknowledged.add(key)
        return None

    def _event_key(self, body: bytes, headers: Mapping[str, str], media_type: str) -> str | None:
        """The deduplication key the provider's reading gives the delivery, if it gives one."""
        adapter = self.provider.adapter
        if adapter.key_header is not None:
            return next((v for k, v in headers.items() if k.lower() == adapter.key_header.lower()), None)
        try:
            doc = adapter.decode(body, media_type)
            return adapter.event_key(doc, adapter.classify(doc))
        except (Rejected, ValueError, TypeError, KeyError, AttributeError):  # no key to read: judged as it is
            return None

    def __call__(self, case: Case) -> bool:
        if self.stop.is_set():
            raise _Stop
        if self.monotonic() > self.until:
            self.cut = True
            raise _Stop
        body, headers = self.request(case)
        sent_at = self.now()
        response = self.send(body, headers)
        attempt = self.record(case, body, headers, response, sent_at)
        self.attempts.append(attempt)
        if response.outcome not in HTTP_OUTCOMES | HANG_OUTCOMES:
            raise _Stop  # the network or the harness failed, not the receiver: FUZ-01 reports it as an error
        finding = self.judge(body, headers, response)
        if finding is None or (self.finding is not None and finding != self.finding):
            return False
        self.finding, self.minimal = finding, attempt
        return True

    def record(self, case: Case, body: bytes, headers: Mapping[str, str], r: Response, sent_at: float) -> Attempt:
        how = AS_GENERATED if case.mutation == "none" else f"{case.mutation} at {case.where}"
        variant = f"{case.kind}: {how}"
        return Attempt(
            event_id="", provider=self.provider.name, kind=case.kind, copy=FUZZ, attempt=len(self.attempts) + 1,
            url=self.url, sent_at=sent_at, latency_s=r.latency_s, outcome=r.outcome, status=r.status,
            retry_after_s=r.retry_after_s, response_headers=self.redactor.headers(r.headers),
            response_body=self.redactor.bytes(r.body), error=self.redactor.optional_text(r.error),
            request_headers=dict(headers), request_body=body, variant=variant)


class _Found(Exception):
    """The condition held: Hypothesis takes it for a failing example and shrinks it."""


def _search(strategy: st.SearchStrategy[Case], condition: Callable[[Case], bool], hsettings: hypothesis_settings,
            key: bytes, seed_value: int) -> None:
    """`hypothesis.find` with a seed that keeps the example database: find(random=...) goes through @seed, which
    switches the database off, so a failure found with --seed would never be kept and replayed. The two
    attributes are the ones find() and @seed set."""

    @hsettings
    @given(strategy)
    def test(case: Case) -> None:
        if condition(case):
            raise _Found

    test._hypothesis_internal_database_key = key  # type: ignore[attr-defined]
    test._hypothesis_internal_use_seed = seed_value  # type: ignore[attr-defined]
    with contextlib.suppress(_Found):
        test()


def _hypothesis_settings(settings: FuzzSettings) -> hypothesis_settings:
    directory = settings.database or Path.cwd() / DATABASE_DIR
    directory.mkdir(parents=True, exist_ok=True)
    return hypothesis_settings(
        max_examples=settings.examples, deadline=None, database=DirectoryBasedExampleDatabase(str(directory)),
        # the receiver is slow next to a unit test, and big documents are the point: no health check applies
        suppress_health_check=list(HealthCheck), phases=(Phase.reuse, Phase.generate, Phase.shrink),
        report_multiple_bugs=False, print_blob=False, verbosity=Verbosity.quiet)


async def run_fuzz(provider: Provider, base: Base, *, sender: Sender, url: str, deadline_s: float,
                   redactor: Redactor, settings: FuzzSettings, seed: int,
                   now: Callable[[], float] = time.time,
                   monotonic: Callable[[], float] = time.monotonic) -> list[Attempt]:
    """Fuzz the receiver at `url` and return every exchange (copy "fuzz"); the last is the minimal finding
    (variant "minimal: <finding>") when there is one, or, when the phase could not go on, an exchange whose
    outcome says why. When the budget (`settings.budget_s`, by `monotonic`) ended the search, one more copy of
    the last exchange says so (variant "cut: ..."): --fuzz-examples N means N documents unless the budget cuts
    the phase, and a cut phase is never reported as if it had run whole. Hypothesis runs in a worker thread;
    each send runs on this loop."""
    loop = asyncio.get_running_loop()
    stop = threading.Event()

    def send(body: bytes, headers: Mapping[str, str]) -> Response:
        future = asyncio.run_coroutine_threadsafe(sender.post(url, body, headers, deadline_s=deadline_s), loop)
        try:
            return future.result()
        except FutureCancelled:  # the loop is going away (Ctrl-C): end the search, not the process
            raise _Stop from None

    search = _Search(provider, base, send, url, redactor, settings, now, monotonic, monotonic() + settings.budget_s,
                     stop)
    strategy = cases(provider)
    # per provider, not per URL: a failure found on one run is tried first on the next even when the receiver
    # listens elsewhere (the reference receiver takes a new port every time)
    key = f"fleetsim FUZ-01 {provider.name}".encode()
    seed_value = random.Random(f"fleetsim-fuzz:{seed}:{provider.name}").getrandbits(64)

    def search_all() -> None:
        try:
            with warnings.catch_warnings():
                # Hypothesis describes a strategy by its repr, and a schema's is tens of kB: its warning about
                # that reached the user's terminal, about something fleetsim never shows
                warnings.filterwarnings("ignore", message="Generating overly large repr", category=HypothesisWarning)
                _search(strategy, search, _hypothesis_settings(settings), key, seed_value)
        except _Stop:
            pass  # the budget is spent or the run is ending: what was found so far stands
        except Flaky:
            pass  # the receiver did not answer the minimal document the same way twice: keep what was found

    try:
        await asyncio.to_thread(search_all)
    except asyncio.CancelledError:
        stop.set()  # the worker ends at its next case instead of sending on a closing loop
        raise
    attempts = search.attempts
    sent = len(attempts)
    if search.minimal is not None and search.finding is not None:
        attempts.append(_minimal(search.minimal, search.finding))
    if search.cut and attempts:
        attempts.append(replace(attempts[-1], variant=cut_note(sent, settings)))
    return attempts


def _minimal(attempt: Attempt, finding: str) -> Attempt:
    return replace(attempt, variant=MINIMAL + finding)
