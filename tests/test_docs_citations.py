"""Every citation in the code resolves in docs/: a new engineer can look up whatever a comment points at.

Scanned: the .py files under simulator/, conformance/, loadtests/ and tests/, the schemas under schemas/ and
the fixture notes under tests/fixtures/ (both cite their sources). Citations, and where each must resolve:

- catalogue ids (SIG-, RPL-, IDM-, ORD-, MAL-, LIM-, TIM-, TRN- with two digits; H-1 … H-6, optionally with an
  item number such as H-1.3), including lists and ranges written as `SIG-02/05`, `RPL-01..05` or `MAL-01, 05..08`
  and families such as `SIG-*`: each id must be defined in docs/, as a heading, as the first cell of a table
  row, or as the bold label of a list item;
- sections, `provider-facts §5`, `provider-facts 3.2`, `perf-anchors §6` or a bare `§1.2` (which means
  provider-facts): the numbered heading must exist in that docs/ file (RFC sections are outside the repo and are
  not checked);
- vendor pages, `seed 003` / `seed004`: docs/vendor-sources.md must have a table row for the seed number that
  gives its public URL;
- documents, `docs/delivery.md`, `provider-facts.md` or a doc named without its extension (`perf-anchors`):
  the file must exist;
- confidence markers (`V-src`, `V-3p`, `[I]`, `[U]`, `[S]`, `[P]`): docs/ must explain each in a legend.

This file is not scanned itself: it names the citation forms, not citations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SELF = Path(__file__).resolve()

FAMILIES = ("SIG", "RPL", "IDM", "ORD", "MAL", "LIM", "TIM", "TRN", "API")
_ID = re.compile(r"\b(" + "|".join(FAMILIES) + r")-(\d{2}\b|\*)((?:\s*(?:/|\.\.|…|,\s?)\s*\d{2}\b)*)")
_CONTINUATION = re.compile(r"(/|\.\.|…|,)\s*(\d{2})")
_H_ID = re.compile(r"\bH-([1-6])(?:\.(\d+))?\b")

#: docs that code names without their extension
NAMED_DOCS = ("provider-facts", "perf-anchors", "conformance-catalogue", "vendor-sources", "architecture",
              "schema-conventions")
_DOC_NAME = re.compile(r"\b(" + "|".join(NAMED_DOCS) + r"|RFC\s*\d+)\b")
_SECTION = re.compile(r"§\s*(\d+(?:\.\d+)*)")
#: "provider-facts 4 and 6", "provider-facts 3.2": a section number without the § sign
_BARE_SECTION = re.compile(
    r"\b(provider-facts|perf-anchors)(?:\.md)?\s+(\d+(?:\.\d+)*)((?:\s*(?:,|and|/)\s*\d+(?:\.\d+)*)*)"
)
_SEED = re.compile(r"(?<![A-Za-z])seed[ _]?(\d{3})(?!\d)", re.IGNORECASE)
_DOC_FILE = re.compile(r"(?<![\w/.-])((?:docs/)?[\w-]+(?:/[\w-]+)*\.md)\b")
_MARKER = re.compile(r"\[(S|I|U|P)\]|\b(V-src|V-3p)\b")
_URL = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class Citation:
    where: str  # path:line
    text: str  # as written
    kind: str  # id | section | seed | doc | marker
    target: str  # what must resolve (an id, "doc#section", a seed number, a path, a marker)


def _scanned_files() -> list[Path]:
    files = [p for d in ("simulator", "conformance", "loadtests", "tests") for p in sorted((ROOT / d).rglob("*.py"))]
    files += sorted((ROOT / "schemas").rglob("*.json")) + sorted((ROOT / "tests" / "fixtures").rglob("*.note"))
    return [p for p in files if p.resolve() != SELF]


def _expand_ids(match: re.Match[str]) -> list[str]:
    family, first, tail = match.group(1), match.group(2), match.group(3)
    if first == "*":
        return [f"{family}-*"]
    ids, last = [f"{family}-{first}"], int(first)
    for sep, number in _CONTINUATION.findall(tail):
        n = int(number)
        if sep in ("..", "…"):
            ids += [f"{family}-{k:02d}" for k in range(last + 1, n + 1)]
        else:
            ids.append(f"{family}-{n:02d}")
        last = n
    return ids


def citations_in(text: str, name: str) -> Iterator[Citation]:
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = _URL.sub(" ", raw)
        where = f"{name}:{lineno}"
        for m in _ID.finditer(line):
            for cited in _expand_ids(m):
                yield Citation(where, m.group(0).strip(), "id", cited)
        for m in _H_ID.finditer(line):
            yield Citation(where, m.group(0), "id", m.group(0))
        # § sections belong to the nearest document named before them on the line (provider-facts by default)
        names = [(m.start(), m.group(1)) for m in _DOC_NAME.finditer(line)]
        for m in _SECTION.finditer(line):
            before = [n for pos, n in names if pos < m.start()]
            doc = before[-1] if before else "provider-facts"
            if doc.startswith("RFC"):
                continue
            yield Citation(where, m.group(0), "section", f"{doc}#{m.group(1)}")
        for m in _BARE_SECTION.finditer(line):
            for number in [m.group(2), *re.findall(r"\d+(?:\.\d+)*", m.group(3))]:
                yield Citation(where, m.group(0), "section", f"{m.group(1)}#{number}")
        for m in _SEED.finditer(line):
            yield Citation(where, m.group(0), "seed", m.group(1))
        for m in _DOC_FILE.finditer(line):
            yield Citation(where, m.group(1), "doc", m.group(1))
        for _, n in names:
            if not n.startswith("RFC"):
                yield Citation(where, n, "doc", f"{n}.md")
        for m in _MARKER.finditer(line):
            yield Citation(where, m.group(0), "marker", m.group(1) or m.group(2))


# --- what docs/ defines ---------------------------------------------------------------------------------------

def _doc_texts() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md"))}


def defined_ids(texts: dict[str, str]) -> set[str]:
    """Ids that open a heading (`### H-1 Event accounting`), fill the first cell of a table row (`| SIG-01 |`)
    or open the bold label of a list item (`- **H-1.3 The invariant**`). An id merely mentioned defines nothing."""
    found: set[str] = set()
    opening = re.compile(r"\**((?:" + "|".join(FAMILIES) + r")-\d{2}|H-[1-6](?:\.\d+)?)\b")
    label = re.compile(r"^\s*(?:[-*]|\d+\.)\s+(\*\*.*)")
    for text in texts.values():
        for line in text.splitlines():
            if line.startswith("#"):
                place = line.lstrip("#").strip()
            elif line.startswith("|"):
                place = line.split("|")[1].strip()
                if not opening.fullmatch(place.strip("*")):
                    continue
            elif m := label.match(line):
                place = m.group(1)
            else:
                continue
            if m := opening.match(place):
                found.add(m.group(1))
    return found


def defined_sections(text: str) -> set[str]:
    """Numbered headings: `## 5. MettaX` gives "5", `### 3.2 Signature` gives "3.2"."""
    return set(re.findall(r"^#+\s+§?\s*(\d+(?:\.\d+)*)\.?\s", text, re.MULTILINE))


def documented_seeds(texts: dict[str, str]) -> set[str]:
    """Seed numbers with a row in docs/vendor-sources.md that names a public URL."""
    text = texts.get("vendor-sources.md", "")
    rows = re.findall(r"^\|\s*(?:seed\s*)?`?(\d{3})`?\s*\|(.*)$", text, re.MULTILINE | re.IGNORECASE)
    return {number for number, rest in rows if re.search(r"https?://", rest)}


def explained_markers(texts: dict[str, str]) -> set[str]:
    """Markers given a meaning in a legend: a paragraph that says "confidence" or "marker" and shows each in bold."""
    found: set[str] = set()
    for text in texts.values():
        for paragraph in re.split(r"\n\s*\n", text):
            if re.search(r"confidence|marker", paragraph, re.IGNORECASE):
                found.update(re.findall(r"\*\*\[?(V-src|V-3p|S|I|U|P)\]?\*\*", paragraph))
    return found


def unresolved(citations: list[Citation], texts: dict[str, str]) -> list[str]:
    ids = defined_ids(texts)
    seeds = documented_seeds(texts)
    markers = explained_markers(texts)
    sections = {name.removesuffix(".md"): defined_sections(text) for name, text in texts.items()}
    places: dict[str, list[str]] = {}
    for c in citations:
        if c.kind == "id":
            family = c.target.endswith("-*")
            ok = any(i.startswith(c.target[:-1]) for i in ids) if family else c.target in ids
            why = f"{c.target} is not defined in docs/ (heading, table row or list label)"
        elif c.kind == "section":
            doc, number = c.target.split("#")
            ok = number in sections.get(doc, set())
            why = f"docs/{doc}.md has no section {number}"
        elif c.kind == "seed":
            ok = c.target in seeds
            why = f"seed {c.target} has no row with a public URL in docs/vendor-sources.md"
        elif c.kind == "doc":
            ok = (ROOT / c.target).is_file() or (DOCS / c.target).is_file()
            why = f"{c.target} does not exist (in the repository root or docs/)"
        else:
            ok = c.target in markers
            why = f"confidence marker {c.target} is not explained in a legend in docs/"
        if not ok:
            places.setdefault(why, []).append(f"{c.where} ({c.text})")
    return [f"{why}; cited at {', '.join(dict.fromkeys(where))}" for why, where in sorted(places.items())]


def all_citations() -> list[Citation]:
    found: list[Citation] = []
    for path in _scanned_files():
        found += citations_in(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())
    return found


# --- tests ----------------------------------------------------------------------------------------------------

def test_every_citation_in_the_code_resolves_in_docs() -> None:
    citations = all_citations()
    assert len(citations) > 100, "the scanner found almost nothing: is it still reading the right folders?"
    problems = unresolved(citations, _doc_texts())
    assert not problems, f"{len(problems)} cited thing(s) do not resolve in docs/:\n" + "\n".join(problems)


def test_every_kind_of_citation_is_seen() -> None:
    """The scanner still recognises each form the code uses (a regex that silently stops matching hides rot)."""
    kinds = {c.kind for c in all_citations()}
    assert kinds == {"id", "section", "seed", "doc", "marker"}


def test_the_scanner_reads_lists_ranges_and_section_forms() -> None:
    text = (
        "catalogue SIG-02/05, RPL-01..03, MAL-01, 05..06 and IDM-*; H-1.3 and H-4\n"
        "provider-facts §1-§2 and §1.5; provider-facts 4 and 6; perf-anchors §6; RFC 8259 §4\n"
        "seed 003, alert_v1__seed004_speed, docs/delivery.md, provider-facts.md [U] (V-src)\n"
    )
    got = {(c.kind, c.target) for c in citations_in(text, "x")}
    assert got == {
        ("id", "SIG-02"), ("id", "SIG-05"), ("id", "RPL-01"), ("id", "RPL-02"), ("id", "RPL-03"),
        ("id", "MAL-01"), ("id", "MAL-05"), ("id", "MAL-06"), ("id", "IDM-*"), ("id", "H-1.3"), ("id", "H-4"),
        ("section", "provider-facts#1"), ("section", "provider-facts#2"), ("section", "provider-facts#1.5"),
        ("section", "provider-facts#4"), ("section", "provider-facts#6"), ("section", "perf-anchors#6"),
        ("seed", "003"), ("seed", "004"), ("doc", "docs/delivery.md"), ("doc", "provider-facts.md"),
        ("doc", "provider-facts.md"), ("doc", "perf-anchors.md"), ("marker", "U"), ("marker", "V-src"),
    }


def test_an_unresolved_citation_is_reported_with_its_place() -> None:
    texts = {"conformance-catalogue.md": "| SIG-01 | sent | done | source |\n",
             "provider-facts.md": "## 5. MettaX\n"}
    problems = unresolved(list(citations_in("x = 1  # SIG-01, SIG-99, provider-facts §5 and §6, seed 777", "m.py")),
                          texts)
    assert problems == [
        "SIG-99 is not defined in docs/ (heading, table row or list label); cited at m.py:1 (SIG-99)",
        "docs/provider-facts.md has no section 6; cited at m.py:1 (§6)",
        "seed 777 has no row with a public URL in docs/vendor-sources.md; cited at m.py:1 (seed 777)",
    ]


def test_links_in_the_docs_and_readme_resolve() -> None:
    broken = []
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            path = target.split("#")[0]
            if path and not re.match(r"[a-z]+:", path) and not (page.parent / path).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, "links to files that do not exist:\n" + "\n".join(broken)


def test_the_signature_vectors_in_provider_facts_verify() -> None:
    """The vectors are copied into tests and READMEs: the documented bytes must sign to the documented values."""
    from simulator.signing import get_signer

    facts = (DOCS / "provider-facts.md").read_text(encoding="utf-8")
    samsara = get_signer("samsara")
    vector = re.search(r"secretKey \(base64\)\s+= (\S+).*?X-Samsara-Timestamp\s+= (\d+)\n"
                       r"raw body \(350 bytes\) = (.+?)\n.*?X-Samsara-Signature\s+= (v1=[0-9a-f]{64})", facts, re.S)
    ping = re.search(r"body `(\{\"eventId\":\"bf72[^`]+)`\n- timestamp `(\d+)`\n- signature `(v1=[0-9a-f]{64})`", facts)
    assert vector is not None and ping is not None
    key = samsara.parse_secret(vector.group(1))
    cases = [(vector.group(3), vector.group(2), vector.group(4)), (ping.group(1), ping.group(2), ping.group(3))]
    assert len(cases[0][0].encode()) == 350
    for body, ts, signature in cases:
        headers = samsara.sign(body.encode(), [key], timestamp=int(ts), message_id="-")
        assert headers["X-Samsara-Signature"] == signature

    body_only = re.findall(r"secret `([^`]+)`, body `([^`]+)` →\s+`(sha256=[0-9a-f]{64})`", facts)
    smartgps = re.search(r"secret `(smartgps-test-secret)`\n\s+- body `([^`]+)`\n\s+- `X-SmartGPS-Signature: "
                         r"(sha256=[0-9a-f]{64})`", facts)
    assert len(body_only) == 1 and smartgps is not None
    for secret, body, signature in [*body_only, smartgps.groups()]:
        signer = get_signer("hmac-sha256")
        assert signature in signer.sign(body.encode(), [signer.parse_secret(secret)], timestamp=0,
                                        message_id="-").values()
