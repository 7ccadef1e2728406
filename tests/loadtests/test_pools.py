"""Payload pools: every send is a distinct event with the provider's own id, signed over the exact bytes sent
at the current time, and valid as the reference receiver reads it; shapes are pure functions of time."""

from __future__ import annotations

import pytest

from conformance.state import key_of
from loadtests import shapes
from loadtests.pools import Pool, build_pools, device_weights, origin_of, request_paths
from loadtests.records import Record
from loadtests.summary import overtaken, parse_slo
from simulator.errors import UsageError
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.servers.receiver import TOLERANCE_S, Endpoint
from simulator.signing import CIHeaders

SCENARIO = load_scenario(scenarios_dir() / "demo-city.yaml")


@pytest.fixture(scope="module")
def pools() -> dict[str, Pool]:
    return build_pools(SCENARIO, sorted(device_weights(SCENARIO)), origin=origin_of(4242, 7), size=50)


def test_weights_come_from_the_scenarios_fleet() -> None:
    assert device_weights(SCENARIO) == {"mettax": 4, "smartgps": 3, "samsara": 2, "powunity": 3}


@pytest.mark.parametrize("name", ["mettax", "powunity", "samsara", "smartgps"])
def test_every_send_is_a_fresh_event_signed_now_and_accepted_as_the_receiver_reads_it(
        name: str, pools: dict[str, Pool]) -> None:
    pool = pools[name]
    pool.clock = lambda: 1_800_000_000.0
    endpoint = Endpoint(pool.provider, SCENARIO.delivery.providers.get(name, {}), TOLERANCE_S)
    keys = set()
    for _ in range(120):  # more than the pool holds: templates come round again with fresh ids
        send = pool.next()
        endpoint.signer.verify(send.body, CIHeaders(send.headers.items()), endpoint.secrets, now=1_800_000_000,
                               tolerance=TOLERANCE_S).ok or pytest.fail("signature does not verify")
        content_type = send.headers["Content-Type"]
        _, kind = endpoint.check(send.body, content_type)  # the schema accepts it (else Rejected)
        key = key_of(pool.provider, send.body, send.headers)
        assert key == pool.key_for(send.template, send.event_id)
        assert send.key in (None, key)
        assert kind is not None
        keys.add(key)
    assert len(keys) == 120


def test_two_processes_never_share_an_id() -> None:
    one = build_pools(SCENARIO, ["powunity"], origin=origin_of(100, 1), size=5)["powunity"]
    two = build_pools(SCENARIO, ["powunity"], origin=origin_of(101, 1), size=5)["powunity"]
    assert not {one.next().event_id for _ in range(500)} & {two.next().event_id for _ in range(500)}


def test_shapes_follow_their_patterns() -> None:
    assert shapes.tick("steady", 5, 10, 20, 4) == (20, 4)
    assert shapes.tick("steady", 10, 10, 20, 4) is None  # the run is over
    assert shapes.tick("ignition-storm", 0, 100, 20, 4) == (2, 20)  # a tenth, spawned at five times the rate
    assert shapes.tick("ignition-storm", 30, 100, 20, 4) == (20, 20)
    assert shapes.tick("reconnect-burst", 35, 100, 30, 3)[0] == 0  # type: ignore[index]  # the outage
    assert shapes.tick("reconnect-burst", 45, 100, 30, 3) == (30, 30.0)  # every device reconnects at once
    assert shapes.tick("spike", 10, 100, 30, 3) == (10, 3)
    assert shapes.tick("spike", 55, 100, 30, 3) == (30, 30.0)
    assert shapes.tick("spike", 65, None, 30, 3) == (10, 3)  # no run time: a one-minute cycle (65 s is 5 s in)


def test_slos_read_units_and_shares() -> None:
    p95, fail, lost, dup = parse_slo("p95<0.2s, fail<0.1%, lost=0, dup<=1%")
    assert (p95.metric, p95.value) == ("p95", 200.0)
    assert fail.value == pytest.approx(0.001)
    assert (lost.op, lost.value, lost.share) == ("=", 0.0, False)
    assert dup.share and dup.value == pytest.approx(0.01)
    for bad in ("p95<200", "fail<5ms", "speed>3", "", "fail<101%", "fail<2", "dup<=150%", "p95<1.2.3ms"):
        with pytest.raises(ValueError):
            parse_slo(bad)


def test_smartgps_times_never_repeat_across_templates_of_one_vehicle() -> None:
    # SmartGPS's identity is vehicle, type and time: two templates of one truck must never give one time twice
    pool = build_pools(SCENARIO, ["smartgps"], origin=origin_of(7, 7))["smartgps"]
    sends = [pool.next() for _ in range(3000)]
    assert len({pool.key_for(s.template, s.event_id) for s in sends}) == 3000


def test_an_event_recorded_after_one_sent_once_it_was_acknowledged_counts_as_reordered() -> None:
    def sent(key: str, at: float, latency_ms: float = 10) -> Record:
        return Record("samsara", "reefers/1", key, key, at, 200, latency_ms)

    # a acked at 1.01; b sent at 1.02 but recorded before a: a is reordered. c overlaps d: no order is owed
    events = [sent("a", 1.0), sent("b", 1.02), sent("c", 2.0, 50), sent("d", 2.01)]
    assert overtaken(events, {"b": 0, "a": 1, "d": 2, "c": 3}) == 1
    assert overtaken(events, {"a": 0, "b": 1, "c": 2, "d": 3}) == 0


def test_the_summary_says_what_it_read_and_what_it_could_not() -> None:
    # read through a probe without the reference receiver's arrival order: lost/duplicated are known, and the
    # events it could not read are said (they count in neither); without readings only HTTP outcomes are known
    from conformance.state import EFFECTS, Ask, Readings
    from loadtests.summary import HTTP_ONLY, summarize

    records = [Record("smartgps", "trucks/1", f"e{n}", f"k{n}", 1000.0 + n, 200, 1.0) for n in range(3)]
    readings = Readings({Ask(EFFECTS, "smartgps", "k0"): 1, Ask(EFFECTS, "smartgps", "k1"): 0},
                        {Ask(EFFECTS, "smartgps", "k2"): "exited with 1"})
    read = summarize(records, readings, probe="state probe p.yaml")
    assert (read.lost, read.duplicated, read.reordered) == (1, 0, None)
    assert read.notes == ["1 acknowledged events could not be read from the receiver's state"]
    unread = summarize(records, None, probe=None)
    assert unread.lost is None and unread.notes == [HTTP_ONLY]


@pytest.mark.parametrize(("target", "url", "path"), [
    ("http://h:8000", None, "/samsara"),
    ("http://h:8000", "/hooks/s?token=x", "/hooks/s?token=x"),
    ("http://h:8000/base/", "http://h:8000/base/hooks/s", "/hooks/s"),  # Locust posts host + path
    ("http://h:8000/base", "http://h:8000/base", "/"),
    ("http://h", "HTTP://h:80/in?a=1", "/in?a=1"),
    ("https://h", "https://h:443/in", "/in"),
    ("", "http://h:8000/in", "http://h:8000/in"),  # a worker: its master checked the url against the host
])
def test_users_post_to_the_path_setting_or_the_part_of_a_url_under_the_target(
        target: str, url: str | None, path: str) -> None:
    settings = {"samsara": {"url": url}} if url else {}
    assert request_paths(target, ["samsara"], settings) == {"samsara": path}


@pytest.mark.parametrize(("target", "url"), [
    ("http://h:8000", "http://other:8000/in"),
    ("http://h:8000", "http://h:8001/in"),
    ("http://h:8000", "https://h:8000/in"),
    ("http://h:8000/base", "http://h:8000/basement/in"),
    ("http://h:8000", "http://u:pw@h:8000/in"),
    ("", "http://u:pw@h:8000/in"),
])
def test_a_url_setting_off_the_target_is_refused(target: str, url: str) -> None:
    with pytest.raises(UsageError) as caught:
        request_paths(target, ["samsara"], {"samsara": {"url": url}})
    assert "samsara url: fleetsim load sends every provider to one host" in str(caught.value)
    assert "pw" not in str(caught.value)


def _records(statuses: list[tuple[int, float]]) -> list[Record]:
    return [Record("samsara", "reefers/1", f"e{n}", f"k{n}", 1000.0 + n / 10, status, latency_ms)
            for n, (status, latency_ms) in enumerate(statuses)]


def test_requests_the_runs_end_cut_off_are_not_judged_unless_they_waited_out_the_stop_timeout() -> None:
    from loadtests.records import CUT_OFF, STOP_TIMEOUT_S
    from loadtests.summary import judge, parse_slo, summarize

    waited = STOP_TIMEOUT_S * 1000
    summary = summarize(_records([(200, 3.0), (200, 4.0), (CUT_OFF, 2.0), (CUT_OFF, waited + 1)]), None, probe=None)
    assert (summary.sent, summary.acked, summary.failed, summary.cut_off) == (3, 2, 1, 1)
    assert any("1 request(s) were in flight when the run stopped" in n for n in summary.notes)
    assert summary.percentiles_ms["p99"] == 4.0  # acknowledged requests only: not the cut-off one's 5 s
    # a receiver that answers nothing: every request cut off, nothing to judge, so no SLO is met
    hung = summarize(_records([(CUT_OFF, 900.0)] * 10), None, probe=None)
    assert (hung.sent, hung.cut_off) == (0, 10)
    verdicts = judge(parse_slo("fail=0,p95<200ms"), hung)
    assert [(met, shown) for _, met, shown in verdicts] == [
        (False, "not measured (nothing was sent)"), (False, "not measured (no request was acknowledged)")]


def test_latency_is_of_acknowledged_requests_so_fast_refusals_do_not_flatter_it() -> None:
    from loadtests.summary import judge, parse_slo, summarize

    summary = summarize(_records([(0, 0.2)] * 97 + [(200, 55.0)] * 3), None, probe=None)
    assert summary.percentiles_ms["p95"] == 55.0
    [(_, met, shown)] = judge(parse_slo("p95<10ms"), summary)
    assert (met, shown) == (False, "55.0 ms")


def test_a_lost_share_is_of_the_events_read_back_when_only_a_sample_was() -> None:
    from conformance.state import EFFECTS, Ask, Readings
    from loadtests.summary import judge, parse_slo, summarize

    records = _records([(200, 1.0)] * 30)
    sample = {Ask(EFFECTS, "samsara", f"k{n}") for n in range(0, 30, 3)}  # one in three read back
    readings = Readings({ask: (0 if ask.key in ("k0", "k3") else 1) for ask in sample}, {})
    summary = summarize(records, readings, probe="state probe p.yaml", asked=sample)
    assert (summary.lost, summary.read_back) == (2, 10)
    assert not any("could not be read" in n for n in summary.notes)  # not asked is not unreadable
    [(_, met, shown)] = judge(parse_slo("lost<3%"), summary)
    assert (met, shown) == (False, "20%")  # 2 of the 10 read back, not 2 of all 30 acknowledged


def test_a_success_is_the_providers_own_as_run_counts_it() -> None:
    # PowUnity counts only 200/201 (a 204 is a failure in `fleetsim run`); load acknowledged it as any 2xx
    from loadtests.summary import summarize

    bikes = [Record("powunity", "bikes/1", f"e{n}", f"k{n}", 1000.0 + n, status, 1.0)
             for n, status in enumerate([200, 201, 204])]
    trucks = [Record("smartgps", "trucks/1", "t", "kt", 1000.0, 204, 1.0)]
    summary = summarize(bikes + trucks, None, probe=None)
    assert (summary.providers["powunity"].acked, summary.providers["powunity"].failed) == (2, 1)
    assert summary.providers["smartgps"].acked == 1
