"""The integrator-facing commands doing their real job (happy and unhappy paths)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from simulator.providers import APIS, PROVIDERS
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from tests.conftest import CliResult

from .listeners import dropping

Cli = Callable[..., CliResult]
DEMO = str(scenarios_dir() / "demo-city.yaml")

SAMSARA_SECRET = "c2Ftc2FyYS10ZXN0LXNlY3JldC0wMDAx"
SAMSARA_BODY = (
    b'{"eventId":"bf72239c-bebd-4c22-b64c-6fc692ef7c46","eventMs":1587597109477,"eventType":"Ping","event":{}}'
)
SAMSARA_SIG = "v1=a6c38af554e6b1c6862bdb261707b6e36d60f05ba122fdd4e41dd061ce49671e"


def test_providers_json_lists_every_provider(cli: Cli) -> None:
    result = cli("providers", "--json")
    assert result.code == 0
    data = json.loads(result.out)
    by_name = {row["name"]: row for row in data}
    assert set(by_name) == set(PROVIDERS) | set(APIS)
    assert {n for n, row in by_name.items() if row["role"] == "api"} == set(APIS) == {"drivers_api", "smartgps_api"}
    assert by_name["samsara"]["signing"] == "samsara"
    assert by_name["mettax"]["kinds"] == [
        "gps", "device_info", "alarm", "passthrough", "alarm_file", "sensor", "capture_file",
        "face_check_result", "face_check_picture", "rfid",
    ]
    assert by_name["powunity"]["success"] == "200/201" and by_name["powunity"]["retries"] == "none"
    for row in data:
        assert {"name", "kinds", "transport", "signing"} <= row.keys()


def test_providers_table(cli: Cli) -> None:
    result = cli("providers")
    assert result.code == 0
    assert result.lines[0].split()[:3] == ["provider", "transport", "signing"]
    assert any(line.startswith("smartgps") and "event" in line for line in result.lines)


def test_generate_prints_ndjson_deterministically(cli: Cli) -> None:
    first = cli("generate", "smartgps", "event", "-n", "5", "--seed", "42")
    again = cli("generate", "smartgps", "event", "-n", "5", "--seed", "42")
    other = cli("generate", "smartgps", "event", "-n", "5", "--seed", "43")
    assert first.code == 0 and first.out == again.out and first.out != other.out
    docs = [json.loads(line) for line in first.lines]
    assert len(docs) == 5 and all(d["event"] for d in docs)


def test_generated_output_validates_through_the_cli(cli: Cli) -> None:
    stream = cli("generate", "powunity", "webhook", "-n", "20", "--seed", "1").out.encode()
    result = cli("schemas", "validate", "powunity", "webhook", "-", stdin=stream)
    assert result.code == 0, result.out
    assert result.lines[-1] == "all 20 valid (powunity webhook)"


def test_generate_invalid_is_labelled_and_fails_validation(cli: Cli) -> None:
    result = cli("generate", "mettax", "gps", "-n", "10", "--invalid", "--seed", "5")
    assert result.code == 0
    rows = [json.loads(line) for line in result.lines]
    assert all({"rule", "path", "description"} == row["violation"].keys() for row in rows)
    described = [row["violation"]["description"] for row in rows]
    assert not any(" a integer" in d or " a array" in d or " a object" in d for d in described), described
    payloads = "\n".join(json.dumps(row["payload"]) for row in rows).encode()
    check = cli("schemas", "validate", "mettax", "gps", "-", stdin=payloads)
    assert check.code == 1
    assert check.lines[-1] == "0 of 10 valid (mettax gps)"


def test_validate_reports_path_expected_actual(cli: Cli, tmp_path: Path) -> None:
    doc = {"event": "SPEEDING", "severity": "WARNING", "objectId": "SGO-ABC1234", "plate": "ABC-1234",
           "speed": 95, "limit": 80, "lat": 91, "lng": -43.9333, "timestamp": "2026-03-03T10:32:00Z"}
    path = tmp_path / "event.json"
    path.write_text(json.dumps(doc))
    result = cli("schemas", "validate", "smartgps", "event", str(path))
    assert result.code == 1
    assert f"{path}:1: /lat: expected maximum 90, got 91" in result.lines


def test_validate_mettax_envelope_checks_the_inner_string(cli: Cli) -> None:
    good = {"data": json.dumps({"actual": True, "num": 9, "lon": 113.938709, "deviceId": "105045133913",
                                "speed": 0, "reportCt": 1724822445, "course": 154, "deviceCt": 1724793630,
                                "id": "105045133913_1234567893043003392", "lat": 22.577894})}
    assert cli("schemas", "validate", "mettax", "envelope", "-", stdin=json.dumps(good).encode()).code == 0
    bad = {"data": '{"deviceId": "105045133913", "lat": "north"'}
    result = cli("schemas", "validate", "mettax", "envelope", "-", stdin=json.dumps(bad).encode())
    assert result.code == 1 and "/data" in result.out


def test_sign_matches_the_samsara_vector(cli: Cli) -> None:
    result = cli("sign", "samsara", "--secret", SAMSARA_SECRET, "--timestamp", "1587597109", stdin=SAMSARA_BODY)
    assert result.code == 0
    assert "X-Samsara-Timestamp: 1587597109" in result.lines
    assert f"X-Samsara-Signature: {SAMSARA_SIG}" in result.lines


def test_a_timestamp_in_milliseconds_is_signed_as_given_with_a_note(cli: Cli) -> None:
    result = cli("sign", "samsara", "--secret", SAMSARA_SECRET, "--timestamp", "1587597109000", stdin=SAMSARA_BODY)
    assert result.code == 0 and "X-Samsara-Timestamp: 1587597109000" in result.out
    assert "if you meant milliseconds, that is --timestamp 1587597109" in result.err
    seconds = cli("sign", "samsara", "--secret", SAMSARA_SECRET, "--timestamp", "1587597109", stdin=SAMSARA_BODY)
    assert seconds.err == ""


def test_shopify_style_base64_without_prefix_reproduces_its_vector(cli: Cli) -> None:
    # provider-facts §6: secret "hush", this body, bare standard base64 in X-Shopify-Hmac-Sha256
    body = b'{"id":1,"topic":"orders/create"}'
    style = ["--secret", "hush", "--header-name", "X-Shopify-Hmac-Sha256", "--prefix", "", "--encoding", "base64"]
    signed = cli("sign", "hmac-sha256", *style, stdin=body)
    assert signed.code == 0 and signed.lines == ["X-Shopify-Hmac-Sha256: rlYwtxSz64KhPygOLXbekmzsjq0OqrcotnlUzAe2yuQ="]
    ok = cli("verify", "hmac-sha256", *style, "--header", signed.lines[0], stdin=body)
    assert ok.code == 0, ok.out + ok.err
    hexed = cli("verify", "hmac-sha256", *style[:-2], "--header", signed.lines[0], stdin=body)
    assert hexed.code == 1  # the default encoding (hex) reads it as malformed


def test_sign_smartgps_vector(cli: Cli) -> None:
    body = b'{"event":"SPEEDING","objectId":"SGO-ABC1234","speed":95,"limit":80}'
    result = cli("sign", "smartgps", "--secret", "smartgps-test-secret", stdin=body)
    expected = "sha256=0a232545305d18c55760c760865ffd7d69fd8593a0414ab50e98c01392401958"
    assert f"X-SmartGPS-Signature: {expected}" in result.lines


def _verify(cli: Cli, *extra: str, body: bytes = SAMSARA_BODY, secret: str = SAMSARA_SECRET,
            now: str = "1587597200") -> CliResult:
    return cli("verify", "samsara", "--secret", secret, "--header", "X-Samsara-Timestamp: 1587597109",
               *extra, "--now", now, stdin=body)


def test_verify_accepts_the_vector(cli: Cli) -> None:
    result = _verify(cli, "--header", f"X-Samsara-Signature: {SAMSARA_SIG}")
    assert result.code == 0 and result.out.startswith("valid")


def test_verify_failures_say_why(cli: Cli) -> None:
    sig = ("--header", f"x-samsara-signature: {SAMSARA_SIG}")  # header names are case-insensitive
    changed = _verify(cli, *sig, body=SAMSARA_BODY.replace(b"Ping", b"Pong"))
    assert changed.code == 1 and "mismatch" in changed.out
    wrong_secret = _verify(cli, *sig, secret="d3Jvbmctc2VjcmV0")
    assert wrong_secret.code == 1 and "mismatch" in wrong_secret.out and "d3Jvbmctc2VjcmV0" not in wrong_secret.out
    stale = _verify(cli, *sig, now=str(1587597109 + 301))
    assert stale.code == 1 and "stale" in stale.out
    assert _verify(cli, *sig, now=str(1587597109 + 299)).code == 0
    malformed = _verify(cli, "--header", "X-Samsara-Signature: v1,abc")
    assert malformed.code == 1 and "malformed" in malformed.out
    missing = _verify(cli)
    assert missing.code == 1 and "missing" in missing.out


def test_sign_then_verify_round_trip_for_every_provider(cli: Cli, tmp_path: Path) -> None:
    secrets = {"samsara": SAMSARA_SECRET, "smartgps": "s3cret", "powunity": "Bearer psk-1",
               "standard-webhooks": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "hmac-sha256": "gh-secret"}
    body = b'{"hello":"fleet"}'
    for name, secret in secrets.items():
        signed = cli("sign", name, "--secret", secret, "--timestamp", "1700000000", stdin=body)
        assert signed.code == 0, signed.err
        headers = [a for line in signed.lines for a in ("--header", line)]
        ok = cli("verify", name, "--secret", secret, *headers, "--now", "1700000010", stdin=body)
        assert ok.code == 0, (name, ok.out)
        tampered = cli("verify", name, "--secret", secret, *headers, "--now", "1700000010", stdin=body + b" ")
        # a PowUnity PSK authenticates the sender, not the body: a changed body still passes (by design)
        assert tampered.code == (0 if name == "powunity" else 1), (name, tampered.out)


def test_secret_file_and_env(cli: Cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    secret_file = tmp_path / "secret"
    secret_file.write_text("smartgps-test-secret\n")
    body = b'{"event":"SPEEDING","objectId":"SGO-ABC1234","speed":95,"limit":80}'
    from_file = cli("sign", "smartgps", "--secret-file", str(secret_file), stdin=body)
    monkeypatch.setenv("SGP_SECRET", "smartgps-test-secret")
    from_env = cli("sign", "smartgps", "--secret-env", "SGP_SECRET", stdin=body)
    assert from_file.out == from_env.out and "0a232545" in from_file.out


def test_python_dash_m_and_console_script_work() -> None:
    module = subprocess.run([sys.executable, "-m", "simulator", "providers", "--json"], capture_output=True,
                            text=True, check=False)
    assert module.returncode == 0 and json.loads(module.stdout)
    script = Path(sys.executable).with_name("fleetsim")
    proc = subprocess.run([str(script), "generate", "nope", "x"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "unknown provider" in proc.stderr and "Traceback" not in proc.stderr


def test_demo_runs_against_the_reference_receiver(cli: Cli) -> None:
    result = cli("demo", "--rate", "x3000", "--quiet")
    assert result.code == 0, result.out + result.err
    assert "accounting: OK" in result.out
    assert "what the reference receiver made of it" in result.out
    assert "tampered signature: sent" in result.out and "accepted 0" in result.out


def test_demo_tls_delivers_over_verified_https(cli: Cli) -> None:
    result = cli("demo", "--rate", "x3000", "--quiet", "--tls")
    assert result.code == 0, result.out + result.err
    assert "reference receiver listening on https://127.0.0.1:" in result.err, result.err
    assert "accounting: OK" in result.out and "tls_error" not in result.out
    assert "what the reference receiver made of it" in result.out  # its view was read over https too


def test_run_writes_reports_and_exits_by_outcome(cli: Cli, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    json_path, junit_path, capture = tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "c.ndjson"
    ok = cli("run", DEMO, "--rate", "max", "--limit", "40", "--quiet", "--report", f"json:{json_path}",
             "--report", f"junit:{junit_path}", "--capture", str(capture))
    assert ok.code == 0, ok.out + ok.err
    report = json.loads(json_path.read_text())
    assert report["summary"]["totals"]["delivered"] == 40 and report["invariant"]["ok"]
    assert ET.parse(junit_path).getroot().tag in ("testsuites", "testsuite")
    assert len(capture.read_text().splitlines()) >= 40
    with dropping() as url:  # there, but never an HTTP answer: the events fail (nothing there at all: exit 2)
        down = cli("run", DEMO, "--target", url, "--rate", "max", "--limit", "5", "--quiet", "--timeout", "1")
    assert down.code == 1 and "failed" in down.out and "Traceback" not in down.err


def test_run_misuse(cli: Cli, tmp_path: Path) -> None:
    bad_target = cli("run", DEMO, "--target", "ftp://x")
    assert bad_target.code == 2 and "http://" in bad_target.err
    bad_report = cli("run", DEMO, "--report", "jsn:out.json")
    assert bad_report.code == 2 and "did you mean 'json'" in bad_report.err
    bad_rate = cli("run", DEMO, "--rate", "fast")
    assert bad_rate.code == 2 and "--rate" in bad_rate.err
    missing = cli("replay", str(tmp_path / "none.ndjson"), "--target", "http://127.0.0.1:9")
    assert missing.code == 2 and "no such file" in missing.err
    garbage = tmp_path / "garbage.ndjson"
    garbage.write_text('{"url": "http://x/samsara", "headers": {}, "body": "{}"}\nnot json\n')
    bad_line = cli("replay", str(garbage), "--target", "http://127.0.0.1:9")
    assert bad_line.code == 2 and f"{garbage}:2" in bad_line.err
    empty = tmp_path / "empty.ndjson"
    empty.write_text("\n\n")  # the wrong file, or a run that captured nothing: not "replayed 0 requests"
    no_requests = cli("replay", str(empty), "--target", "http://127.0.0.1:9")
    assert no_requests.code == 2 and f"{empty}: the capture holds no requests" in no_requests.err
    assert no_requests.out == ""


def test_generate_scenario_streams_records(cli: Cli) -> None:
    result = cli("generate", "--scenario", DEMO, "--limit", "50")
    assert result.code == 0, result.err
    records = [json.loads(line) for line in result.lines]
    assert len(records) == 50
    assert [r["seq"] for r in records] == sorted(r["seq"] for r in records)
    for r in records:
        assert r["send_at"].endswith("Z") and isinstance(r["body"], str)
    again = cli("generate", "--scenario", DEMO, "--limit", "50")
    assert again.out == result.out


def test_generate_scenario_provider_filter(cli: Cli) -> None:
    result = cli("generate", "samsara", "--scenario", DEMO, "--limit", "5")
    assert result.code == 0
    assert {json.loads(line)["provider"] for line in result.lines} == {"samsara"}
    assert all("X-Samsara-Signature" in json.loads(line)["headers"] for line in result.lines)


def test_generate_scenario_masks_credential_headers_unless_asked(cli: Cli, tmp_path: Path) -> None:
    # PowUnity's PSK is its Authorization header and a MettaX token is sent as it is: a stream on a terminal or
    # in a CI log must not carry them; signatures are no secret and stay
    scenario = tmp_path / "s.yaml"
    text = Path(DEMO).read_text().replace("fleetsim-demo-psk", "pow-psk-canary-31")
    scenario.write_text(text.replace("mettax: {envelope: json}", "mettax: {envelope: json, token: mtx-token-canary-42, "
                                     "token_header: X-Api-Token}"))
    masked = cli("generate", "--scenario", str(scenario), "--limit", "3000", "--workers", "2")
    kept = cli("generate", "--scenario", str(scenario), "--limit", "3000", "--keep-secrets")
    assert masked.code == kept.code == 0, masked.err + kept.err
    assert "canary" not in masked.out and "canary" not in masked.err
    pairs = [(json.loads(a), json.loads(b)) for a, b in zip(masked.lines, kept.lines, strict=True)]
    by_provider = {a["provider"]: (a["headers"], b["headers"]) for a, b in pairs if a["headers"]}
    assert by_provider["powunity"][0]["Authorization"] == "<redacted>"
    assert by_provider["powunity"][1]["Authorization"] == "Bearer pow-psk-canary-31"
    assert by_provider["powunity"][0]["X-PowTxn"] == by_provider["powunity"][1]["X-PowTxn"]  # an id, no secret
    assert by_provider["mettax"][0]["X-Api-Token"] == "<redacted>"
    assert by_provider["mettax"][1]["X-Api-Token"] == "mtx-token-canary-42"
    assert by_provider["samsara"][0] == by_provider["samsara"][1]  # a signature stays
    # nothing else differs: the same records, bodies and all
    assert all({**a, "headers": None} == {**b, "headers": None} for a, b in pairs)


def test_generate_scenario_misuse(cli: Cli, tmp_path: Path) -> None:
    missing = cli("generate", "--scenario", str(tmp_path / "none.yaml"))
    assert missing.code == 2 and "none.yaml" in missing.err and "Traceback" not in missing.err
    absent = cli("generate", "samsara", "--scenario", str(scenarios_dir() / "smartgps-truck-fleet.yaml"))
    assert absent.code == 2 and "has no samsara devices" in absent.err
    typo = cli("generate", "samsra", "--scenario", DEMO)
    assert typo.code == 2 and "did you mean 'samsara'" in typo.err
    both = cli("generate", "mettax", "gps", "--scenario", DEMO)
    assert both.code == 2
    limit = cli("generate", "mettax", "gps", "--limit", "3")
    assert limit.code == 2 and "--limit" in limit.err


def test_generate_scenario_seed_replaces_the_scenarios_seed(cli: Cli) -> None:
    default = cli("generate", "--scenario", DEMO, "--limit", "30")
    seeded = cli("generate", "--scenario", DEMO, "--limit", "30", "--seed", "99")
    again = cli("generate", "--scenario", DEMO, "--limit", "30", "--seed", "99")
    other = cli("generate", "--scenario", DEMO, "--limit", "30", "--seed", "100")
    assert seeded.code == 0 and again.out == seeded.out
    assert seeded.out != default.out and seeded.out != other.out
    assert all(json.loads(line)["event_id"].startswith("demo-city-99-") for line in seeded.lines)
    # the scenario's own seed, given explicitly, changes nothing
    own = cli("generate", "--scenario", DEMO, "--limit", "30", "--seed", str(load_scenario(DEMO).seed))
    assert own.out == default.out


def test_generate_scenario_misuse_names_the_real_way_to_filter(cli: Cli) -> None:
    result = cli("generate", "mettax", "gps", "--scenario", DEMO)
    assert result.code == 2 and "--provider" not in result.err
    assert "fleetsim generate PROVIDER --scenario FILE" in result.err


def test_sign_and_verify_mettax_say_it_signs_nothing(cli: Cli) -> None:
    for extra in ((), ("--secret", "anything")):
        signed = cli("sign", "mettax", *extra, stdin=b"{}")
        assert signed.code == 0 and signed.out == "", signed.err
        assert signed.err.count("\n") == 1 and "mettax signs nothing: there are no headers to add" in signed.err
        checked = cli("verify", "mettax", *extra, "--header", "X-Any: 1", stdin=b"{}")
        assert checked.code == 0 and checked.out == "", checked.err
        assert checked.err.count("\n") == 1 and "mettax signs nothing: there is nothing to verify" in checked.err
    assert "the secret given is not used" in cli("sign", "mettax", "--secret", "s").err


def test_sign_mettax_still_reports_an_unreadable_body_file(cli: Cli, tmp_path: Path) -> None:
    result = cli("sign", "mettax", "--body-file", str(tmp_path / "missing.json"))
    assert result.code == 2 and "no such file" in result.err
