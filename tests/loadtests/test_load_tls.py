"""`fleetsim load` over https (docs/tls.md): with --ca-bundle the receiver's certificate verifies and everything is
acknowledged and read back; without it the run stops before Locust with one line; and Locust's own users verify
certificates (FastHttpUser does not by default), so with the pre-flight out of the way they fail every request."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from loadtests import cli as load_cli
from tests.conformance.test_state_probe_tls import READER
from tests.conftest import CliResult

SECRET = "load-tls-secret"
SETTINGS = f'providers:\n  smartgps: {{secret: "{SECRET}"}}\n'
BRIEF = ("--provider", "smartgps", "--run-time", "1s", "--users", "2")


@pytest.fixture
def https_receiver(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """`fleetsim receiver --tls` in its own process: (https URL, its CA file, the settings file with the secret)."""
    settings = tmp_path / "settings.yaml"
    settings.write_text(SETTINGS)
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "receiver", "--port", "0", "--tls", "--tls-dir", str(tmp_path / "tls"),
         "--settings", str(settings)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        found = re.search(r"https://\S+", proc.stdout.readline())
        assert found
        yield found.group(0), tmp_path / "tls" / "ca.pem", settings
    finally:
        proc.terminate()
        proc.wait(10)


def test_load_with_the_ca_bundle_is_acknowledged_and_read_back(
        cli: Callable[..., CliResult], https_receiver: tuple[str, Path, Path], tmp_path: Path) -> None:
    url, ca, settings = https_receiver
    report = tmp_path / "load.json"
    result = cli("load", "--target", url, "--ca-bundle", str(ca), "--settings", str(settings), *BRIEF,
                 "--state-probe", "conformance/probes/reference.yaml", "--report", f"json:{report}")
    assert result.code == 0, result.out + result.err
    summary = json.loads(report.read_text())
    assert summary["sent"] > 5 and summary["acked"] == summary["sent"], summary
    assert summary["checked"] is True and summary["lost"] == 0, summary  # the state probe read over https too


def test_load_without_the_ca_bundle_stops_before_locust_with_one_line(
        cli: Callable[..., CliResult], https_receiver: tuple[str, Path, Path]) -> None:
    url, _, settings = https_receiver
    result = cli("load", "--target", url, "--settings", str(settings), *BRIEF)
    assert result.code == 2 and len(result.err.splitlines()) == 1, result.err
    assert ("certificate verify failed: unable to get local issuer certificate — pass --ca-bundle FILE "
            "(fleetsim receiver --tls prints it)") in result.err


def test_locusts_users_verify_certificates_themselves(
        cli: Callable[..., CliResult], https_receiver: tuple[str, Path, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    url, _, settings = https_receiver
    monkeypatch.setattr(load_cli, "reachable", lambda *args, **kwargs: None)  # past the pre-flight check
    report = tmp_path / "load.json"
    result = cli("load", "--target", url, "--settings", str(settings), *BRIEF, "--report", f"json:{report}")
    summary = json.loads(report.read_text())
    assert summary["acked"] == 0 and summary["failed"] == summary["sent"] > 0, (summary, result.out)


def test_a_probe_command_reads_the_https_receiver_with_the_ca_bundle(
        cli: Callable[..., CliResult], https_receiver: tuple[str, Path, Path], tmp_path: Path) -> None:
    url, ca, settings = https_receiver
    reader, notes = tmp_path / "reader.py", tmp_path / "notes.txt"
    reader.write_text(READER)  # a probe command that notes the CA file it was given (SSL_CERT_FILE)
    reference = Path("conformance/probes/reference.yaml").read_text()
    probe = tmp_path / "probe.yaml"
    probe.write_text(reference.replace(
        'effects:\n  url: "{base}/state/events/{provider}/{event_id}"\n',
        f'effects:\n  command: ["{sys.executable}", "{reader}", "{{base}}/state/events/{{provider}}/{{event_id}}",'
        f' "{notes}"]\n'))
    assert "command:" in probe.read_text()
    report = tmp_path / "load.json"
    result = cli("load", "--target", url, "--ca-bundle", str(ca), "--settings", str(settings), *BRIEF,
                 "--state-probe", str(probe), "--report", f"json:{report}")
    assert result.code == 0, result.out + result.err
    summary = json.loads(report.read_text())
    assert summary["checked"] is True and summary["lost"] == 0, summary
    assert all(p["unread"] == 0 for p in summary["providers"]), summary  # every command verified the receiver
    assert not any("could not be read" in n or "no state probe" in n for n in summary["notes"]), summary
    given = list(dict.fromkeys(notes.read_text().split()))
    assert len(given) == 1 and given[0] != "-" and not Path(given[0]).exists()  # one CA file, gone afterwards
