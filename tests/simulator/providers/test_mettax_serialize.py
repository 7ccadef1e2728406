"""MettaX's hot-path writers give what their plain versions give: `serialize` (a copy only when a whole float
is there) against `serialize_reference`, on arbitrary flat and nested documents and on every MettaX message of
the shipped scenarios; `envelope` without a token against the headers `credential_headers` makes."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.providers.mettax.provider import MettaX
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.signing import Secret
from simulator.stream import scenario_messages

MX = MettaX()

_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**53), 2**53).map(float),  # whole floats, the ones made ints
    st.sampled_from([0.0, -0.0, 1e16, -1e16, 1.5e16, 2.0**63, 1e15, 0.5, 12.0]),
)
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), _floats,
                     st.text(max_size=12))
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                       max_leaves=8)


def _same(payload: Any) -> None:
    try:
        expected = MX.serialize_reference(payload)
    except (TypeError, orjson.JSONEncodeError) as exc:  # ints beyond 64 bits: both refuse alike
        with pytest.raises(type(exc)):
            MX.serialize(payload)
        return
    assert MX.serialize(payload) == expected


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _values, max_size=12))
def test_serialize_matches_reference_on_documents(payload: dict[str, Any]) -> None:
    _same(payload)


@given(_values)
def test_serialize_matches_reference_on_any_value(value: Any) -> None:
    _same(value)


def test_serialize_makes_top_level_whole_floats_ints_only() -> None:
    payload = {"speed": 0.0, "lat": -23.5, "odometer": 12.0, "nested": {"v": 1.0}, "list": [2.0]}
    assert MX.serialize(payload) == b'{"speed":0,"lat":-23.5,"odometer":12,"nested":{"v":1.0},"list":[2.0]}'
    assert payload["speed"] == 0.0 and type(payload["speed"]) is float  # the payload itself is left alone


@pytest.mark.parametrize("name", ["bench-mixed.yaml", "mettax-dashcam-shift.yaml", "demo-city.yaml"])
def test_serialize_matches_reference_on_shipped_scenarios(name: str) -> None:
    scenario = load_scenario(scenarios_dir() / name)
    seen = 0
    for message in itertools.islice(scenario_messages(scenario), 60_000):
        if message.provider == "mettax":
            assert MX.serialize(message.payload) == MX.serialize_reference(message.payload), message
            seen += 1
    assert seen


@pytest.mark.parametrize("token", [None, "", "t0k3n", Secret(b"s3cret"), Secret(b"")])
@pytest.mark.parametrize("style", ["json", "form"])
def test_envelope_headers_are_the_credential_headers(token: Any, style: str) -> None:
    settings = {"envelope": style, "token_header": "X-Token"}
    if token is not None:
        settings["token"] = token
    env = MX.envelope("gps", {"speed": 0.0, "id": "1_2"}, message_id="m", settings=settings)
    content_type = "application/json" if style == "json" else "application/x-www-form-urlencoded"
    assert env.headers == {"Content-Type": content_type, **MX.credential_headers(settings)}
    assert next(iter(env.headers)) == "Content-Type"
    data = '{"speed":0,"id":"1_2"}'
    assert env.body == (orjson.dumps({"data": data}) if style == "json" else
                        b"data=%7B%22speed%22%3A0%2C%22id%22%3A%221_2%22%7D")
