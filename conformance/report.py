"""What `fleetsim check` prints and writes: per check its status and reason, for every failure Sent / Received /
Expected and a reproduction (the `fleetsim check ... --only ID --seed S` line, and a `curl` with the exact
headers and a body file), and the json and junit reports.

No secret reaches any of it: every header, body and line goes through the run's `Redactor`, and credential
headers (a pre-shared header, a static token) are shown as <redacted> whatever their value, since even a wrong
pre-shared value is made from the real one.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from simulator import __version__
from simulator.delivery.model import GENUINE, Attempt
from simulator.delivery.redaction import MASK, Redactor
from simulator.delivery.urls import masked_url_secrets
from simulator.errors import EXIT_INTERRUPTED, EXIT_OK

from .registry import CHECKS, CheckResult, catalogue_order, rule_of
from .run import ProviderRun

BODY_SHOWN = 300  # bytes of a body quoted in the terminal and reports (the body file holds all of it)
#: characters of a header value shown (SIG-05 sends a 64 KiB signature); past it the curl line reads its headers
#: from a file beside the body file (`-H @FILE`), so it reproduces exactly and stays one readable line
HEADER_SHOWN = 200


@dataclass(frozen=True)
class Invocation:
    """How this `fleetsim check` was called: what a reproduction line needs."""

    target: str | None
    settings_path: str | None
    seed: int
    timeout_s: float | None
    app: str | None = None  # MODULE:ATTR of an in-process receiver (--app), instead of a target
    suite: str = "standard"
    fuzz_examples: int = 100
    quarantine: bool = False
    #: further options a reproduction needs, as given (a socket client's --client-command and timings)
    extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class Failure:
    sent: list[str]
    received: str
    expected: str
    command: str
    curl: str | None
    body_file: str | None


class Reporter:
    def __init__(self, invocation: Invocation, redactor: Redactor, credential_headers: Mapping[str, set[str]],
                 body_dir: Path) -> None:
        self.invocation = invocation
        self.redactor = redactor
        self.credential_headers = credential_headers  # per provider, lower-case names
        self.body_dir = body_dir

    def headers(self, provider: str, headers: Mapping[str, str]) -> dict[str, str]:
        hidden = self.credential_headers.get(provider, set())
        return {name: MASK if name.lower() in hidden else self.redactor.text(value) for name, value in headers.items()}

    def command(self, provider: str, check_id: str, copy: str | None = None) -> str:
        inv = self.invocation
        words = ["fleetsim", "check", "--provider", provider]
        if inv.app:
            words += ["--app", inv.app]
        elif inv.target:
            words += ["--target", masked_url_secrets(inv.target)]  # its password is the user's to put back
        if inv.settings_path:
            words += ["--settings", inv.settings_path]
        if inv.timeout_s is not None:
            words += ["--timeout", f"{inv.timeout_s:g}"]
        words += list(inv.extra)
        # no --suite: --only runs the check whatever its suite; the fuzz options do change what FUZ-01 finds
        if CHECKS[check_id].suite == "fuzz":
            words += ["--fuzz-examples", str(inv.fuzz_examples)] + (["--quarantine"] if inv.quarantine else [])
        return shlex.join([*words, "--only", ",".join(_with_senders(check_id, copy, provider)), "--seed",
                           str(inv.seed)])

    def failure(self, result: CheckResult) -> Failure:
        a = result.exchange
        command = self.command(result.provider, result.check_id, a.copy if a is not None else None)
        if a is None:
            return Failure([], "-", result.expected or "-", command, None, None)
        headers = self.headers(a.provider, a.request_headers)
        body = self.redactor.bytes(a.request_body)
        self.body_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # request bodies: this user's to read
        body_file = self.body_dir / f"{a.provider}-{result.check_id}-seed{self.invocation.seed}.body"
        body_file.write_bytes(body)
        url = masked_url_secrets(a.url)
        words = ["curl", "-sS", "-X", a.method, url]
        if any(len(value) > HEADER_SHOWN for value in headers.values()):
            header_file = body_file.with_suffix(".headers")
            header_file.write_text("".join(f"{name}: {value}\n" for name, value in headers.items()), "utf-8")
            words += ["-H", f"@{header_file}"]
        else:
            for name, value in headers.items():
                words += ["-H", f"{name}: {value}"]
        words += ["--data-binary", f"@{body_file}"]
        what = f"{a.copy} ({a.variant})" if a.variant else f"{a.copy} copy"
        of_event = f" of event {a.event_id}" if a.event_id else ""  # a fuzz document is of no scenario event
        sent = [f"{a.method} {url} ({what}{of_event})"]
        sent += [f"{name}: {_clip_text(value)}" for name, value in headers.items()]
        quoted = _clip(body)  # gzip and binary bodies are quoted with their size already
        sent.append(f"body: {quoted}" if quoted.startswith(("<gzip, ", "<binary, ")) else
                    f"body ({len(body)} bytes): {quoted}")
        if a.status is not None:
            received = f"{a.status} after {a.latency_s * 1000:.0f} ms: {_clip(a.response_body)}"
        else:
            received = f"no HTTP answer ({a.outcome}) after {a.latency_s * 1000:.0f} ms: {a.error or ''}".rstrip()
        # an in-process app (--app) has no URL a curl could reach: the body file and the command still reproduce
        curl = None if self.invocation.app else shlex.join(words)
        return Failure(sent, self.redactor.text(received), result.expected or "-", command, curl, str(body_file))

    def failure_lines(self, result: CheckResult) -> list[str]:
        f = self.failure(result)
        lines = [f"Sent:      {f.sent[0]}" if f.sent else "Sent:      -"]
        lines += [f"           {line}" for line in f.sent[1:]]
        lines += [f"Received:  {f.received}", f"Expected:  {f.expected}", f"Reproduce: {f.command}"]
        if f.curl:
            lines += [f"           {f.curl}",
                      "           (credential headers are shown as <redacted>: put your own back; signatures "
                      "carry the time they were made, so a late curl meets the replay window)"]
        return lines

    # --- reports ---

    def json_report(self, runs: Sequence[ProviderRun], exit_code: int, error: str | None = None) -> dict[str, Any]:
        """`error`: the mistake that ended the command before or while checking (exit 2), else None."""
        providers = []
        for run in runs:
            results = []
            for r in run.results:
                entry: dict[str, Any] = {"id": r.check_id, "rule": rule_of(r.check_id), "status": r.status,
                                         "reason": r.reason, "metrics": r.metrics}
                if r.status == "failed":
                    f = self.failure(r)
                    entry.update(sent=f.sent, received=f.received, expected=f.expected,
                                 reproduce={"command": f.command, "curl": f.curl, "body_file": f.body_file})
                if r.exchange is not None:
                    entry["exchange"] = self.exchange(r.exchange)
                results.append(entry)
            providers.append({"provider": run.provider, "url": run.url, "elapsed_s": round(run.elapsed_s, 3),
                              "exchanges": len(run.exchanges), "results": results})
        target = self.invocation.target
        return {"tool": "fleetsim check", "fleetsim_version": __version__,
                "interrupted": exit_code == EXIT_INTERRUPTED,
                "error": self.redactor.text(error) if error is not None else None, "seed": self.invocation.seed,
                "suite": self.invocation.suite,
                "target": masked_url_secrets(target) if target else None, "app": self.invocation.app,
                "exit_code": exit_code, "totals": totals(runs), "providers": providers}

    def exchange(self, a: Attempt) -> dict[str, Any]:
        data = a.as_dict()
        data["url"] = masked_url_secrets(a.url)
        data["response_body"] = self.redactor.text(data["response_body"])
        data["request_headers"] = self.headers(a.provider, a.request_headers)
        return data

    def junit(self, runs: Sequence[ProviderRun], exit_code: int = EXIT_OK, error: str | None = None) -> bytes:
        root = ET.Element("testsuites", name="fleetsim check")
        if error is not None:  # a mistake ended it: never green, and the report says which
            suite = ET.SubElement(root, "testsuite", name="fleetsim check", tests="1", failures="0", errors="1",
                                  skipped="0", time="0")
            case = ET.SubElement(suite, "testcase", classname="fleetsim.check", name="the check could run")
            ET.SubElement(case, "error", type="usage", message=self.redactor.text(error))
        elif exit_code == EXIT_INTERRUPTED:  # a stopped run is never green: what was not checked shows as an error
            suite = ET.SubElement(root, "testsuite", name="fleetsim check", tests="1", failures="0", errors="1",
                                  skipped="0", time="0")
            case = ET.SubElement(suite, "testcase", classname="fleetsim.check", name="the check ran to its end")
            ET.SubElement(case, "error", type="interrupted",
                          message="interrupted (Ctrl-C or SIGTERM): only the providers listed were checked")
        for run in runs:
            counts = totals([run])
            suite = ET.SubElement(root, "testsuite", name=f"fleetsim check {run.provider}",
                                  tests=str(len(run.results)), failures=str(counts["failed"]),
                                  errors=str(counts["error"]), skipped=str(counts["skipped"]),
                                  time=f"{run.elapsed_s:.3f}")
            for r in run.results:
                case = ET.SubElement(suite, "testcase", classname=f"fleetsim.check.{run.provider}",
                                     name=f"{r.check_id}: {rule_of(r.check_id)}")
                if r.status == "failed":
                    element = ET.SubElement(case, "failure", message=r.reason)
                    element.text = "\n".join(self.failure_lines(r))
                elif r.status == "skipped":
                    ET.SubElement(case, "skipped", message=r.reason)
                elif r.status == "error":
                    ET.SubElement(case, "error", message=r.reason)
                else:
                    ET.SubElement(case, "system-out").text = r.reason
        return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))

    def write(self, kind: str, path: Path, runs: Sequence[ProviderRun], exit_code: int,
              error: str | None = None) -> None:
        """`error`: the mistake that ended the command (exit 2), shown in every kind of report."""
        if kind == "json":
            path.write_text(json.dumps(self.json_report(runs, exit_code, error), indent=2, ensure_ascii=False) + "\n")
        elif kind == "html":
            from .html import render  # imported here: html.py builds on this module's Reporter

            path.write_text(render(self, runs, exit_code, error), encoding="utf-8")
        else:
            path.write_bytes(self.junit(runs, exit_code, error))


REPORT_KINDS = ("json", "junit", "html")


def totals(runs: Sequence[ProviderRun]) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
    for run in runs:
        for r in run.results:
            counts[r.status] += 1
    return counts


def _clip_text(value: str) -> str:
    """A header value as shown: at most HEADER_SHOWN characters, then how long it was."""
    return value if len(value) <= HEADER_SHOWN else f"{value[:HEADER_SHOWN]}... ({len(value)} characters)"


def _clip(data: bytes) -> str:
    """A body as one line of text to quote: its first BODY_SHOWN bytes, control characters escaped (a receiver's
    answer could move the cursor or clear the user's terminal, and a newline broke the Received line); a gzip body
    decoded (a bounded read: LIM-04 sends a gzip bomb), other binary shown as hex."""
    if data[:2] == GZIP_MAGIC:
        inner = _gunzipped(data[:64 * 1024])
        shown = "not decodable" if not inner else f"decoded: {_clip(inner[:BODY_SHOWN])}" + (
            "..." if len(inner) > BODY_SHOWN else "")
        return f"<gzip, {len(data)} bytes; {shown}>"
    head = data[:BODY_SHOWN]
    text = head.decode("utf-8", "replace")
    if text.count("\ufffd") > len(text) // 4:  # not text: a few bytes in hex say what it is (magic numbers)
        more = " ..." if len(data) > 32 else ""
        return f"<binary, {len(data)} bytes: {data[:32].hex(' ')}{more}>"
    return text.translate(_ESCAPES) + (f"... ({len(data)} bytes)" if len(data) > BODY_SHOWN else "")


GZIP_MAGIC = b"\x1f\x8b"
#: C0 controls and DEL as escapes (\n, \t, \x1b ...); the C1 controls too (U+0080-U+009F)
_ESCAPES = {code: ({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}.get(code) or f"\\x{code:02x}")
            for code in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}


def _gunzipped(data: bytes) -> bytes:
    """The start of gzip `data` decoded, at most BODY_SHOWN + 1 bytes of it; b"" when it is not gzip."""
    import zlib

    try:
        return zlib.decompressobj(wbits=31).decompress(data, BODY_SHOWN + 1)
    except zlib.error:
        return b""


__all__ = ["REPORT_KINDS", "Failure", "Invocation", "Reporter", "totals"]


def _with_senders(check_id: str, copy: str | None, provider: str) -> list[str]:
    """`check_id`, and when the exchange it failed on is another check's traffic (TIM-04 audits what the others
    sent), the first check that sends that copy: `--only TIM-04` alone would send nothing to audit."""
    check = CHECKS[check_id]
    if copy is None or copy in check.needs or copy == GENUINE:
        return [check_id]
    from simulator.providers import PROVIDERS

    unit = PROVIDERS[provider]
    senders = sorted((c.id for c in CHECKS.values() if copy in c.needs and c.applies(unit)), key=catalogue_order)
    return [check_id, *senders[:1]]
