"""`fleetsim schemas validate`: what it reports for each document, and how it reads its input."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from simulator.cli import build_parser, documents
from simulator.cli.documents import Document, TooLarge, read_documents
from simulator.errors import InputError
from simulator.schemastore import load_schema
from simulator.strictjson import MAX_DEPTH
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"


def test_each_missing_required_property_is_named_exactly_once(cli: Cli, tmp_path: Path) -> None:
    required = load_schema("smartgps/event.schema.json")["required"]
    assert len(required) > 2  # the case that went wrong: several missing at once
    path = tmp_path / "empty.json"
    path.write_text("{}")
    result = cli("schemas", "validate", "smartgps", "event", str(path))
    assert result.code == 1
    errors = result.lines[:-1]
    assert errors == [f"{path}:1: /: expected required property {name!r}, got nothing" for name in required]
    # one present, the others missing: the present one is not reported, each other one once
    path.write_text(json.dumps({"event": "SOS"}))
    result = cli("schemas", "validate", "smartgps", "event", str(path))
    assert result.lines[:-1] == [f"{path}:1: /: expected required property {name!r}, got nothing"
                                 for name in required if name != "event"]


def _envelope(message: dict[str, Any]) -> bytes:
    return json.dumps({"data": json.dumps(message)}).encode()


def test_envelope_checks_the_inner_message_against_the_kind_the_receiver_sees(cli: Cli) -> None:
    # a GPS message (it has `num`) with lat 91 also satisfies the looser device_info schema; the receiver
    # treats it as GPS and refuses it, so the validator must judge it as GPS too
    gps = json.loads((EXAMPLES / "mettax" / "gps__seed.json").read_text())
    assert cli("schemas", "validate", "mettax", "envelope", "-", stdin=_envelope(gps)).code == 0
    result = cli("schemas", "validate", "mettax", "envelope", "-", stdin=_envelope({**gps, "lat": 91}))
    assert result.code == 1
    assert result.lines == ["<stdin>:1: /data(json:gps)/lat: expected maximum 90, got 91",
                            "0 of 1 valid (mettax envelope)"]


@pytest.mark.parametrize(("data", "got"), [
    ("{not json", 'invalid JSON: "{not json"'),
    ("[1, 2]", 'JSON that is not an object: "[1, 2]"'),
    ("{\"lat\": }", "invalid JSON: unexpected character, expected a JSON value (line 1, column 9)"),
])
def test_envelope_data_that_is_not_a_json_object_says_so(cli: Cli, data: str, got: str) -> None:
    # MettaX `data` is a JSON object serialized as a string: what its screening pattern or the JSON reader found
    # wrong is said alike, never as the pattern itself
    result = cli("schemas", "validate", "mettax", "envelope", "-", stdin=json.dumps({"data": data}).encode())
    assert result.code == 1
    assert result.lines[0] == f"<stdin>:1: /data: expected a JSON object inside the string, got {got}"


def test_envelope_inner_message_of_no_known_kind_is_a_note_and_invalid_with_strict(cli: Cli) -> None:
    # the receiver acknowledges and ignores a kind it does not know (MAL-03): valid, said in a note
    result = cli("schemas", "validate", "mettax", "envelope", "-", stdin=_envelope({"id": "1_2", "newKind": 1}))
    assert result.code == 0
    assert result.lines[0].startswith("<stdin>:1: note: /data: expected a message of a known MettaX kind")
    assert "acknowledges and ignores a kind it does not know" in result.lines[0]
    assert result.lines[0].endswith("got an object with none of them")
    strict = cli("schemas", "validate", "mettax", "envelope", "-", "--strict",
                 stdin=_envelope({"id": "1_2", "newKind": 1}))
    assert strict.code == 1 and "note:" not in strict.out
    result = cli("schemas", "validate", "mettax", "envelope", "-", "--strict",
                 stdin=_envelope({"id": "1_2", "messageType": 9}))
    assert result.code == 1 and result.lines[0].endswith("got messageType 9 (known: 1, 2)")


# --- strict JSON, as the receiver reads it: not JSON is exit 2 with one line naming file, line and column ------


def _smartgps_event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EXAMPLES / "smartgps" / "event__seed_speeding.json").read_text())
    return event


def _one_line_error(result: CliResult) -> str:
    assert result.code == 2, (result.out, result.err)
    assert "Traceback" not in result.err and "internal error" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


@pytest.mark.parametrize(("literal", "past_sign"), [("NaN", 0), ("Infinity", 0), ("-Infinity", 1)])
def test_nan_and_infinity_are_invalid_json(cli: Cli, tmp_path: Path, literal: str, past_sign: int) -> None:
    # Python's json module reads these, and the speed bounds do not catch a NaN: this passed before
    path = tmp_path / "stream.ndjson"
    line = json.dumps(_smartgps_event()).replace('"speed": 95', f'"speed": {literal}')
    column = line.index(literal) + 1 + past_sign  # for -Infinity, the parser stops after the sign
    path.write_text(json.dumps(_smartgps_event()) + "\n" + line + "\n")
    error = _one_line_error(cli("schemas", "validate", "smartgps", "event", str(path)))
    assert error.startswith(f"fleetsim: error: {path}:2:{column}: invalid JSON: ")
    assert "JSON has no NaN or Infinity" in error


@pytest.mark.parametrize("depth", [33, 100_000])
def test_nesting_beyond_the_receivers_cap_is_invalid_json(cli: Cli, tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * depth + "]" * depth)
    error = _one_line_error(cli("schemas", "validate", "smartgps", "event", str(path)))
    assert error == f"fleetsim: error: {path}:1:{MAX_DEPTH + 1}: invalid JSON: nested more than {MAX_DEPTH} levels deep"


def test_a_5000_digit_integer_is_invalid_json_not_a_crash(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text('{"speed": ' + "1" * 5000 + "}")
    error = _one_line_error(cli("schemas", "validate", "smartgps", "event", str(path)))
    assert error.startswith(f"fleetsim: error: {path}:1:11: invalid JSON: ")
    assert "5000 characters" in error and "64-bit double" in error


def test_a_repeated_key_is_invalid_json(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text('{\n  "event": "SPEEDING",\n  "event": "SOS"\n}\n')  # one multi-line document
    error = _one_line_error(cli("schemas", "validate", "smartgps", "event", str(path)))
    assert error == f"fleetsim: error: {path}:3:3: invalid JSON: the key 'event' appears twice in one object"


# --- reading: streamed, bounded, a multi-line document still welcome --------------------------------------------


def test_a_pretty_printed_document_is_one_document(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text("\n\n" + json.dumps(_smartgps_event(), indent=2) + "\n")
    assert cli("schemas", "validate", "smartgps", "event", str(path)).lines == ["all 1 valid (smartgps event)"]
    path.write_text("\n" + json.dumps({**_smartgps_event(), "lat": 91}, indent=2) + "\n")
    result = cli("schemas", "validate", "smartgps", "event", str(path))
    assert result.lines == [f"{path}:2: /lat: expected maximum 90, got 91", "0 of 1 valid (smartgps event)"]


def test_a_pretty_printed_document_over_the_cap_is_refused_in_one_line(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    text = json.dumps(_smartgps_event(), indent=2)
    path.write_text(text)
    args = ("schemas", "validate", "smartgps", "event", str(path), "--max-bytes")
    assert cli(*args, str(len(text))).code == 0  # exactly the cap: accepted
    error = _one_line_error(cli(*args, str(len(text) - 1)))
    assert error.startswith(f"fleetsim: error: {path}:1:2: invalid JSON: ")
    assert f"larger than {len(text) - 1} bytes (--max-bytes)" in error


def test_an_oversized_line_is_one_invalid_document_and_the_rest_is_validated(cli: Cli, tmp_path: Path) -> None:
    good = json.dumps(_smartgps_event())
    huge = json.dumps({**_smartgps_event(), "plate": "X" * 100_000})
    path = tmp_path / "stream.ndjson"
    path.write_bytes(f"{good}\r\n{huge}\r\n{good}\n".encode())  # CRLF does not count towards a line's size
    result = cli("schemas", "validate", "smartgps", "event", str(path), "--max-bytes", str(len(good)))
    assert result.code == 1
    assert result.lines == [
        f"{path}:2: /: expected a document of at most {len(good)} bytes (--max-bytes), got {len(huge)} bytes",
        "2 of 3 valid (smartgps event)",
    ]


def test_an_oversized_line_that_cannot_be_json_is_bad_input_not_a_verdict(cli: Cli, tmp_path: Path) -> None:
    # 4 NUL bytes were "not JSON" (exit 2) and 5 MB of them "too large" (exit 1): the same mistake, two answers
    good = json.dumps(_smartgps_event())
    path = tmp_path / "stream.ndjson"
    path.write_bytes(f"{good}\n".encode() + b"\0" * 5_000_000)
    result = cli("schemas", "validate", "smartgps", "event", str(path))
    assert result.code == 2
    assert _one_line_error(result) == f"fleetsim: error: {path}:2:1: invalid JSON: unexpected character, " \
        "expected a JSON value"


@pytest.mark.parametrize("cut", range(4))
def test_a_character_cut_where_the_cap_falls_does_not_make_a_line_invalid_json(cut: int) -> None:
    # the first piece of an over-long line ends wherever the cap falls, mid-character too
    head = b'{"plate": "' + b"x" * cut
    line = head + "\u20ac".encode() * 100 + b'"}\n'
    docs = list(read_documents("s", io.BytesIO(line + b"[2]\n"), max_bytes=len(head)))
    assert docs == [TooLarge(1, len(line) - 1), Document(2, [2])]


def test_an_endless_line_is_given_up_on_not_read_forever(monkeypatch: pytest.MonkeyPatch) -> None:
    # `[1,1,1,...` with no line break could begin a document, so it is skipped: not without end
    monkeypatch.setattr(documents, "MAX_SKIPPED_BYTES", 1000)
    stream = io.BytesIO(b"[1" + b",1" * 10_000)
    with pytest.raises(InputError, match=r"^s:1: a line longer than 1064 bytes with no line break"):
        list(read_documents("s", stream, max_bytes=64))
    assert stream.tell() < 1200


class _Spy(io.BytesIO):
    """Records the largest piece any read handed out."""

    largest = 0

    def readline(self, size: int | None = -1, /) -> bytes:
        line = super().readline(size)
        self.largest = max(self.largest, len(line))
        return line


def test_the_reader_never_holds_more_than_the_cap() -> None:
    stream = _Spy(b'{"a": 1}\n' + b'{"pad": "' + b"x" * 1_000_000 + b'"}\n\n[2]\n')
    docs = list(read_documents("s", stream, max_bytes=64))
    assert docs == [Document(1, {"a": 1}), TooLarge(2, 1_000_011), Document(4, [2])]
    assert stream.largest <= 64 + 2  # the line ending may come along


def test_documents_are_read_one_at_a_time() -> None:
    lines = [b'{"n": %d}\n' % i for i in range(1000)]
    stream = io.BytesIO(b"".join(lines))
    docs = read_documents("s", stream, max_bytes=1024)
    assert next(docs) == Document(1, {"n": 0})
    assert stream.tell() == len(lines[0])  # nothing beyond the first line has been read yet
    assert next(docs) == Document(2, {"n": 1})
    assert stream.tell() == len(lines[0]) + len(lines[1])


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def test_every_schemas_option_and_argument_has_help() -> None:
    schemas = _subcommands(build_parser())["schemas"]
    for action in schemas._actions:
        assert action.help, action.dest
    for name, sub in _subcommands(schemas).items():
        for action in sub._actions:
            assert action.help, (name, action.dest)
