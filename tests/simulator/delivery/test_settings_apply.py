"""A provider setting means the same wherever it is written: each one, given in a `--settings` file over a
scenario that says otherwise (or nothing), changes what goes on the wire. Real runs against a recording
receiver; the merge is the one `fleetsim run` does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from simulator.delivery.runner import RunConfig, Runner
from simulator.scenario.model import Rate
from simulator.settings import load_settings, merge_settings
from simulator.signing import Secret

from . import hostile
from .test_runner import _recorder, tiny

Requests = list[tuple[str, dict[str, str], bytes]]
OTHER_SW = "whsec_" + base64.b64encode(b"another-standard-webhooks-key-01").decode()
OTHER_SAMSARA = base64.b64encode(b"another-samsara-key-0001").decode()


def _samsara_signed_with(secret_b64: str) -> Callable[[Requests], None]:
    def check(requests: Requests) -> None:
        key = base64.b64decode(secret_b64)
        for _, headers, body in requests:
            ts = headers["X-Samsara-Timestamp"]
            mac = hmac.new(key, f"v1:{ts}:".encode() + body, hashlib.sha256).hexdigest()
            assert headers["X-Samsara-Signature"] == f"v1={mac}"
    return check


def _smartgps_signed_with(secret: str) -> Callable[[Requests], None]:
    def check(requests: Requests) -> None:
        for _, headers, body in requests:
            mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            assert headers["X-SmartGPS-Signature"] == f"sha256={mac}"
    return check


def _standard_signed_with(secret: str) -> Callable[[Requests], None]:
    def check(requests: Requests) -> None:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        assert requests
        for _, headers, body in requests:
            signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
            mac = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
            assert headers["webhook-signature"] == f"v1,{mac}"
    return check


def _all(predicate: Callable[[str, dict[str, str], bytes], bool]) -> Callable[[Requests], None]:
    def check(requests: Requests) -> None:
        assert requests and all(predicate(path, headers, body) for path, headers, body in requests)
    return check


def _powunity_types(requests: Requests) -> None:
    types = {json.loads(body)["event"]["type"] for _, _, body in requests}
    assert types == {"deviceStopped"}, types


CASES: dict[str, tuple[str, str, Callable[[Requests], None]]] = {
    # name: (provider, settings file line, what the wire must show)
    "samsara.secret": ("samsara", f'samsara: {{secret: "{OTHER_SAMSARA}"}}', _samsara_signed_with(OTHER_SAMSARA)),
    "samsara.payload_version": ("samsara", "samsara: {payload_version: 2}",
                                _all(lambda p, h, b: "eventTime" in json.loads(b) and "eventMs" not in json.loads(b))),
    "samsara.org_id": ("samsara", "samsara: {org_id: 777}",
                       _all(lambda p, h, b: h.get("X-Samsara-Org-Id") == "777")),
    "samsara.user_agent": ("samsara", "samsara: {user_agent: Probe/9}",
                           _all(lambda p, h, b: h.get("User-Agent") == "Probe/9")),
    "smartgps.secret": ("smartgps", 'smartgps: {secret: "settings-secret"}', _smartgps_signed_with("settings-secret")),
    "powunity.psk": ("powunity", 'powunity: {psk: "Bearer from-settings"}',
                     _all(lambda p, h, b: h.get("Authorization") == "Bearer from-settings")),
    "powunity.webhook_types": ("powunity", "powunity: {webhook_types: [deviceStopped]}", _powunity_types),
    "mettax.envelope": ("mettax", "mettax: {envelope: form}",
                        _all(lambda p, h, b: h["Content-Type"] == "application/x-www-form-urlencoded"
                             and b.startswith(b"data="))),
    "mettax.token": ("mettax", 'mettax: {token: "tok-from-settings"}',
                     _all(lambda p, h, b: h.get("Authorization") == "tok-from-settings")),
    "mettax.token_header": ("mettax", 'mettax: {token: "t0k", token_header: X-Token}',
                            _all(lambda p, h, b: h.get("X-Token") == "t0k" and "Authorization" not in h)),
    "standard_webhooks.secret": ("standard_webhooks", f'standard_webhooks: {{secret: "{OTHER_SW}"}}',
                                 _standard_signed_with(OTHER_SW)),
    "url": ("smartgps", "smartgps: {url: URL/elsewhere/hooks}", _all(lambda p, h, b: p == "/elsewhere/hooks")),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_settings_file_overrides_the_scenario(tmp_path: Path, case: str) -> None:
    provider, line, check = CASES[case]
    recorder, server, url = await _recorder()
    try:
        path = tmp_path / "settings.yaml"
        path.write_text(f"providers:\n  {line.replace('URL', url)}\n")
        scenario = tiny(provider)
        settings = merge_settings(scenario.delivery.providers, load_settings(path))
        limit = 40 if case == "powunity.webhook_types" else 6
        runner = Runner(RunConfig(scenario=scenario, target=url, settings=settings, rate=Rate("max"),
                                  concurrency=4, time_scale=1e6, timeout_s=5.0, limit=limit))
        await runner.run()
    finally:
        await server.cleanup()
    assert runner.summary()["invariant"]["ok"]
    check(recorder.requests)


async def test_a_settings_file_overrides_the_retry_schedule(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text('providers:\n  smartgps: {retry: ["1ms", "1ms"]}\n')  # the scenario's default: no retries
    scenario = tiny("smartgps")
    settings = merge_settings(scenario.delivery.providers, load_settings(path))
    async with hostile.error_500() as url:
        runner = Runner(RunConfig(scenario=scenario, target=url, settings=settings, rate=Rate("max"),
                                  concurrency=2, time_scale=1.0, timeout_s=5.0, limit=3))
        await runner.run()
    totals = runner.summary()["totals"]
    assert totals["failed"] == 3 and totals["attempts"] == 9


def test_every_setting_in_the_scenario_schema_has_a_case() -> None:
    from simulator.resources import schemas_dir

    schema = json.loads((schemas_dir() / "scenario.schema.json").read_text())
    declared: set[str] = set()
    for provider, sub in schema["$defs"]["delivery"]["properties"]["providers"]["properties"].items():
        declared |= {f"{provider}.{key}" for key in sub.get("properties", {}) if not key.endswith("_env")}
    declared = {"powunity.psk" if d == "powunity.secret" else d for d in declared}
    # url, retry and retry_jitter are every provider's: their wire effect is tested once, on one provider
    common = {d for d in declared if d.split(".")[1] in ("url", "retry", "retry_jitter")}
    covered: set[Any] = set(CASES) | set(REACHES_THE_STREAM) | set(SERVED) | common
    assert declared <= covered, declared - covered


#: settings only `fleetsim serve` reads (the API it plays, not the webhooks): each is exercised by the served
#: platform's own tests, named here
SERVED: dict[str, str] = {
    "smartgps.api_client_id": "servers/smartgps/test_serve_cli.py",
    "smartgps.api_client_secret": "servers/smartgps/test_serve_cli.py",
    "smartgps.api_token_ttl_s": "servers/smartgps/test_rest.py",
    "smartgps.api_rate_limit": "servers/smartgps/test_rest.py",
}


@pytest.mark.parametrize("setting", sorted(SERVED))
def test_a_served_setting_is_exercised_by_its_platforms_tests(setting: str) -> None:
    text = (Path(__file__).resolve().parents[1] / SERVED[setting]).read_text(encoding="utf-8")
    assert setting.split(".", 1)[1] in text


#: settings whose effect needs a long scenario to show on the wire: proven to reach the renderers unchanged
REACHES_THE_STREAM: dict[str, tuple[str, str, Any]] = {
    "samsara.webhook_id": ("samsara", 'samsara: {webhook_id: "424242"}', "424242"),
    "samsara.movement_alerts": ("samsara", "samsara: {movement_alerts: true}", True),
    "powunity.id_stride": ("powunity", "powunity: {id_stride: 5000}", 5000),
    "powunity.id_base": ("powunity", "powunity: {id_base: 1073741824}", 1073741824),
    "powunity.initially_armed": ("powunity", "powunity: {initially_armed: true}", True),
    "powunity.b2b": ("powunity", "powunity: {b2b: false}", False),
    "powunity.offline_after_s": ("powunity", "powunity: {offline_after_s: 120}", 120),
    "powunity.status_timeout_s": ("powunity", "powunity: {status_timeout_s: 90}", 90),
    "powunity.profile": ("powunity", "powunity: {profile: traccar-6}", "traccar-6"),
    "powunity.status_events": ("powunity", "powunity: {status_events: false}", False),
    "powunity.geofence_areas": ("powunity", 'powunity: {geofence_areas: {yard: "CIRCLE (1 2, 30)"}}',
                                {"yard": "CIRCLE (1 2, 30)"}),
    # read by fleetsim serve (tests/simulator/servers/traccar/test_accounts.py, test_visibility.py); the
    # password arrives as a Secret, so no report or capture of the run can show it
    "powunity.accounts": ("powunity", "powunity: {accounts: [{email: a@b.c, password: pw-123456}]}",
                          [{"email": "a@b.c", "password": Secret(b"pw-123456")}]),
    "powunity.web_notifications": ("powunity", "powunity: {web_notifications: [alarm]}", ["alarm"]),
    "mettax.speeding_alarm": ("mettax", "mettax: {speeding_alarm: overspeed}", "overspeed"),
    "mettax.speeding_end_alarm": ("mettax", "mettax: {speeding_end_alarm: overspeedEnd}", "overspeedEnd"),
}


@pytest.mark.parametrize("case", sorted(REACHES_THE_STREAM))
def test_a_settings_file_setting_reaches_the_stream(tmp_path: Path, case: str) -> None:
    provider, line, value = REACHES_THE_STREAM[case]
    path = tmp_path / "settings.yaml"
    path.write_text(f"providers:\n  {line}\n")
    scenario = tiny(provider)
    runner = Runner(RunConfig(scenario=scenario, target="http://127.0.0.1:9", rate=Rate("max"),
                              settings=merge_settings(scenario.delivery.providers, load_settings(path))))
    # the stream renders from the runner's scenario: the key must be there, as written
    assert runner.config.scenario.delivery.providers[provider][case.split(".")[1]] == value
