"""Reports: JSON structure, JUnit that CI tools parse (with failures when events failed), terminal text, and no
secret anywhere in any output."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from simulator.delivery.ledger import Ledger
from simulator.delivery.model import DUPLICATE, GENUINE, Attempt, Job
from simulator.delivery.reports import (
    REPORTERS,
    RunReport,
    exit_code,
    interruption,
    progress_line,
    redact,
    render_summary,
    verdict,
)
from simulator.errors import EXIT_FAILED, EXIT_HARNESS, EXIT_OK
from simulator.signing import Secret
from simulator.stream import Outgoing

SECRET_BYTES = b"s3cr3t-key-bytes"
LEAKS = ("s3cr3t", "hunter2", "topsecretpsk", "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", "tok3n")
CONFIG: dict[str, Any] = {
    "scenario": "demo",
    "seed": 7,
    "providers": {
        "samsara": {"secret": Secret(SECRET_BYTES), "url": "https://user:hunter2@receiver.test/hook?token=tok3n&x=1",
                    "retry": "standard-webhooks"},
        "powunity": {"psk": "Bearer topsecretpsk", "psk_env": "POW_PSK", "url": "https://receiver.test/pow"},
        "standard": {"signing_secret": "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"},
        "notes": ["whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", b"raw"],
    },
}


def rec(i: int, provider: str, kind: str) -> Outgoing:
    return Outgoing(i, f"demo-7-{i:08d}", provider, kind, "webhook", "d", 0.0, {}, b"{}", "x")


def att(r: Outgoing, outcome: str, status: int | None, *, copy: str = GENUINE, n: int = 1,
        error: str | None = None) -> Attempt:
    return Attempt(r.event_id, r.provider, r.kind, copy, n, "https://user:hunter2@receiver.test/hook", 0.0, 0.02,
                   outcome, status, error=error, response_body=b"nope")


def run(ledger: Ledger, r: Outgoing, outcomes: list[tuple[str, int | None]]) -> None:
    ledger.generated(r)
    for n, (outcome, status) in enumerate(outcomes, 1):
        ledger.job_started(Job(r))
        ledger.attempt_recorded(att(r, outcome, status, n=n, error="connection reset" if outcome == "reset" else None))
        if outcome == "2xx":
            ledger.delivered(r.event_id)
        elif n == len(outcomes):
            ledger.failed(r.event_id)
        else:
            ledger.retry_scheduled(r.event_id)


def build(*, failures: bool = True, probe_bug: bool = True) -> Ledger:
    ledger = Ledger()
    seq = 0
    for i in range(30):
        seq += 1
        r = rec(seq, "samsara", "alert_v1" if i % 2 else "event_v2")
        if failures and i % 10 == 0:
            run(ledger, r, [("5xx", 500), ("reset", None), ("5xx", 503)])
        else:
            run(ledger, r, [("2xx", 200)] if i % 3 else [("5xx", 500), ("2xx", 200)])
        ledger.attempt_recorded(att(r, "4xx", 401, copy="tampered_signature"))
        if i == 0:
            ledger.attempt_recorded(att(r, "2xx", 200, copy=DUPLICATE))
            ledger.attempt_recorded(att(r, "2xx" if probe_bug else "4xx", 200 if probe_bug else 400,
                                        copy="corrupt_body"))
    for _ in range(5):
        seq += 1
        r = rec(seq, "powunity", "webhook")
        run(ledger, r, [("2xx", 200)])
    seq += 1
    dropped = rec(seq, "powunity", "webhook")
    ledger.generated(dropped)
    ledger.skipped(dropped.event_id, "fault_drop")
    return ledger


def assert_no_secrets(text: str) -> None:
    for leak in LEAKS:
        assert leak not in text, leak


def test_redact() -> None:
    out = redact(CONFIG)
    assert out["providers"]["samsara"]["secret"] == "***"
    assert out["providers"]["samsara"]["url"] == "https://user:***@receiver.test/hook?token=***&x=1"
    assert out["providers"]["powunity"]["psk"] == "***"
    assert out["providers"]["standard"]["signing_secret"] == "***"
    assert out["providers"]["notes"] == ["***", "<3 bytes>"]
    assert out["providers"]["samsara"]["retry"] == "standard-webhooks"
    assert CONFIG["providers"]["samsara"]["secret"] == Secret(SECRET_BYTES)  # input untouched
    assert redact({"secret": None, "token": ""}) == {"secret": None, "token": ""}  # unset is not a secret
    assert_no_secrets(json.dumps(out))


def test_json_report(tmp_path: Path) -> None:
    summary = build().summary(final=True)
    path = tmp_path / "report.json"
    REPORTERS["json"](RunReport(summary, CONFIG, notes=("retry delays scaled 1/3600",)), path)
    text = path.read_text()
    assert_no_secrets(text)
    doc = json.loads(text)
    assert set(doc) == {"fleetsim_report", "fleetsim_version", "exit_code", "verdict", "verdict_reasons",
                        "conclusive", "invariant", "config", "notes", "summary"}
    from simulator import __version__

    assert doc["fleetsim_version"] == __version__  # which fleetsim judged
    assert doc["exit_code"] == EXIT_FAILED and doc["conclusive"] is True
    assert doc["invariant"]["ok"] and doc["invariant"]["generated"] == 36
    s = doc["summary"]
    assert set(s) >= {"invariant", "totals", "providers", "failed_ids", "failed_ids_more", "failed_last_attempts",
                      "failed_last_attempts_more"}
    totals = s["totals"]
    for key in ("generated", "delivered", "failed", "skipped", "skipped_by_reason", "open", "attempts",
                "attempts_by_outcome", "duplicates_sent", "probes_sent", "probes", "latency"):
        assert key in totals, key
    assert (totals["generated"], totals["delivered"], totals["failed"], totals["skipped"]) == (36, 32, 3, 1)
    assert totals["skipped_by_reason"] == {"fault_drop": 1}
    assert totals["probes"]["corrupt_body"]["accepted_2xx"] == 1
    assert set(totals["latency"]) >= {"count", "p50_ms", "p90_ms", "p99_ms", "buckets"}
    assert s["failed_ids"] == ["demo-7-00000001", "demo-7-00000011", "demo-7-00000021"]
    assert s["failed_last_attempts"][0]["status"] == 503 and s["failed_last_attempts"][0]["attempt"] == 3
    assert s["failed_last_attempts"][0]["url"] == "https://user:***@receiver.test/hook"
    assert doc["config"]["seed"] == 7 and doc["notes"] == ["retry delays scaled 1/3600"]


def test_reporters_take_a_bare_summary_with_a_run_section(tmp_path: Path) -> None:
    summary = build().summary(final=True)
    summary["run"] = {"scenario": "demo", "endpoints": {"samsara": "https://user:hunter2@receiver.test/hook"}}
    REPORTERS["json"](summary, tmp_path / "r.json")
    text = (tmp_path / "r.json").read_text()
    assert_no_secrets(text)
    doc = json.loads(text)
    assert doc["config"]["scenario"] == "demo" and doc["exit_code"] == EXIT_FAILED
    REPORTERS["junit"](summary, tmp_path / "r.xml")
    assert ET.parse(tmp_path / "r.xml").getroot().get("failures") == "2"


def _junit(tmp_path: Path, report: RunReport) -> ET.Element:
    path = tmp_path / "junit.xml"
    REPORTERS["junit"](report, path)
    assert_no_secrets(path.read_text())
    return ET.parse(path).getroot()


def test_junit_has_failures_when_events_failed(tmp_path: Path) -> None:
    root = _junit(tmp_path, RunReport(build().summary(final=True), CONFIG))
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"samsara", "powunity", "fleetsim"}
    samsara = suites["samsara"]
    cases = {c.get("name"): c for c in samsara.findall("testcase")}
    assert set(cases) == {"alert_v1: all generated events delivered", "event_v2: all generated events delivered",
                          "tampered requests rejected", "corrupt bodies rejected (4xx, never 5xx)"}
    failure = cases["event_v2: all generated events delivered"].find("failure")
    assert failure is not None and failure.get("message") == "3 of 15 events failed"
    assert failure.text is not None and "demo-7-00000001: 5xx 503 after 3 attempts" in failure.text
    assert cases["alert_v1: all generated events delivered"].find("failure") is None
    assert cases["tampered requests rejected"].find("failure") is None
    probe_failure = cases["corrupt bodies rejected (4xx, never 5xx)"].find("failure")
    assert probe_failure is not None and "accepted with 2xx" in (probe_failure.text or "")
    assert samsara.get("tests") == "4" and samsara.get("failures") == "2"
    assert suites["powunity"].get("failures") == "0"
    assert root.get("failures") == "2"
    harness = suites["fleetsim"].find("testcase")
    assert harness is not None and harness.find("error") is None


def test_junit_lists_at_most_20_failed_ids(tmp_path: Path) -> None:
    ledger = Ledger()
    for i in range(25):
        run(ledger, rec(i, "samsara", "alert_v1"), [("timeout_total", None)])
    root = _junit(tmp_path, RunReport(ledger.summary(final=True)))
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and failure.text is not None
    lines = failure.text.splitlines()
    assert len(lines) == 21 and lines[-1] == "... and 5 more"


def test_clean_run(tmp_path: Path) -> None:
    summary = build(failures=False, probe_bug=False).summary(final=True)
    assert exit_code(summary) == EXIT_OK
    root = _junit(tmp_path, RunReport(summary))
    assert root.get("failures") == "0" and root.get("errors") == "0"
    assert "RECEIVER BUG" not in render_summary(summary)


def test_invariant_violation_is_exit_3_and_junit_error(tmp_path: Path) -> None:
    summary = copy.deepcopy(build(failures=False, probe_bug=False).summary(final=True))
    summary["invariant"]["ok"] = False
    summary["invariant"]["message"] = "generated 36 != delivered 35 + ..."
    assert exit_code(summary) == EXIT_HARNESS
    assert RunReport(summary).code == EXIT_HARNESS
    assert RunReport(summary, exit_code=2).code == 2
    root = _junit(tmp_path, RunReport(summary))
    error = root.find("testsuite[@name='fleetsim']/testcase/error")
    assert error is not None and "36" in (error.text or "")
    assert "VIOLATED" in render_summary(summary)


def test_open_events_make_the_kind_incomplete(tmp_path: Path) -> None:
    ledger = Ledger()
    ledger.generated(rec(1, "mettax", "gps"))
    root = _junit(tmp_path, RunReport(ledger.summary()))
    error = root.find("testsuite[@name='mettax']/testcase/error")
    assert error is not None and error.get("type") == "incomplete"


def test_render_summary_table() -> None:
    summary = build().summary(final=True)
    text = render_summary(summary)
    assert_no_secrets(text)
    lines = text.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("provider")))
    header = lines[start]
    end = next(i for i, line in enumerate(lines) if line.startswith("total "))
    rows = [line for line in lines[start + 1 : end + 1] if not line.startswith("-")]
    assert len(rows) == 4
    # aligned: every numeric column ends at the same offset as its header
    for column in ("generated", "failed", "p99 ms"):
        end = header.index(column) + len(column)
        assert all(row[end - 1] != " " and (len(row) == end or row[end] == " ") for row in rows), column
    assert "skipped: fault_drop 1" in text
    assert "corrupt_body" in text and "RECEIVER BUG" in text
    assert "failed events (3): demo-7-00000001, demo-7-00000011, demo-7-00000021" in text
    assert "demo-7-00000011: last attempt #3 5xx 503" in text
    assert "accounting: OK" in text


def test_progress_line() -> None:
    ledger = build()
    line = progress_line(ledger.snapshot(4.0))
    assert "ok 32" in line and "failed 3" in line and "retrying 0" in line
    assert " 8.8 ev/s" in line and "skipped 1" in line  # (32 delivered + 3 failed) / 4 s: the skipped one unsent
    assert "p50 20.0 ms" in line
    empty = progress_line(Ledger().snapshot(0.0))
    assert "p50 - ms" in empty and "0.0 ev/s" in empty


@pytest.mark.parametrize("name", ["json", "junit"])
def test_reporters_registered(name: str) -> None:
    assert callable(REPORTERS[name])


@pytest.mark.parametrize(("outcome", "status"), [("3xx", 302), ("429", 429), ("timeout_total", None),
                                                 ("conn_refused", None)])
def test_a_probe_never_rejected_is_inconclusive_not_ok(tmp_path: Path, outcome: str, status: int | None) -> None:
    ledger = build(failures=False, probe_bug=False)
    r = rec(999, "samsara", "alert_v1")
    run(ledger, r, [("2xx", 200)])
    ledger.attempt_recorded(att(r, outcome, status, copy="stale_timestamp"))
    summary = ledger.summary(final=True)
    assert exit_code(summary) == EXIT_FAILED  # a gate must not go green on behaviour it never saw
    text = render_summary(summary)
    row = next(line for line in text.splitlines() if "stale_timestamp" in line and "samsara" in line)
    assert row.rstrip().endswith("inconclusive") and "verdict: INCONCLUSIVE" in text
    path = tmp_path / "r.json"
    REPORTERS["json"](RunReport(summary), path)
    doc = json.loads(path.read_text())
    assert doc["verdict"] == "inconclusive" and doc["conclusive"] is False and doc["exit_code"] == EXIT_FAILED
    assert any("stale_timestamp" in reason for reason in doc["verdict_reasons"])
    root = _junit(tmp_path, RunReport(summary))
    error = root.find("testsuite[@name='samsara']/testcase/error[@type='inconclusive']")
    assert error is not None


def test_verdict_pass_fail_and_reasons() -> None:
    clean = build(failures=False, probe_bug=False).summary(final=True)
    assert verdict(clean) == ("pass", [])
    outcome, reasons = verdict(build().summary(final=True))
    assert outcome == "fail"
    assert any("3 of 36 events failed" in r for r in reasons) and any("corrupt_body" in r for r in reasons)


def test_a_down_endpoint_is_a_failure() -> None:
    ledger = Ledger()
    for i in range(3):
        ledger.generated(rec(i, "smartgps", "event"))
        ledger.skipped(f"demo-7-{i:08d}", "endpoint_down")
    outcome, reasons = verdict(ledger.summary(final=True))
    assert outcome == "fail" and reasons == ["3 events skipped: endpoint_down"]


def test_junit_system_out_is_text_for_people(tmp_path: Path) -> None:
    root = _junit(tmp_path, RunReport(build().summary(final=True)))
    outs = [e.text or "" for e in root.iter("system-out")]
    assert outs and not any("{" in text or "Counter(" in text for text in outs)
    kind_out = root.find("testsuite[@name='powunity']/testcase/system-out")
    assert kind_out is not None
    assert kind_out.text == ("generated 6: delivered 5, failed 0, skipped 1 (fault_drop 1)\n"
                             "attempts 5: 2xx 5\nack latency p50 20.0 ms, p99 20.0 ms")


def test_an_interrupted_run_is_inconclusive_never_a_pass(tmp_path: Path) -> None:
    # every event skipped at Ctrl-C: nothing failed, nothing was shown either (a CI gate must not go green)
    summary = copy.deepcopy(build(failures=False, probe_bug=False).summary(final=True))
    summary["totals"]["skipped_by_reason"]["interrupted"] = 7
    outcome, reasons = verdict(summary)
    assert outcome == "inconclusive" and reasons[-1].startswith("interrupted: 7 of ")
    assert exit_code(summary) == EXIT_FAILED  # `run` itself exits 130; a report read alone still says not-a-pass
    root = _junit(tmp_path, RunReport(summary))
    error = root.find("testsuite[@name='fleetsim']/testcase[@name='the run sent every event']/error")
    assert error is not None and error.get("type") == "interrupted"
    clean = _junit(tmp_path, RunReport(build(failures=False, probe_bug=False).summary(final=True)))
    assert clean.find("testsuite[@name='fleetsim']/testcase[@name='the run sent every event']/error") is None


def test_a_run_stopped_with_nothing_queued_is_still_no_pass(tmp_path: Path) -> None:
    # stopped between events: all it generated was delivered, the rest of the scenario never was; it read PASS
    summary = copy.deepcopy(build(failures=False, probe_bug=False).summary(final=True))
    summary["run"] = {**summary.get("run", {}), "interrupted": True}
    outcome, reasons = verdict(summary)
    assert outcome == "inconclusive"
    assert reasons == [f"interrupted: the run was stopped before its scenario ended "
                       f"({summary['totals']['generated']} events generated by then)"]
    error = _junit(tmp_path, RunReport(summary)).find(
        "testsuite[@name='fleetsim']/testcase[@name='the run sent every event']/error")
    assert error is not None and error.get("type") == "interrupted"


def test_events_cut_off_in_flight_are_told_apart_from_those_never_sent(tmp_path: Path) -> None:
    # a request cancelled when the grace ran out may have reached the receiver: the reason says so
    summary = copy.deepcopy(build(failures=False, probe_bug=False).summary(final=True))
    summary["totals"]["skipped_by_reason"]["interrupted_in_flight"] = 2
    outcome, reasons = verdict(summary)
    generated = summary["totals"]["generated"]
    assert outcome == "inconclusive"
    assert reasons[-1] == (f"interrupted: 2 of {generated} events were not delivered: 2 cancelled in flight with no "
                           "answer, which the receiver may have received (skipped: interrupted_in_flight)")
    summary["totals"]["skipped_by_reason"]["interrupted"] = 3
    assert interruption(summary["totals"]) == (
        f"5 of {generated} events were not delivered: 3 queued or waiting for a retry (skipped: interrupted); 2 "
        "cancelled in flight "
        "with no answer, which the receiver may have received (skipped: interrupted_in_flight)")
    error = _junit(tmp_path, RunReport(summary)).find(
        "testsuite[@name='fleetsim']/testcase[@name='the run sent every event']/error")
    assert error is not None and "2 cancelled in flight" in (error.get("message") or "")
    assert interruption(build(failures=False, probe_bug=False).summary(final=True)["totals"]) is None


def test_a_kind_the_stop_or_a_dead_endpoint_kept_from_delivery_is_never_green(tmp_path: Path) -> None:
    # "all generated events delivered" once passed for a kind whose every event the stop left unsent
    clean = build(failures=False, probe_bug=False).summary(final=True)
    for reason, element, kind_of in (("interrupted", "error", "interrupted"),
                                     ("interrupted_in_flight", "error", "interrupted"),
                                     ("endpoint_down", "failure", "endpoint")):
        summary = copy.deepcopy(clean)
        kind = summary["providers"]["samsara"]["kinds"]["alert_v1"]
        kind["skipped_by_reason"][reason] = 4
        kind["skipped"] += 4
        case = _junit(tmp_path, RunReport(summary)).find(
            "testsuite[@name='samsara']/testcase[@name='alert_v1: all generated events delivered']")
        assert case is not None
        found = case.find(element)
        assert found is not None and found.get("type") == kind_of, (reason, ET.tostring(case))
        assert (found.get("message") or "").startswith("4 of "), found.get("message")
    plain = _junit(tmp_path, RunReport(clean)).find(
        "testsuite[@name='samsara']/testcase[@name='alert_v1: all generated events delivered']")
    assert plain is not None and plain.find("error") is None and plain.find("failure") is None


def test_junit_attributes_follow_the_common_schema(tmp_path: Path) -> None:
    # Jenkins' junit-10.xsd allows skipped on a testsuite, not on testsuites: a validating CI refused the report
    root = _junit(tmp_path, RunReport(build(failures=True, probe_bug=True).summary(final=True)))
    assert root.tag == "testsuites" and "skipped" not in root.attrib
    assert set(root.attrib) <= {"name", "time", "tests", "failures", "disabled", "errors"}
    for suite in root.iter("testsuite"):
        assert suite.get("skipped") == "0" and int(suite.get("tests", "-1")) == len(suite.findall("testcase"))
