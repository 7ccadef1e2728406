"""Whatever the input, loading ends in a Scenario or a ScenarioError/UsageError — never anything else."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.errors import UsageError
from simulator.scenario.loader import ScenarioError, load_scenario_bytes, load_scenario_text
from simulator.scenario.model import Scenario

VALID = Path(__file__).resolve().parents[2] / "fixtures" / "scenarios" / "valid"
FULL_TEXT = (VALID / "full.yaml").read_text(encoding="utf-8")
FULL = yaml.safe_load(FULL_TEXT)
ENV = {"FLEETSIM_SMARTGPS_SECRET": "smartgps-demo-secret"}
SECRETS = ("c2Ftc2FyYS1kZW1vLXNlY3JldA==", "smartgps-demo-secret", "Bearer demo-psk")

DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=DUMPER, allow_unicode=True, sort_keys=False)


FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = (
    "name", "seed", "start", "timezone", "duration", "region", "city", "center", "lat", "lon", "radius_km",
    "fleet", "count", "provider", "profile", "features", "risk", "report_intervals", "moving", "shift",
    "geofences", "circle", "polygon", "radius_m", "injections", "at", "device", "event", "delivery", "rate",
    "faults", "providers", "samsara", "secret", "secret_env", "vans/1", "sos", "coverage_loss", "x60", "2h",
    "10m", "high", "van", "e-bike", "mettax", "belo-horizonte", "UTC", "reefer", "reefer_setpoint", "<<",
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.sampled_from(WORDS),
)
structures = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=40,
)
TOKENS = [*"abcxyz019 -:_,.'\"{}[]#&*!|>%@`?\t\n\\/<=", "\n  ", "\n- ", ": ", "&a ", "*a", *WORDS]
YAMLISH = st.lists(st.sampled_from(TOKENS), max_size=120).map("".join)


def outcome(fn: Any, *args: Any) -> Scenario | UsageError:
    try:
        result = fn(*args, env=ENV)
    except ScenarioError as exc:
        assert exc.problems and all(p.startswith("fz.yaml") for p in exc.problems), exc.problems
        for secret in SECRETS:
            assert secret not in str(exc)
        return exc
    except UsageError as exc:  # allowed by the contract, though the loader raises ScenarioError
        return exc
    assert isinstance(result, Scenario)
    return result


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(raw: bytes) -> None:
    outcome(load_scenario_bytes, raw, "fz.yaml")


@FUZZ
@given(YAMLISH)
def test_random_yamlish_text(text: str) -> None:
    outcome(load_scenario_text, text, "fz.yaml")


@FUZZ
@given(structures)
def test_random_structures_dumped_as_yaml(data: Any) -> None:
    outcome(load_scenario_text, dump(data), "fz.yaml")


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*prefix, i))
    return found


ALL_PATHS = _paths(FULL)


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(FULL)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        action = draw(st.sampled_from(["replace", "delete", "rename", "duplicate"]))
        if action == "replace":
            parent[last] = draw(structures)
        elif action == "delete":
            del parent[last]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(WORDS) | st.text(max_size=8))] = parent.pop(last)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
    return doc


@FUZZ
@given(mutated())
def test_mutations_of_a_valid_scenario(doc: Any) -> None:
    outcome(load_scenario_text, dump(doc), "fz.yaml")


@FUZZ
@given(st.data())
def test_text_mutations_of_a_valid_file(data: st.DataObject) -> None:
    text = FULL_TEXT
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 12))
        insert = data.draw(st.text(max_size=6) | st.sampled_from(["\t", "'", '"', "[", "{", "*", "&", ": ", "\n- "]))
        text = text[:pos] + insert + text[pos + cut :]
    outcome(load_scenario_text, text, "fz.yaml")


def test_the_unmutated_file_loads() -> None:
    assert isinstance(outcome(load_scenario_text, FULL_TEXT, "fz.yaml"), Scenario)
    assert len(ALL_PATHS) > 50


def test_a_credential_copied_under_another_key_is_not_quoted_where_it_lands() -> None:
    # Hypothesis found it: the PSK as the PowUnity `profile` was quoted as the value found there
    doc = copy.deepcopy(FULL)
    doc["delivery"]["providers"]["powunity"]["profile"] = "Bearer demo-psk"
    doc["fleet"][0]["name"] = "c2Ftc2FyYS1kZW1vLXNlY3JldA=="  # and the Samsara secret as a group's name
    failed = outcome(load_scenario_text, dump(doc), "fz.yaml")
    assert isinstance(failed, ScenarioError)
    assert "delivery.providers.powunity.profile: expected one of" in str(failed)
    assert "found <redacted>" in str(failed)
