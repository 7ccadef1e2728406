"""plan_jobs (shares, reorder windows, drop, probe applicability, laziness) and apply_fault (bytes that fail
verification exactly as intended, with the real signers)."""

from __future__ import annotations

import base64
import itertools
import math
import random
from collections import Counter
from collections.abc import Iterator

import orjson
import pytest

from simulator.delivery.faults import (
    DUPLICATE_LAG_S,
    PROBE_SHARE_FIELDS,
    TAMPERED_SIGNATURE,
    TIMESTAMP_SKEW_S,
    Skip,
    applicable_probes,
    apply_fault,
    corrupt,
    default_applicable,
    flip_signature,
    max_disorder_s,
    plan_jobs,
    send_headers,
    wrong_psk,
)
from simulator.delivery.model import DUPLICATE, GENUINE, PROBES, Job
from simulator.errors import HarnessError, UsageError
from simulator.scenario.model import Faults
from simulator.signing import SIGNERS, CIHeaders, Secret, Signer
from simulator.stream import Outgoing

START = 1_700_000_000.0
NOW = 1_700_000_500
ALL_PROBES = frozenset(PROBES)


def record(i: int, provider: str = "samsara", *, kind: str = "alert_v1", channel: str = "webhook",
           t: float | None = None) -> Outgoing:
    body = orjson.dumps({"eventId": f"e{i}", "eventMs": 1_700_000_000_000 + i, "data": {"n": i, "xs": [1, 2, 3]}})
    return Outgoing(i, f"demo-1-{i:08d}", provider, kind, channel, "dev-1", START + (i * 0.5 if t is None else t),
                    {"Content-Type": "application/json"}, body, "position")


def records(n: int, provider: str = "samsara") -> Iterator[Outgoing]:
    return (record(i, provider) for i in range(1, n + 1))


def within(count: int, n: int, share: float, sigmas: float = 5.0) -> bool:
    sd = math.sqrt(n * share * (1 - share))
    return abs(count - n * share) <= sigmas * sd + 1


# --- plan_jobs --------------------------------------------------------------------------------------------


def test_shares_within_statistical_bounds() -> None:
    n = 20_000
    faults = Faults(duplicate=0.1, drop=0.05, tamper_signature=0.02, stale_timestamp=0.03, future_timestamp=0.01,
                    corrupt_body=0.04)
    out = list(plan_jobs(records(n), faults, random.Random(7), start=START))
    skips = [x for x in out if isinstance(x, Skip)]
    jobs = [x for x in out if isinstance(x, Job)]
    copies = Counter(j.copy for j in jobs)
    assert within(len(skips), n, 0.05)
    sent = n - len(skips)
    assert copies[GENUINE] == sent  # every record not dropped has exactly one genuine job
    assert within(copies[DUPLICATE], sent, 0.1)
    for probe, name in PROBE_SHARE_FIELDS.items():
        assert within(copies[probe], sent, getattr(faults, name)), probe
    # no event is both dropped and sent
    dropped = {s.record.event_id for s in skips}
    assert not dropped & {j.record.event_id for j in jobs}
    assert all(s.reason == "fault_drop" for s in skips)


def test_same_seed_same_plan_and_no_faults_is_identity() -> None:
    faults = Faults(duplicate=0.2, reorder_window=5, jitter_ms=50, corrupt_body=0.1)

    def plan(seed: int) -> list[tuple[str, str, float]]:
        return [(x.record.event_id, x.copy, x.due) for x in plan_jobs(records(500), faults, random.Random(seed),
                                                                      start=START) if isinstance(x, Job)]

    assert plan(1) == plan(1)
    assert plan(1) != plan(2)
    plain = list(plan_jobs(records(100), Faults(), random.Random(0), start=START))
    assert [(j.record.seq, j.copy, j.due) for j in plain if isinstance(j, Job)] == [
        (i, GENUINE, i * 0.5) for i in range(1, 101)
    ]


def test_delay_and_jitter() -> None:
    out = [j for j in plan_jobs(records(2000), Faults(delay_ms=2000, jitter_ms=300), random.Random(3), start=START)
           if isinstance(j, Job)]
    offsets = [j.due - (j.record.send_t - START) for j in out]
    assert all(1.7 - 1e-9 <= o <= 2.3 + 1e-9 for o in offsets)
    assert min(offsets) < 1.75 and max(offsets) > 2.25  # the whole ± range is used


def test_reorder_keeps_multiset_and_moves_only_within_windows() -> None:
    window, n = 7, 1000
    source = list(records(n))
    out = [j for j in plan_jobs(iter(source), Faults(reorder_window=window), random.Random(11), start=START)
           if isinstance(j, Job)]
    assert Counter(j.record.event_id for j in out) == Counter(r.event_id for r in source)
    moved = 0
    for w in range(0, n, window):
        got = out[w : w + window]
        expected = source[w : w + window]
        assert {j.record.event_id for j in got} == {r.event_id for r in expected}
        # the shuffled records take over the window's send slots in order, so sending by `due` reorders
        assert [j.due for j in got] == [r.send_t - START for r in expected]
        moved += sum(1 for j, r in zip(got, expected, strict=True) if j.record.event_id != r.event_id)
    assert moved > n / 2


def test_plan_is_lazy_with_bounded_lookahead() -> None:
    pulled = 0

    def endless() -> Iterator[Outgoing]:
        nonlocal pulled
        for i in itertools.count(1):
            pulled += 1
            yield record(i)

    plan = plan_jobs(endless(), Faults(reorder_window=10, duplicate=0.5), random.Random(0), start=START)
    first = list(itertools.islice(plan, 5))
    assert len(first) == 5
    assert pulled <= 10


def test_drop_everything_yields_skips() -> None:
    out = list(plan_jobs(records(50), Faults(drop=1.0, duplicate=1.0, corrupt_body=1.0), random.Random(0),
                         start=START))
    assert all(isinstance(x, Skip) and x.reason == "fault_drop" for x in out)
    assert len(out) == 50


def test_probes_before_genuine_duplicate_after() -> None:
    faults = Faults(duplicate=1.0, tamper_signature=1.0, stale_timestamp=1.0, future_timestamp=1.0,
                    corrupt_body=1.0)
    out = [j for j in plan_jobs(records(3), faults, random.Random(0), start=START) if isinstance(j, Job)]
    by_event: dict[str, list[Job]] = {}
    for job in out:
        by_event.setdefault(job.record.event_id, []).append(job)
    for jobs in by_event.values():
        assert [j.copy for j in jobs] == [*PROBES, GENUINE, DUPLICATE]
        genuine = jobs[len(PROBES)]
        assert all(p.due < genuine.due for p in jobs[: len(PROBES)])
        assert [p.due for p in jobs[: len(PROBES)]] == sorted(p.due for p in jobs[: len(PROBES)])
        assert jobs[-1].due == pytest.approx(genuine.due + DUPLICATE_LAG_S)


def test_yield_order_disorder_is_bounded() -> None:
    faults = Faults(duplicate=0.3, jitter_ms=200, reorder_window=4, tamper_signature=0.2, corrupt_body=0.2)
    latest = -math.inf
    for job in plan_jobs(records(3000), faults, random.Random(5), start=START):
        if isinstance(job, Job):
            assert job.due >= latest - max_disorder_s(faults) - 1e-9
            latest = max(latest, job.due)


@pytest.mark.parametrize(
    ("provider", "kind", "channel", "expected"),
    [
        ("samsara", "alert_v1", "webhook", ALL_PROBES),
        ("smartgps", "event", "webhook", {"tampered_signature", "corrupt_body"}),
        ("powunity", "webhook", "webhook", {"tampered_signature", "corrupt_body"}),  # PSK: wrong value
        ("mettax", "gps", "webhook", {"corrupt_body"}),  # unsigned: nothing to tamper with, no timestamp
        ("powunity", "socket_frame", "websocket", set()),  # a frame has no headers
    ],
)
def test_probes_only_where_they_apply(provider: str, kind: str, channel: str, expected: set[str]) -> None:
    faults = Faults(tamper_signature=1.0, stale_timestamp=1.0, future_timestamp=1.0, corrupt_body=1.0)
    recs = [record(i, provider, kind=kind, channel=channel) for i in range(1, 21)]
    out = [j for j in plan_jobs(recs, faults, random.Random(0), start=START) if isinstance(j, Job)]
    copies = Counter(j.copy for j in out)
    assert copies[GENUINE] == 20
    assert {c for c in copies if c != GENUINE} == expected
    assert all(copies[p] == 20 for p in expected)


def test_applicable_mapping_overrides_defaults() -> None:
    faults = Faults(tamper_signature=1.0, stale_timestamp=1.0, corrupt_body=1.0)
    # e.g. Samsara configured without a secret: only the corrupt-body probe means anything
    applicable = {"samsara": applicable_probes(SIGNERS["samsara"], has_secret=False)}
    out = [j.copy for j in plan_jobs(records(5), faults, random.Random(0), start=START, applicable=applicable)
           if isinstance(j, Job)]
    assert set(out) == {GENUINE, "corrupt_body"}
    assert applicable_probes(SIGNERS["none"], has_secret=False) == {"corrupt_body"}
    assert default_applicable("mettax") == {"corrupt_body"}
    assert default_applicable("no-such-provider") == {"corrupt_body"}


@pytest.mark.parametrize("bad", [Faults(drop=1.5), Faults(duplicate=-0.1), Faults(reorder_window=-1),
                                 Faults(delay_ms=-5)])
def test_invalid_faults_rejected(bad: Faults) -> None:
    with pytest.raises(UsageError):
        list(plan_jobs(records(1), bad, random.Random(0), start=START))


def test_skip_reason_is_validated() -> None:
    with pytest.raises(HarnessError):
        Skip(record(1), "dropped_by_fault")


# --- apply_fault with the real signers ----------------------------------------------------------------------

SW_KEYS = [Secret(bytes(range(1, 33))), Secret(bytes(range(40, 64)))]

CASES: dict[str, tuple[Signer, list[Secret]]] = {
    "samsara": (SIGNERS["samsara"], [SIGNERS["samsara"].parse_secret(base64.b64encode(b"samsara-key-123").decode())]),
    "standard-webhooks": (SIGNERS["standard-webhooks"], SW_KEYS[:1]),
    "standard-webhooks-rotation": (SIGNERS["standard-webhooks"], SW_KEYS),
    "smartgps": (SIGNERS["smartgps"], [SIGNERS["smartgps"].parse_secret("smartgps secret")]),
    "hmac-sha256": (SIGNERS["hmac-sha256"], [SIGNERS["hmac-sha256"].parse_secret("gh")]),
    "powunity-psk": (SIGNERS["powunity"], [SIGNERS["powunity"].parse_secret("Bearer s3cr3t-Value")]),
    "powunity-nopsk": (SIGNERS["powunity"], []),
    "none": (SIGNERS["none"], []),
}


def _send(case: str, copy: str) -> tuple[Signer, list[Secret], bytes, dict[str, str], bytes]:
    signer, secrets = CASES[case]
    rec = record(1)
    # the record as the Encoder made it: signed at its scheduled time, long before `NOW`
    headers = dict(rec.headers)
    if secrets or signer.name == "powunity":
        headers.update(signer.sign(rec.body, secrets, timestamp=int(rec.send_t) - 3600, message_id=rec.event_id))
    body, sent = apply_fault(Job(rec, copy), rec.body, headers, signer=signer, secrets=secrets, now=NOW,
                             message_id=rec.event_id)
    return signer, secrets, body, sent, rec.body


def _verify(signer: Signer, secrets: list[Secret], body: bytes, headers: dict[str, str]) -> str:
    return signer.verify(body, CIHeaders(headers), secrets, now=NOW, tolerance=300).code


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("copy", [GENUINE, DUPLICATE])
def test_genuine_and_duplicate_verify_at_now(case: str, copy: str) -> None:
    signer, secrets, body, headers, original = _send(case, copy)
    assert body == original
    if not secrets and signer.name != "powunity":
        assert headers == record(1).headers  # nothing to sign with
        return
    assert _verify(signer, secrets, body, headers) == "ok"
    assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("case", ["samsara", "standard-webhooks", "standard-webhooks-rotation"])
def test_a_duplicate_sent_in_the_genuine_copys_second_is_still_a_re_send(case: str) -> None:
    # (signers with a timestamp; an untimed HMAC's retry is the same bytes, as the platform's would be) once
    # byte-identical to the genuine copy when both went within one second: a receiver deduplicating on the
    # signature passed IDM-01 while applying every real retry (a later timestamp) twice
    signer, secrets = CASES[case]
    rec = record(1)
    _, genuine = apply_fault(Job(rec, GENUINE), rec.body, rec.headers, signer=signer, secrets=secrets, now=NOW,
                             message_id=rec.event_id)
    body, duplicate = apply_fault(Job(rec, DUPLICATE), rec.body, rec.headers, signer=signer, secrets=secrets,
                                  now=NOW, message_id=rec.event_id)
    assert body == rec.body and duplicate != genuine
    signature_headers = [h for h in genuine if h.lower() not in ("content-type", "user-agent")]
    assert any(genuine[h] != duplicate.get(h) for h in signature_headers)
    assert signer.verify(body, CIHeaders(duplicate), secrets, now=NOW, tolerance=300).code == "ok"


def test_a_duplicate_gets_a_new_delivery_id_and_keeps_the_event_id() -> None:
    signer, secrets = CASES["samsara"]
    rec = record(1)
    headers = {**rec.headers, "X-Samsara-Request": "notif-1"}
    _, duplicate = apply_fault(Job(rec, DUPLICATE), rec.body, headers, signer=signer, secrets=secrets, now=NOW,
                               message_id=rec.event_id, delivery_header="X-Samsara-Request")
    body, _ = apply_fault(Job(rec, DUPLICATE), rec.body, headers, signer=signer, secrets=secrets, now=NOW,
                          message_id=rec.event_id, delivery_header="X-Samsara-Request")
    assert duplicate["X-Samsara-Request"] not in ("notif-1", "") and body == rec.body  # the event is the same
    # Standard Webhooks' webhook-id is the message's id, kept on every retry (its key, not a delivery id)
    signer, secrets = CASES["standard-webhooks"]
    _, genuine = apply_fault(Job(rec, GENUINE), rec.body, rec.headers, signer=signer, secrets=secrets, now=NOW,
                             message_id=rec.event_id)
    _, again = apply_fault(Job(rec, DUPLICATE), rec.body, rec.headers, signer=signer, secrets=secrets, now=NOW,
                           message_id=rec.event_id)
    assert again["webhook-id"] == genuine["webhook-id"] and again["webhook-timestamp"] != genuine["webhook-timestamp"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_fast_path_sends_the_headers_apply_fault_gives_a_genuine_copy(case: str) -> None:
    signer, secrets = CASES[case]
    rec = record(1)
    _, expected = apply_fault(Job(rec), rec.body, rec.headers, signer=signer, secrets=secrets, now=NOW,
                              message_id=rec.event_id)
    sent = send_headers(rec.body, rec.headers, signer, secrets, NOW, rec.event_id)
    assert sent == expected
    if not secrets:  # nothing to sign: the record's own headers, not a copy made per delivery
        assert sent is rec.headers


@pytest.mark.parametrize("case", ["samsara", "standard-webhooks", "standard-webhooks-rotation", "smartgps",
                                  "hmac-sha256", "powunity-psk"])
def test_tampered_signature_is_plausible_but_wrong(case: str) -> None:
    signer, secrets, body, headers, original = _send(case, "tampered_signature")
    _, _, _, genuine, _ = _send(case, GENUINE)
    assert body == original
    assert _verify(signer, secrets, body, headers) == "mismatch"
    assert headers.keys() == genuine.keys()
    changed = [name for name in headers if headers[name] != genuine[name]]
    assert len(changed) == 1  # only the signature (or PSK) header differs ...
    name = changed[0]
    assert len(headers[name]) == len(genuine[name])  # ... keeping its shape
    if signer.covers_body:
        differing = sum(a != b for a, b in zip(headers[name], genuine[name], strict=True))
        assert differing == (2 if case == "standard-webhooks-rotation" else 1)  # one character per entry
    else:
        assert headers[name].startswith("Bearer ")
        assert "s3cr3t" not in headers[name]


@pytest.mark.parametrize("case", ["powunity-nopsk", "none"])
def test_tamper_without_secret_is_a_harness_bug(case: str) -> None:
    with pytest.raises(HarnessError):
        _send(case, "tampered_signature")


def test_a_static_credential_is_tampered_when_nothing_is_signed() -> None:
    # MettaX signs nothing; a token its settings add is what authenticates it, so a wrong one is the probe
    token = "mettax-token-0123456789abcdef"
    assert applicable_probes(SIGNERS["none"], has_secret=False, has_credential=True) == {
        "corrupt_body", "tampered_signature"}
    rec = record(1)
    headers = {**rec.headers, "Authorization": token}
    body, sent = apply_fault(Job(rec, TAMPERED_SIGNATURE), rec.body, headers, signer=SIGNERS["none"], secrets=[],
                             now=NOW, message_id=rec.event_id, credential_headers=frozenset({"authorization"}))
    assert body == rec.body and sent.keys() == headers.keys()
    assert sent["Authorization"] != token and len(sent["Authorization"]) == len(token)
    assert "0123456789abcdef" not in sent["Authorization"]  # derived one-way: never the token itself
    with pytest.raises(HarnessError):  # a credential header the record does not carry: nothing to make wrong
        apply_fault(Job(rec, TAMPERED_SIGNATURE), rec.body, rec.headers, signer=SIGNERS["none"], secrets=[],
                    now=NOW, message_id=rec.event_id, credential_headers=frozenset({"X-Token"}))


@pytest.mark.parametrize("case", ["samsara", "standard-webhooks"])
@pytest.mark.parametrize(("copy", "code", "skew"), [("stale_timestamp", "stale", -TIMESTAMP_SKEW_S),
                                                     ("future_timestamp", "future", TIMESTAMP_SKEW_S)])
def test_timestamp_probes_are_correctly_signed_but_out_of_window(case: str, copy: str, code: str, skew: int) -> None:
    signer, secrets, body, headers, _ = _send(case, copy)
    assert _verify(signer, secrets, body, headers) == code
    # correctly signed: a verifier whose clock agrees with the probe's timestamp accepts it
    assert signer.verify(body, CIHeaders(headers), secrets, now=NOW + skew, tolerance=300).ok


@pytest.mark.parametrize("case", ["smartgps", "powunity-psk", "none"])
@pytest.mark.parametrize("copy", ["stale_timestamp", "future_timestamp"])
def test_timestamp_probes_need_a_timestamped_signer(case: str, copy: str) -> None:
    with pytest.raises(HarnessError):
        _send(case, copy)


@pytest.mark.parametrize("case", sorted(CASES))
def test_corrupt_body_is_validly_signed_invalid_json(case: str) -> None:
    signer, secrets, body, headers, original = _send(case, "corrupt_body")
    assert body != original and len(body) < len(original)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    if secrets or signer.name == "powunity":
        assert _verify(signer, secrets, body, headers) == "ok"  # authentication passes; parsing must 400


@pytest.mark.parametrize("body", [b"", b"1", b"12345678", b"[]", b'{"a":1}', b'"abcdef"', b"[1, 2, 3, 4]"])
def test_corrupt_never_parses(body: bytes) -> None:
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(corrupt(body))


def test_flip_signature_shapes() -> None:
    assert flip_signature("v1=00ff") == "v1=10ff"
    assert flip_signature("v1,AAAA= v1,/xyz=") == "v1,BAAA= v1,Axyz="
    assert flip_signature("sha256=f0") == "sha256=00"
    assert flip_signature("Zm9v") == "am9v"  # bare base64 (Shopify style)


def test_wrong_psk_keeps_scheme_and_differs() -> None:
    for text in ["Bearer abc", "token", "Basic dXNlcjpwYXNz", "x"]:
        wrong = wrong_psk(Secret(text.encode())).reveal()
        assert wrong != text.encode() and len(wrong) == len(text)
        if " " in text:
            assert wrong.split(b" ")[0] == text.encode().split(b" ")[0]
