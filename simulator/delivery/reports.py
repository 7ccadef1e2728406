"""Run reports: machine-readable files (`REPORTERS`: json, junit) and the text a human reads in a terminal
(`render_summary` at the end of a run, `progress_line` while it runs).

Every reporter takes a `RunReport` (the ledger's summary, the run's configuration, the exit code), or just a
summary (Ledger.summary(), optionally with a "run" section echoed as the configuration), and a path.
Secrets never reach the output: the configuration echo and the whole summary go through `redact` (secret-ish
keys, `Secret` objects, `whsec_` strings, passwords in URLs).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import EXIT_FAILED, EXIT_HARNESS, EXIT_OK, HarnessError
from ..signing import Secret
from .ledger import Snapshot
from .model import INTERRUPTED, INTERRUPTED_IN_FLIGHT, PROBES
from .urls import masked_url_secrets

REDACTED = "***"
#: setting names whose values are key material or credentials
SECRET_KEY = re.compile(r"(secret|psk|token|password|passwd|authorization|api[_-]?key|private[_-]?key|cookie)",
                        re.IGNORECASE)

PROBE_TITLES = {
    "tampered_signature": "tampered requests rejected",
    "stale_timestamp": "stale timestamps rejected",
    "future_timestamp": "future timestamps rejected",
    "corrupt_body": "corrupt bodies rejected (4xx, never 5xx)",
}
JUNIT_FAILED_LISTED = 20


def redact(value: Any) -> Any:
    """A JSON-ready copy of `value` with secrets replaced by "***" (never mutates the input)."""
    if isinstance(value, Secret):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): (REDACTED if SECRET_KEY.search(str(k)) and v not in (None, "", False) else redact(v))
                for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [redact(v) for v in items]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, str):
        if value.startswith("whsec_"):
            return REDACTED
        return masked_url_secrets(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


#: skip reasons that say the receiver could not take the events (they count against it)
RECEIVER_SKIPS = ("endpoint_gone_410", "endpoint_down")

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


def interruption(totals: Mapping[str, Any]) -> str | None:
    """What a stop cost the run, in one phrase ("N of M events were not delivered ..."), or None when nothing
    was cut short. Events not sent when it stopped (`interrupted`: queued, or waiting for a retry after attempts
    that failed) and events whose request was cancelled in flight
    (`interrupted_in_flight`: the receiver may have them) are told apart."""
    by_reason = totals["skipped_by_reason"]
    unsent, cut = by_reason.get(INTERRUPTED, 0), by_reason.get(INTERRUPTED_IN_FLIGHT, 0)
    if not unsent and not cut:
        return None
    parts = [f"{unsent} queued or waiting for a retry (skipped: interrupted)"] if unsent else []
    if cut:
        parts.append(f"{cut} cancelled in flight with no answer, which the receiver may have received "
                     "(skipped: interrupted_in_flight)")
    return f"{unsent + cut} of {totals['generated']} events were not delivered: {'; '.join(parts)}"


def probe_verdict(p: Mapping[str, Any]) -> str:
    """"ok" when every probe was rejected with a 4xx; "RECEIVER BUG" when any was accepted or crashed the
    receiver; "inconclusive" when some got no verdict (a redirect, 429 or no answer proves nothing)."""
    if p["accepted_2xx"] or p["server_error_5xx"]:
        return "RECEIVER BUG"
    if p["other"]:
        return "inconclusive"
    return "ok"


def verdict(summary: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The run's verdict from its evidence only, with a reason line for each thing that is not a pass.

    "fail": an event failed, an endpoint was down or gone, or a probe was accepted or answered 5xx.
    "inconclusive": nothing failed, but something was not shown — a probe answered with a 3xx, 429 or no
    HTTP answer at all was never rejected, so the receiver's rejection path was not verified; the run was
    interrupted (Ctrl-C, SIGTERM) before every event was sent, so most of what it should show was not; or the
    accounting invariant broke (a fleetsim bug: nothing in the report can be trusted).
    """
    if not summary["invariant"]["ok"]:
        return INCONCLUSIVE, [f"accounting invariant violated (a fleetsim bug): {summary['invariant']['message']}"]
    failures: list[str] = []
    unproven: list[str] = []
    totals = summary["totals"]
    if totals["failed"]:
        failures.append(f"{totals['failed']} of {totals['generated']} events failed")
    for reason in RECEIVER_SKIPS:
        n = totals["skipped_by_reason"].get(reason, 0)
        if n:
            failures.append(f"{n} events skipped: {reason}")
    for provider, pdata in summary["providers"].items():
        for probe, p in pdata["totals"]["probes"].items():
            if p["accepted_2xx"] or p["server_error_5xx"]:
                failures.append(f"{provider} {probe}: {p['accepted_2xx']} accepted, {p['server_error_5xx']} "
                                f"answered 5xx (a correct receiver rejects each with a 4xx)")
            elif p["other"]:
                unproven.append(f"{provider} {probe}: {p['other']} of {p['sent']} got no 4xx and no acceptance "
                                "(a redirect, 429 or no answer): rejection not verified")
    interrupted = interruption(totals)
    if interrupted:  # a gate must not go green on a run stopped half way (docs/delivery.md)
        unproven.append(f"interrupted: {interrupted}")
    if failures:
        return FAIL, failures + unproven
    if unproven:
        return INCONCLUSIVE, unproven
    return PASS, []


def exit_code(summary: Mapping[str, Any]) -> int:
    """0 pass · 1 the receiver failed, or did not show what it must (inconclusive probes) · 3 invariant broken.

    An inconclusive probe is not a pass: a CI gate must not go green on behaviour it never saw."""
    if not summary["invariant"]["ok"]:
        return EXIT_HARNESS
    return EXIT_OK if verdict(summary)[0] == PASS else EXIT_FAILED


@dataclass(frozen=True)
class RunReport:
    summary: Mapping[str, Any]  # Ledger.summary()
    config: Mapping[str, Any] = field(default_factory=dict)  # echoed (redacted): scenario, seed, urls, policies
    exit_code: int | None = None  # None: derived from the summary with `exit_code`
    notes: tuple[str, ...] = ()  # e.g. "retry delays scaled 1/3600; IDM-04 needs real time"

    @property
    def code(self) -> int:
        return exit_code(self.summary) if self.exit_code is None else self.exit_code


Reporter = Callable[[RunReport | Mapping[str, Any], Path], None]
REPORTERS: dict[str, Reporter] = {}


def as_report(report: RunReport | Mapping[str, Any]) -> RunReport:
    """A RunReport; a bare summary is wrapped, its "run" section (if the runner added one) echoed as config."""
    if isinstance(report, RunReport):
        return report
    run = report.get("run")
    return RunReport(report, run if isinstance(run, Mapping) else {})


def reporter(name: str) -> Callable[[Reporter], Reporter]:
    def register(fn: Reporter) -> Reporter:
        if name in REPORTERS:
            raise HarnessError(f"reporter {name!r} is registered twice")
        REPORTERS[name] = fn
        return fn

    return register


def json_document(report: RunReport | Mapping[str, Any]) -> dict[str, Any]:
    report = as_report(report)
    summary = redact(report.summary)
    outcome, reasons = verdict(summary)
    return {
        "fleetsim_report": 1,
        "fleetsim_version": __version__,  # which fleetsim judged: a verdict can change with its checks
        "exit_code": report.code,
        "verdict": outcome,
        "verdict_reasons": reasons,
        "conclusive": outcome != INCONCLUSIVE,
        "invariant": summary["invariant"],
        "config": redact(report.config),
        "notes": list(report.notes),
        "summary": summary,
    }


@reporter("json")
def write_json(report: RunReport | Mapping[str, Any], path: Path) -> None:
    path.write_text(json.dumps(json_document(report), indent=2, allow_nan=False) + "\n", encoding="utf-8")


# --- JUnit --------------------------------------------------------------------------------------------------


def junit_tree(report: RunReport | Mapping[str, Any]) -> ET.Element:
    """One testsuite per provider: a testcase per kind ("all generated events delivered") and one per probe
    kind that was sent; plus a "fleetsim" suite holding the accounting invariant."""
    summary = redact(as_report(report).summary)
    root = ET.Element("testsuites", name="fleetsim")
    for provider, pdata in summary["providers"].items():
        suite = ET.SubElement(root, "testsuite", name=provider)
        for kind, k in pdata["kinds"].items():
            case = _case(suite, f"fleetsim.{provider}", f"{kind}: all generated events delivered")
            if k["failed"]:
                lines = [f"{s['event_id']}: {s['outcome']}" + (f" {s['status']}" if s["status"] is not None else "")
                         + f" after {s['attempts']} attempt{'s' if s['attempts'] != 1 else ''}"
                         + (f" ({s['error']})" if s.get("error") else "")
                         for s in k["failed_sample"][:JUNIT_FAILED_LISTED]]
                if k["failed"] > len(lines):
                    lines.append(f"... and {k['failed'] - len(lines)} more")
                failure = ET.SubElement(case, "failure", type="delivery",
                                        message=f"{k['failed']} of {k['generated']} events failed")
                failure.text = "\n".join(lines)
            elif (gone := sum(k["skipped_by_reason"].get(r, 0) for r in RECEIVER_SKIPS)):
                failure = ET.SubElement(case, "failure", type="endpoint",
                                        message=f"{gone} of {k['generated']} events skipped: the endpoint was "
                                        "down or gone")
                failure.text = _counts_text(k["skipped_by_reason"])
            elif (stopped := k["skipped_by_reason"].get(INTERRUPTED, 0)
                  + k["skipped_by_reason"].get(INTERRUPTED_IN_FLIGHT, 0)):
                error = ET.SubElement(case, "error", type="interrupted",
                                      message=f"{stopped} of {k['generated']} events not delivered: the run was "
                                      "stopped")
                error.text = _counts_text(k["skipped_by_reason"])
            elif k["open"]:
                error = ET.SubElement(case, "error", type="incomplete",
                                      message=f"{k['open']} of {k['generated']} events never finished")
                error.text = "the run ended before these events were delivered, failed or skipped"
            out = ET.SubElement(case, "system-out")
            out.text = _kind_text(k)
        probes = pdata["totals"]["probes"]
        for probe in PROBES:
            if probe not in probes:
                continue
            p = probes[probe]
            case = _case(suite, f"fleetsim.{provider}.probes", PROBE_TITLES[probe])
            bad = []
            if p["accepted_2xx"]:
                bad.append(f"{p['accepted_2xx']} accepted with 2xx (the receiver took a bad request)")
            if p["server_error_5xx"]:
                bad.append(f"{p['server_error_5xx']} answered 5xx (bad input must get a 4xx)")
            if bad:
                failure = ET.SubElement(case, "failure", type="probe", message=f"{probe}: " + "; ".join(bad))
                failure.text = "\n".join(bad)
            elif p["other"]:
                error = ET.SubElement(case, "error", type="inconclusive",
                                      message=f"{probe}: {p['other']} of {p['sent']} never rejected")
                error.text = ("answered with a redirect, 429 or no HTTP answer at all: the receiver's rejection "
                              "path was not verified")
            out = ET.SubElement(case, "system-out")
            out.text = (f"sent {p['sent']}: rejected 4xx {p['rejected_4xx']}, accepted 2xx {p['accepted_2xx']}, "
                        f"5xx {p['server_error_5xx']}, other (3xx/429/transport) {p['other']}")
        _count(suite)
    harness = ET.SubElement(root, "testsuite", name="fleetsim")
    case = _case(harness, "fleetsim.harness", "accounting invariant holds")
    if not summary["invariant"]["ok"]:
        error = ET.SubElement(case, "error", type="harness", message="accounting invariant violated (inconclusive)")
        error.text = summary["invariant"]["message"]
    case = _case(harness, "fleetsim.harness", "the run sent every event")
    interrupted = interruption(summary["totals"])
    if interrupted:
        error = ET.SubElement(case, "error", type="interrupted", message=f"interrupted: {interrupted}")
        error.text = ("the run was stopped (Ctrl-C or SIGTERM) before it had delivered them: nothing about them "
                      "is shown")
    _count(harness)
    _count(root)
    return root


def _counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items()) or "none"


def _kind_text(k: Mapping[str, Any]) -> str:
    """What happened to one kind's events, as a person reads it (JUnit system-out)."""
    lines = [f"generated {k['generated']}: delivered {k['delivered']}, failed {k['failed']}, "
             f"skipped {k['skipped']}" + (f" ({_counts_text(k['skipped_by_reason'])})" if k["skipped"] else "")]
    lines.append(f"attempts {k['attempts']}: {_counts_text(k['attempts_by_outcome'])}")
    if k["duplicates_sent"]:
        lines.append(f"duplicates sent {k['duplicates_sent']}: {_counts_text(k['duplicates_by_outcome'])}")
    lat = k["latency"]
    if lat["count"]:
        lines.append(f"ack latency p50 {_ms(lat['p50_ms'])} ms, p99 {_ms(lat['p99_ms'])} ms")
    return "\n".join(lines)


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")


def _count(element: ET.Element) -> None:
    cases = list(element.iter("testcase"))
    element.set("tests", str(len(cases)))
    element.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    element.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    if element.tag == "testsuite":  # the common JUnit schema (Jenkins' junit-10.xsd) has no `skipped` on testsuites
        element.set("skipped", "0")


@reporter("junit")
def write_junit(report: RunReport | Mapping[str, Any], path: Path) -> None:
    tree = ET.ElementTree(junit_tree(report))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)


# --- terminal text ------------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _table(rows: list[list[str]], left: frozenset[int] = frozenset({0, 1})) -> list[str]:
    """Columns joined by two spaces; the `left` columns left-aligned (text), the others right-aligned (numbers)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.ljust(w) if i in left else cell.rjust(w)
                 for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return lines


def render_summary(summary: Mapping[str, Any]) -> str:
    """The end-of-run table: one row per provider and kind, totals, skips, probes, failed ids, the invariant."""
    summary = redact(summary)
    header = ["provider", "kind", "generated", "delivered", "failed", "skipped", "open", "attempts", "dups",
              "probes", "p50 ms", "p99 ms"]
    rows = [header]

    def row(provider: str, kind: str, k: Mapping[str, Any]) -> list[str]:
        lat = k["latency"]
        return [provider, kind, str(k["generated"]), str(k["delivered"]), str(k["failed"]), str(k["skipped"]),
                str(k["open"]), str(k["attempts"]), str(k["duplicates_sent"]), str(k["probes_sent"]),
                _ms(lat["p50_ms"]), _ms(lat["p99_ms"])]

    for provider, pdata in summary["providers"].items():
        for kind, k in pdata["kinds"].items():
            rows.append(row(provider, kind, k))
    rows.append(row("total", "", summary["totals"]))
    lines = ["fleetsim delivery summary", ""]
    table = _table(rows)
    lines += [table[0], "-" * len(table[0]), *table[1:-1], "-" * len(table[0]), table[-1]]

    totals = summary["totals"]
    if totals["skipped_by_reason"]:
        lines += ["", "skipped: " + ", ".join(f"{r} {n}" for r, n in totals["skipped_by_reason"].items())]
    if totals["attempts_by_outcome"]:
        lines += ["attempts: " + ", ".join(f"{o} {n}" for o, n in totals["attempts_by_outcome"].items())]
    probe_rows = [["provider", "probe", "sent", "rejected 4xx", "accepted 2xx", "5xx", "other", "verdict"]]
    for provider, pdata in summary["providers"].items():
        for probe, p in pdata["totals"]["probes"].items():
            probe_rows.append([provider, probe, str(p["sent"]), str(p["rejected_4xx"]), str(p["accepted_2xx"]),
                               str(p["server_error_5xx"]), str(p["other"]), probe_verdict(p)])
    if len(probe_rows) > 1:
        lines += ["", "probes (a correct receiver rejects every one with a 4xx):",
                  *_table(probe_rows, frozenset({0, 1, 7}))]
    if summary["failed_ids"]:
        shown = summary["failed_ids"][:10]
        more = len(summary["failed_ids"]) - len(shown) + summary["failed_ids_more"]
        listed = ", ".join(shown) + (f" ... and {more} more" if more else "")
        lines += ["", f"failed events ({totals['failed']}): {listed}"]
        by_id = {a["event_id"]: a for a in summary["failed_last_attempts"]}
        for event_id in shown:
            a = by_id.get(event_id)
            if a:
                status = f" {a['status']}" if a["status"] is not None else ""
                error = f" ({a['error']})" if a["error"] else ""
                lines.append(f"  {event_id}: last attempt #{a['attempt']} {a['outcome']}{status}{error}")
    run = summary.get("run")
    stopped = run.get("endpoints_stopped", {}) if isinstance(run, Mapping) else {}
    for provider, why in stopped.items():
        lines.append(f"{provider}: endpoint stopped ({why['reason']}): {why['detail']}")
    inv = summary["invariant"]
    lines += ["", f"accounting: {'OK' if inv['ok'] else 'VIOLATED (harness bug; results inconclusive)'} "
              f"({inv['message']})"]
    outcome, reasons = verdict(summary)
    lines.append(f"verdict: {outcome.upper()}" + (": " + "; ".join(reasons) if reasons else ""))
    return "\n".join(lines) + "\n"


def progress_line(snapshot: Snapshot) -> str:
    """One status line: rate of finished events, ok / failed / retrying, in flight, ack latency p50/p99."""
    done = snapshot.delivered + snapshot.failed + snapshot.skipped
    rate = done / snapshot.elapsed_s if snapshot.elapsed_s > 0 else 0.0
    p50 = "-" if snapshot.p50_s is None else f"{snapshot.p50_s * 1000:.1f}"
    p99 = "-" if snapshot.p99_s is None else f"{snapshot.p99_s * 1000:.1f}"
    flag = "" if snapshot.invariant_ok else "  ACCOUNTING VIOLATED"
    return (f"[{snapshot.elapsed_s:8.1f}s] {rate:8.1f} ev/s  ok {snapshot.delivered}  failed {snapshot.failed}  "
            f"retrying {snapshot.retry_scheduled}  in flight {snapshot.in_flight}  skipped {snapshot.skipped}  "
            f"of {snapshot.generated}  ack p50 {p50} ms p99 {p99} ms{flag}")
