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
import functools
import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from conformance.state import EFFECTS, Ask, Readings

from .records import CUT_OFF, STOP_TIMEOUT_S, Record

__all__ = ["HTTP_ONLY", "Slo", "Summary", "asks", "judge", "parse_slo", "summarize", "table"]

HTTP_ONLY = "HTTP-level outcomes only: no state probe, so lost and duplicated events are not known"


@dataclass
class Group:
    """Counts of one provider or one device."""

    provider: str
    device: str = ""
    sent: int = 0  # requests with an outcome: answered, refused, timed out (not those cut off by the run's end)
    acked: int = 0
    failed: int = 0
    cut_off: int = 0  # in flight when the run stopped, for less than STOP_TIMEOUT_S: no outcome, not judged
    lost: int | None = None
    duplicated: int | None = None
    reordered: int | None = None
    read_back: int = 0  # acknowledged events whose effects were read (all of them, or the sample beyond VERIFY_MAX)
    unread: int = 0  # acknowledged events asked for that the probe could not answer for
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
    cut_off: int = 0
    lost: int | None = None
    duplicated: int | None = None
    reordered: int | None = None
    read_back: int = 0
    percentiles_ms: dict[str, float] = field(default_factory=dict)  # of acknowledged requests; empty: none was
    processes: int = 1  # Locust processes whose records were merged
    notes: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.sent / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def fail_ratio(self) -> float:
        return self.failed / self.sent if self.sent else 0.0

    @property
    def lost_ratio(self) -> float | None:
        """Lost events as a share of those read back (the sample, beyond VERIFY_MAX): not of every acknowledged
        event, which a sample's count would understate by the sampling step."""
        return None if self.lost is None or not self.read_back else self.lost / self.read_back

    def as_dict(self) -> dict[str, Any]:
        def group(g: Group) -> dict[str, Any]:
            return {k: v for k, v in asdict(g).items() if k != "latencies"}

        return {"probe": self.probe, "checked": self.probe is not None, "duration_s": round(self.duration_s, 3),
                "sent": self.sent, "acked": self.acked, "failed": self.failed, "fail_ratio": self.fail_ratio,
                "cut_off": self.cut_off,
                "lost": self.lost, "duplicated": self.duplicated, "reordered": self.reordered,
                "read_back": self.read_back if self.probe is not None else None,
                "rps": round(self.rps, 1), "processes": self.processes, "latency_ms": self.percentiles_ms,
                "notes": self.notes,
                "providers": [group(g) for _, g in sorted(self.providers.items())],
                "devices": [group(g) for _, g in sorted(self.devices.items())]}


def acked(record: Record) -> bool:
    """A success by the provider's own rule, as `fleetsim run` counts it: any 2xx, or PowUnity's 200/201 only
    (a 204 there is a failure of the receiver, not an acknowledgement)."""
    return record.status in _success(record.provider)


@functools.cache
def _success(provider: str) -> frozenset[int]:
    from simulator.delivery.retry import success_set
    from simulator.providers import PROVIDERS

    known = PROVIDERS.get(provider)
    return success_set(known.delivery.success_statuses if known is not None else None)


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
              arrivals: Mapping[tuple[str, str], int] | None = None, asked: Collection[Ask] | None = None) -> Summary:
    """Count the records per provider and device; with `readings` (effects per event key) also lost and
    duplicated events, with `arrivals` ((provider, key) -> position in the receiver's arrival order) also
    reordered ones. `asked`: the readings asked for, when only a sample of the acknowledged events was (an event
    not asked is neither lost nor unread); None: every one."""
    start = min((r.sent_at for r in records), default=0.0)
    end = max((r.sent_at + r.latency_ms / 1000 for r in records), default=0.0)
    summary = Summary(probe if readings is not None else None, end - start, {}, {})
    for r in records:
        for group in (summary.providers.setdefault(r.provider, Group(r.provider)),
                      summary.devices.setdefault((r.provider, r.device), Group(r.provider, r.device))):
            _count(group, r, readings, asked)
    if arrivals is not None:
        _reordered(summary, records, arrivals)
    for group in (*summary.providers.values(), *summary.devices.values()):
        group.p95_ms = round(percentile(group.latencies, 0.95), 2)
    # acknowledged requests only, as each provider's p95: a refused connection answers in a fraction of a
    # millisecond, and a run where most requests fail must not report its latency from those
    every = [r.latency_ms for r in records if acked(r)]
    if every:
        summary.percentiles_ms = {f"p{p}": round(percentile(every, p / 100), 2) for p in (50, 90, 95, 99)}
    groups = summary.providers.values()
    summary.sent, summary.acked = sum(g.sent for g in groups), sum(g.acked for g in groups)
    summary.failed = sum(g.failed for g in groups)
    summary.cut_off = sum(g.cut_off for g in groups)
    if summary.cut_off:
        summary.notes.append(f"{summary.cut_off} request(s) were in flight when the run stopped, waiting less than "
                             f"{STOP_TIMEOUT_S:g} s: no outcome, not counted as sent (one that waited longer counts "
                             "as failed)")
    summary.read_back = sum(g.read_back for g in groups)
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


def _count(group: Group, record: Record, readings: Readings | None, asked: Collection[Ask] | None) -> None:
    if record.status == CUT_OFF and record.latency_ms < STOP_TIMEOUT_S * 1000:
        group.cut_off += 1
        return
    group.sent += 1
    if not acked(record):
        group.failed += 1
        return
    group.acked += 1
    group.latencies.append(record.latency_ms)
    if readings is None or record.key is None:
        return
    ask = Ask(EFFECTS, record.provider, record.key)
    if asked is not None and ask not in asked:
        return  # not in the sample read back
    if ask not in readings.values:
        group.unread += 1
        return
    group.read_back += 1
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

_TERM = re.compile(r"^\s*(?P<metric>[a-z0-9]+)\s*(?P<op><=|>=|<|>|=)\s*"
                   r"(?P<value>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?P<unit>ms|s|%)?\s*$")
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
        if (kind == "ratio" or unit == "%") and value > 1:
            # fail<200% (or fail<2, a ratio) could never fail: a gate that gates nothing is a mistake, said
            raise ValueError(f"SLO {term.strip()!r}: a share is at most 100% (a ratio at most 1)")
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
            verdicts.append((slo, False, f"not measured ({_unmeasured(slo, summary)})"))
            continue
        shown = f"{measured:.1f} ms" if METRICS[slo.metric] == "ms" else (
            f"{measured * 100:.3g}%" if METRICS[slo.metric] == "ratio" or slo.share else f"{measured:g}")
        verdicts.append((slo, _OPS[slo.op](float(measured), slo.value), shown))
    return verdicts


def _measure(slo: Slo, summary: Summary) -> float | None:
    """The SLO's metric, or None where it was not measured: a latency with no request acknowledged, a failure
    share with nothing sent (neither is 0), a count without the receiver's state, a share with none read back."""
    kind = METRICS[slo.metric]
    if kind == "ms":
        return summary.percentiles_ms.get(slo.metric)
    if kind == "ratio":
        return summary.fail_ratio if summary.sent else None
    if kind == "rate":
        return summary.rps
    count = {"lost": summary.lost, "dup": summary.duplicated, "reordered": summary.reordered}[slo.metric]
    if count is None:
        return None
    if slo.share:
        return count / summary.read_back if summary.read_back else None
    return float(count)


def _unmeasured(slo: Slo, summary: Summary) -> str:
    kind = METRICS[slo.metric]
    if kind == "ms":
        return "no request was acknowledged"
    if kind == "ratio":
        return "nothing was sent"
    if summary.probe is None:
        return "the receiver's state was not read"
    if slo.metric == "reordered" and summary.reordered is None:
        return "the receiver does not tell its arrival order"
    return "no acknowledged event could be read back"


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
    latency = (f"acknowledged latency p50 {pct['p50']:.1f} ms, p95 {pct['p95']:.1f} ms, p99 {pct['p99']:.1f} ms"
               if pct else "no request acknowledged")
    text.append(f"total: sent {summary.sent}, acked {summary.acked}, failed {summary.failed} "
                f"({summary.fail_ratio * 100:.2f}%), {summary.rps:.0f} req/s; {latency}")
    if summary.probe is not None:
        of = f" of {summary.read_back} read back" if summary.read_back != summary.acked else ""
        text.append(f"correctness ({summary.probe}): lost {summary.lost}, duplicated {summary.duplicated}{of}, "
                    f"reordered {_opt(summary.reordered)}")
    text += [f"note: {n}" for n in summary.notes]
    return "\n".join(text)


def _opt(value: int | None) -> str:
    return "?" if value is None else str(value)


