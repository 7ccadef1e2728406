"""The state checks (RPL-06, IDM-02/03/05, ORD-01/02/03) against the reference receiver with its state probe (all
pass), and against receivers with one flaw in what they do: exactly the intended checks fail with the probe,
and without it only what HTTP can show fails, the others saying they were graded on HTTP only."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from conformance import checks_state
from conformance.registry import CHECKS
from conformance.run import ProviderRun, reference_receiver, run_provider, webhook_providers
from conformance.state import REFERENCE_PROBE, FileStateProbe, Latest, StateProbe, load_state_probe
from simulator.providers import PROVIDERS

from .flawed import settings
from .flaws_state import flawed_state

STATE_CHECKS = {"RPL-06", "IDM-02", "IDM-03", "IDM-05", "ORD-01", "ORD-02", "ORD-03"}


def reference_probe() -> StateProbe:
    return FileStateProbe(load_state_probe(REFERENCE_PROBE))


async def check(provider: str, url: str, state: StateProbe | None) -> ProviderRun:
    return await run_provider(PROVIDERS[provider], [CHECKS[c] for c in sorted(STATE_CHECKS)], target=url,
                              settings=settings(), seed=1, state=state)


def failed(run: ProviderRun) -> set[str]:
    return {r.check_id for r in run.results if r.status == "failed"}


async def probed(flaw: str, provider: str, check_ids: list[str], *, seed: int = 1,
                 state: StateProbe | None = None) -> ProviderRun:
    """`check_ids` run against the receiver with `flaw`, graded with the reference probe (or `state`)."""
    async with flawed_state(flaw) as url:
        return await run_provider(PROVIDERS[provider], [CHECKS[c] for c in check_ids], target=url,
                                  settings=settings(), seed=seed, state=state or reference_probe())


async def test_a_target_with_a_query_keeps_it_off_the_state_probes_base() -> None:
    # `{base}/state` of `http://h/?tenant=1` was `http://h/?tenant=1/state`: every reading failed, every check erred
    async with reference_receiver(settings()) as url:
        run = await check("samsara", f"{url}/?tenant=1", reference_probe())
    for r in run.results:
        assert r.status == ("passed" if CHECKS[r.check_id].applies(PROVIDERS["samsara"]) else "skipped"), r


def test_the_state_checks_are_registered_from_their_module() -> None:
    assert {c.id for c in CHECKS.values() if c.function.__module__ == checks_state.__name__} == STATE_CHECKS


async def test_the_reference_receiver_passes_every_state_check_with_its_probe() -> None:
    async with reference_receiver(settings()) as url:
        for provider in webhook_providers():
            run = await check(provider.name, url, reference_probe())
            for r in run.results:
                applies = CHECKS[r.check_id].applies(provider)
                assert r.status == ("passed" if applies else "skipped"), (provider.name, r)
                if applies:  # graded on the readings, with a real pair of different states (not the weak case)
                    assert "HTTP only" not in r.reason and "weak" not in r.reason, r


@pytest.mark.parametrize(
    ("flaw", "provider", "with_probe", "http_only"),
    [
        ("no_dedupe", "samsara", {"RPL-06", "IDM-02", "IDM-03"}, set()),
        ("look_then_insert", "powunity", {"IDM-02"}, set()),
        ("backfill_regress", "mettax", {"ORD-02"}, set()),
        ("body_hash", "standard_webhooks", {"IDM-05"}, {"IDM-05"}),  # the second event is answered "duplicate"
        ("arrival_state", "smartgps", {"ORD-01"}, set()),
    ],
)
async def test_each_state_flaw_fails_exactly_its_checks(flaw: str, provider: str, with_probe: set[str],
                                                        http_only: set[str]) -> None:
    async with flawed_state(flaw) as url:
        probed = await check(provider, url, reference_probe())
    async with flawed_state(flaw) as url:  # a fresh one: the same seed sends the same events again
        unprobed = await check(provider, url, None)
    for run, expected in ((probed, with_probe), (unprobed, http_only)):
        assert failed(run) == expected, run.results
        assert not [r for r in run.results if r.status == "error"], run.results
        for r in run.results:
            if r.status == "failed":
                assert r.exchange is not None and r.expected
    for r in unprobed.results:
        if r.status == "passed":
            assert r.reason.startswith("graded on HTTP only"), r
    for r in probed.results:  # IDM-02 quotes one copy in full, and counts what all ten were answered
        if r.check_id == "IDM-02" and r.status == "failed":
            assert re.search(r"10 concurrent copies \(answered (\d{3} ×\d+(, )?)+\)", r.reason), r.reason


def test_a_burst_of_copies_is_told_by_every_answer_it_got() -> None:
    from simulator.delivery.model import Attempt

    def answer(status: int | None, outcome: str) -> Attempt:
        return Attempt(event_id="e", provider="samsara", kind="alert_v1", copy="genuine", attempt=1,
                       url="http://h/samsara", sent_at=0.0, latency_s=0.01, outcome=outcome, status=status)

    burst = [answer(409, "4xx")] * 8 + [answer(200, "2xx"), answer(None, "timeout_total")]
    assert checks_state._tally(burst) == "200 ×1, 409 ×8, timeout_total ×1"


async def test_a_state_probe_that_cannot_answer_is_an_error_never_a_failure(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text('effects: {url: "{base}/healthz?e={event_id}", path: effects}\n'
                      'latest: {url: "{base}/healthz", device_time: nothing, lat: lat, lon: lon}\n')
    async with reference_receiver(settings()) as url:
        run = await check("mettax", url, FileStateProbe(load_state_probe(broken)))
    by_id = {r.check_id: r for r in run.results}
    assert failed(run) == set(), run.results
    for check_id in ("RPL-06", "IDM-02", "IDM-03", "IDM-05", "ORD-03"):
        assert by_id[check_id].status == "error" and "nothing at 'effects'" in by_id[check_id].reason
    assert by_id["ORD-02"].status == "error" and "nothing at 'nothing'" in by_id["ORD-02"].reason
    assert by_id["ORD-01"].status == "error" and "has no state question" in by_id["ORD-01"].reason


@pytest.mark.parametrize(("body", "said"), [
    (b'{"status": "duplicate", "message": "already processed"}', True),  # the reference receiver's
    (b'{"duplicate": true}', True),
    (b'{"result": {"is_duplicate": true}}', True),
    (b'{"ok": true, "status": "already_processed"}', True),
    (b"Duplicate event ignored", True),
    (b'{"ok": true, "duplicate": false}', False),  # the word, saying the opposite: once a false IDM-05 FAIL
    (b'{"ok": true, "id": "evt-1"}', False),
    (b"not a duplicate", False),
    (b"OK", False),
    (b"", False),
])
def test_an_answer_calls_a_delivery_a_duplicate_only_when_it_says_so(body: bytes, said: bool) -> None:
    from simulator.delivery.model import Attempt

    answer = Attempt(event_id="e", provider="samsara", kind="alert_v1", copy="genuine", attempt=1,
                     url="http://h/samsara", sent_at=0.0, latency_s=0.01, outcome="2xx", status=200,
                     response_body=body)
    assert checks_state._duplicate_said(answer) is said


async def test_a_receiver_keyed_on_the_delivery_id_applies_a_re_send_twice_and_fails_idm_01() -> None:
    # a duplicate is a re-send: a new X-Samsara-Request (provider-facts §3.4) and a later signed timestamp; it once
    # was byte-identical to the genuine copy, and such a receiver passed
    [result] = (await probed("delivery_id", "samsara", ["IDM-01"])).results
    assert result.status == "failed" and "the receiver applied the event 2 times" in result.reason, result
    # the reading is shown, with the key the probe was asked about: a probe bug is told from a receiver bug
    assert re.search(r"asked about event '[0-9a-f-]{36}': effects 2\)$", result.reason), result.reason
    async with reference_receiver(settings()) as url:
        sound = await run_provider(PROVIDERS["samsara"], [CHECKS["IDM-01"]], target=url, settings=settings(),
                                   seed=1, state=reference_probe())
    assert [r.status for r in sound.results] == ["passed"] and "applied once" in sound.results[0].reason


async def test_a_receiver_that_keeps_earlier_runs_passes_a_run_of_another_seed() -> None:
    # a staging receiver keeps every event it was sent: PowUnity's Traccar ids once repeated across seeds with
    # other meanings (20 of 40 ids shared by seeds 1 and 4), and seed 4 after seeds 1-3 failed ORD-02
    async with reference_receiver(settings()) as url:
        for seed in (1, 2, 3, 4):
            run = await run_provider(PROVIDERS["powunity"], [CHECKS[c] for c in sorted(STATE_CHECKS)], target=url,
                                     settings=settings(), seed=seed, state=reference_probe())
            assert failed(run) == set(), (seed, [r for r in run.results if r.status == "failed"])


def test_powunity_event_ids_of_two_seeds_never_meet() -> None:
    import dataclasses
    import itertools
    import json

    from conformance.plan import plan
    from simulator.stream import scenario_stream

    unit = PROVIDERS["powunity"]

    def ids(seed: int) -> set[int]:
        scenario = plan(unit, CHECKS.values(), seed=seed, has_secret=True).scenario
        own = {"powunity": unit.fresh_id_settings(seed)}  # what run_provider sets under the user's settings
        scenario = dataclasses.replace(scenario, delivery=dataclasses.replace(scenario.delivery, providers=own))
        stream = scenario_stream(scenario, providers={"powunity"}, channels={"webhook"})
        return {json.loads(r.body)["event"]["id"] for r in itertools.islice(stream, 200)}

    first, fourth = ids(1), ids(4)
    assert len(first) == 200 and not first & fourth
    assert max(first | fourth) < 2**53  # read exactly by a JavaScript receiver too
    assert max(ids(2**22 - 1)) < 2**53


@pytest.mark.parametrize("provider", ["samsara", "powunity"])
async def test_each_delivery_has_its_own_delivery_id(provider: str) -> None:
    # two different events never share a delivery id, and a retry is a delivery of its own (provider-facts §3.4):
    # a receiver that also ignores a delivery id it has seen (a replay guard) is right and passes; one that
    # deduplicates on the delivery id instead of the event applies the retry again and fails IDM-03 too
    checks = ["IDM-01", "IDM-03", "IDM-05"]
    guarded = await probed("delivery_replay_cache", provider, checks, seed=3)
    assert failed(guarded) == set(), guarded.results
    header = PROVIDERS[provider].adapter.delivery_header
    assert header is not None
    for copy in ("different_ids", "lost_ack"):
        sent = [a.request_headers[header] for a in guarded.exchanges if a.copy == copy]
        assert len(sent) == 2 and sent[0] != sent[1], (copy, sent)
    keyed = await probed("delivery_id", provider, checks, seed=3)
    assert {"IDM-01", "IDM-03"} <= failed(keyed), keyed.results


@pytest.mark.parametrize("provider", ["powunity", "mettax"])
async def test_a_position_moved_back_under_the_newest_time_fails_ord_02(provider: str) -> None:
    # the common UPDATE ... SET lat = ?, lon = ?, fix_time = max(fix_time, ?): the time read back is the newest,
    # the place is the back-filled fix's
    [result] = (await probed("backfill_position", provider, ["ORD-02"])).results
    assert result.status == "failed" and "is the back-filled fix's" in result.reason, result


class _Booleans:
    """The reference probe, its on/off states read back as booleans (`{"ignition": false}`), as many receivers
    store them."""

    def __init__(self, inner: StateProbe) -> None:
        self.inner = inner
        self.description = inner.description

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[StateProbe]:
        async with self.inner.batch() as inner:
            yield _Booleans(inner)

    async def settle(self, base: str) -> None:
        await self.inner.settle(base)

    async def effects(self, base: str, provider: str, event_id: str) -> int:
        return await self.inner.effects(base, provider, event_id)

    async def latest(self, base: str, provider: str, device: str) -> Latest | None:
        return await self.inner.latest(base, provider, device)

    async def state(self, base: str, provider: str, device: str) -> dict[str, str]:
        got = await self.inner.state(base, provider, device)
        return {name: {"on": "true", "off": "false"}.get(value, value) for name, value in got.items()}


@pytest.mark.parametrize("provider", ["smartgps", "mettax"])
async def test_ord_01_reads_a_boolean_state_as_on_or_off(provider: str) -> None:
    async with reference_receiver(settings()) as url:
        run = await run_provider(PROVIDERS[provider], [CHECKS["ORD-01"]], target=url, settings=settings(), seed=1,
                                 state=_Booleans(reference_probe()))
    assert [r.status for r in run.results] == ["passed"], run.results
    [result] = (await probed("arrival_state", provider, ["ORD-01"], state=_Booleans(reference_probe()))).results
    assert result.status == "failed" and "the older change's state, not " in result.reason, result


async def test_a_receiver_ordering_traccar_fixes_by_server_time_fails_ord_02() -> None:
    # Traccar stamps serverTime on arrival: the back-filled fix reaches the server after the newer one, so it
    # carries the later server time (it once kept its own older one, and such a receiver passed)
    run = await probed("server_time_order", "powunity", ["ORD-02"])
    [result] = run.results
    assert result.status == "failed" and "back-filled" in result.reason, result
    late, newer = run.exchanges[-1], run.exchanges[-2]
    assert (late.variant, newer.variant) == ("back-filled", "newer")
    import json

    assert json.loads(late.request_body)["event"]["serverTime"] > json.loads(newer.request_body)["event"]["serverTime"]
    assert json.loads(late.request_body)["position"]["fixTime"] < json.loads(newer.request_body)["position"]["fixTime"]


@pytest.mark.parametrize("seed", [1, 669358, 7919, 31676])
def test_idm_05_sends_two_different_event_keys_even_when_the_next_event_rides_the_same_gps_packet(seed: int) -> None:
    # a MettaX DeviceInfo carries the id of the GPS packet it rides on: taken as "the other event's id", it made
    # the second body the first again (IDM-05: "a harness mistake", an error against fleetsim's own receiver)
    from conformance.state import key_of

    from .test_checks_input import _windows

    sent = 0
    for window in _windows("mettax", seed, checks_state.DIFFERENT_IDS_EVENTS, count=80, step=1):
        requests = checks_state.different_ids(window)
        if requests:
            first, second = requests
            keys = {key_of(PROVIDERS["mettax"], r.body, r.headers) for r in (first, second)}
            assert len(keys) == 2, (seed, keys)
            sent += 1
    assert sent >= 40
