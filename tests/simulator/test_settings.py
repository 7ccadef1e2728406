"""Settings files (--settings FILE): valid files, every problem at file:line:col, secrets never echoed."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from simulator.errors import EXIT_USAGE, ScenarioError, UsageError
from simulator.settings import Settings, load_settings, merge_settings
from simulator.signing import Secret

SAMSARA_SECRET = base64.b64encode(b"settings-test-samsara-key").decode()
VALID = f"""\
providers:
  samsara: {{secret: "{SAMSARA_SECRET}", url: "https://rx.example.com/samsara", retry: standard-webhooks,
             payload_version: 1, org_id: 4000}}
  smartgps: {{secret_env: SMARTGPS_SECRET, retry: [5s, 5m, 30m]}}
  powunity: {{psk: "Bearer settings-psk", webhook_types: [alarm, geofenceExit]}}
  mettax: {{envelope: json, token: "settings-token", url: "http://127.0.0.1:8080/mettax"}}
"""
ENV = {"SMARTGPS_SECRET": "settings-smartgps-secret"}


def write(tmp_path: Path, text: str, name: str = "settings.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_settings(path, env=env or {})
    assert isinstance(info.value, UsageError) and info.value.exit_code == EXIT_USAGE
    return str(info.value)


def test_a_valid_file_parses_secrets_and_keeps_the_rest(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, VALID), env=ENV)
    p = settings.providers
    assert set(p) == {"samsara", "smartgps", "powunity", "mettax"}
    assert p["samsara"]["secret"] == Secret(b"settings-test-samsara-key")
    assert dict(p["samsara"]) == {"secret": p["samsara"]["secret"], "url": "https://rx.example.com/samsara",
                                  "retry": "standard-webhooks", "payload_version": 1, "org_id": 4000}
    assert p["smartgps"] == {"secret": Secret(b"settings-smartgps-secret"), "retry": ["5s", "5m", "30m"]}
    assert p["powunity"]["secret"] == Secret(b"Bearer settings-psk") and "psk" not in p["powunity"]
    assert p["powunity"]["webhook_types"] == ["alarm", "geofenceExit"]
    # a token is a credential: a Secret from the moment it is loaded (repr cannot show it)
    assert p["mettax"]["token"] == Secret(b"settings-token") and "settings-token" not in repr(p["mettax"]["token"])
    assert p["mettax"]["envelope"] == "json"
    shown = repr(settings)
    assert "settings-token" not in shown and "psk" not in shown and SAMSARA_SECRET not in shown


def test_an_empty_providers_mapping_is_fine(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "providers: {}\n"), env={}).providers == {}


def test_an_unknown_provider_gets_a_did_you_mean(tmp_path: Path) -> None:
    text = problems(tmp_path, "providers:\n  samsra: {secret: abc}\n")
    assert "settings.yaml:2:3: providers.samsra: unknown provider 'samsra'; did you mean 'samsara'?" in text
    assert "known: mettax, powunity, samsara, smartgps" in text
    assert "drivers_api" not in text  # not a webhook provider


def test_a_bad_base64_secret_is_reported_without_echoing_it(tmp_path: Path) -> None:
    secret = "this-is-not-base64!!"
    text = problems(tmp_path, f'providers:\n  samsara: {{secret: "{secret}"}}\n')
    assert "settings.yaml:2:21: providers.samsara.secret: Samsara secrets are base64" in text
    assert secret not in text


def test_secrets_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  samsara: {secret_env: SAMSARA_SECRET}\n  powunity: {psk_env: PSK}\n")
    settings = load_settings(path, env={"SAMSARA_SECRET": SAMSARA_SECRET, "PSK": "Bearer env-psk"})
    assert settings.providers["samsara"]["secret"] == Secret(b"settings-test-samsara-key")
    assert settings.providers["powunity"]["secret"] == Secret(b"Bearer env-psk")
    text = problems(tmp_path, "providers:\n  samsara: {secret_env: SAMSARA_SECRET}\n")
    assert "providers.samsara.secret_env: environment variable SAMSARA_SECRET is not set" in text
    # a bad secret in the variable is refused without showing it
    text = problems(tmp_path, "providers:\n  samsara: {secret_env: S}\n", env={"S": "not base64 at all"})
    assert "base64" in text and "not base64 at all" not in text


def test_one_settings_file_serves_jobs_that_each_hold_only_their_own_secrets(tmp_path: Path) -> None:
    # a CI job checking samsara alone has no SMARTGPS_SECRET: the shared file must not stop it
    path = write(tmp_path, "providers:\n  samsara: {secret_env: SAMSARA_SECRET}\n"
                           "  smartgps: {secret_env: SMARTGPS_SECRET, retry_jitter: false}\n")
    env = {"SAMSARA_SECRET": SAMSARA_SECRET}
    settings = load_settings(path, env=env, used={"samsara"})
    assert settings.providers["samsara"]["secret"] == Secret(b"settings-test-samsara-key")
    assert "secret" not in settings.providers["smartgps"] and settings.providers["smartgps"]["retry_jitter"] is False
    with pytest.raises(ScenarioError, match="SMARTGPS_SECRET is not set"):  # a provider the job uses: said
        load_settings(path, env=env, used={"samsara", "smartgps"})
    with pytest.raises(ScenarioError, match="SMARTGPS_SECRET is not set"):  # used=None: every provider may be
        load_settings(path, env=env)


@pytest.mark.parametrize(("url", "expected"), [
    ("ftp://rx.example.com/x", "expected an http:// or https:// URL, found a 'ftp' URL"),
    ("rx.example.com/samsara", "expected an http:// or https:// URL, found no http(s) scheme"),
    ("https://", "the URL has no host"),
    ("https://rx.example.com:99999/x", "not a valid URL"),
    ("https://rx.example.com/a b", "spaces or control characters"),
])
def test_bad_urls(tmp_path: Path, url: str, expected: str) -> None:
    text = problems(tmp_path, f'providers:\n  smartgps: {{url: "{url}"}}\n')
    assert "settings.yaml:2:19: providers.smartgps.url: " in text and expected in text
    assert url == "https://" or url not in text  # a URL may carry credentials: never quoted


def test_url_credentials_are_never_echoed(tmp_path: Path) -> None:
    text = problems(tmp_path, 'providers:\n  smartgps: {url: "ftp://user:hunter2@rx.example.com/"}\n')
    assert "hunter2" not in text


def test_retry_schedules(tmp_path: Path) -> None:
    text = problems(tmp_path, "providers:\n  samsara: {retry: exponental}\n")
    assert "providers.samsara.retry: unknown retry schedule 'exponental'; did you mean 'exponential'?" in text
    text = problems(tmp_path, "providers:\n  samsara: {retry: [5m, 5s]}\n")
    assert "providers.samsara.retry[1]: retry delays must not decrease" in text
    text = problems(tmp_path, "providers:\n  samsara: {retry: [5 minutes]}\n")
    assert "providers.samsara.retry[0]: expected a duration" in text
    for ok in ("none", "standard-webhooks", "exponential", "[0, 5s, 5m]"):
        path = write(tmp_path, f"providers:\n  samsara: {{retry: {ok}}}\n")
        assert "retry" in load_settings(path, env={}).providers["samsara"]


def test_webhook_types_must_be_traccar_events(tmp_path: Path) -> None:
    text = problems(tmp_path, "providers:\n  powunity: {webhook_types: [alarm, geofenceExt]}\n")
    assert "providers.powunity.webhook_types[1]: unknown Traccar event type 'geofenceExt'; did you mean " \
           "'geofenceExit'?" in text


def test_every_problem_is_reported_in_file_order(tmp_path: Path) -> None:
    text = problems(tmp_path, """\
providers:
  samsara: {secret: "###", url: "gopher://x"}
  mettax: {envelope: xml}
extra: 1
""")
    lines = text.splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "providers.samsara.secret", "providers.samsara.url", "providers.mettax.envelope", "extra"]
    assert "unknown field 'extra'" in lines[-1]


@pytest.mark.parametrize(("text", "expected"), [
    ("", "the file is empty; expected a settings mapping (providers: ...)"),
    ("- a\n", "the top level must be a settings mapping (providers: ...), found a list"),
    ("providers: {}\nproviders: {}\n", "duplicate key 'providers'"),
    ("provider: {}\n", "unknown field 'provider'; did you mean 'providers'?"),
    ("providers:\n  samsara: 5\n", "providers.samsara: expected a mapping"),
    # `providers` itself not a mapping: once an internal error (exit 3) rather than this line
    ("providers: [1, 2]\n", "settings.yaml:1:12: providers: expected a mapping, found a list of 2 items"),
    ("providers:\n", "providers: expected a mapping, found nothing"),
    ("providers: samsara\n", "providers: expected a mapping, found 'samsara'"),
    ("providers: 1.5\n", "providers: expected a mapping, found 1.5"),
    ("providers: [{}]\n", "providers: expected a mapping, found a list of 1 item"),
])
def test_file_level_problems(tmp_path: Path, text: str, expected: str) -> None:
    message = problems(tmp_path, text)
    assert expected in message and "scenario" not in message


def test_size_cap_and_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "providers: {}\n" + "#" * 2000)
    with pytest.raises(ScenarioError, match="settings files are at most 1000 bytes"):
        load_settings(path, env={}, max_bytes=1000)
    with pytest.raises(ScenarioError, match="cannot read the settings file"):
        load_settings(tmp_path / "nope.yaml")


def test_merge_overrides_per_key(tmp_path: Path) -> None:
    base: dict[str, dict[str, Any]] = {
        "samsara": {"payload_version": 2, "org_id": 1, "secret": Secret(b"old")}, "smartgps": {"x": 1}}
    override = load_settings(write(tmp_path, VALID), env=ENV)
    merged = merge_settings(base, override)
    assert merged["samsara"]["payload_version"] == 1 and merged["samsara"]["org_id"] == 4000
    assert merged["samsara"]["secret"] == Secret(b"settings-test-samsara-key")
    assert merged["smartgps"]["x"] == 1 and merged["smartgps"]["secret"] == Secret(b"settings-smartgps-secret")
    assert set(merged) == {"samsara", "smartgps", "powunity", "mettax"}
    assert base["samsara"]["org_id"] == 1  # the inputs are not modified
    assert merge_settings(base, Settings()) == base


@pytest.mark.parametrize(("line", "expected"), [
    ('mettax: {token: "t0k\\nen-x"}', "providers.mettax.token: expected printable ASCII text with no line breaks"),
    ('mettax: {token: " t0ken-x"}', "providers.mettax.token: expected printable ASCII text"),
    ('mettax: {token: "t0k\\u00e9n-x"}', "providers.mettax.token: expected printable ASCII text"),
    ('mettax: {token_header: "X Token"}', "providers.mettax.token_header: expected an HTTP header name"),
])
def test_a_token_that_cannot_be_a_header_is_refused_before_anything_is_sent(
        tmp_path: Path, line: str, expected: str) -> None:
    text = problems(tmp_path, f"providers:\n  {line}\n")
    assert expected in text and "t0k" not in text  # a token is a secret: never quoted


def test_a_credential_of_the_wrong_type_and_a_file_of_plain_text_are_not_quoted(tmp_path: Path) -> None:
    # a numeric api_client_secret was printed ("found 42424242424242"), where psk and password said (redacted);
    # an .env passed as the settings file had its first 37 characters quoted
    text = problems(tmp_path, "providers:\n  smartgps: {secret: abc, api_client_secret: 42424242424242}\n")
    assert "providers.smartgps.api_client_secret: expected text" in text and "42424242424242" not in text
    text = problems(tmp_path, "POW_PSK=Bearer canary-psk-value-1234\n")
    assert "the top level must be a settings mapping" in text and "canary" not in text and "POW_PSK" not in text


def test_a_secret_copied_under_another_key_is_not_quoted_there(tmp_path: Path) -> None:
    text = problems(tmp_path, 'providers:\n  powunity: {psk: "Bearer s3t-psk-77", profile: "Bearer s3t-psk-77"}\n')
    assert "providers.powunity.profile" in text
    assert "s3t-psk" not in text
