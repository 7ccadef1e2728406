"""Safe YAML for scenario, settings and state probe files: plain data plus where each value sits in the file.

Hardened against hostile input (conformance catalogue H-5): a size cap, no duplicate keys, a cap on aliases
and on the nodes they expand to ("billion laughs", PyYAML issue #235), a nesting limit, and only plain
types (strings, numbers, booleans, null, lists, mappings; YAML timestamps are kept as their text). Every
problem becomes a ScenarioError located as "file:line:column" (1-based).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import Reader
from yaml.resolver import Resolver

try:  # libyaml, when PyYAML was built with it
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover
    _CParser = None  # type: ignore[assignment, misc]

from ..errors import ScenarioError

MAX_BYTES = 1 << 20  # 1 MiB
MAX_ALIASES = 100
MAX_EXPANDED_NODES = 10_000  # nodes reached through aliases
MAX_NODES = 100_000  # values in the file (a 10,000-point polygon is 30,000)
MAX_DEPTH = 64

JsonPath = tuple[str | int, ...]
Position = tuple[int, int]  # (line, column), 1-based

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{name}" for name in ("int", "float", "bool", "null")}
_MERGE = f"{_TAG}merge"
_TEXT_TAGS = {f"{_TAG}timestamp", _MERGE, f"{_TAG}value"}


@dataclass(frozen=True)
class FileKind:
    """What a file holds, as its messages name it: "settings files are at most ... bytes"."""

    noun: str  # scenario, settings, state probe
    keys: str  # what its top-level mapping takes, as an example

    def mapping(self) -> str:
        return f"a {self.noun} mapping ({self.keys})"


SCENARIO = FileKind("scenario", "name: ..., seed: ..., fleet: ...")


@dataclass(frozen=True)
class YamlDocument:
    """Parsed data and positions: `positions[path]` is where the value at `path` starts, `key_positions[path]`
    where its mapping key is written. Paths are tuples of keys and list indexes: ("fleet", 0, "provider")."""

    data: dict[str, Any]
    source: str
    positions: dict[JsonPath, Position] = field(default_factory=dict)
    key_positions: dict[JsonPath, Position] = field(default_factory=dict)

    def position(self, path: JsonPath, *, key: bool = False) -> Position:
        """Where `path` is written (its key when `key`), else where its nearest known ancestor is."""
        current = tuple(path)
        if key and current in self.key_positions:
            return self.key_positions[current]
        while current:
            if current in self.positions:
                return self.positions[current]
            current = current[:-1]
        return self.positions.get((), (1, 1))

    def location(self, path: JsonPath, *, key: bool = False) -> str:
        line, column = self.position(path, key=key)
        return f"{self.source}:{line}:{column}"


class _Limits:
    """Counts aliases and nodes and bounds nesting while nodes are composed (mixed into the loaders below)."""

    source = "<yaml>"
    kind = SCENARIO
    aliases = 0
    nodes = 0
    depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[attr-defined]
        if isinstance(event, yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _fail(self.source, event.start_mark, f"more than {MAX_ALIASES} aliases (*name); "
                            f"{self.kind.noun} files need few, and alias bombs use many")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _fail(self.source, event.start_mark, f"more than {MAX_NODES} values; too large for a "
                        f"{self.kind.noun} file")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _fail(self.source, event.start_mark, f"nested more than {MAX_DEPTH} levels deep")
        try:
            node: Node | None = super().compose_node(parent, index)  # type: ignore[misc]
            return node
        finally:
            self.depth -= 1


class _PyLoader(_Limits, yaml.SafeLoader):
    """Pure-Python PyYAML: scanner, parser and composer."""

    def __init__(self, stream: str, source: str, kind: FileKind) -> None:
        super().__init__(stream)
        self.source = source
        self.kind = kind


if _CParser is not None:

    class _CLoader(_Limits, Composer, _CParser, SafeConstructor, Resolver):
        """libyaml's scanner and parser (fast) with PyYAML's composer, so the limits above still apply."""

        def __init__(self, stream: str, source: str, kind: FileKind) -> None:
            _CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            Composer.__init__(self)
            self.source = source
            self.kind = kind


def _fail(source: str, mark: Any, problem: str) -> ScenarioError:
    return ScenarioError([f"{source}:{mark.line + 1}:{mark.column + 1}: {problem}"])


def load_yaml_file(path: str | Path, *, max_bytes: int = MAX_BYTES, kind: FileKind = SCENARIO) -> YamlDocument:
    """Read and parse the YAML file at `path`, a `kind` file."""
    name = str(path)
    try:
        size = Path(path).stat().st_size
        if size > max_bytes:
            raise ScenarioError([f"{name}: file is {size} bytes; {kind.noun} files are at most {max_bytes} bytes"])
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ScenarioError([f"{name}: cannot read the {kind.noun} file: {exc.strerror or exc}"]) from None
    return load_yaml_bytes(raw, name, max_bytes=max_bytes, kind=kind)


def load_yaml_bytes(raw: bytes, source: str, *, max_bytes: int = MAX_BYTES, kind: FileKind = SCENARIO
                    ) -> YamlDocument:
    """Parse UTF-8 YAML bytes (a UTF-8 byte order mark is allowed)."""
    if len(raw) > max_bytes:
        raise ScenarioError([f"{source}: file is {len(raw)} bytes; {kind.noun} files are at most {max_bytes} "
                             "bytes"])
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise ScenarioError([f"{source}:{line}: this is a binary file (NUL byte at offset {nul}), not YAML text"])
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ScenarioError(
            [f"{source}:{line}:{column}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
             f"{kind.noun} files are UTF-8 YAML"]
        ) from None
    return load_yaml_text(text, source, max_bytes=max_bytes, kind=kind)


def load_yaml_text(text: str, source: str, *, max_bytes: int = MAX_BYTES, kind: FileKind = SCENARIO
                   ) -> YamlDocument:
    """Parse YAML text into plain data and positions; the top level must be a mapping."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ScenarioError([f"{source}: file is {size} bytes; {kind.noun} files are at most {max_bytes} bytes"])
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ScenarioError([f"{source}:{line}: this is a binary file (NUL character), not YAML text"])
    text = text.removeprefix("\ufeff")
    bad = Reader.NON_PRINTABLE.search(text)  # what PyYAML's reader refuses, located before any parsing
    if bad:
        index = bad.start()
        line = text.count("\n", 0, index) + 1
        column = index - (text.rfind("\n", 0, index) + 1) + 1
        raise ScenarioError(
            [f"{source}:{line}:{column}: invalid YAML: character #x{ord(bad.group()):04x} is not allowed in YAML text"]
        )
    try:
        root = _compose(text, source, kind)
    except yaml.MarkedYAMLError as exc:
        raise ScenarioError([_describe_marked(exc, text, source)]) from None
    except yaml.reader.ReaderError as exc:  # libyaml refusing a character the check above let through
        raise ScenarioError([f"{source}: invalid YAML: character #x{exc.character:04x} is not allowed in YAML text "
                             f"(byte offset {exc.position})"]) from None
    except UnicodeEncodeError:  # pragma: no cover  (surrogates are refused above)
        raise ScenarioError([f"{source}: the text is not valid Unicode (lone surrogate characters)"]) from None
    except yaml.YAMLError as exc:  # any other PyYAML error: no position known
        raise ScenarioError([f"{source}: invalid YAML: {type(exc).__name__}"]) from None
    except RecursionError:
        raise ScenarioError([f"{source}: invalid YAML: nested too deeply"]) from None
    if root is None:
        raise ScenarioError([f"{source}:1:1: the file is empty; expected {kind.mapping()}"])
    if not isinstance(root, MappingNode):
        # a file of plain text given for a settings or scenario file is often a key file or an .env: its text
        # is not quoted
        found = "a list" if isinstance(root, SequenceNode) else \
            f"plain text ({len(str(root.value))} characters, not shown: it may be a key or .env file)"
        raise _fail(source, root.start_mark, f"the top level must be {kind.mapping()}, found {found}")
    builder = _Builder(source, kind)
    data = builder.build(root, ())
    assert isinstance(data, dict)
    return YamlDocument(data, source, builder.positions, builder.key_positions)


def _compose(text: str, source: str, kind: FileKind) -> Node | None:
    loader: _PyLoader | _CLoader = (_CLoader if _CParser is not None else _PyLoader)(text, source, kind)
    try:
        node: Node | None = loader.get_single_node()
        return node
    finally:
        loader.dispose()


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _describe_marked(exc: yaml.MarkedYAMLError, text: str, source: str) -> str:
    """One line for a PyYAML syntax error: where, what, and a hint for the usual causes."""
    problem = exc.problem or "syntax error"
    context = exc.context or ""
    mark = exc.problem_mark or exc.context_mark
    if "quoted scalar" in context and "end of stream" in problem and exc.context_mark is not None:
        mark = exc.context_mark
        return (f"{source}:{mark.line + 1}:{mark.column + 1}: invalid YAML: unclosed quote: the quoted text "
                "starting here never ends")
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
    message = f"{where}: invalid YAML: {problem}"
    if context and exc.context_mark is not None and exc.context_mark is not mark:
        message += f" ({context} at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1})"
    elif context:
        message += f" ({context})"
    if mark is not None:
        lines = text.splitlines()
        line_text = lines[mark.line] if mark.line < len(lines) else ""
        indent = line_text[: len(line_text) - len(line_text.lstrip(" \t"))]
        if "\t" in indent or "'\\t'" in problem:
            message += "; the line is indented with a tab: YAML indentation must use spaces"
    return message


class _Builder:
    """Turns composed nodes into plain data, recording positions and enforcing the expansion limits."""

    def __init__(self, source: str, kind: FileKind) -> None:
        self.source = source
        self.kind = kind
        self.positions: dict[JsonPath, Position] = {}
        self.key_positions: dict[JsonPath, Position] = {}
        self.seen: set[int] = set()
        self.active: set[int] = set()
        self.expanding = 0  # > 0 while inside a node reached a second time (an alias)
        self.nodes = 0
        self.expanded = 0
        self.constructor = yaml.SafeLoader("")

    def build(self, node: Node, path: JsonPath) -> Any:
        if id(node) in self.active:
            raise _fail(self.source, node.start_mark, "recursive alias: an anchor refers to itself")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _fail(self.source, node.start_mark, f"more than {MAX_NODES} values; too large for a "
                        f"{self.kind.noun} file")
        repeated = id(node) in self.seen
        self.seen.add(id(node))
        if repeated:
            self.expanding += 1
        if self.expanding:
            self.expanded += 1
            if self.expanded > MAX_EXPANDED_NODES:
                raise ScenarioError([f"{self.where(path)}: aliases expand to more than {MAX_EXPANDED_NODES} values "
                                     f"(an alias bomb?); {self.kind.noun} files need few aliases"])
        self.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        self.active.add(id(node))
        try:
            if isinstance(node, ScalarNode):
                return self.scalar(node)
            if isinstance(node, SequenceNode):
                self.check_tag(node, f"{_TAG}seq")
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                self.check_tag(node, f"{_TAG}map")
                return self.mapping(node, path)
            raise _fail(self.source, node.start_mark, "unsupported YAML node")
        finally:
            self.active.discard(id(node))
            if repeated:
                self.expanding -= 1

    def where(self, path: JsonPath) -> str:
        """The key under which `path` sits (an expanded alias has no position of its own)."""
        current = path
        while current and current not in self.key_positions:
            current = current[:-1]
        line, column = self.key_positions.get(current) or self.positions.get((), (1, 1))
        return f"{self.source}:{line}:{column}"

    def check_tag(self, node: Node, expected: str) -> None:
        if node.tag != expected:
            tag = node.tag.replace(_TAG, "!!", 1) if node.tag.startswith(_TAG) else node.tag
            raise _fail(self.source, node.start_mark, f"unsupported YAML tag {_short(tag)}: {self.kind.noun} files "
                        "hold plain text, numbers, booleans, lists and mappings")

    def scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag == f"{_TAG}str":
            return node.value
        if tag in _TEXT_TAGS:  # a date-time written without quotes, or "<<" / "=" used as values: keep the text
            return node.value
        if tag not in _SCALAR_TAGS:
            self.check_tag(node, f"{_TAG}str")
        if tag in (f"{_TAG}int", f"{_TAG}float") and ":" in node.value:
            raise _fail(self.source, node.start_mark, f"{node.value!r} is a YAML 1.1 base-60 number; write a "
                        "duration such as \"1m30s\", or quote the text")
        construct: Callable[[yaml.SafeLoader, ScalarNode], Any] = self.constructor.yaml_constructors[tag]
        try:
            value = construct(self.constructor, node)
        except (ValueError, ArithmeticError, yaml.YAMLError):
            raise _fail(self.source, node.start_mark, f"{tag.rsplit(':', 1)[-1]} value cannot be read "
                        "(too long or malformed)") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(self.source, node.start_mark, f"{node.value!r} is not a finite number; numbers in a "
                        f"{self.kind.noun} file must be finite")
        return value

    def mapping(self, node: MappingNode, path: JsonPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merges: list[tuple[Node, JsonPath]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append((value_node, path))
                continue
            if not isinstance(key_node, ScalarNode):
                raise _fail(self.source, key_node.start_mark, "mapping keys must be plain text, not lists or mappings")
            key = str(key_node.value)
            key_path = (*path, key)
            mark = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in result:
                first_line, first_col = self.key_positions.get(key_path, (0, 0))
                raise _fail(self.source, key_node.start_mark, f"duplicate key {key!r} (first defined at line "
                            f"{first_line}, column {first_col}); each key may appear once per mapping")
            self.key_positions[key_path] = mark
            result[key] = self.build(value_node, key_path)
        for merged_node, merge_path in merges:
            sources = merged_node.value if isinstance(merged_node, SequenceNode) else [merged_node]
            for source_node in sources:
                if not isinstance(source_node, MappingNode):
                    raise _fail(self.source, source_node.start_mark, "a merge key (<<) takes a mapping or a list of "
                                "mappings")
                merged = self.build(source_node, merge_path)
                for key, value in merged.items():
                    result.setdefault(key, value)
        return result
