"""Every misuse is one clear line on stderr and exit code 2 — never a traceback."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def assert_usage_error(result: CliResult, *needles: str) -> None:
    assert result.code == 2, (result.out, result.err)
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("generate", "samsra", "ping"), ("unknown provider 'samsra'", "did you mean 'samsara'")),
        (("generate", "mettax", "gpz"), ("unknown mettax kind 'gpz'", "did you mean 'gps'")),
        (("generate", "mettax", "gps", "--seed", "abc"), ("--seed", "expected a whole number, got 'abc'")),
        (("generate", "mettax", "gps", "--seed", "-4"), ("--seed",)),
        (("generate", "mettax", "gps", "-n", "0"), ("-n",)),
        (("schemas", "validate", "smartgps", "evnt"), ("unknown smartgps kind 'evnt'", "did you mean 'event'")),
        (("sign", "samsara"), ("a secret is required",)),
        (("sign", "smartgpz", "--secret", "x"), ("unknown provider or signing profile", "did you mean 'smartgps'")),
        (("frobnicate",), ("invalid choice",)),
        ((), ("required",)),
    ],
)
def test_misuse_gives_one_line_and_exit_2(cli: Cli, args: tuple[str, ...], needles: tuple[str, ...]) -> None:
    assert_usage_error(cli(*args), *needles)


def test_bad_secret_encoding_is_reported_without_echoing_it(cli: Cli) -> None:
    secret = "not base64 at all!!"
    result = cli("sign", "samsara", "--secret", secret, stdin=b"{}")
    assert_usage_error(result, "base64")
    assert secret not in result.err


def test_standard_webhooks_secret_needs_prefix(cli: Cli) -> None:
    raw = base64.b64encode(b"k" * 32).decode()
    result = cli("sign", "standard-webhooks", "--secret", raw, stdin=b"{}")
    assert_usage_error(result, "whsec_")
    assert raw not in result.err


def test_unreadable_body_file(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    assert_usage_error(cli("sign", "smartgps", "--secret", "s", "--body-file", str(missing)), str(missing),
                       "no such file")
    assert_usage_error(cli("sign", "smartgps", "--secret", "s", "--body-file", str(tmp_path)), "is a directory")


def test_secret_env_not_set(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEETSIM_NO_SUCH_VAR", raising=False)
    assert_usage_error(cli("sign", "smartgps", "--secret-env", "FLEETSIM_NO_SUCH_VAR"), "FLEETSIM_NO_SUCH_VAR")


def test_invalid_json_names_file_line_and_column(cli: Cli, tmp_path: Path) -> None:
    doc = tmp_path / "broken.json"
    doc.write_text('{"event": "SPEEDING",\n "speed": }\n')
    assert_usage_error(cli("schemas", "validate", "smartgps", "event", str(doc)), f"{doc}:2:", "invalid JSON")


def test_invalid_ndjson_line_is_located(cli: Cli, tmp_path: Path) -> None:
    doc = tmp_path / "stream.ndjson"
    doc.write_text('{"a": 1}\n{"b": 2}\n{"c": \n')
    assert_usage_error(cli("schemas", "validate", "smartgps", "event", str(doc)), f"{doc}:3:")


def test_empty_and_non_utf8_input(cli: Cli) -> None:
    assert_usage_error(cli("schemas", "validate", "smartgps", "event", "-", stdin=b"  \n"), "empty input")
    assert_usage_error(cli("schemas", "validate", "smartgps", "event", "-", stdin=b"\xff\xfe{}"), "not UTF-8")


def test_verify_rejects_a_malformed_header_argument(cli: Cli) -> None:
    result = cli("verify", "smartgps", "--secret", "s", "--header", "no colon here", stdin=b"{}")
    assert_usage_error(result, "--header expects 'Name: value'")


def test_header_options_only_for_hmac_profiles(cli: Cli) -> None:
    secret = base64.b64encode(b"key").decode()
    assert_usage_error(cli("sign", "samsara", "--secret", secret, "--header-name", "X-Sig", stdin=b"{}"),
                       "hmac-sha256")
