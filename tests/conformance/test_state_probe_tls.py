"""A state probe's command reads an https receiver with the CAs `fleetsim check` trusts: with --ca-bundle (the
local CA of `fleetsim receiver --tls`) and with --tls (the throwaway CA of its own receiver), the command's
SSL_CERT_FILE / REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE / NODE_EXTRA_CA_CERTS name a temporary PEM file holding them,
removed when the check ends. Without it the same command cannot verify the receiver (shown below)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conformance.state import CA_ENV, FileStateProbe, ReadError, command_ca_file, command_env, load_state_probe
from tests.conftest import CliResult

#: a probe command as a user might write one: Python's urllib, which verifies with the default CAs
#: (SSL_CERT_FILE honoured); it notes the CA file it was given, so the test can see it was removed
READER = """\
import json, os, sys, urllib.error, urllib.request
with open(sys.argv[2], "a") as note:
    note.write(os.environ.get("SSL_CERT_FILE", "-") + "\\n")
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())
except urllib.error.HTTPError as exc:
    if exc.code != 404:
        raise
    print(json.dumps({"effects": 0}))
"""


def _probe(tmp_path: Path) -> tuple[Path, Path]:
    reader, notes = tmp_path / "reader.py", tmp_path / "notes.txt"
    reader.write_text(READER)
    probe = tmp_path / "probe.yaml"
    probe.write_text(f"""\
version: 1
effects:
  command: ["{sys.executable}", "{reader}", "{{base}}/state/events/{{provider}}/{{event_id}}", "{notes}"]
  path: effects
""")
    return probe, notes


@pytest.fixture
def https_receiver(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`fleetsim receiver --tls` in its own process: its https URL and the CA file it printed."""
    (tmp_path / "settings.yaml").write_text('providers:\n  smartgps: {secret: "probe-tls-secret"}\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "receiver", "--port", "0", "--tls", "--tls-dir", str(tmp_path / "tls"),
         "--settings", str(tmp_path / "settings.yaml")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        url, ca = re.search(r"https://\S+", lines[0]), re.search(r"--ca-bundle (\S+)\)", lines[1])
        assert url and ca, lines
        yield url.group(0), Path(ca.group(1))
    finally:
        proc.terminate()
        proc.wait(10)


def _given_ca_files(notes: Path) -> list[str]:
    """The SSL_CERT_FILE each run of the command had, in order, once each."""
    return list(dict.fromkeys(notes.read_text().split()))


def test_with_ca_bundle_the_probe_command_verifies_the_receiver(
        cli: Callable[..., CliResult], https_receiver: tuple[str, Path], tmp_path: Path) -> None:
    url, ca = https_receiver
    probe, notes = _probe(tmp_path)
    result = cli("check", "--provider", "smartgps", "--target", url, "--ca-bundle", str(ca),
                 "--settings", str(tmp_path / "settings.yaml"), "--state-probe", str(probe), "--only", "RPL-06")
    assert result.code == 0, result.out + result.err
    assert re.search(r"PASS\s+RPL-06", result.out), result.out
    given = _given_ca_files(notes)
    assert len(given) == 1 and given[0] != "-" and not Path(given[0]).exists()  # one file, gone afterwards


def test_with_tls_the_probe_command_trusts_the_throwaway_ca(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    probe, notes = _probe(tmp_path)
    result = cli("check", "--provider", "smartgps", "--tls", "--state-probe", str(probe), "--only", "RPL-06")
    assert result.code == 0, result.out + result.err
    assert re.search(r"PASS\s+RPL-06", result.out), result.out
    given = _given_ca_files(notes)
    assert len(given) == 1 and given[0] != "-" and not Path(given[0]).exists()


async def test_without_the_ca_file_the_same_command_cannot_verify(
        https_receiver: tuple[str, Path], tmp_path: Path) -> None:
    url, ca = https_receiver
    probe_path, notes = _probe(tmp_path)
    probe = FileStateProbe(load_state_probe(probe_path))
    with pytest.raises(ReadError, match="exited with 1"):  # CERTIFICATE_VERIFY_FAILED in the command
        await probe.effects(url, "smartgps", "unknown-event")
    with command_ca_file(str(ca), None) as ca_file:
        assert ca_file is not None
        trusted = probe.trusting(None, ca_file)
        assert await trusted.effects(url, "smartgps", "unknown-event") == 0  # 404: nothing applied
        async with trusted.batch() as batch:  # a batch keeps the CA file for its commands
            assert await batch.effects(url, "smartgps", "unknown-event") == 0
    assert not Path(ca_file).exists()
    assert _given_ca_files(notes)[0] == os.environ.get("SSL_CERT_FILE", "-")  # the first run: only what it inherited


def test_the_command_environment_names_the_ca_file_for_every_common_client() -> None:
    assert command_env({"PATH": "/bin"}, None) is None  # inherited as it is
    env = command_env({"PATH": "/bin", "SSL_CERT_FILE": "/old"}, "/tmp/ca.pem")
    assert env is not None and env["PATH"] == "/bin"
    assert {name: env[name] for name in CA_ENV} == dict.fromkeys(CA_ENV, "/tmp/ca.pem")
    with command_ca_file(None, None) as nothing:
        assert nothing is None
    with command_ca_file(None, b"-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n") as written:
        assert written is not None and Path(written).read_bytes().endswith(b"-----END CERTIFICATE-----\n")
    assert not Path(written).exists()
