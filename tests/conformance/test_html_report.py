"""The HTML report of `fleetsim check` (`--report html:FILE`): what the page holds (failing rows, reproductions,
one histogram and one timeline mark per exchange), that it references nothing outside itself and shows no
secret, that a receiver's `<script>` is shown as text, and that a real browser (headless Debian Chromium)
renders it: the DOM after scripts would have run, and a screenshot that is not blank."""

from __future__ import annotations

import base64
import contextlib
import os
import re
import signal
import struct
import subprocess
import zlib
from collections.abc import Callable, Sequence
from html.parser import HTMLParser
from pathlib import Path

import pytest
from aiohttp import web

from conformance.cli import _credential_headers
from conformance.html import BUCKETS, bucket_counts, histogram_svg, render
from conformance.registry import CHECKS
from conformance.report import Invocation, Reporter
from conformance.run import ProviderRun, run_provider
from simulator.delivery.redaction import Redactor, secrets_in_settings
from simulator.providers import PROVIDERS
from tests.conftest import CliResult

from .flawed import SW_SECRET, flawed, serve, settings

Cli = Callable[..., CliResult]
SEED = 1
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_TIMEOUT_S = 60
# offline and quiet: nothing of Chromium's own (updates, sync, QUIC probes) reaches the network
SHOT_HEIGHT = 12000
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars")
#: what a receiver that answers with a web page might send back; were it ever executed, it would leave a mark
INJECTED = ("<script>document.title='INJECTED';document.documentElement.setAttribute('data-injected','1')</script>"
            "<img src=x onerror=\"document.title='INJECTED'\">")


# --- building reports ---


def reporter(target: str, providers: Sequence[str], tmp_path: Path) -> Reporter:
    """The Reporter `fleetsim check --target TARGET --seed 1` builds (same redaction, same credential headers)."""
    return Reporter(Invocation(target, None, SEED, None), Redactor.from_settings(settings()),
                    _credential_headers([PROVIDERS[p] for p in providers], settings()), tmp_path / "bodies")


#: what `fleetsim check` runs by default
STANDARD = [c for c in CHECKS.values() if c.in_suite("standard")]


async def checked(provider: str, url: str) -> ProviderRun:
    return await run_provider(PROVIDERS[provider], STANDARD, target=url, settings=settings(), seed=SEED)


def hostile() -> web.Application:
    """A receiver that answers every request 200 with a page carrying a script (so it also accepts every probe)."""

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text=INJECTED, content_type="text/html")

    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", answer)
    return app


class Page(HTMLParser):
    """Every element with its attributes, and the text of the page's <title> and of each <pre> (by its class),
    unescaped."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.texts: dict[str, list[str]] = {}
        self._open: str | None = None
        self._svg = 0  # depth of open <svg> elements
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        self.elements.append((tag, found))
        self._svg += tag == "svg"
        if tag in ("title", "pre"):
            # an SVG's <title> is a tooltip, kept apart from the page's own title
            self._open = "svg-title" if self._svg else found.get("class", tag)
            self.texts.setdefault(self._open, []).append("")

    def handle_endtag(self, tag: str) -> None:
        self._svg -= tag == "svg"
        if tag in ("title", "pre"):
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.texts[self._open][-1] += data

    def find(self, tag: str, cls: str | None = None, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag and (cls is None or cls in a.get("class", "").split())
                and all(a.get(name.replace("_", "-")) == value for name, value in attrs.items())]

    def statuses(self) -> dict[tuple[str, str], str]:
        return {(row["data-provider"], row["data-check"]): row["data-status"] for row in self.find("tr", "check-row")}


def failing(page: Page, provider: str) -> set[str]:
    return {check for (p, check), status in page.statuses().items() if p == provider and status == "failed"}


# --- the page itself ---


async def test_the_page_shows_failures_with_reproductions_and_nothing_external_or_secret(tmp_path: Path) -> None:
    async with flawed("no_verify") as url:
        run = await checked("samsara", url)
    text = render(reporter(url, ["samsara"], tmp_path), [run], 1)
    page = Page(text)

    assert page.find("table", id="verdicts")
    assert len(page.statuses()) == len(STANDARD)
    failed = {r.check_id for r in run.results if r.status == "failed"}
    assert failed >= {"SIG-04", "RPL-01", "RPL-02"}  # what skipping verification breaks, among others
    assert failing(page, "samsara") == failed
    assert page.find("span", "verdict", id="verdict")[0]["data-exit-code"] == "1"
    for check_id in sorted(failed):
        assert page.find("section", "failure", data_check=check_id)
        # TIM-04 audits what the others sent: its reproduction runs the check that sent the refused traffic too
        only = check_id if check_id != "TIM-04" else "TIM-04,"
        assert any(c.startswith(f"fleetsim check --provider samsara --target {url} --only {only}")
                   and c.endswith(f" --seed {SEED}") for c in page.texts["command"]), (check_id, page.texts["command"])
    assert len(page.texts["curl"]) == len(failed) and all(c.startswith(f"curl -sS -X POST {url}/samsara") for c in
                                                page.texts["curl"])
    assert len(page.find("svg", "latency-histogram", data_provider="samsara")) == 1
    assert len(page.find("rect", "bar")) == len(BUCKETS)
    assert len(page.find("circle", "mark")) == len(run.exchanges)

    # self-contained: no script, nothing loaded from anywhere, links only within the page
    assert not page.find("script") and not page.find("link") and not page.find("img")
    assert not re.search(r"""\b(src|href|action|xlink:href)\s*=\s*["']?\s*(https?:)?//""", text, re.IGNORECASE)
    assert all(a["href"].startswith("#") for a in page.find("a"))
    assert "url(" not in text and "@import" not in text
    # URLs appear only as text (the target, and any a payload carries), never in an attribute
    assert not [value for _, attrs in page.elements for value in attrs.values() if "//" in value]

    for secret in [*secrets_in_settings(settings()), SW_SECRET.encode()]:
        for form in (secret, base64.b64encode(secret)):
            assert form.decode("utf-8", "replace") not in text


async def test_a_receivers_script_is_escaped_into_text(tmp_path: Path) -> None:
    async with serve(hostile()) as url:
        run = await checked("smartgps", url)
    text = render(reporter(url, ["smartgps"], tmp_path), [run], 1)
    page = Page(text)
    assert failing(page, "smartgps") >= {"SIG-04", "MAL-01"}
    assert "<script" not in text.lower() and "<img" not in text.lower()
    assert "&lt;script&gt;document.title=&#x27;INJECTED&#x27;" in text
    assert any(INJECTED in received for received in page.texts["received"])  # shown, as text


def test_latency_buckets_are_log_ish_and_an_empty_histogram_still_draws() -> None:
    assert bucket_counts([0.001, 0.005, 0.0099, 0.3, 0.999, 1.0, 7.0]) == [1, 2, 0, 0, 0, 0, 1, 1, 2]
    page = Page(histogram_svg("smartgps", []))
    assert [bar["data-count"] for bar in page.find("rect", "bar")] == ["0"] * len(BUCKETS)
    assert "no 2xx answer to time" in histogram_svg("smartgps", [])


def test_check_writes_an_html_report(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    result = cli("check", "--provider", "smartgps", "--report", f"html:{path}")
    assert result.code == 0, result
    page = Page(path.read_text(encoding="utf-8"))
    assert set(page.statuses().values()) <= {"passed", "skipped"} and len(page.statuses()) == len(STANDARD)
    assert page.find("span", "verdict")[0]["data-exit-code"] == "0"
    assert page.find("svg", "latency-histogram", data_provider="smartgps") and page.find("circle", "mark")


# --- in a real browser ---


async def test_chromium_renders_the_table_and_plots_and_runs_no_injected_script(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; `make test` "
                    "does it) to open the HTML report in a real browser")
    async with flawed("no_verify") as good_url, serve(hostile()) as bad_url:
        runs = [await checked("samsara", good_url), await checked("smartgps", bad_url)]
    # the target shown is the first one; each run keeps its own URL
    text = render(reporter(good_url, ["samsara", "smartgps"], tmp_path), runs, 1)
    report = tmp_path / "report.html"
    report.write_text(text, encoding="utf-8")
    title = Page(text).texts["title"][0]

    dom = Page(chromium(tmp_path, "--dump-dom", report.as_uri()).stdout)
    assert len(dom.find("table", id="verdicts")) == 1
    assert len(dom.statuses()) == 2 * len(STANDARD)
    assert failing(dom, "samsara") == {r.check_id for r in runs[0].results if r.status == "failed"}
    assert failing(dom, "smartgps") >= {"SIG-04"}
    assert [len(dom.find("svg", "latency-histogram", data_provider=p)) for p in ("samsara", "smartgps")] == [1, 1]
    assert len(dom.find("rect", "bar")) == 2 * len(BUCKETS)
    assert len(dom.find("circle", "mark")) == sum(len(run.exchanges) for run in runs)
    assert {m["data-outcome"] for m in dom.find("circle", "mark")} >= {"2xx", "4xx"}
    # the receiver's page did not run: the title is ours, no element it would add or mark exists, its text shows
    assert dom.texts["title"] == [title] and "INJECTED" not in title
    assert not dom.find("script") and not dom.find("img") and not dom.find("html", data_injected="1")
    assert any(INJECTED in received for received in dom.texts["received"])

    shot = tmp_path / "report.png"
    # tall enough for the verdict table of two providers and the plots under it (the table alone is ~8000 px)
    chromium(tmp_path, f"--screenshot={shot}", f"--window-size=1200,{SHOT_HEIGHT}", report.as_uri())
    assert shot.exists() and shot.stat().st_size > 20_000, "a blank page compresses to a few KB"
    width, height, pixels = decode_png(shot.read_bytes())
    assert (width, height) == (1200, SHOT_HEIGHT)
    assert len(pixels) > 50, "a rendered table and plots have many colours"
    for name, colour in [("FAIL badge", (0xCF, 0x22, 0x2E)), ("PASS badge", (0x1A, 0x7F, 0x37)),
                         ("histogram bar", (0x09, 0x69, 0xDA))]:
        assert any(_near(p, colour) for p in pixels), f"no {name} colour {colour} on the screenshot"


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium once, bounded by CHROMIUM_TIMEOUT_S, and leave none of its processes behind."""
    profile = tmp_path / "chromium-profile"
    command = [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    # its own session, so that its whole process group (renderer, zygote, crash handler) can be killed after
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=CHROMIUM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        pytest.fail(f"chromium did not finish within {CHROMIUM_TIMEOUT_S} s: {' '.join(args)}\n{err[-2000:]}")
    finally:
        _kill_group(proc)
    assert proc.returncode == 0, f"chromium exited {proc.returncode}: {err[-2000:]}"
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    # the group this test started, by its id, nothing else; already gone (children included) is fine
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def decode_png(data: bytes) -> tuple[int, int, set[tuple[int, int, int]]]:
    """Width, height and the distinct RGB colours of an 8-bit RGB(A) PNG, such as Chromium's screenshots (no
    imaging library needed: zlib and the five PNG row filters)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, channels = 8, [], 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour_type = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour_type in (2, 6), (depth, colour_type)
            channels = 3 if colour_type == 2 else 4
        elif kind == b"IDAT":
            idat.append(chunk)
    raw, stride = zlib.decompress(b"".join(idat)), width * channels
    previous, colours = bytearray(stride), set[tuple[int, int, int]]()
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(raw[start], bytearray(raw[start + 1:start + 1 + stride]), previous, channels)
        colours.update(zip(row[0::channels], row[1::channels], row[2::channels], strict=True))
        previous = row
    return width, height, colours


def _unfilter(kind: int, row: bytearray, up: bytearray, bpp: int) -> bytearray:
    if kind == 2:
        return bytearray((a + b) & 0xFF for a, b in zip(row, up, strict=True))
    for i in range(len(row) if kind else 0):
        left = row[i - bpp] if i >= bpp else 0
        upper_left = up[i - bpp] if i >= bpp else 0
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + (left + up[i]) // 2) & 0xFF
        elif kind == 4:
            row[i] = (row[i] + _paeth(left, up[i], upper_left)) & 0xFF
    return row


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _near(pixel: tuple[int, int, int], colour: tuple[int, int, int]) -> bool:
    return all(abs(p - c) <= 8 for p, c in zip(pixel, colour, strict=True))


def test_a_64_kib_header_is_shown_clipped_and_the_curl_reads_the_headers_from_a_file(tmp_path: Path) -> None:
    # SIG-05's 64 KiB signature filled a failure's Sent block and curl line with 65,536 characters: thousands of
    # lines in the terminal and the HTML report
    import shlex

    from conformance.registry import CheckResult
    from simulator.delivery.model import Attempt

    long_value = "sha256=" + "a" * 65_536
    a = Attempt(event_id="e", provider="smartgps", kind="event", copy="malformed_signature", attempt=1,
                url="http://r/smartgps", sent_at=0.0, latency_s=0.01, outcome="2xx", status=200,
                request_headers={"Content-Type": "application/json", "X-Signature": long_value},
                request_body=b"{}", variant="64 KiB")
    failure = reporter("http://r", ["smartgps"], tmp_path).failure(
        CheckResult("failed", "answered 200", a, "4xx", check_id="SIG-05", provider="smartgps"))
    shown = next(line for line in failure.sent if line.startswith("X-Signature: "))
    assert shown.endswith(f"... ({len(long_value)} characters)") and len(shown) < 300
    assert failure.curl is not None and len(failure.curl) < 500, failure.curl
    words = shlex.split(failure.curl)
    header_file = Path(words[words.index("-H") + 1].removeprefix("@"))
    assert header_file.read_text("utf-8") == f"Content-Type: application/json\nX-Signature: {long_value}\n"
