"""The strict JSON reader shared by the reference receiver and `schemas validate`: verdicts and positions."""

from __future__ import annotations

import pytest

from simulator.strictjson import MAX_DEPTH, JsonRejected, loads


def _rejected(raw: bytes) -> JsonRejected:
    with pytest.raises(JsonRejected) as info:
        loads(raw)
    return info.value


def test_plain_documents_load() -> None:
    assert loads(b'{"a": [1, {"b": null}], "c": 1.5}') == {"a": [1, {"b": None}], "c": 1.5}
    assert loads(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None


@pytest.mark.parametrize(("raw", "line", "column"), [
    (b'{"a": NaN}', 1, 7),
    (b'{"a":\n  Infinity}', 2, 3),
    (b"[1, -Infinity]", 1, 6),  # orjson stops after the sign
])
def test_nan_and_infinity_are_not_json(raw: bytes, line: int, column: int) -> None:
    exc = _rejected(raw)
    assert (exc.reason, exc.line, exc.column) == ("malformed_json", line, column)
    assert "JSON has no NaN or Infinity" in exc.detail


@pytest.mark.parametrize("raw", [b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),  # parses, then too deep
                                 b"[" * 100_000 + b"]" * 100_000,  # beyond what orjson parses at all
                                 b'\n {"a":' * 50_000 + b"1" + b"}" * 50_000])
def test_too_deep_names_where_the_limit_is_crossed(raw: bytes) -> None:
    exc = _rejected(raw)
    assert exc.reason == "too_deep" and exc.detail == f"nested more than {MAX_DEPTH} levels deep"
    opening = [i for i, byte in enumerate(raw) if byte in b"[{"][MAX_DEPTH]  # the 33rd opening bracket
    assert (exc.line, exc.column) == (raw.count(b"\n", 0, opening) + 1, opening - raw.rfind(b"\n", 0, opening))


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    assert loads(b'{"x": "' + b"[" * 100 + b'"}') == {"x": "[" * 100}
    assert _rejected(b'{"x": "' + b"[" * 100).reason == "malformed_json"  # an unterminated string is not depth


def test_huge_numbers_are_refused_with_a_reason() -> None:
    exc = _rejected(b'{"speed": ' + b"1" * 5000 + b"}")
    assert (exc.reason, exc.line, exc.column) == ("malformed_json", 1, 11)
    assert "5000 characters" in exc.detail and "64-bit double" in exc.detail


@pytest.mark.parametrize(("raw", "key", "line", "column"), [
    (b'{"event": "SPEEDING", "event": "SOS"}', "event", 1, 23),
    (b'{"p": {"x": 1},\n "q": {"x": 1, "x": 2}}', "x", 2, 16),  # the same key in another object is fine
    (b'{"a": 1, "a": {"b": 1, "b": 2}}', "b", 1, 24),  # inner objects are checked first
    (b'{"\\u0061": 1, "a": 2}', "a", 1, 15),  # equal once unescaped
])
def test_repeated_keys_are_refused_where_the_second_one_is(raw: bytes, key: str, line: int, column: int) -> None:
    exc = _rejected(raw)
    assert (exc.reason, exc.line, exc.column) == ("duplicate_keys", line, column)
    assert repr(key) in exc.detail


def test_bytes_that_are_not_utf8_are_named() -> None:
    exc = _rejected(b'{"a": "\xc3\xa9\xff"}')  # the column counts the two-byte "é" as one character
    assert (exc.reason, exc.line, exc.column) == ("malformed_json", 1, 9)
    assert "not UTF-8" in exc.detail and "0xff" in exc.detail
