"""HTTPS end to end through the commands (docs/tls.md): `fleetsim receiver --tls` in its own process, then `fleetsim
run` and `fleetsim check` against it with --ca-bundle (everything delivered; TRN-01/02 pass) and without (a clear
per-delivery reason, exit 1); `fleetsim serve --tls` serving https and wss."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from simulator.delivery.transport import trust_context

from ..conftest import CliResult
from ..simulator.servers.traccar.test_rest import LOGIN

SECRET = "tls-test-secret"
SCENARIO = f"""\
name: tls
seed: 7
start: "2026-02-09T04:00:00"
duration: 10m
region: {{city: sao-paulo}}
fleet:
  - {{name: trucks, count: 2, provider: smartgps, profile: truck}}
delivery:
  rate: max
  providers:
    smartgps: {{secret: "{SECRET}"}}
"""
SETTINGS = f'providers:\n  smartgps: {{secret: "{SECRET}"}}\n'
HINT = "pass --ca-bundle FILE (fleetsim receiver --tls prints it)"


@pytest.fixture
def https_receiver(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """`fleetsim receiver --tls` in its own process: (https URL, the CA file it printed, its first lines)."""
    (tmp_path / "settings.yaml").write_text(SETTINGS)
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "receiver", "--port", "0", "--tls", "--tls-dir", str(tmp_path / "tls"),
         "--settings", str(tmp_path / "settings.yaml")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        url = re.search(r"https://\S+", lines[0])
        ca = re.search(r"--ca-bundle (\S+)\)", lines[1])
        assert url and ca, lines
        yield url.group(0), Path(ca.group(1)), lines
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_receiver_prints_its_https_url_and_the_ca_file_to_trust(
        https_receiver: tuple[str, Path, list[str]], tmp_path: Path) -> None:
    url, ca, lines = https_receiver
    assert url.startswith("https://127.0.0.1:"), lines
    assert ca == tmp_path / "tls" / "ca.pem" and ca.is_file(), lines
    assert "issued by fleetsim's local CA" in lines[1] and "localhost, 127.0.0.1, ::1" in lines[1], lines
    assert (ca.parent / "ca-key.pem").stat().st_mode & 0o077 == 0


def test_run_with_the_ca_bundle_delivers_everything(
        cli: Callable[..., CliResult], https_receiver: tuple[str, Path, list[str]], tmp_path: Path) -> None:
    url, ca, _ = https_receiver
    (tmp_path / "tls.yaml").write_text(SCENARIO)
    report = tmp_path / "run.json"
    result = cli("run", str(tmp_path / "tls.yaml"), "--target", url, "--ca-bundle", str(ca), "--quiet",
                 "--report", f"json:{report}")
    assert result.code == 0, result.out + result.err
    totals = json.loads(report.read_text())["summary"]["totals"]
    assert totals["generated"] == totals["delivered"] >= 5 and totals["failed"] == 0, totals  # the whole scenario


def test_run_without_the_ca_bundle_fails_each_delivery_with_the_reason_and_exit_1(
        cli: Callable[..., CliResult], https_receiver: tuple[str, Path, list[str]], tmp_path: Path) -> None:
    url, _, _ = https_receiver
    (tmp_path / "tls.yaml").write_text(SCENARIO)
    report = tmp_path / "run.json"
    result = cli("run", str(tmp_path / "tls.yaml"), "--target", url, "--limit", "3", "--quiet", "--timeout", "5",
                 "--report", f"json:{report}")
    assert result.code == 1, result.out + result.err
    assert "Traceback" not in result.err
    totals = json.loads(report.read_text())["summary"]["totals"]
    assert totals["failed"] == 3 and totals["delivered"] == 0, totals
    reason = f"certificate verify failed: unable to get local issuer certificate — {HINT}"
    assert f"tls_error ({reason})" in result.out, result.out


def test_check_with_the_ca_bundle_passes_trn_01_and_02(
        cli: Callable[..., CliResult], https_receiver: tuple[str, Path, list[str]], tmp_path: Path) -> None:
    url, ca, _ = https_receiver
    (tmp_path / "check.yaml").write_text(SETTINGS)
    result = cli("check", "--provider", "smartgps", "--target", url, "--ca-bundle", str(ca),
                 "--settings", str(tmp_path / "check.yaml"), "--only", "TRN-01,TRN-02,SIG-01")
    assert result.code == 0, result.out + result.err
    assert re.search(r"PASS\s+TRN-01\s+\d+ deliveries over https: certificate verified, TLS 1.2 or later", result.out)
    assert re.search(r"PASS\s+TRN-02\s+plain http was not accepted", result.out), result.out


def test_replay_trusts_the_ca_bundle(
        cli: Callable[..., CliResult], https_receiver: tuple[str, Path, list[str]], tmp_path: Path) -> None:
    url, ca, _ = https_receiver
    (tmp_path / "tls.yaml").write_text(SCENARIO)
    capture = tmp_path / "capture.ndjson"
    assert cli("run", str(tmp_path / "tls.yaml"), "--target", url, "--ca-bundle", str(ca), "--limit", "2",
               "--quiet", "--capture", str(capture)).code == 0
    (tmp_path / "settings.yaml").write_text(SETTINGS)
    replayed = cli("replay", str(capture), "--target", url, "--ca-bundle", str(ca), "--resign",
                   "--settings", str(tmp_path / "settings.yaml"))
    assert replayed.code == 0, replayed.out + replayed.err
    refused = cli("replay", str(capture), "--target", url)
    assert refused.code == 1 and HINT in refused.out, refused.out


@pytest.mark.parametrize(("args", "says"), [
    (["--ca-bundle", "{tmp}/missing.pem"], "cannot read it (No such file or directory)"),
    (["--ca-bundle", "{tmp}/tls.yaml"], "not a PEM file of CA certificates"),
    (["--ca-bundle", "{ca}", "--insecure"], "--ca-bundle and --insecure contradict each other"),
])
def test_ca_bundle_mistakes_are_one_line_and_exit_2(cli: Callable[..., CliResult], tmp_path: Path,
                                                     args: list[str], says: str) -> None:
    import trustme

    (tmp_path / "tls.yaml").write_text(SCENARIO)
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    given = [a.format(tmp=tmp_path, ca=tmp_path / "ca.pem") for a in args]
    result = cli("run", str(tmp_path / "tls.yaml"), "--target", "https://127.0.0.1:9", *given)
    assert result.code == 2 and len(result.err.splitlines()) == 1, result.err
    assert says in result.err


async def test_serve_tls_serves_https_and_wss(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "serve", "--tls", "--tls-dir", str(tmp_path / "tls"), "--api", "traccar:0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        note = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        found = re.search(r"https://\S+", line)
        assert found and "--ca-bundle" in note, (line, note)
        url = found.group(0)
        trust = trust_context(str(tmp_path / "tls" / "ca.pem"))
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(f"{url}/api/session", data=LOGIN, ssl=trust) as response:
                assert response.status == 200
            async with http.ws_connect(url.replace("https://", "wss://") + "/api/socket", ssl=trust) as ws:
                message = await asyncio.wait_for(ws.receive(), 10)
                assert message.type == aiohttp.WSMsgType.TEXT, message
            with pytest.raises(aiohttp.ClientConnectorCertificateError):  # the system's CAs alone: refused
                await http.get(f"{url}/api/server")
    finally:
        proc.terminate()
        await proc.wait()


async def test_serve_tls_puts_every_api_on_https(tmp_path: Path) -> None:
    # SmartGPS once stayed on http under --tls, its OAuth2 client secret and bearer tokens in clear text, while
    # the banner's TLS note said otherwise
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "serve", "--tls", "--tls-dir", str(tmp_path / "tls"),
        "--api", "traccar:0", "--api", "smartgps:0", "--api", "drivers:0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        lines = [(await asyncio.wait_for(proc.stdout.readline(), 30)).decode() for _ in range(3)]
        urls = [re.search(r"fleetsim serve on (\S+)", line) for line in lines]
        assert all(u and u.group(1).startswith("https://") for u in urls), lines
        trust = trust_context(str(tmp_path / "tls" / "ca.pem"))
        async with aiohttp.ClientSession() as http:
            for found in urls[1:]:  # smartgps and drivers: their OpenAPI documents, over verified TLS
                assert found is not None
                async with http.get(f"{found.group(1)}/openapi.json", ssl=trust) as response:
                    assert response.status == 200, found.group(1)
    finally:
        proc.terminate()
        await proc.wait()


def test_check_tls_serves_its_own_receiver_over_https_and_trusts_it(cli: Callable[..., CliResult]) -> None:
    result = cli("check", "--provider", "smartgps", "--tls", "--only", "TRN-01,TRN-02,RPL-06")
    assert result.code == 0, result.out + result.err
    assert "checking fleetsim's reference receiver at https://127.0.0.1:" in result.err
    assert re.search(r"PASS\s+TRN-01\s+\d+ deliveries over https", result.out), result.out
    assert re.search(r"PASS\s+RPL-06", result.out), result.out  # its state probe reads over https too


def test_run_tls_delivers_to_its_own_https_receiver(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    (tmp_path / "tls.yaml").write_text(SCENARIO)
    result = cli("run", str(tmp_path / "tls.yaml"), "--tls", "--quiet")
    assert result.code == 0, result.out + result.err
    assert "delivering to fleetsim's reference receiver at https://127.0.0.1:" in result.err
    assert "what the reference receiver made of it" in result.out and "could not be read" not in result.out


@pytest.mark.parametrize("command", ["run", "check"])
def test_tls_with_a_target_is_refused(cli: Callable[..., CliResult], tmp_path: Path, command: str) -> None:
    (tmp_path / "tls.yaml").write_text(SCENARIO)
    first = [str(tmp_path / "tls.yaml")] if command == "run" else ["--provider", "smartgps"]
    result = cli(command, *first, "--tls", "--target", "https://127.0.0.1:9")
    assert result.code == 2 and len(result.err.splitlines()) == 1, result.err
    assert "--tls serves fleetsim's own receiver over https" in result.err
