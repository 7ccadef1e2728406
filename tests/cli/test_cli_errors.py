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
        (("generate", "samsra", "ping"), ("unknown provider or API 'samsra'", "did you mean 'samsara'")),
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
    # a PSK header written without its colon is not echoed back
    result = cli("verify", "powunity", "--secret", "Bearer psk-value-123456", "--header",
                 "Authorization Bearer psk-value-123456", stdin=b"{}")
    assert_usage_error(result, "--header expects 'Name: value', got 'Authorization' followed by more")
    assert "psk-value-123456" not in result.err


def test_a_mistyped_option_does_not_print_its_value_back(cli: Cli) -> None:
    # argparse quotes what it could not place: a secret given to a misspelt or ambiguous option came back
    canary = "S3CR3T-canary-1234"
    for args, needle in [
        (("sign", "smartgps", f"--sec={canary}"), "ambiguous option: --sec=<not shown> could match --secret"),
        (("sign", "smartgps", "--secert", canary, "x"), "unrecognized arguments: --secert <not shown> x"),
        (("verify", "powunity", "--secret", "Bearer abc-123456", "--header", canary),
         "--header expects 'Name: value', got text with no colon (not shown"),
    ]:
        result = cli(*args, stdin=b"{}")
        assert_usage_error(result, needle)
        assert canary not in result.err + result.out
    # a stray positional is still shown: it is worth seeing, and no option's value
    assert_usage_error(cli("run", "demo-city", "extra"), "unrecognized arguments: extra")


def test_an_unknown_option_names_the_command_and_its_help(cli: Cli) -> None:
    # it said "unrecognized arguments: --bogus (see fleetsim --help)", whose help lists no command's options
    assert_usage_error(cli("run", "demo-city", "--bogus"),
                       "run: unrecognized arguments: --bogus (see fleetsim run --help)")
    assert_usage_error(cli("schemas", "list", "--bogus"),
                       "schemas list: unrecognized arguments: --bogus (see fleetsim schemas list --help)")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs an endless file")
@pytest.mark.parametrize(("args", "needle"), [
    (("load", "--provider", "samsara", "--run-time", "-5s"), "--run-time: expected a run time such as 20s"),
    (("run", "demo-city", "--timeout", "-1m"), "--timeout: expected a finite number > 0, got '-1m'"),
    (("sign", "samsara", "--secret", "s", "--timestamp", "-.5"), "--timestamp: expected a whole number"),
])
def test_a_negative_value_with_a_unit_is_the_options_value_not_an_unknown_option(cli: Cli, args: tuple[str, ...],
                                                                                  needle: str) -> None:
    # argparse takes only -5 and -.5 for values: `--run-time -5s` said "expected one argument"
    assert_usage_error(cli(*args), needle)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs an endless file")
def test_an_endless_input_is_one_line_not_a_process_that_fills_memory(cli: Cli) -> None:
    # each read /dev/zero whole: gigabytes in seconds, and Ctrl-C unheard inside the one read
    for args, needle in [
        (("sign", "smartgps", "--secret", "s", "--body-file", "/dev/zero"), "/dev/zero: is larger than 67108864 bytes"),
        (("sign", "samsara", "--secret-file", "/dev/zero"), "/dev/zero: is larger than 65536 bytes, the most a secret"),
        (("replay", "/dev/zero", "--target", "http://127.0.0.1:9"), "/dev/zero:1: a line longer than 67108864"),
        (("schemas", "validate", "smartgps", "event", "/dev/zero"),
         "/dev/zero:1:1: invalid JSON: unexpected character"),
    ]:
        assert_usage_error(cli(*args, stdin=b"{}"), needle)


def test_two_outputs_naming_one_file_are_refused(cli: Cli, tmp_path: Path) -> None:
    # the last writer silently replaced the other: a capture lost under a report
    same = str(tmp_path / "same.json")
    for args, needle in [
        (("run", "demo-city", "--report", f"json:{same}", "--report", f"junit:{same}"),
         "--report json and --report junit name the same file"),
        (("run", "demo-city", "--report", f"json:{same}", "--capture", same), "--report json and --capture name"),
        (("check", "--provider", "smartgps", "--report", f"json:{same}", "--report", f"html:{same}"),
         "--report json and --report html name the same file"),
        (("load", "--report", f"json:{tmp_path / 'l.correctness.json'}", "--report", f"html:{tmp_path / 'l.html'}"),
         "--report json and the correctness summary beside the HTML report name the same file"),
    ]:
        assert_usage_error(cli(*args), needle)
    assert not Path(same).exists()


def test_header_options_only_for_hmac_profiles(cli: Cli) -> None:
    secret = base64.b64encode(b"key").decode()
    assert_usage_error(cli("sign", "samsara", "--secret", secret, "--header-name", "X-Sig", stdin=b"{}"),
                       "hmac-sha256")


def test_one_error_prefix_naming_the_subcommand(cli: Cli) -> None:
    result = cli("generate", "mettax", "gps", "--seed", "abc")
    assert_usage_error(result)
    line = result.err.strip()
    assert line.startswith("fleetsim: error: generate: argument --seed: ")
    assert line.count("fleetsim") == 2 and line.endswith("(see fleetsim generate --help)"), line
    nested = cli("schemas", "validate")
    assert_usage_error(nested, "fleetsim: error: schemas validate: ", "(see fleetsim schemas validate --help)")


def test_version(cli: Cli) -> None:
    from importlib.metadata import version

    result = cli("--version")
    assert result.code == 0 and result.out == f"fleetsim {version('fleetsim')}\n" and result.err == ""


def test_help_returns_0_instead_of_raising_system_exit(cli: Cli) -> None:
    result = cli("run", "--help")
    assert result.code == 0 and "--target URL" in result.out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("generate", "smartgps", "event", "-n", "-1"), "expected a whole number >= 1, got '-1'"),
        (("generate", "smartgps", "event", "-n", "0"), "expected a whole number >= 1, got '0'"),
        (("generate", "--scenario", "x.yaml", "--limit", "-1"), "expected a whole number >= 1, got '-1'"),
        (("generate", "--scenario", "x.yaml", "--limit", "0"), "expected a whole number >= 1, got '0'"),
        (("generate", "smartgps", "event", "--seed", "-4"), "expected a whole number from 0 to 9223372036854775807"),
        (("generate", "smartgps", "event", "--seed", str(2**63)), "expected a whole number from 0 to"),
        (("sign", "smartgps", "--timestamp", "-1"), "expected a whole number >= 0, got '-1'"),
        (("run", "s.yaml", "--concurrency", "0"), "expected a whole number from 1 to 10000, got '0'"),
        (("run", "s.yaml", "--concurrency", "99999999"), "expected a whole number from 1 to 10000"),
        (("run", "s.yaml", "--timeout", "inf"), "expected a finite number > 0, got 'inf'"),
        (("run", "s.yaml", "--time-scale", "nan"), "expected a finite number > 0, got 'nan'"),
        (("run", "s.yaml", "--timeout", "1e309"), "expected a finite number > 0"),
        (("replay", "c.ndjson", "--target", "http://x", "--timeout", "0"), "expected a finite number > 0, got '0'"),
        # huge but finite: each was an internal error (exit 3) from a timer or a read that overflowed
        (("run", "s.yaml", "--timeout", "1e308"), "expected seconds from 0 to 86400, got '1e308'"),
        (("replay", "c.ndjson", "--target", "http://x", "--grace", "1e300"), "expected seconds from 0 to 86400"),
        (("check", "--provider", "samsara", "--timeout", "1e307"), "expected seconds from 0 to 86400"),
        (("schemas", "validate", "smartgps", "event", "x.json", "--max-bytes", "9" * 23),
         "expected a whole number from 1 to 1073741824"),
        (("load", "--run-time", "1000h"), "expected a run time of at most 168h, got '1000h'"),
        (("sign", "standard-webhooks", "--id", "\udcff"), "argument --id: expected text: the argument holds bytes"),
    ],
)
def test_range_messages_are_worded_alike(cli: Cli, args: tuple[str, ...], needle: str) -> None:
    assert_usage_error(cli(*args), needle)


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://127.0.0.1:99999", "port must be 1-65535"),
        ("http://127.0.0.1:0", "port must be 1-65535"),
        ("http://127.0.0.1:8o80", "the port must be a number"),
        ("http://[::1", "closing bracket"),
        ("http://[::g]:80", "IPv6 address"),
        ("ftp://x", "expected an http:// or https:// URL"),
        ("127.0.0.1:8080", "expected an http:// or https:// URL"),
        ("http://", "names no host"),
        ("http://:8080", "names no host"),
        ("http://bad host", "the host may hold only"),
        ("http://x/?a=1", "without ?query"),
        ("http://u:pa/ss@x", "in the user:password@ part must be percent-encoded"),
        ("http://u:pa#ss@x", "in the user:password@ part must be percent-encoded"),
    ],
)
def test_target_urls_are_checked_up_front(cli: Cli, url: str, needle: str) -> None:
    for command in (("run", "/nonexistent/s.yaml"), ("replay", "/nonexistent/c.ndjson")):
        # the missing file is never opened: the URL is refused while parsing the arguments
        result = cli(*command, "--target", url)
        assert_usage_error(result, f"{command[0]}: argument --target:", needle)
        assert "pa/ss" not in result.err and "pa#ss" not in result.err  # a password is never quoted


def test_good_target_urls_pass() -> None:
    from simulator.cli.common import target_url

    for url in ("http://127.0.0.1:8080", "https://hooks.example.com/base/", "http://[::1]:65535", "http://localhost",
                "https://bücher.example:1"):
        assert target_url(url) == url


@pytest.mark.parametrize(
    ("option", "needle"),
    [
        ("--report=json:/nonexistent/dir/r.json", "directory '/nonexistent/dir' does not exist"),
        ("--report=json:/", "is a directory"),
        ("--report=junit:/proc/version", "kernel or device file"),
        ("--report=jsn:r.json", "did you mean 'json'"),
        ("--report=json:", "expected KIND:FILE"),
        ("--capture=/proc/version", "kernel or device file"),
        ("--capture=/nonexistent/dir/c.ndjson", "does not exist"),
        ("--capture=", "expected a file path"),
        ("--capture=/dev/null", "is not a regular file"),
        ("--capture=out/", "is a directory"),
    ],
)
def test_output_paths_are_checked_before_the_run(cli: Cli, option: str, needle: str) -> None:
    # the scenario does not exist either: output paths are refused while parsing, before anything is read
    assert_usage_error(cli("run", "/nonexistent/s.yaml", option), "run: argument --", needle)


def test_check_output_path_accepts_new_and_existing_files(tmp_path: Path) -> None:
    from simulator.cli.common import check_output_path

    check_output_path(str(tmp_path / "new.json"))
    (tmp_path / "old.json").write_text("{}")
    check_output_path(str(tmp_path / "old.json"))


@pytest.mark.parametrize("rate", ["x0", "x-1", "xnan", "xinf", "fast", "x1e309", ""])
def test_demo_rate_is_a_usage_error_before_the_demo_starts(cli: Cli, rate: str) -> None:
    assert_usage_error(cli("demo", f"--rate={rate}"), "demo: argument --rate:")


def test_rate_type_accepts_what_scenarios_accept() -> None:
    from simulator.cli.common import rate, rate_text

    assert rate("max").mode == "max" and rate("realtime").mode == "realtime" and rate("x60").factor == 60
    assert rate_text("x240") == "x240"


def test_a_very_long_argument_is_quoted_clipped(cli: Cli) -> None:
    long = "q" * 20_000
    for args in (("generate", long, "event"), ("run", "s.yaml", "--rate", long), (long,)):
        result = cli(*args)
        assert_usage_error(result, "(20000 characters)")
        assert len(result.err) < 400, result.err[:500]


def test_nul_in_an_argument_is_a_usage_error(cli: Cli) -> None:
    # no shell can pass one, but in-process callers can; file APIs would raise a bare ValueError
    assert_usage_error(cli("generate", "--scenario", "a\x00b"), "argument 3", "NUL character")


def test_non_utf8_file_names_are_printed_escaped(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    name = b"caf\xe9.json".decode("utf-8", "surrogateescape")  # what Python makes of a Latin-1 file name
    Path(name).write_text('{"event": "SPEEDING"}')
    result = cli("schemas", "validate", "smartgps", "event", name)
    assert result.code == 1, result.err
    assert "caf\\udce9.json:1: " in result.out


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full (every write: no space left)")
@pytest.mark.parametrize("args", [
    ("generate", "mettax", "gps", "-n", "5"),
    ("generate", "--scenario", "scenarios/demo-city.yaml", "--limit", "20"),
    ("providers",),
    ("--help",),  # argparse swallowed the error: nothing printed, exit 0
    ("run", "--help"),
    ("--version",),
])
def test_a_full_disk_under_the_output_is_one_line_not_an_internal_error(args: tuple[str, ...]) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    with open("/dev/full", "wb") as full:
        done = subprocess.run([sys.executable, "-m", "simulator", *args], stdout=full, stderr=subprocess.PIPE,
                              text=True, cwd=root, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr == "fleetsim: error: cannot write the output: No space left on device\n"


def test_an_unforeseen_exception_is_one_line_and_exit_3(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from simulator.cli import providers_cmd

    def broken(*_: object) -> int:
        raise OSError(errno.EACCES, "Permission denied")  # an OSError that is not "no room": still a bug's line

    monkeypatch.setattr(providers_cmd, "run", broken)
    result = cli("providers")
    assert result.code == 3 and "fleetsim: internal error: PermissionError" in result.err


@pytest.mark.parametrize("command", [
    ("run", "demo-city"), ("replay", "capture.ndjson", "--target", "http://127.0.0.1:9"),
    ("check", "--provider", "samsara"), ("load",), ("receiver",), ("serve",),
])
def test_settings_given_twice_is_refused_rather_than_the_first_dropped(
        cli: Callable[..., CliResult], command: tuple[str, ...]) -> None:
    # argparse keeps the last of a repeated option: the first file's secrets were silently dropped
    result = cli(*command, "--settings", "a.yaml", "--settings", "b.yaml")
    assert_usage_error(result, "argument --settings: given twice: give one settings file")


def test_count_with_a_scenario_is_a_mistake_not_ignored(cli: Cli) -> None:
    # `generate --scenario demo-city -n 5` printed the whole stream: -n counts payloads of one kind only
    assert_usage_error(cli("generate", "--scenario", "demo-city", "-n", "5"),
                       "with --scenario, -n/--count does not apply: give --limit N")
