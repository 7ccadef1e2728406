import json

import pytest

from simulator.core.javajson import dumps, java_double


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
