"""The stream's hot-path helpers give exactly what their straightforward versions give."""

from __future__ import annotations

import dataclasses
import heapq
import random

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.render.base import Message
from simulator.stream import (
    Outgoing,
    iso_ms,
    iso_ms_reference,
    merge_by_send_time,
    record_line,
    record_lines,
    record_tail,
    record_tail_reference,
    record_tails,
    send_ats,
)


def test_iso_ms_matches_datetime_on_awkward_instants() -> None:
    rng = random.Random(13)
    start = 1_772_517_600.0  # 2026-03-03T06:00:00Z
    instants = [start + k * 0.001 for k in range(3000)]  # every millisecond, with float error on each
    instants += [start + k + 0.0005 for k in range(200)]  # half a millisecond: rounding of the microseconds
    instants += [start + k - 5e-7 for k in range(200)]  # a hair before the second: carries into it
    instants += [rng.uniform(-2e9, 4e9) for _ in range(5000)]  # any day, before the epoch too
    instants += [86_400.0 * d - 1e-4 for d in range(-3, 3)]  # around midnight
    assert [iso_ms(t) for t in instants] == [iso_ms_reference(t) for t in instants]
    # each instant twice in a row and then after another (the order send_ats meets them in)
    again = [t for pair in zip(instants, instants, instants[1:], strict=False) for t in pair]
    assert [iso_ms(t) for t in again] == [iso_ms_reference(t) for t in again]


def _records(times: list[float]) -> list[Outgoing]:
    return [Outgoing(0, "e", "p", "k", "webhook", "d", t, {}, b"{}", "position") for t in times]


def test_send_ats_are_iso_ms_of_each_send_time_on_awkward_windows() -> None:
    rng = random.Random(17)
    start = 1_772_517_600.0  # 2026-03-03T06:00:00Z
    window = sorted(start + rng.choice([0.0, 0.25, rng.uniform(0, 3)]) for _ in range(3000))  # shared instants
    window = [t for t in window for _ in range(rng.randrange(1, 3))]  # and each instant once or twice in a row
    carries = [start + k + 1 - 5e-7 for k in range(50)] + [start + k + 1 for k in range(50)]  # a hair before
    carries.sort()  # the next second (its microseconds carry into it), then the next second itself
    midnight = [86_400.0 * 20_000 + d for d in (-1.0, -0.0004, -5e-7, 0.0, 0.0004, 1.0)]
    before_the_epoch = [-1.5, -1.0, -0.9995, -0.5, 0.0, 0.5]
    for times in (window, carries, midnight, before_the_epoch, [], [start], [start, start, start + 1]):
        assert send_ats(_records(times)) == [iso_ms_reference(t) for t in times]


@given(st.lists(st.floats(min_value=-2e9, max_value=4e9) | st.sampled_from([1e9, 1e9 + 0.5, 1e9 + 1 - 5e-7]),
                max_size=40), st.booleans())
@settings(max_examples=300, deadline=None)
def test_send_ats_match_iso_ms_in_any_order(times: list[float], ordered: bool) -> None:
    times = sorted(times) if ordered else times
    assert send_ats(_records(times)) == [iso_ms_reference(t) for t in times]


def _message(device: str, send_t: float) -> Message:
    return Message("p", "k", device, send_t, {}, "position")


def test_merge_by_send_time_orders_like_heapq_merge_with_ties_to_the_earlier_stream() -> None:
    rng = random.Random(5)
    streams = []
    for d in range(7):
        times = sorted(rng.choice([1.0, 2.0, 2.5, 3.0, rng.uniform(0, 5)]) for _ in range(rng.randrange(0, 40)))
        streams.append([_message(f"d{d}", t) for t in times])
    expected = [m for _, _, m in heapq.merge(
        *[[(m.send_t, n, m) for m in s] for n, s in enumerate(streams)], key=lambda item: (item[0], item[1]))]
    merged = list(merge_by_send_time([iter(s) for s in streams]))
    assert [id(m) for m in merged] == [id(m) for m in expected]
    assert [m.device for m in merged] != sorted(m.device for m in merged)  # the streams really interleave


def test_the_clock_table_is_every_second_of_the_day_formatted() -> None:
    from simulator.stream import _CLOCK as clock

    expected = tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}." for s in range(86_400))
    assert clock == expected


_ODD_TEXT = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ['"', "\\", "\x00\x1f\x7f", "\u2028\u2029", "é€😀", "</script>", "\\\"", ""])


@settings(max_examples=300, deadline=None)
@given(seq=st.integers(0, 2**40), event_id=_ODD_TEXT, provider=_ODD_TEXT, kind=_ODD_TEXT, device=_ODD_TEXT,
       send_t=st.floats(-2e9, 4e9), headers=st.dictionaries(_ODD_TEXT, _ODD_TEXT, max_size=3), body=_ODD_TEXT)
def test_record_line_and_tail_are_the_record_as_compact_json(seq: int, event_id: str, provider: str, kind: str,
                                                             device: str, send_t: float, headers: dict[str, str],
                                                             body: str) -> None:
    record = Outgoing(seq, event_id, provider, kind, "webhook", device, send_t, headers, body.encode(), "position")
    assert record_line(record) == orjson.dumps(record.as_record()) + b"\n"
    assert record_tail(record) == record_tail_reference(record)
    assert record_line(record) == b'{"seq":%d,%b' % (seq, record_tail(record))
    # `record_lines` numbers the records itself: the same lines whatever the records' own seq, left as they were
    twin = dataclasses.replace(record, seq=0)
    assert record_lines([twin, record], seq) == [record_line(record), record_line(dataclasses.replace(record,
                                                                                                      seq=seq + 1))]
    assert twin.seq == 0
    assert record_tails([twin, record]) == [record_tail(twin), record_tail(record)]
