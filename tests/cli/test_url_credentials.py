"""Credentials in a target URL go as `Authorization: Basic`; a provider that sends its own Authorization header
(PowUnity's PSK, a MettaX token) cannot carry both. That is one usage error before any work, naming the
provider, never a failed request per event (docs/delivery.md, "Secrets")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from simulator.delivery.urls import check_url_credentials
from simulator.errors import UsageError
from simulator.providers import PROVIDERS
from simulator.signing import SIGNERS
from tests.conftest import CliResult

from .listeners import dropping
from .test_cli_errors import assert_usage_error

Cli = Callable[..., CliResult]
ROOT = Path(__file__).resolve().parents[2]
PSK = "Bearer fleetsim-test-psk"


def _secret(provider: str, text: str) -> Any:
    return SIGNERS[PROVIDERS[provider].signing].parse_secret(text)


@pytest.mark.parametrize(("provider", "settings", "names"), [
    ("powunity", {"secret": PSK}, {"authorization"}),  # X-PowTxn is a delivery id: it authenticates nothing
    ("powunity", {}, set()),
    ("samsara", {"secret": "c2Ftc2FyYS10ZXN0LXNlY3JldC0wMDAx"}, {"x-samsara-timestamp", "x-samsara-signature"}),
    ("mettax", {"token": "t0ken"}, {"authorization"}),
    ("mettax", {"token": "t0ken", "token_header": "X-Api-Token"}, {"x-api-token"}),
    ("mettax", {}, set()),
])
def test_a_provider_names_the_headers_it_authenticates_with(provider: str, settings: dict[str, Any],
                                                            names: set[str]) -> None:
    if "secret" in settings:
        settings = {**settings, "secret": _secret(provider, settings["secret"])}
    assert PROVIDERS[provider].auth_header_names(settings) == names


@pytest.mark.parametrize(("url", "names", "refused"), [
    ("http://u:p@h/powunity", {"authorization"}, True),
    ("http://tok3n@h/powunity", {"authorization"}, True),  # a user-only userinfo is Basic auth too
    ("http://h/powunity", {"authorization"}, False),
    ("http://u:p@h/samsara", {"x-samsara-signature"}, False),
])
def test_credentials_in_the_url_are_refused_only_beside_an_authorization_header(
        url: str, names: set[str], refused: bool) -> None:
    if not refused:
        check_url_credentials(url, "--target", "acme", names)
        return
    with pytest.raises(UsageError) as caught:
        check_url_credentials(url, "--target", "acme", names)
    message = str(caught.value)
    assert message.startswith("--target: acme sends its own Authorization header") and "p@" not in message
    assert "tok3n" not in message


@pytest.mark.parametrize("command", [
    ("run", "demo-city", "--limit", "3"),
    ("check", "--provider", "powunity"),
    ("check", "--provider", "all"),
])
def test_a_powunity_target_with_credentials_is_one_line_and_exit_2(cli: Cli, command: tuple[str, ...]) -> None:
    with dropping(must_be_used=False) as url:  # nothing may be sent: the mistake is found first
        result = cli(*command, "--target", url.replace("http://", "http://hooks:hunter2pass@"))
    assert_usage_error(result, "--target: powunity sends its own Authorization header", "remove them from the URL")
    assert "hunter2pass" not in result.err and result.out == ""


def test_powunity_may_have_a_url_of_its_own_beside_a_target_with_credentials(cli: Cli, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    with dropping(must_be_used=False) as elsewhere:
        settings = tmp_path / "settings.yaml"
        settings.write_text(f"providers:\n  powunity:\n    url: {elsewhere}/pow\n    psk: '{PSK}'\n")
        result = cli("run", "demo-city", "--settings", str(settings), "--target",
                     elsewhere.replace("http://", "http://hooks:hunter2pass@"), "--limit", "3", "--report",
                     f"json:{report}")
    # past the check: the run went ahead (the dropping receiver fails its deliveries, which is exit 1)
    assert result.code in (0, 1), result.err
    assert "Authorization header" not in result.err


def _powunity_capture(cli: Cli, tmp_path: Path) -> Path:
    capture = tmp_path / "pow.ndjson"
    made = cli("run", "powunity-ebike-theft", "--limit", "3", "--capture", str(capture), "--quiet")
    assert made.code == 0, made.err
    assert '"Authorization":"<redacted>"' in capture.read_text()  # the PSK never reaches a capture
    return capture


def test_replay_resigned_to_a_target_with_credentials_is_one_line_and_exit_2(cli: Cli, tmp_path: Path) -> None:
    capture = _powunity_capture(cli, tmp_path)
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"providers:\n  powunity:\n    psk: '{PSK}'\n")
    with dropping(must_be_used=False) as url:
        result = cli("replay", str(capture), "--resign", "--settings", str(settings), "--target",
                     url.replace("http://", "http://hooks:hunter2pass@"))
    assert_usage_error(result, "--target: powunity (capture line 1) sends its own Authorization header",
                       "remove them from the URL")
    assert "url of its own" not in result.err and "hunter2pass" not in result.err


def test_replay_without_resign_sends_no_authorization_of_its_own_so_credentials_may_go(
        cli: Cli, tmp_path: Path) -> None:
    capture = _powunity_capture(cli, tmp_path)
    with dropping(must_be_used=False) as url:  # the redacted PSK is dropped: Basic auth is the only one
        result = cli("replay", str(capture), "--target", url.replace("http://", "http://hooks:hunter2pass@"),
                     "--timeout", "1")
    assert result.code == 1, result.err  # past the check; the dropping receiver fails each request
    assert "Authorization header" not in result.err and "hunter2pass" not in result.out + result.err


def test_replay_of_a_capture_with_a_masked_query_key_needs_the_url_setting_that_holds_it(
        cli: Cli, tmp_path: Path) -> None:
    capture = tmp_path / "fn.ndjson"
    # what `run --capture` writes for a provider whose url carries an Azure Functions key: the key masked
    capture.write_text('{"event_id": "e-1", "provider": "samsara", "url": "https://fn.example/api/samsara?code=***", '
                       '"headers": {"Content-Type": "application/json"}, "body": "{}"}\n')
    with dropping(must_be_used=False) as url:
        refused = cli("replay", str(capture), "--target", url)
        settings = tmp_path / "settings.yaml"
        settings.write_text("providers:\n  samsara: {url: '/api/samsara?code=AzF-k3y'}\n")
        given = cli("replay", str(capture), "--target", url, "--settings", str(settings), "--timeout", "1")
    assert_usage_error(refused, f"{capture}:1: url: the query's 'code' was masked when captured",
                       "providers: {samsara: {url: '/api/samsara?code=VALUE'}}")
    assert given.code == 1, given.err  # past the check: the dropping receiver fails the request
    assert "AzF-k3y" not in given.out + given.err
