"""The pytest plugin's fixtures, as fleetsim's own tests see them (the plugin is installed, so they are here), and
the plugin's promise to cost nothing when no --fleetsim-* option is given."""

from __future__ import annotations

import importlib.metadata
import itertools
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from conformance.pytest_plugin import FleetsimSender
from simulator.stream import Outgoing

from .apps import flask_receiver


def test_the_plugin_is_declared_and_imports_nothing_heavy() -> None:
    found = {e.name: e.value for e in importlib.metadata.entry_points(group="pytest11")}
    assert found.get("fleetsim") == "conformance.pytest_plugin"
    probe = ("import sys, conformance.pytest_plugin; "
             "print(sorted(m for m in sys.modules if m.startswith(('simulator', 'aiohttp', 'httpx', 'conformance.'))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['conformance.pytest_plugin']"


def test_this_run_has_no_check_tests(request: pytest.FixtureRequest) -> None:
    assert not [item for item in request.session.items if item.name.startswith("fleetsim[")]


def test_the_sender_signs_events_for_the_reference_receiver(fleetsim_receiver: str,
                                                            fleetsim_sender: FleetsimSender) -> None:
    record = fleetsim_sender.next_record("samsara")
    first = fleetsim_sender("samsara", f"{fleetsim_receiver}/samsara", record=record)
    assert (first.outcome, first.status) == ("2xx", 200), first
    again = fleetsim_sender("samsara", f"{fleetsim_receiver}/samsara", record=record)
    assert again.status == 200 and b"duplicate" in again.body  # signed afresh, the same event
    assert fleetsim_sender("samsara", f"{fleetsim_receiver}/samsara", body=b"{").status == 400


def test_the_sender_posts_to_an_app_object_or_spec(fleetsim_sender: FleetsimSender) -> None:
    assert fleetsim_sender("smartgps", flask_receiver.app).status == 200
    assert fleetsim_sender("smartgps", "tests.conformance.apps.fastapi_receiver:app").status == 200
    assert fleetsim_sender("smartgps", flask_receiver.app, path="/samsara").status == 401  # wrong scheme there


def test_the_stream_is_seeded(fleetsim_stream: Callable[..., Iterator[Outgoing]]) -> None:
    def first(seed: int) -> list[Outgoing]:
        return list(itertools.islice(fleetsim_stream("smartgps", seed=seed), 3))

    assert first(7) == first(7) != first(8)
    assert {(r.provider, r.channel) for r in first(7)} == {("smartgps", "webhook")}


def test_the_sender_posts_where_the_options_point_unless_told(
        fleetsim_receiver: str, fleetsim_stream: Callable[..., Iterator[Outgoing]]) -> None:
    from conformance.cli import _settings

    demo = _settings(None)
    moved = {**demo, "smartgps": {**demo["smartgps"], "url": "/hooks/gps"}}
    app = "tests.conformance.apps.moved:app"
    # --fleetsim-app: the provider's path setting, else /PROVIDER (which that app does not serve)
    assert FleetsimSender(moved, fleetsim_stream, app=app)("smartgps").status == 200
    assert FleetsimSender(demo, fleetsim_stream, app=app)("smartgps").status == 404
    # --fleetsim-target: TARGET/PROVIDER; an explicit `to` wins over either
    assert FleetsimSender(demo, fleetsim_stream, target=fleetsim_receiver)("smartgps").status == 200
    assert FleetsimSender(demo, fleetsim_stream, app=app)("smartgps", flask_receiver.app).status == 200
    with pytest.raises(TypeError, match=r"give `to` .* or run pytest with --fleetsim-target URL or --fleetsim-app"):
        FleetsimSender(demo, fleetsim_stream)("smartgps")


def test_the_senders_response_holds_no_secret_a_receiver_echoes(
        fleetsim_stream: Callable[..., Iterator[Outgoing]]) -> None:
    # a failing `assert response.status == 200` prints the Response whole into the test log
    from conformance.cli import _settings
    from simulator.signing import Secret

    async def echo(scope: dict[str, Any], receive: Callable[[], Awaitable[Any]],
                   send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        psk = dict(scope["headers"]).get(b"authorization", b"none")
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"x-you-sent", psk), (b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"expected another psk than " + psk})

    demo = _settings(None)
    psk = "Bearer pow-canary-psk-5150"
    settings = {**demo, "powunity": {**demo["powunity"], "secret": Secret(psk.encode())}}
    response = FleetsimSender(settings, fleetsim_stream)("powunity", echo)
    assert response.status == 401 and response.body.startswith(b"expected another psk than ")
    assert "pow-canary-psk-5150" not in repr(response), response
