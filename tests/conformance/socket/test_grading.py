"""Each socket check over hand-made recordings: the rule's edges, and a failure for every way of breaking it
that a session can record (the sessions themselves are in test_sessions.py)."""

from __future__ import annotations

from typing import Any

from conformance.registry import CHECKS, CheckResult, Context
from conformance.socket_client.director import SocketOptions
from conformance.socket_client.recording import (
    CLOSE,
    DEAD_SESSION,
    HTTP,
    MARK,
    NO_SESSION,
    OPEN,
    UNMASKED_FRAME,
    UPGRADE,
    VALID_SESSION,
    Record,
    Recording,
)
from simulator.providers import PROVIDERS

from . import conftest as _conftest  # noqa: F401  (registers the checks)

LOGIN = Record(0, HTTP, "POST /api/session", status=200)


def recording(*records: Record, exit_at: float | None = None, **options: float) -> Recording:
    chosen = SocketOptions(**options)  # type: ignore[arg-type]
    made = Recording(options={k: float(v) for k, v in vars(chosen).items()})
    for r in sorted(records, key=lambda r: r.t):
        made.add(r)
    if exit_at is not None:
        made.client_exit, made.client_exit_t = (1, "Traceback ...\nKeyError: 'logs'"), exit_at
    return made


def at(t: float, record: Record) -> Record:
    return Record(t, record.kind, record.label, record.status, record.session, record.conn, record.code,
                  record.by_server, record.data)


def mark(t: float, label: str, **data: Any) -> Record:
    return Record(t, MARK, label, data=data)


def opened(t: float, conn: int) -> list[Record]:
    return [Record(t, UPGRADE, status=101, session=VALID_SESSION), Record(t, OPEN, conn=conn)]


def grade(check_id: str, made: Recording) -> CheckResult:
    return CHECKS[check_id].run(Context(PROVIDERS["powunity"], (), 1.0, client=made))


# -- TRN-06 ----------------------------------------------------------------------------------------------------

def auth(*after_expiry: Record, end: float = 9.0) -> Recording:
    return recording(mark(0, "start:auth"), at(1, LOGIN), *opened(2, 1), mark(3, "expire"),
                     Record(3.01, CLOSE, conn=1, code=1001, by_server=True), *after_expiry, mark(end, "end:auth"))


def test_trn_06_passes_one_dead_retry_then_one_login() -> None:
    result = grade("TRN-06", auth(Record(3.2, UPGRADE, status=503, session=DEAD_SESSION), at(3.3, LOGIN),
                                  *opened(3.4, 2)))
    assert result.status == "passed", result
    assert "retried the expired cookie once" in result.reason


def test_trn_06_fails_a_login_loop_and_dead_cookie_retries_and_a_client_that_never_connects() -> None:
    loop = grade("TRN-06", auth(at(3.2, LOGIN), at(3.3, LOGIN), at(3.4, LOGIN), *opened(3.5, 2)))
    assert loop.status == "failed" and "login loop" in loop.reason
    dead = [Record(3.1 + i / 10, UPGRADE, status=503, session=DEAD_SESSION) for i in range(3)]
    retries = grade("TRN-06", auth(*dead, at(3.5, LOGIN), *opened(3.6, 2)))
    assert retries.status == "failed" and "retried the expired cookie 3 times" in retries.reason
    never = grade("TRN-06", recording(mark(0, "start:auth"), Record(1, UPGRADE, status=503), mark(1.5,
                                      "not-connected"), mark(2, "end:auth"), connect_timeout_s=2))
    assert never.status == "failed" and "no socket opened within 2 s" in never.reason
    assert "cookie" not in never.reason  # it never logged in: nothing to say about cookies
    cookieless = grade("TRN-06", recording(mark(0, "start:auth"), at(0.5, LOGIN),
                                           Record(1, UPGRADE, status=503, session=NO_SESSION),
                                           mark(1.5, "not-connected"), mark(2, "end:auth"), connect_timeout_s=2))
    assert "none of the upgrades carried the JSESSIONID cookie the logins set" in cookieless.reason


def test_a_client_that_exits_fails_the_running_phase_with_its_output_and_skips_the_rest() -> None:
    made = recording(mark(0, "start:auth"), at(1, LOGIN), *opened(2, 1), mark(3, "expire"), mark(4, "end:auth"),
                     exit_at=3.5)
    result = grade("TRN-06", made)
    assert result.status == "failed" and "exited (code 1)" in result.reason and "KeyError: 'logs'" in result.reason
    assert grade("TRN-07", made).status == "skipped"


def test_an_unmasked_frame_fails_the_phase_it_came_in_and_only_that_phase() -> None:
    cut = Record(5.5, CLOSE, conn=2, code=1002, data={UNMASKED_FRAME: True})
    made = recording(mark(0, "start:auth"), at(1, LOGIN), *opened(2, 1), mark(3, "expire"),
                     Record(3.01, CLOSE, conn=1, code=1001, by_server=True), at(3.3, LOGIN), *opened(3.4, 2),
                     mark(4, "end:auth"), mark(5, "start:reconnect"), cut)
    result = grade("TRN-06", made)
    assert result.status == "passed", result  # the close came after its phase
    made.records[made.records.index(cut)] = at(3.9, cut)
    made.records.sort(key=lambda r: r.t)
    result = grade("TRN-06", made)
    assert result.status == "failed", result
    assert result.reason.startswith("during this phase the client sent an unmasked frame on connection 2")
    assert result.expected is not None and "RFC 6455 §5.1" in result.expected


# -- TRN-07 ----------------------------------------------------------------------------------------------------

def reconnects(delays: list[float], outage_attempts: int, outage_s: float = 10.0) -> Recording:
    records = [mark(0, "start:reconnect")]
    t = 1.0
    for number, delay in enumerate(delays, 1):
        records += [mark(t, "closure", code=1001, number=number), *opened(t + delay, number + 1)]
        t += 10
    records.append(mark(t, "outage-start"))
    records += [Record(t + (i + 1) * outage_s / (outage_attempts + 1), UPGRADE, status=503)
                for i in range(outage_attempts)]
    records += [mark(t + outage_s, "outage-end"), *opened(t + outage_s + 0.5, 99), mark(t + outage_s + 1,
                                                                                          "end:reconnect")]
    return recording(*records, storm_limit=10.0)


def test_trn_07_passes_random_first_delays_and_few_attempts_while_refused() -> None:
    result = grade("TRN-07", reconnects([0.4, 2.1, 1.3], outage_attempts=4))
    assert result.status == "passed", result
    assert result.metrics["outage_attempts"] == 4


def test_trn_07_fails_a_constant_delay_a_late_one_a_storm_and_a_missing_reconnect() -> None:
    constant = grade("TRN-07", reconnects([1.0, 1.005, 1.01], outage_attempts=2))
    assert constant.status == "failed" and "not random" in constant.reason
    late = grade("TRN-07", reconnects([0.5, 6.0, 1.0], outage_attempts=2))
    assert late.status == "failed" and "after closure 2" in late.reason
    # 3 + 2 attempts in 10 s: 12 a minute after the first 3, over the limit of 10
    storm = grade("TRN-07", reconnects([0.5, 2.0, 1.0], outage_attempts=5))
    assert storm.status == "failed" and "storm" in storm.reason
    gone = reconnects([0.5, 2.0, 1.0], outage_attempts=1)
    gone.records = [r for r in gone.records if not (r.kind == OPEN and r.conn == 3)]
    missing = grade("TRN-07", gone)
    assert missing.status == "failed" and "after closure 2" in missing.reason


# -- TRN-08, TRN-09, TRN-10 ------------------------------------------------------------------------------------

def half_open(back_after: float | None) -> Recording:
    reopened = opened(1 + back_after, 2) if back_after is not None else []
    return recording(mark(0, "start:half-open"), mark(1, "half-open", limit_s=2.5, keepalive_s=1.0,
                                                      first_delay_s=0.5),
                     *reopened, mark(3.9, "half-open-released"), mark(4, "end:half-open"))


def test_trn_08_passes_within_twice_the_keepalive_plus_the_first_delay_and_fails_late_or_never() -> None:
    # a client that noticed at 2 s (twice its keepalive) may still wait TRN-07's random first delay to reconnect
    assert grade("TRN-08", half_open(2.3)).status == "passed"
    late = grade("TRN-08", half_open(2.7)).reason
    assert "reconnected only 2.70 s after" in late and "twice the declared keepalive, 2 s, plus the 0.5 s" in late
    assert "it did not notice, or did not reconnect" in grade("TRN-08", half_open(None)).reason


def gap(*calls: Record) -> Recording:
    fixes = {"1": [1_790_000_000_000, 1_790_000_060_000], "2": [1_790_000_010_000, 1_790_000_010_000]}
    return recording(mark(0, "start:gap"), mark(1, "gap-positions", fixes=fixes), mark(2, "gap-end"),
                     *opened(3, 2), *calls, mark(5, "end:gap"))


def positions(device: int, start: str, end: str, t: float = 4.0) -> Record:
    return Record(t, HTTP, "GET /api/positions", status=200,
                  data={"deviceId": [str(device)], "from": [start], "to": [end]})


def test_trn_09_needs_a_window_spanning_every_gap_position_of_every_device() -> None:
    whole = gap(positions(1, "2026-09-20T00:00:00Z", "2026-12-31T00:00:00Z"),
                positions(2, "2026-09-20T00:00:00Z", "2026-12-31T00:00:00Z"))
    assert grade("TRN-09", whole).status == "passed"
    # device 1's window ends before its last gap position (2026-09-21T14:14:20Z)
    short = gap(positions(1, "2026-09-20T00:00:00Z", "2026-09-21T12:14:00Z"),
                positions(2, "2026-09-20T00:00:00Z", "2026-12-31T00:00:00Z"))
    failed = grade("TRN-09", short)
    assert failed.status == "failed" and "devices 1 " in failed.reason
    assert grade("TRN-09", gap()).status == "failed"


def garbage(*after: Record) -> Recording:
    frames = ["not JSON", "unknown keys", "binary", "oversized (10 MB)"]
    return recording(mark(0, "start:garbage"), *(mark(1 + i, "garbage", frame=f) for i, f in enumerate(frames)),
                     *after, mark(8, "end:garbage"))


def test_trn_10_takes_1009_on_the_big_frame_and_fails_a_close_on_a_small_one_or_a_dead_reader() -> None:
    assert grade("TRN-10", garbage(mark(6, "ping"), mark(6.1, "pong"))).status == "passed"
    big = grade("TRN-10", garbage(Record(4.2, CLOSE, conn=1, code=1009), *opened(4.5, 2), mark(6, "ping"),
                                  mark(6.1, "pong")))
    assert big.status == "passed" and "closed (1009)" in big.reason
    small = grade("TRN-10", garbage(Record(2.1, CLOSE, conn=1, code=1000), *opened(2.5, 2), mark(6, "ping"),
                                    mark(6.1, "pong")))
    assert small.status == "failed" and "after the unknown keys frame" in small.reason
    deaf = grade("TRN-10", garbage(mark(6, "ping"), mark(8, "no-pong")))
    assert deaf.status == "failed" and "stopped reading" in deaf.reason


def test_against_a_webhook_receiver_the_socket_checks_are_skipped_with_where_to_run_them() -> None:
    result = CHECKS["TRN-06"].run(Context(PROVIDERS["powunity"], (), 1.0))
    assert result.status == "skipped" and "--provider powunity-socket" in result.reason
