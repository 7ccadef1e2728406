"""The sample project's own tests, using the fleetsim plugin's fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from conformance.pytest_plugin import FleetsimSender
from simulator.stream import Outgoing

APP = "receiver:app"  # the project's receiver, loaded like uvicorn loads it


def test_a_signed_event_is_accepted_once(fleetsim_sender: FleetsimSender) -> None:
    record = fleetsim_sender.next_record("smartgps")
    first = fleetsim_sender("smartgps", APP, record=record)
    again = fleetsim_sender("smartgps", APP, record=record)
    assert (first.status, first.body) == (200, b'{"status":"ok"}')
    assert (again.status, again.body) == (200, b'{"status":"duplicate"}')


def test_a_changed_body_is_signed_as_sent(fleetsim_sender: FleetsimSender) -> None:
    record = fleetsim_sender.next_record("smartgps")
    changed = fleetsim_sender("smartgps", APP, record=record, body=record.body.replace(b'"speed":', b'"speed":1'))
    assert changed.status == 200  # the fixture signs the bytes it sends
    assert fleetsim_sender("smartgps", APP, body=b"{").status == 400  # signed, but not JSON


def test_the_stream_is_seeded(fleetsim_stream: Callable[..., Iterator[Outgoing]]) -> None:
    assert next(fleetsim_stream("smartgps", seed=7)).body == next(fleetsim_stream("smartgps", seed=7)).body
