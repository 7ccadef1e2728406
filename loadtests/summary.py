"""The correctness summary of a load run: what was sent (the merged records) against what the receiver says it
did (its state probe, the contract of `fleetsim check`: conformance/state.py), per provider and per device.

- lost: acknowledged (2xx) but never applied (the probe's `effects` is 0);
- duplicated: applied more than once (`effects` > 1), although every request carried a fresh event id;
- reordered: recorded by the receiver after an event of the same device that was sent only once the first had
  been acknowledged (a receiver that acknowledges, then records later, lets newer events overtake), when the
  receiver tells its arrival order (the reference receiver: GET /state/arrivals/{provider});
- ack latency p95 per device, from the records.

Without a probe only HTTP-level outcomes are known, and the summary says so. SLOs (`--slo`) are judged here:
a pure function of the summary.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from conformance.state import EFFECTS, Ask, Readings

from .records import Record

__all__ = ["HTTP_ONLY", "Slo", "Summary", "asks", "judge", "parse_slo", "summarize", "table"]

HTTP_ONLY = "HTTP-level outcomes only: no state probe, so lost and duplicated events are not known"


@dataclass
class Group:
    """Counts of one provider or one device."""

    provider: str
    device: str = ""
    sent: int = 0
    acked: int = 0
    failed: int = 0
    lost: int | None = None
    duplicated: int | None = None
    reordered: int | None = None
    unread: int = 0  # acknowledged events the probe could not answer for
    p95_ms: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)


@dataclass
class Summary:
    probe: str | None  # where the effects came from; None: HTTP-level outcomes only
    duration_s: float
    providers: dict[str, Group]
    devices: dict[tuple[str, str], Group]
    sent: int = 0
    acked: int = 0
    failed: int = 0
    lost: int | None = None
    duplicated: int | None = None
    reordered: int | None = None
    percentiles_ms: dict[str, float] = field(default_factory=dict)
    processes: int = 1  # Locust processes whose records were merged
    notes: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.sent / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def fail_ratio(self) -> float:
        return self.failed / self.sent if self.sent else 0.0

    def as_dict(self) -> dict[str, Any]:
        def group(g: Group) -> dict[str, Any]:
            return {k: v for k, v in asdict(g).items() if k != "latencies"}

        return {"probe": self.probe, "checked": self.probe is not None, "duration_s": round(self.duration_s, 3),
                "sent": self.sent, "acked": self.acked, "failed": self.failed, "fail_ratio": self.fail_ratio,
                "lost": self.lost, "duplicated": self.duplicated, "reordered": self.reordered,
                "rps": round(self.rps, 1), "processes": self.processes, "latency_ms": self.percentiles_ms,
                "notes": self.notes,
                "providers": [group(g) for _, g in sorted(self.providers.items())],
                "devices": [group(g) for _, g in sorted(self.devices.items())]}


def acked(record: Record) -> bool:
    return 200 <= record.status < 300


def asks(records: Iterable[Record]) -> set[Ask]:
    """The effects readings the summary needs: one per acknowledged event."""
    return {Ask(EFFECTS, r.provider, r.key) for r in records if acked(r) and r.key is not None}


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summarize(records: Sequence[Record], readings: Readings | None, *, probe: str | None,
              arrivals: Mapping[tuple[str, str], int] | None = None) -> Summary:
    """Count the records per provider and device; with `readings` (effects per event key) also lost and
    duplicated events, with `arrivals` ((provider, key) -> position in the receiver's arrival order) also
    reordered ones."""
    start = min((r.sent_at for r in records), default=0.0)
    end = max((r.sent_at + r.latency_ms / 1000 for r in records), default=0.0)
    summary = Summary(probe if readings is not None else None, end - start, {}, {})
    for r in records:
        for group in (summary.providers.setdefault(r.provider, Group(r.provider)),
                      summary.devices.setdefault((r.provider, r.device), Group(r.provider, r.device))):
            _count(group, r, readings)
    if arrivals is not None:
        _reordered(summary, records, arrivals)
    for group in (*summary.providers.values(), *summary.devices.values()):
        group.p95_ms = round(percentile(group.latencies, 0.95), 2)
    every = [r.latency_ms for r in records]
    summary.percentiles_ms = {f"p{p}": round(percentile(every, p / 100), 2) for p in (50, 90, 95, 99)}
    groups = summary.providers.values()
    summary.sent, summary.acked = sum(g.sent for g in groups), sum(g.acked for g in groups)
    summary.failed = sum(g.failed for g in groups)
    if readings is not None:
        summary.lost = sum(g.lost or 0 for g in groups)
        summary.duplicated = sum(g.duplicated or 0 for g in groups)
        unread = sum(g.unread for g in groups)
        if unread:  # counted in neither lost nor duplicated: said, so a 0 is not read as "all arrived"
            summary.notes.append(f"{unread} acknowledged events could not be read from the receiver's state")
    else:
        summary.notes.append(HTTP_ONLY)
    if arrivals is not None:
        summary.reordered = sum(g.reordered or 0 for g in groups)
    return summary


def _count(group: Group, record: Record, readings: Readings | None) -> None:
    group.sent += 1
    if not acked(record):
        group.failed += 1
        return
    group.acked += 1
    group.latencies.append(record.latency_ms)
    if readings is None or record.key is None:
        return
    ask = Ask(EFFECTS, record.provider, record.key)
    if ask not in readings.values:
        group.unread += 1
        return
    effects = readings.values[ask]
    assert isinstance(effects, int)
    group.lost = (group.lost or 0) + (effects == 0)
    group.duplicated = (group.duplicated or 0) + (effects > 1)


def _reordered(summary: Summary, records: Sequence[Record], arrivals: Mapping[tuple[str, str], int]) -> None:
    """Count, per device, the acknowledged events recorded after an event sent once they were acknowledged."""
    per_device: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        if acked(r) and r.key is not None and (r.provider, r.key) in arrivals:
            per_device.setdefault((r.provider, r.device), []).append(r)
    for group in (*summary.providers.values(), *summary.devices.values()):
        group.reordered = 0
    for (provider, device), events in per_device.items():
        count = overtaken(events, {r.key: arrivals[(provider, r.key)] for r in events if r.key is not None})
        summary.devices[(provider, device)].reordered = count
        summary.providers[provider].reordered = (summary.providers[provider].reordered or 0) + count


def overtaken(events: Sequence[Record], arrival: Mapping[str, int]) -> int:
    """How many of one device's events were recorded after an event sent once they had been acknowledged:
    by send time, the earliest arrival among the events sent later (a suffix minimum), looked up per event."""
    by_sent = sorted(events, key=lambda r: r.sent_at)
    sent = [r.sent_at for r in by_sent]
    first_after = [0] * (len(by_sent) + 1)
    first_after[-1] = 2**62
    for i in range(len(by_sent) - 1, -1, -1):
        first_after[i] = min(first_after[i + 1], arrival[by_sent[i].key or ""])
    count = 0
    for r in by_sent:
        later = bisect.bisect_right(sent, r.sent_at + r.latency_ms / 1000)
        count += first_after[later] < arrival[r.key or ""]
    return count


# --- SLOs --------------------------------------------------------------------------------------------------------

_TERM = re.compile(r"^\s*(?P<metric>[a-z0-9]+)\s*(?P<op><=|>=|<|>|=)\s*(?P<value>[0-9.]+)\s*(?P<unit>ms|s|%)?\s*$")
#: metric -> (what it is, its unit: ms for latencies, ratio for shares, count, rate)
METRICS = {"p50": "ms", "p90": "ms", "p95": "ms", "p99": "ms", "fail": "ratio", "lost": "count",
           "dup": "count", "reordered": "count", "rps": "rate"}
_OPS = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__, "=": float.__eq__}


@dataclass(frozen=True)
class Slo:
    text: str
    metric: str
    op: str
    value: float  # ms, a ratio (0.001 for 0.1%), a count or requests per second
    share: bool = False  # lost/dup given in %: a share of acknowledged events


def parse_slo(text: str) -> list[Slo]:
    """'p95<200ms,fail<0.1%,lost=0' -> SLOs; ValueError with what is wrong (one line)."""
    slos = []
    for term in (t for t in text.split(",") if t.strip()):
        match = _TERM.match(term)
        if not match or match["metric"] not in METRICS:
            raise ValueError(f"cannot read SLO {term.strip()!r}: expected METRIC OP VALUE with METRIC one of "
                             f"{', '.join(METRICS)} (e.g. p95<200ms,fail<0.1%,lost=0)")
        metric, unit, value = match["metric"], match["unit"], float(match["value"])
        kind = METRICS[metric]
        if kind == "ms":
            if unit not in ("ms", "s"):
                raise ValueError(f"SLO {term.strip()!r}: a latency needs a unit, ms or s")
            value *= 1000 if unit == "s" else 1
        elif unit in ("ms", "s") or (kind == "rate" and unit):
            raise ValueError(f"SLO {term.strip()!r}: {metric} takes no time unit")
        elif unit == "%":
            value /= 100
        slos.append(Slo(term.strip(), metric, match["op"], value, share=unit == "%" and kind == "count"))
    if not slos:
        raise ValueError("an empty SLO: expected e.g. p95<200ms,fail<0.1%,lost=0")
    return slos


def needs_probe(slos: Sequence[Slo]) -> bool:
    return any(METRICS[s.metric] == "count" for s in slos)


def judge(slos: Sequence[Slo], summary: Summary) -> list[tuple[Slo, bool, str]]:
    """Each SLO, whether it is met, and the measured value as text."""
    verdicts = []
    for slo in slos:
        measured = _measure(slo, summary)
        if measured is None:
            verdicts.append((slo, False, "not measured (the receiver's state was not read)"))
            continue
        shown = f"{measured:.1f} ms" if METRICS[slo.metric] == "ms" else (
            f"{measured * 100:.3g}%" if METRICS[slo.metric] == "ratio" or slo.share else f"{measured:g}")
        verdicts.append((slo, _OPS[slo.op](float(measured), slo.value), shown))
    return verdicts


def _measure(slo: Slo, summary: Summary) -> float | None:
    kind = METRICS[slo.metric]
    if kind == "ms":
        return summary.percentiles_ms.get(slo.metric, 0.0)
    if kind == "ratio":
        return summary.fail_ratio
    if kind == "rate":
        return summary.rps
    count = {"lost": summary.lost, "dup": summary.duplicated, "reordered": summary.reordered}[slo.metric]
    if count is None:
        return None
    return count / summary.acked if slo.share and summary.acked else float(count)


# --- the table ------------------------------------------------------------------------------------------------


def table(summary: Summary, *, devices: bool = False) -> str:
    """The summary as a text table, one row per provider (and per device with `devices`)."""
    rows: list[Mapping[str, Any]] = [asdict(g) for _, g in sorted(summary.providers.items())]
    if devices:
        rows += [asdict(g) for _, g in sorted(summary.devices.items())]
    head = ("provider", "device", "sent", "acked", "failed", "lost", "dup", "reord", "p95 ms")
    lines = [head]
    for row in rows:
        lines.append((row["provider"], row["device"] or "-", str(row["sent"]), str(row["acked"]),
                      str(row["failed"]), _opt(row["lost"]), _opt(row["duplicated"]), _opt(row["reordered"]),
                      f"{row['p95_ms']:.1f}"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True)))
            for line in lines]
    text.insert(1, "-" * len(text[0]))
    pct = summary.percentiles_ms
    text.append(f"total: sent {summary.sent}, acked {summary.acked}, failed {summary.failed} "
                f"({summary.fail_ratio * 100:.2f}%), {summary.rps:.0f} req/s; latency p50 {pct.get('p50', 0):.1f} ms, "
                f"p95 {pct.get('p95', 0):.1f} ms, p99 {pct.get('p99', 0):.1f} ms")
    if summary.probe is not None:
        text.append(f"correctness ({summary.probe}): lost {summary.lost}, duplicated {summary.duplicated}, "
                    f"reordered {_opt(summary.reordered)}")
    text += [f"note: {n}" for n in summary.notes]
    return "\n".join(text)


def _opt(value: int | None) -> str:
    return "?" if value is None else str(value)


