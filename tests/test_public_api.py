"""The public facade: every name in `simulator.__all__` resolves, the example in its docstring works, and
`import simulator` stays cheap (nothing heavy is imported until a name is used)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import simulator


@pytest.mark.parametrize("name", simulator.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(simulator, name) is not None


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        simulator.nope  # noqa: B018


def test_importing_the_package_loads_nothing_heavy() -> None:
    code = ("import sys, simulator; heavy = [m for m in ('aiohttp', 'locust', 'gevent', 'jsonschema', "
            "'simulator.world', 'simulator.delivery') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_docstring_example_signs_and_verifies() -> None:
    body = b'{"eventId":"e","eventType":"Ping","event":{"text":"Ping"}}'
    provider = simulator.get_provider("samsara")
    signer = simulator.SIGNERS[provider.signing]
    secret = signer.parse_secret("c2Ftc2FyYS10ZXN0LXNlY3JldC0wMDAx")
    headers = signer.sign(body, [secret], timestamp=1700000000, message_id="m-1")
    from simulator.signing import CIHeaders

    assert signer.verify(body, CIHeaders(headers), [secret], now=1700000000, tolerance=300).ok
    assert not signer.verify(body + b" ", CIHeaders(headers), [secret], now=1700000000, tolerance=300).ok
    scenario = simulator.load_scenario_text(
        "name: t\nseed: 1\nstart: '2026-03-03T08:00:00'\nduration: 1h\nregion: {city: chicago}\n"
        "fleet:\n  - {name: g, count: 1, provider: smartgps, profile: van}\n"
        "delivery:\n  providers:\n    smartgps: {secret: s3cr3t-key}\n")
    first = next(iter(simulator.scenario_stream(scenario)))
    assert isinstance(first, simulator.Outgoing) and first.headers["X-SmartGPS-Signature"].startswith("sha256=")


def test_all_lists_exactly_the_lazy_names() -> None:
    from simulator import _EXPORTS, _RENAMED

    assert set(simulator.__all__) == {*_EXPORTS, *_RENAMED, "__version__"}
