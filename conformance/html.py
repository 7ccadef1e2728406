"""The `--report html:FILE` report of `fleetsim check`: one self-contained page a human reads after a run.

Self-contained means it works offline and is safe to open: no external URL at all (no CDN, no web font, no
script or image from anywhere, not even an SVG namespace URL: the HTML parser puts inline <svg> in its namespace
itself), inline CSS and inline SVG drawn here in Python, and no JavaScript at all, so everything renders as it
is. A Content-Security-Policy meta tag forbids scripts and remote loads on top of that.

Everything shown is escaped with `html.escape`: reasons and response bodies come from the receiver under test,
which may answer `<script>`. Nothing from an exchange is shown except through the `Reporter`'s redaction (its
`failure()` lines, its `redactor`), so no secret reaches the page either.

Stable hooks for tests and for anyone scraping the page: `table#verdicts` with one `tr.check-row` per result
(data-provider, data-check, data-status), `section.failure` per failure, `svg.latency-histogram` per provider
(data-provider) with a `rect.bar` per bucket, and `svg.timeline` with a `circle.mark` per exchange
(data-outcome, data-provider).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

from simulator.delivery.model import Attempt
from simulator.delivery.urls import masked_url_secrets

from .registry import CheckResult, rule_of
from .report import Reporter, totals
from .run import ProviderRun

__all__ = ["OUTCOME_CLASSES", "render"]

STATUS_LABEL = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP", "error": "ERROR"}
VERDICT = {0: "passed", 1: "failed", 3: "error"}  # exit code -> headline (see cli.py's exit codes)

#: what the timeline tells apart: HTTP classes, and everything that got no HTTP answer at all
OUTCOME_CLASSES = ("2xx", "3xx", "4xx", "429", "5xx", "no-answer")
OUTCOME_COLOURS = {"2xx": "#2da44e", "3xx": "#0969da", "4xx": "#d18616", "429": "#8250df", "5xx": "#cf222e",
                   "no-answer": "#57606a"}
OUTCOME_MEANING = {"2xx": "2xx accepted", "3xx": "3xx redirect", "4xx": "4xx rejected", "429": "429 throttled",
                   "5xx": "5xx server error", "no-answer": "no answer"}

#: ack-latency buckets: upper bounds in seconds; log-ish because a receiver's answers span 1 ms to seconds
BUCKETS: tuple[tuple[float, str], ...] = (
    (0.005, "<5 ms"), (0.010, "5–10"), (0.025, "10–25"), (0.050, "25–50"), (0.100, "50–100"),
    (0.250, "100–250"), (0.500, "250–500"), (1.0, "0.5–1 s"), (math.inf, ">1 s"),
)

# Scripts are never needed (the page has none) and remote loads never allowed: if escaping ever failed, a
# receiver's `<script>` still would not run, nor could the page call out.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; margin: 0;
       background: #f6f8fa; }
main { max-width: 1160px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 8px; }
h2 { font-size: 20px; margin: 32px 0 10px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 20px 0 6px; }
.verdict { display: inline-block; padding: 2px 12px; border-radius: 6px; color: #fff; font-weight: 700;
           letter-spacing: .03em; vertical-align: middle; margin-left: 10px; font-size: 18px; }
.counts span { display: inline-block; margin-right: 14px; font-weight: 600; }
nav { margin-top: 12px; font-size: 14px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 10px 0 0; }
dl.meta dt { color: #57606a; } dl.meta dd { margin: 0; font-family: ui-monospace, monospace; font-size: 13px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #d8dee4; vertical-align: top; }
th { background: #f6f8fa; }
tr.provider-row th { background: #eaeef2; font-size: 13px; padding-top: 8px; }
td.id { font-family: ui-monospace, monospace; white-space: nowrap; }
.status { display: inline-block; min-width: 44px; text-align: center; padding: 0 6px; border-radius: 4px;
          color: #fff; font-weight: 700; font-size: 12px; }
tr.check-row[data-status="failed"] { background: #fff5f5; }
tr.check-row[data-status="error"] { background: #fff8e6; }
.s-passed { background: #1a7f37; } .s-failed { background: #cf222e; } .s-skipped { background: #6e7781; }
.s-error { background: #9a6700; }
section.failure { border: 1px solid #ff8182; border-left: 6px solid #cf222e; border-radius: 6px;
                  padding: 4px 14px 10px; margin: 14px 0; }
section.failure h4 { margin: 10px 0 2px; font-size: 13px; color: #57606a; text-transform: uppercase; }
pre { background: #f6f8fa; border: 1px solid #d8dee4; border-radius: 4px; padding: 8px 10px; margin: 2px 0;
      white-space: pre-wrap; overflow-wrap: anywhere; font: 12.5px/1.4 ui-monospace, monospace; }
p.note { color: #57606a; font-size: 13px; margin: 4px 0; }
.plots { display: flex; flex-wrap: wrap; gap: 12px 24px; }
figure { margin: 0; } figcaption { font-size: 13px; color: #57606a; }
svg text { font-family: system-ui, sans-serif; fill: #1f2328; }
svg .axis { stroke: #57606a; stroke-width: 1; } svg .grid { stroke: #d8dee4; stroke-width: 1; }
svg .bar { fill: #0969da; } svg .small { font-size: 11px; fill: #57606a; }
"""


# same-page anchors only: the page links nowhere else
NAV = ('<nav><a href="#verdicts-title">Verdicts</a> · <a href="#latency-title">Latency</a> · '
       '<a href="#timeline-title">Timeline</a> · <a href="#failures-title">Failures</a></nav>')


def e(value: object) -> str:
    """Escaped for text and for double-quoted attributes alike (quotes included)."""
    return html.escape(str(value), quote=True)


def render(reporter: Reporter, runs: Sequence[ProviderRun], exit_code: int, error: str | None = None) -> str:
    """The whole page; `error`, the mistake that ended the command (exit 2), in its header."""
    counts = totals(runs)
    title = f"fleetsim check: {counts['failed']} failed, {counts['passed']} passed"
    # the overview first (verdicts, then the pictures), the long failure details last
    body = [_header(reporter, runs, exit_code, error), _verdict_table(reporter, runs), _pictures(runs),
            _failures(reporter, runs)]
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


# --- header and verdicts ---


def _header(reporter: Reporter, runs: Sequence[ProviderRun], exit_code: int, error: str | None = None) -> str:
    counts = totals(runs)
    verdict = VERDICT.get(exit_code, "error")
    inv = reporter.invocation
    target = masked_url_secrets(inv.target) if inv.target else "fleetsim's reference receiver"
    urls = ", ".join(f"{run.provider} → {run.url}" for run in runs)
    counted = "".join(f'<span class="count-{status}" style="color: {_status_colour(status)}">{n} '
                      f"{'errors' if status == 'error' and n != 1 else status}</span>" for status, n in counts.items())
    meta = [*([("error", error)] if error is not None else []), ("target", target), ("deliveries to", urls),
            ("seed", inv.seed), ("exit code", exit_code), ("exchanges", sum(len(run.exchanges) for run in runs))]
    rows = "".join(f"<dt>{e(name)}</dt><dd>{e(reporter.redactor.text(str(value)))}</dd>" for name, value in meta)
    return (f'<header id="summary">\n<h1>fleetsim check<span class="verdict s-{verdict}" id="verdict" '
            f'data-exit-code="{exit_code}">{e(verdict.upper())}</span></h1>\n'
            f'<div class="counts">{counted}</div>\n<dl class="meta">{rows}</dl>\n{NAV}\n</header>')


def _status_colour(status: str) -> str:
    return {"passed": "#1a7f37", "failed": "#cf222e", "skipped": "#57606a", "error": "#9a6700"}[status]


def _verdict_table(reporter: Reporter, runs: Sequence[ProviderRun]) -> str:
    rows = []
    for run in runs:
        # a heading row per provider: long tables stay readable, and its URL says where the answers came from
        about = f"{run.provider} → {run.url}: {len(run.exchanges)} exchanges in {run.elapsed_s:.2f} s"
        rows.append(f'<tr class="provider-row" data-provider="{e(run.provider)}"><th colspan="5">'
                    f"{e(reporter.redactor.text(about))}</th></tr>")
        rows += [_verdict_row(reporter, r) for r in run.results]
    return ('<h2 id="verdicts-title">Verdicts</h2>\n<table id="verdicts">\n<thead><tr><th>Provider</th>'
            "<th>Check</th><th>Rule</th><th>Status</th><th>Reason</th></tr></thead>\n<tbody>\n"
            + "\n".join(rows) + "\n</tbody>\n</table>")


def _verdict_row(reporter: Reporter, r: CheckResult) -> str:
    check_id = e(r.check_id)
    # a failed check's id links to its Sent / Received / Expected further down (a same-page anchor only)
    shown = f'<a href="#{_failure_id(r)}">{check_id}</a>' if r.status == "failed" else check_id
    return (f'<tr class="check-row" data-provider="{e(r.provider)}" data-check="{check_id}" '
            f'data-status="{e(r.status)}"><td>{e(r.provider)}</td><td class="id">{shown}</td>'
            f"<td>{e(rule_of(r.check_id))}</td>"
            f'<td><span class="status s-{e(r.status)}">{e(STATUS_LABEL[r.status])}</span></td>'
            f"<td>{e(reporter.redactor.text(r.reason))}</td></tr>")


def _failure_id(r: CheckResult) -> str:
    return e(f"failure-{r.provider}-{r.check_id}")


# --- failures ---


def _failures(reporter: Reporter, runs: Sequence[ProviderRun]) -> str:
    failed = [r for run in runs for r in run.results if r.status == "failed"]
    if not failed:
        return '<h2 id="failures-title">Failures</h2>\n<p class="note" id="no-failures">No check failed.</p>'
    return '<h2 id="failures-title">Failures</h2>\n' + "\n".join(_failure(reporter, r) for r in failed)


def _failure(reporter: Reporter, r: CheckResult) -> str:
    # Reporter.failure already redacted every line (secrets by value, credential headers by name)
    f = reporter.failure(r)
    parts = [f'<section class="failure" id="{_failure_id(r)}" data-provider="{e(r.provider)}" '
             f'data-check="{e(r.check_id)}">',
             f"<h3>{e(r.provider)} {e(r.check_id)}: {e(rule_of(r.check_id))}</h3>",
             f'<p class="reason">{e(reporter.redactor.text(r.reason))}</p>',
             "<h4>Sent</h4>", f'<pre class="sent">{e(chr(10).join(f.sent) or "-")}</pre>',
             "<h4>Received</h4>", f'<pre class="received">{e(f.received)}</pre>',
             "<h4>Expected</h4>", f'<pre class="expected">{e(f.expected)}</pre>',
             "<h4>Reproduce</h4>", f'<pre class="command">{e(f.command)}</pre>']
    if f.curl:
        parts += [f'<pre class="curl">{e(f.curl)}</pre>',
                  '<p class="note">Credential headers are shown as &lt;redacted&gt;: put your own back. Signatures '
                  "carry the time they were made, so a late curl meets the replay window.</p>"]
    return "\n".join([*parts, "</section>"])


# --- pictures ---


def _pictures(runs: Sequence[ProviderRun]) -> str:
    histograms = "\n".join(_histogram_figure(run) for run in runs)
    return ('<h2 id="latency-title">Acknowledgement latency</h2>\n<p class="note">Time to the response of every '
            "exchange answered 2xx (genuine deliveries, duplicates, and any probe wrongly accepted).</p>\n"
            f'<div class="plots">\n{histograms}\n</div>\n'
            f'<h2 id="timeline-title">Timeline</h2>\n<figure>\n{timeline_svg(runs)}\n<figcaption>One mark per '
            "exchange, at the time it was sent (since the first exchange of the run), coloured by its outcome; "
            "the providers are checked one after another.</figcaption>\n</figure>")


def _histogram_figure(run: ProviderRun) -> str:
    latencies = [a.latency_s for a in run.exchanges if outcome_class(a) == "2xx"]
    caption = f"{run.provider}: {len(latencies)} of {len(run.exchanges)} exchanges answered 2xx"
    return f"<figure>\n{histogram_svg(run.provider, latencies)}\n<figcaption>{e(caption)}</figcaption>\n</figure>"


def bucket_counts(latencies: Iterable[float]) -> list[int]:
    counts = [0] * len(BUCKETS)
    for latency in latencies:
        counts[next(i for i, (upper, _) in enumerate(BUCKETS) if latency < upper)] += 1
    return counts


def histogram_svg(provider: str, latencies: Sequence[float]) -> str:
    """Bars of 2xx answers per latency bucket, each with its count; y gridlines at a round step."""
    counts = bucket_counts(latencies)
    left, top, bar_w, gap, plot_h = 44, 30, 44, 8, 150
    width, height = left + len(BUCKETS) * (bar_w + gap) + 10, top + plot_h + 52
    high = max(counts, default=0)
    step = max(1, math.ceil(nice_step(high, 4)))  # counts: whole gridlines only
    # headroom above the tallest bar, so that its count label stays clear of the provider's name
    scale_max = step * max(1, math.ceil(high * 1.15 / step))
    out = [f'<svg class="latency-histogram" data-provider="{e(provider)}" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">',
           f"<title>{e(provider)}: acknowledgement latency of 2xx answers</title>",
           f'<text x="{left}" y="14" font-size="13" font-weight="600">{e(provider)}</text>']
    for tick in range(0, scale_max + 1, step):
        y = top + plot_h - plot_h * tick / scale_max
        out += [f'<line class="grid" x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}"/>',
                f'<text class="small" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>']
    for i, ((_, label), count) in enumerate(zip(BUCKETS, counts, strict=True)):
        x = left + gap / 2 + i * (bar_w + gap)
        h = plot_h * count / scale_max
        y = top + plot_h - h
        out.append(f'<rect class="bar" data-bucket="{e(label)}" data-count="{count}" x="{x:.1f}" y="{y:.1f}" '
                   f'width="{bar_w}" height="{h:.1f}"><title>{e(label)}: {count}</title></rect>')
        if count:
            out.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" font-size="12" text-anchor="middle">'
                       f"{count}</text>")
        out.append(f'<text class="small" x="{x + bar_w / 2:.1f}" y="{top + plot_h + 15}" text-anchor="middle">'
                   f"{e(label)}</text>")
    out += [f'<line class="axis" x1="{left}" x2="{width - 10}" y1="{top + plot_h}" y2="{top + plot_h}"/>',
            f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}"/>',
            f'<text class="small" x="{left + (width - left) / 2:.0f}" y="{height - 8}" text-anchor="middle">'
            "acknowledgement latency (ms)</text>",
            f'<text class="small" transform="translate(12 {top + plot_h / 2:.0f}) rotate(-90)" '
            'text-anchor="middle">2xx answers</text>']
    if not latencies:
        out.append(f'<text class="small" x="{left + 12}" y="{top + plot_h / 2:.0f}">no 2xx answer to time</text>')
    return "\n".join([*out, "</svg>"])


def outcome_class(a: Attempt) -> str:
    return a.outcome if a.outcome in OUTCOME_CLASSES and a.status is not None else "no-answer"


PAD = 4  # px inside a timeline row above and below its lanes, so marks do not touch the row's edge


def timeline_svg(runs: Sequence[ProviderRun]) -> str:
    """One row per provider, one lane per outcome class in it (so a rare 5xx is not hidden under 2xx marks)."""
    starts = [a.sent_at for run in runs for a in run.exchanges]
    t0 = min(starts, default=0.0)
    span = max((a.sent_at - t0 for run in runs for a in run.exchanges), default=0.0) or 1e-3
    width, left, right, top, lane, row_gap = 1100, 150, 24, 40, 9, 14
    plot_w = width - left - right
    row_h = lane * len(OUTCOME_CLASSES) + 2 * PAD
    height = top + len(runs) * (row_h + row_gap) + 44
    step = nice_step(span, 8)
    out = [f'<svg class="timeline" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img">', "<title>Deliveries over time, by outcome</title>",
           _legend(left)]
    bottom = height - 36
    for k in range(int(span / step) + 1):
        x = left + plot_w * (k * step) / span
        out += [f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top - 6}" y2="{bottom}"/>',
                f'<text class="small" x="{x:.1f}" y="{bottom + 14}" text-anchor="middle">'
                f"{e(_duration(k * step, step))}</text>"]
    out += [f'<line class="axis" x1="{left}" x2="{left + plot_w}" y1="{bottom}" y2="{bottom}"/>',
            f'<text class="small" x="{left + plot_w / 2:.0f}" y="{height - 4}" text-anchor="middle">time since '
            "the first exchange</text>"]
    for row, run in enumerate(runs):
        out.append(_timeline_row(run, top + row * (row_h + row_gap), lane, left, plot_w, t0, span))
    return "\n".join([*out, "</svg>"])


def _legend(left: int) -> str:
    items, x = [], left
    for cls in OUTCOME_CLASSES:
        items.append(f'<g class="legend-item" data-outcome="{e(cls)}"><circle cx="{x + 5}" cy="16" r="5" '
                     f'fill="{OUTCOME_COLOURS[cls]}"/><text x="{x + 14}" y="20" font-size="12">'
                     f"{e(OUTCOME_MEANING[cls])}</text></g>")
        x += 22 + 7 * len(OUTCOME_MEANING[cls])
    return '<g class="legend">' + "".join(items) + "</g>"


def _timeline_row(run: ProviderRun, y0: float, lane: int, left: int, plot_w: int, t0: float, span: float) -> str:
    row_h = lane * len(OUTCOME_CLASSES) + 2 * PAD
    out = [f'<rect x="{left}" y="{y0:.1f}" width="{plot_w}" height="{row_h}" fill="#f6f8fa"/>',
           f'<text x="{left - 10}" y="{y0 + row_h / 2 + 5:.1f}" font-size="13" text-anchor="end">'
           f"{e(run.provider)}</text>"]
    for a in run.exchanges:
        cls = outcome_class(a)
        x = left + plot_w * (a.sent_at - t0) / span
        y = y0 + PAD + lane * (OUTCOME_CLASSES.index(cls) + 0.5)
        what = f"{a.copy} #{a.attempt} of {a.event_id}: {a.status or a.outcome}, {a.latency_s * 1000:.1f} ms"
        out.append(f'<circle class="mark" data-outcome="{e(cls)}" data-provider="{e(run.provider)}" '
                   f'cx="{x:.1f}" cy="{y:.1f}" r="3.6" fill="{OUTCOME_COLOURS[cls]}" fill-opacity="0.75">'
                   f"<title>{e(what)}</title></circle>")
    return "\n".join(out)


def nice_step(span: float, ticks: int) -> float:
    """A 1-2-5 step that cuts `span` into at most about `ticks` pieces (round numbers make readable axes)."""
    raw = span / ticks
    if raw <= 0:
        return 1.0
    base = 10.0 ** math.floor(math.log10(raw))
    return next(m * base for m in (1, 2, 5, 10) if m * base >= raw * (1 - 1e-9))


def _duration(seconds: float, step: float) -> str:
    if step < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:g} s"
