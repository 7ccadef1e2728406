import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.core.javajson import dumps, dumps_reference, java_double, jd


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0, "0.0"),
        (20.0, "20.0"),
        (1426.010135470461, "1426.010135470461"),
        (5.0e7, "5.0E7"),  # the capture in provider-facts §1.3
        (5.0012345e7, "5.0012345E7"),
        (9999999.0, "9999999.0"),
        (1.0e7, "1.0E7"),
        (0.001, "0.001"),
        (1.0e-4, "1.0E-4"),
        (-3.5, "-3.5"),
        (36.8165, "36.8165"),
    ],
)
def test_doubles_are_written_like_java(value: float, expected: str) -> None:
    assert java_double(value) == expected
    assert float(expected) == value  # still valid JSON numbers with the same value


def test_objects_keep_order_and_nulls() -> None:
    body = dumps({"id": 2, "attributes": {"odometer": 5.0e7}, "address": None, "valid": True, "name": "Zoë"})
    assert body == '{"id":2,"attributes":{"odometer":5.0E7},"address":null,"valid":true,"name":"Zoë"}'.encode()
    assert json.loads(body)["attributes"]["odometer"] == 5.0e7


def test_nan_is_refused() -> None:
    with pytest.raises(ValueError):
        java_double(float("nan"))


# --- dumps (orjson + a rewrite pass) must write exactly what the straightforward writer writes ---------------

# Floats where Java and Python disagree, and their neighbours at the edges of Java's plain range [1e-3, 1e7).
_EDGE_FLOATS = [5e7, -5e7, 1e7, 9999999.0, 9999999.999999998, 0.001, 0.00099, 1e-4, 1e-7, -0.0, 0.0, 1e15, 1e16,
                1e22, 123456789.123, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.5e300]
# Text that looks like JSON structure: a key ending in a backslash, escaped quotes, `":` inside strings.
_TRICKY_TEXT = ["a\\", "\\", "\\\\", '"', '\\"', '":5e7,', '":50000000.0}', '\\":1e-7,', "Zoë", "\u2028", ""]
_floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(_EDGE_FLOATS)
_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12) | st.sampled_from(_TRICKY_TEXT)
_scalars = st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | _floats | _text
_documents = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(_text, inner, max_size=4), max_leaves=20)


def _as_renderers_build(value: Any, *, in_object: bool = False) -> Any:
    """Floats outside objects wrapped with jd(), as renderers do: the rewrite pass only sees `"key":number`
    (documented on `dumps`; Traccar models hold no floats in arrays)."""
    if isinstance(value, float):
        return value if in_object else jd(value)
    if isinstance(value, list):
        return [_as_renderers_build(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_renderers_build(item, in_object=True) for key, item in value.items()}
    return value


@settings(max_examples=200, deadline=None)
@given(_documents)
def test_dumps_writes_the_same_bytes_as_the_reference_writer(document: Any) -> None:
    document = _as_renderers_build(document)
    body = dumps(document)
    assert body == dumps_reference(document)
    assert orjson.loads(body) == document  # and it still reads back as the same values


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"a\\": 5e7}, b'{"a\\\\":5.0E7}'),  # the key's closing quote follows an escaped backslash
        ({"a\\\\": 1e-7}, b'{"a\\\\\\\\":1.0E-7}'),
        ({"k": '":5e7,', "n": 5e7}, b'{"k":"\\":5e7,","n":5.0E7}'),  # in a string: left alone
        ({"k": 'x\\":50000000.0}'}, b'{"k":"x\\\\\\":50000000.0}"}'),
    ],
)
def test_numbers_after_keys_that_end_in_backslashes_are_written_like_java(document: Any, expected: bytes) -> None:
    assert dumps(document) == expected == dumps_reference(document)
