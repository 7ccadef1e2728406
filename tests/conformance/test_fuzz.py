"""FUZ-01 and `--suite fuzz`: the fuzz phase finds a planted crash and shrinks it to a minimal document that
still crashes the receiver, keeps it in the example database under the working directory (replayed first next
time), reports an acknowledged invalid document unless the receiver quarantines, and passes the reference
receiver for every provider."""

from __future__ import annotations

import contextlib
import itertools
import re
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from conformance import fuzz as fuzz_module
from conformance.checks_fuzz import ACCEPTED_INVALID, CUT, DATABASE_DIR, FUZZ, MINIMAL, FuzzSettings
from conformance.registry import CHECKS, CheckResult
from conformance.run import ProviderRun, reference_receiver, run_provider, webhook_providers
from simulator.delivery.transport import HttpTransport
from simulator.generation import generate_one
from simulator.providers import PROVIDERS
from tests.conftest import CliResult

from .flawed import on_a_thread, settings
from .flaws_fuzz import HANG_S, LONG, fuzz_flawed

FUZ = CHECKS["FUZ-01"]
#: small enough that each test stays well under 30 s on a shared machine, large enough to find the planted flaws;
#: the budget is a bound that never binds here (what these tests assert depends on no clock: a starved process
#: once spent a 25 s budget before shrinking was done); the budget's own cut is tested with a clock of its own
QUICK = FuzzSettings(examples=40, budget_s=600.0)


async def fuzz(provider: str, url: str, fuzz_settings: FuzzSettings = QUICK,
               timeout_s: float | None = None) -> tuple[CheckResult, ProviderRun]:
    run = await run_provider(PROVIDERS[provider], [FUZ], target=url, settings=settings(), seed=1, fuzz=fuzz_settings,
                             timeout_s=timeout_s)
    (result,) = run.results
    return result, run


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (k, *_strings(v))]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


async def test_a_planted_500_is_found_shrunk_kept_and_replayed_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    async with fuzz_flawed("long_string_500") as url:
        result, _ = await fuzz("smartgps", url)
        assert result.status == "failed", result
        assert result.reason.startswith("5xx: ") and result.expected
        minimal = result.exchange
        assert minimal is not None and minimal.variant == MINIMAL + "5xx" and minimal.status == 500
        # shrunk: one string just past the planted limit, in a document of a few fields
        longest = max(len(s) for s in _strings(orjson.loads(minimal.request_body)))
        assert LONG < longest <= LONG + 3, minimal.request_body
        assert len(minimal.request_body) < 300, minimal.request_body
        async with HttpTransport(concurrency=1) as transport:  # the reported request still crashes it
            again = await transport.post(minimal.url, minimal.request_body, minimal.request_headers, deadline_s=5)
        assert again.status == 500

        database = tmp_path / DATABASE_DIR
        assert database.is_dir() and any(p.is_file() for p in database.rglob("*"))
        # one example is enough: the kept one is replayed before anything is generated
        replayed, rerun = await fuzz("smartgps", url, FuzzSettings(examples=1, budget_s=600.0))
    assert replayed.status == "failed"
    first = next(a for a in rerun.exchanges if a.copy == FUZZ)
    assert first.status == 500  # the kept example is tried before anything new is generated


async def test_a_hang_is_a_finding_and_the_budget_bounds_its_shrinking(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    async with fuzz_flawed("long_string_hang") as url:
        started = time.monotonic()
        result, _ = await fuzz("smartgps", url, FuzzSettings(examples=40, budget_s=6.0), timeout_s=HANG_S / 4)
        elapsed = time.monotonic() - started
    assert result.status == "failed" and result.reason.startswith("hang: "), result
    assert result.exchange is not None and result.exchange.outcome == "timeout_total"
    assert result.expected == "an answer within the 0.5 s deadline" and "not answered within 0.5 s" in result.reason
    assert elapsed < 6.0 + 2 * HANG_S + 5  # the budget, one deadline in flight, and the scenario's own traffic


async def test_an_acknowledged_invalid_document_is_a_finding_unless_the_receiver_quarantines(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    async with fuzz_flawed("no_schema") as url:
        result, _ = await fuzz("standard_webhooks", url)
        quarantined, _ = await fuzz("standard_webhooks", url, FuzzSettings(examples=10, quarantine=True))
    assert result.status == "failed" and result.reason.startswith("accepted invalid document: "), result
    assert result.exchange is not None and result.exchange.status == 200
    assert quarantined.status == "passed", quarantined
    # the break is named with its path: "missing field document" once left the user to diff bodies
    assert re.search(r"^accepted invalid document: an? \w+ document with (wrong type|missing field|out of range|"
                     r"long string) at (/[\w-]+)+, \d+ bytes after shrinking", result.reason), result.reason


@pytest.mark.parametrize("provider", [p.name for p in webhook_providers()])
async def test_the_reference_receiver_passes_fuz_01(
        provider: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    async with reference_receiver(settings()) as url:
        # 6 means 6: the budget only bounds a phase gone wrong (a 60 s one once cut powunity, whose documents
        # take about a second each to draw, at 4 to 9 of 12 on a loaded machine); 6 of them still hold valid and
        # broken ones for every provider, in a few seconds each
        result, run = await fuzz(provider, url, FuzzSettings(examples=6, budget_s=600.0))
    assert result.status == "passed", result
    assert result.reason.startswith("6 documents sent ("), result
    sent = [a for a in run.exchanges if a.copy == FUZZ]
    assert len(sent) == 6 and {a.status for a in sent} <= {200, 400} and any(a.status == 200 for a in sent)
    # the reference receiver refuses exactly what FUZ-01 calls invalid: by what the vendor states, not by
    # fleetsim's own bounds (x-inferred), which the documents drawn often break
    for a in sent:
        content_type = next(v for k, v in a.request_headers.items() if k.lower() == "content-type")
        invalid = fuzz_module.is_invalid(PROVIDERS[provider], a.request_body, content_type.split(";")[0].strip())
        assert invalid == (a.status == 400), (a.variant, a.status, a.response_body[:300])


def _mettax_body(doc: dict[str, Any]) -> bytes:
    return orjson.dumps({"data": orjson.dumps(doc).decode()})


def test_what_only_fleetsim_bounds_is_not_invalid() -> None:
    # x-inferred (docs/schema-conventions.md): a receiver is judged by what the vendor states, so accepting a speed
    # of 301 km/h or a device id of letters is no finding; a latitude of 91 or a number sent as text still is
    mettax = PROVIDERS["mettax"]
    gps: dict[str, Any] = generate_one(mettax, "gps", seed=5, index=0).payload
    assert not fuzz_module.is_invalid(mettax, _mettax_body(gps), "application/json")
    for change in ({"speed": 301}, {"num": 65}, {"deviceId": "A-1"}, {"reportCt": 10**11}, {"id": "x"}):
        body = _mettax_body({**gps, **change})
        assert mettax.adapter.inspect(mettax, body, "application/json").errors, change  # breaks the whole schema
        assert not fuzz_module.is_invalid(mettax, body, "application/json"), change
    for change in ({"lat": 91}, {"num": "9"}, {"speed": -1}):
        assert fuzz_module.is_invalid(mettax, _mettax_body({**gps, **change}), "application/json"), change
    assert fuzz_module.is_invalid(mettax, _mettax_body({k: v for k, v in gps.items() if k != "deviceCt"}),
                                  "application/json")  # a required member missing


async def test_a_receiver_that_takes_what_the_vendor_allows_passes_though_the_search_sends_such_documents(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    async with reference_receiver(settings()) as url:
        result, run = await fuzz("mettax", url)
    assert result.status == "passed", result
    mettax = PROVIDERS["mettax"]
    # documents the whole schema refuses, acknowledged: before FUZ-01 judged by what the vendor states, each was a
    # FAIL ("accepted invalid document")
    acknowledged_beyond_our_bounds = [
        a for a in run.exchanges if a.copy == FUZZ and a.status == 200
        and mettax.adapter.inspect(mettax, a.request_body, "application/json").errors]
    assert acknowledged_beyond_our_bounds


def _ticking() -> Callable[..., Any]:
    """run_fuzz on a clock that moves one second each time it is read: the phase reads it once at the start and
    once before each case it may send (none of smartgps's is rejected before sending), so a budget of N seconds
    lets exactly N documents out, however loaded the machine."""
    real = fuzz_module.run_fuzz
    clock = itertools.count()

    async def run_fuzz(*args: Any, **kwargs: Any) -> Any:
        return await real(*args, **kwargs, monotonic=lambda: float(next(clock)))

    return run_fuzz


async def test_a_phase_the_budget_cuts_says_how_far_it_got(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(fuzz_module, "run_fuzz", _ticking())
    async with reference_receiver(settings()) as url:
        result, run = await fuzz("smartgps", url, FuzzSettings(examples=12, budget_s=5.0))
    sent = [a for a in run.exchanges if a.copy == FUZZ and not a.variant.startswith(CUT)]
    assert len(sent) == 5
    assert result.status == "passed" and result.metrics["cut"] == 1.0, result
    assert result.reason.startswith("only 5 documents sent of 12 asked, within the 5 s budget ("), result


async def test_a_finding_whose_shrinking_the_budget_cuts_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    async with fuzz_flawed("long_string_500") as url:
        whole, full = await fuzz("smartgps", url)
        # the same search again, from an empty example database, with a budget of two documents past the find
        found = [a.status for a in full.exchanges if a.copy == FUZZ].index(500) + 1
        (tmp_path / "again").mkdir()
        monkeypatch.chdir(tmp_path / "again")
        monkeypatch.setattr(fuzz_module, "run_fuzz", _ticking())
        cut, _ = await fuzz("smartgps", url, FuzzSettings(examples=40, budget_s=float(found + 2)))
    assert whole.status == "failed" and "shrinking cut" not in whole.reason, whole
    assert cut.status == "failed" and cut.reason.startswith("5xx: "), cut
    assert (f"(shrinking cut: {found + 2} documents sent of 40 asked, within the {found + 2} s budget)"
            in cut.reason), cut


# --- the command line ---

Cli = Callable[..., CliResult]


def serving_fuzz_flawed(flaw: str) -> contextlib.AbstractContextManager[str]:
    return on_a_thread(fuzz_flawed(flaw))


def _ran(result: CliResult) -> list[str]:
    return [line.split()[1] for line in result.lines
            if line.startswith("  ") and line.split()[0] in ("PASS", "FAIL", "SKIP", "ERROR")]


def test_suites_select_checks_and_only_overrides_them(cli: Cli) -> None:
    quick = cli("check", "--provider", "smartgps", "--suite", "quick", "--exclude", "TIM-01")
    assert quick.code == 0, quick
    assert set(_ran(quick)) == {c.id for c in CHECKS.values() if c.in_suite("quick")} - {"TIM-01"}
    assert "FUZ-01" not in _ran(quick) and "suite quick" in quick.out
    assert "needs: fuzz; suite: fuzz" in cli("check", "--list").out


def test_suite_fuzz_reports_a_shrunk_failure_with_its_reproduction(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with serving_fuzz_flawed("long_string_500") as url:
        # --only runs FUZ-01 though the default suite (standard) does not hold it
        result = cli("check", "--provider", "smartgps", "--target", url, "--only", "FUZ-01", "--seed", "1",
                     "--fuzz-examples", "40", "--report", f"json:{tmp_path / 'r.json'}")
    assert result.code == 1, result
    assert _ran(result) == ["FUZ-01"] and "FAIL  FUZ-01" in result.out
    assert "(fuzz (minimal: 5xx))" in result.out and "of event )" not in result.out  # no scenario event to name
    repro = next(line.split("Reproduce: ", 1)[1] for line in result.lines if "Reproduce: " in line)
    assert repro == f"fleetsim check --provider smartgps --target {url} --fuzz-examples 40 --only FUZ-01 --seed 1"
    curl = next(line.strip() for line in result.lines if line.strip().startswith("curl "))
    body = Path(shlex.split(curl)[-1].removeprefix("@")).read_bytes()
    assert len(body) < 300 and (tmp_path / DATABASE_DIR).is_dir()
    assert not (tmp_path / ".hypothesis").exists()  # Hypothesis's own files stay under .fleetsim/ too
    assert '"suite": "standard"' in (tmp_path / "r.json").read_text()


async def test_hypothesis_warnings_about_schema_sized_reprs_stay_off_the_terminal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    from hypothesis.errors import HypothesisWarning

    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with fuzz_flawed("no_schema") as url:
            result, _ = await fuzz("samsara", url, FuzzSettings(examples=5, budget_s=600.0))
    assert result.status == "failed"  # a finding: the point where Hypothesis describes its (62 kB) strategy
    assert not [w for w in caught if issubclass(w.category, HypothesisWarning)], [str(w.message) for w in caught]


def test_an_invalid_document_acknowledged_under_an_already_acknowledged_event_id_is_no_finding() -> None:
    # shrinking draws the same event ids again ("00000000-..."); a receiver that answers a known id 200 before
    # reading the rest (IDM-01: a duplicate is acknowledged) was failed for accepting an invalid document
    import threading
    from typing import cast

    from conformance.probing import Base
    from simulator.delivery.redaction import Redactor
    from simulator.delivery.transport import Response

    search = fuzz_module._Search(PROVIDERS["samsara"], cast(Base, None), lambda body, headers: Response("2xx"),
                                 "http://r/samsara", Redactor(), QUICK, time.time, time.monotonic, 0.0,
                                 threading.Event())
    valid = generate_one(PROVIDERS["samsara"], "alert_v1", seed=1, index=0).payload
    invalid = {key: value for key, value in valid.items() if key != "event"}
    headers = {"Content-Type": "application/json"}
    ok = Response("2xx", status=200)
    assert search.judge(orjson.dumps(valid), headers, ok) is None
    assert search.judge(orjson.dumps(invalid), headers, ok) is None  # a duplicate, acknowledged unread
    fresh = orjson.dumps({**invalid, "eventId": "a-new-event-id"})
    assert search.judge(fresh, headers, ok) == ACCEPTED_INVALID
    assert search.judge(fresh, headers, ok) == ACCEPTED_INVALID  # judged alike when replayed
