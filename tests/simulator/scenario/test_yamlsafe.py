from __future__ import annotations

from pathlib import Path

import pytest

from simulator.errors import ScenarioError
from simulator.scenario import yamlsafe
from simulator.scenario.loader import load_scenario
from simulator.scenario.yamlsafe import MAX_BYTES, MAX_DEPTH, load_yaml_bytes, load_yaml_file, load_yaml_text

DOC = """\
# a comment
name: demo
fleet:
  - name: vans
    count: 5
  - {name: bikes, count: 2}
start: 2026-03-03T08:00:00
on: yes
nothing: ~
"""


def test_data_and_positions() -> None:
    doc = load_yaml_text(DOC, "f.yaml")
    assert doc.data == {
        "name": "demo",
        "fleet": [{"name": "vans", "count": 5}, {"name": "bikes", "count": 2}],
        "start": "2026-03-03T08:00:00",  # an unquoted timestamp stays text
        "on": True,  # keys are their text (no YAML 1.1 "on" -> True for keys); values follow YAML
        "nothing": None,
    }
    assert doc.positions[()] == (2, 1)
    assert doc.positions[("name",)] == (2, 7)
    assert doc.key_positions[("fleet",)] == (3, 1)
    assert doc.positions[("fleet", 0)] == (4, 5)
    assert doc.positions[("fleet", 0, "count")] == (5, 12)
    assert doc.key_positions[("fleet", 0, "count")] == (5, 5)
    assert doc.positions[("fleet", 1, "name")] == (6, 12)
    assert doc.location(("fleet", 1, "name")) == "f.yaml:6:12"
    # unknown paths fall back to their nearest ancestor
    assert doc.location(("fleet", 1, "missing", 3)) == "f.yaml:6:5"
    assert doc.location(("fleet", 0, "count"), key=True) == "f.yaml:5:5"


def test_merge_keys_work_and_explicit_keys_win() -> None:
    doc = load_yaml_text("base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\n", "m")
    assert doc.data["x"] == {"a": 1, "b": 3}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\na: 2\n", "m:2:1: duplicate key 'a' (first defined at line 1, column 1)"),
        ("a:\n  b: 1\n  c: 2\n  b: 3\n", "m:4:3: duplicate key 'b'"),
        ("? [a, b]\n: 1\n", "m:1:3: mapping keys must be plain text"),
        ("a: .inf\n", "m:1:4: '.inf' is not a finite number"),
        ("a: .nan\n", "not a finite number"),
        ("a: !!binary aGVsbG8=\n", "unsupported YAML tag '!!binary'"),
        ("a: !!set {x, y}\n", "unsupported YAML tag '!!set'"),
        ("a: !custom 1\n", "unsupported YAML tag '!custom'"),
        ("a: 1:20\n", "base-60"),
        ("a: " + "1" * 5000 + "\n", "int value cannot be read"),
        ("a: &x [*x]\n", "recursive alias"),
        ("a: *nope\n", "found undefined alias"),
        ("- 1\n- 2\n", "top level must be a scenario mapping"),
        ("just text\n", "found plain text (9 characters, not shown: it may be a key or .env file)"),
        ("# only a comment\n", "the file is empty"),
        ("", "m:1:1: the file is empty"),
        ("a: 'open\n", "unclosed quote"),
        ("a:\n\tb: 1\n", "tab"),
        ("a: \x07\n", "m:1:4: invalid YAML: character #x0007 is not allowed"),
        ("a: 1\n---\nb: 2\n", "single document"),
        ("x: <<\n", ""),
        ('{"a": 1, "b": {"c": 2, "c": 3}}', "m:1:24: duplicate key 'c'"),  # JSON scenarios too
        ("a: 1\nb: \ud800\n", "m:2:4: invalid YAML: character #xd800 is not allowed"),
        ("x: &x 1\na: [" + "*x, " * 101 + "]\n", "m:2:405: more than 100 aliases"),
    ],
)
@pytest.mark.parametrize("backend", ["libyaml", "python"])
def test_problems_are_located(text: str, message: str, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if backend == "python":  # the pure-Python parser, used when PyYAML has no libyaml
        monkeypatch.setattr(yamlsafe, "_CParser", None)
    if not message:  # "<<" as a plain value is just text
        assert load_yaml_text(text, "m").data == {"x": "<<"}
        return
    with pytest.raises(ScenarioError) as info:
        load_yaml_text(text, "m")
    assert message in str(info.value)
    assert len(info.value.problems) == 1


@pytest.mark.parametrize("backend", ["libyaml", "python"])
def test_positions_agree_between_backends(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if backend == "python":
        monkeypatch.setattr(yamlsafe, "_CParser", None)
    doc = load_yaml_text("# \u00e9\u00e9\nname: \"\u00e9\u00e9\"\nlist: [\u00e9, {k: v}]\n", "m")
    assert doc.positions[("name",)] == (2, 7)
    assert doc.positions[("list", 1, "k")] == (3, 15)  # columns count characters, not bytes


def test_nesting_is_bounded() -> None:
    deep = "a: " + "[" * (MAX_DEPTH + 10) + "]" * (MAX_DEPTH + 10) + "\n"
    with pytest.raises(ScenarioError, match=f"nested more than {MAX_DEPTH} levels"):
        load_yaml_text(deep, "m")
    very_deep = "a: " + "[" * 100_000
    with pytest.raises(ScenarioError):
        load_yaml_text(very_deep, "m")


def test_size_cap_counts_bytes(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"description: '" + b"x" * MAX_BYTES + b"'\n")
    with pytest.raises(ScenarioError, match=f"scenario files are at most {MAX_BYTES} bytes"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="at most 10 bytes"):
        load_yaml_text("a: \u00e9\u00e9\u00e9\u00e9\u00e9\n", "m", max_bytes=10)  # 9 characters, 14 bytes


def test_empty_and_binary_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_bytes(b"")
    with pytest.raises(ScenarioError, match=r"empty\.yaml:1:1: the file is empty"):
        load_scenario(empty)
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(ScenarioError, match="binary file"):
        load_scenario(binary)
    with pytest.raises(ScenarioError, match=r"m:2:4: not UTF-8 text \(byte 0xff"):
        load_yaml_bytes(b"a: 1\nb: \xff\n", "m")
    with pytest.raises(ScenarioError, match="binary file"):
        load_yaml_text("a: \x00", "m")


def test_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read the scenario file"):
        load_yaml_file(tmp_path / "missing.yaml")
    with pytest.raises(ScenarioError, match="cannot read the scenario file"):
        load_yaml_file(tmp_path)
