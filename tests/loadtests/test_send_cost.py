"""The Locust users' per-request shortcuts keep what they replaced: the fast id makers write the same ids as their
plain forms, a send never writes into its template's shared headers, the users hand no cookie back to a receiver
that sets one, and the load benchmark's meter counts what one Locust process did once every user ran."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from loadtests import bench
from loadtests.pools import _Rfc3339, _rfc3339, _uuid, build_pools, device_weights, origin_of
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from tests.conftest import CliResult
from tests.loadtests.flawed_load import served_from_a_thread

SCENARIO = load_scenario(scenarios_dir() / "demo-city.yaml")


def _five_groups(n: int) -> str:
    """The UUID as the pools wrote it before the one-format shortcut."""
    return f"{n >> 96 & 0xFFFFFFFF:08x}-{n >> 80 & 0xFFFF:04x}-4{n >> 64 & 0xFFF:03x}-" \
        f"8{n >> 48 & 0xFFF:03x}-{n & 0xFFFFFFFFFFFF:012x}"


def test_the_one_format_uuid_is_the_five_group_one() -> None:
    draw = random.Random(13)
    for bits in (60, 63, 64, 100, 128, 140):  # fresh numbers are 19 digits; wider ones are cut to 128 bits alike
        for _ in range(500):
            n = draw.getrandbits(bits)
            assert _uuid(n) == _five_groups(n)


@pytest.mark.parametrize("start", [1_700_000_000.7, 1_735_689_599, 951_782_399])  # a day's, a year's, 2000-02-29's end
def test_the_cached_date_rfc3339_is_the_strftime_one_across_days(start: float) -> None:
    fast = _Rfc3339(start)
    for count in [*range(0, 3), *range(86_390, 86_410), *range(0, 400_000, 997), 10**9 - 1]:
        for origin in (0, 123_456_789):
            n = 10**18 + origin * 10**9 + count
            assert fast(n) == _rfc3339(start, n)


def test_a_send_never_writes_into_its_templates_shared_headers() -> None:
    pools = build_pools(SCENARIO, sorted(device_weights(SCENARIO)), origin=origin_of(5, 5), size=20)
    for name, pool in pools.items():
        before = [dict(t.headers) for t in pool.templates]
        sends = [pool.next() for _ in range(60)]
        assert [dict(t.headers) for t in pool.templates] == before, name  # no id or signature left behind
        if pool.secrets or any(t.id_header for t in pool.templates):
            assert all(s.headers is not pool.templates[s.template].headers for s in sends), name
        else:  # nothing added: the template's own dict goes out (Locust copies what it is given)
            assert all(s.headers is pool.templates[s.template].headers for s in sends), name


@contextlib.contextmanager
def _cookie_setter(seen: list[str | None]) -> Iterator[str]:
    """A receiver that acknowledges everything and sets a cookie each time; `seen` gets each request's Cookie."""
    async def answer(request: web.Request) -> web.Response:
        await request.read()
        seen.append(request.headers.get("Cookie"))
        response = web.Response(text="ok")
        response.set_cookie("session", "s3ss10n", path="/")
        return response

    def make() -> tuple[web.Application, None]:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", answer)
        return app, None

    with served_from_a_thread(make) as url:
        yield url


def test_the_users_hand_no_cookie_back_to_a_receiver_that_sets_one(cli: Callable[..., CliResult]) -> None:
    seen: list[str | None] = []
    with _cookie_setter(seen) as url:
        result = cli("load", "--target", url, "--provider", "mettax", "--run-time", "1s", "--users", "2")
    assert result.code == 0, result.out + result.err
    assert len(seen) > 4  # each user went round more than once after its first answer set the cookie
    assert seen.count(None) == len(seen), {c for c in seen if c}


def test_summarised_rounds_are_medians_with_ratios_that_read_higher_is_better() -> None:
    bare = [bench.Round(1000, 100.0, 990), bench.Round(900, 110.0, 880), bench.Round(1100, 90.0, 1080)]
    ours = [bench.Round(950, 105.0, 900), bench.Round(800, 120.0, 790), bench.Round(990, 99.0, 980)]
    summary = bench.summarise(bare, ours)
    assert (summary["bare_fasthttpuser_fixed_body_per_s"], summary["fleetsim_users_per_s"]) == (1000, 950)
    assert summary["ratio"] == 0.95 and summary["best_round_ratio"] == 0.9
    assert summary["cpu_us_per_request"] == {"bare": 100.0, "fleetsim": 105.0, "ratio": 0.952}
    assert summary["whole_run"] == {"bare_per_s": 990, "fleetsim_per_s": 900, "ratio": 0.909}
    assert summary["all_rounds"]["fleetsim_cpu_us"] == [105.0, 120.0, 99.0]


def test_a_metered_round_counts_requests_and_cpu_once_every_user_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str | None] = []
    monkeypatch.setattr(bench, "SECONDS", 2)
    monkeypatch.setattr(bench, "USERS", 2)
    with _cookie_setter(seen) as url:
        measured = bench.rate(Path(bench.ROOT) / "loadtests" / "bench_locustfile.py", url, [])
    assert measured.per_s > 0 and measured.whole_run_per_s > 0
    assert 0 < measured.cpu_us_per_request < 1e6
    # the meter's window starts once both users run: it saw fewer requests than the receiver did
    assert measured.per_s * 0.5 < len(seen)
