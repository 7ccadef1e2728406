"""The local fleetsim CA and HTTPS of the reference receiver (simulator/servers/tls.py): stock clients trust it
with ca.pem and refuse it without; the CA is kept and reused; its key is 0600; mistakes are one UsageError."""

from __future__ import annotations

import ssl
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trustme

from simulator.delivery.transport import HttpTransport, trust_context
from simulator.errors import UsageError
from simulator.servers.serving import start_receiver, stop_receiver
from simulator.servers.store import Store
from simulator.servers.tls import (
    CA_FILE,
    CA_KEY_FILE,
    ServerTLS,
    local_ca_tls,
    own_certificate_tls,
    server_names,
    server_tls,
)


@pytest.fixture
async def https_receiver(tmp_path: Path) -> AsyncIterator[tuple[str, ServerTLS]]:
    tls = local_ca_tls(tmp_path / "tls", "127.0.0.1")
    store = Store()
    runner, url = await start_receiver({}, store, ssl_context=tls.context)
    try:
        yield url, tls
    finally:
        await stop_receiver(runner)
        await store.close()


async def test_a_stock_client_trusting_ca_pem_gets_through_and_one_without_it_is_refused(
        https_receiver: tuple[str, ServerTLS]) -> None:
    url, tls = https_receiver
    assert url.startswith("https://127.0.0.1:")
    assert tls.ca_file is not None and tls.ca_file.is_absolute()
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(tls.ca_file))) as client:
        response = await client.get(f"{url}/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    async with httpx.AsyncClient() as client:  # the system's CAs only: the local CA is not among them
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(f"{url}/healthz")
    # the name localhost is in the certificate too
    port = url.rsplit(":", 1)[1]
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(tls.ca_file))) as client:
        assert (await client.get(f"https://localhost:{port}/healthz")).status_code == 200


async def test_plain_http_to_the_https_port_gets_no_answer(https_receiver: tuple[str, ServerTLS]) -> None:
    url, _ = https_receiver
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.HTTPError):  # the TLS port closes the connection: no HTTP answer at all
            await client.get(url.replace("https://", "http://") + "/healthz")


async def test_fleetsims_transport_names_an_untrusted_certificate_and_how_to_trust_it(
        https_receiver: tuple[str, ServerTLS]) -> None:
    url, tls = https_receiver
    async with HttpTransport(concurrency=1) as transport:
        refused = await transport.post(f"{url}/mettax", b"{}", {}, deadline_s=5)
    assert refused.outcome == "tls_error" and refused.status is None
    assert refused.error == ("certificate verify failed: unable to get local issuer certificate — pass --ca-bundle "
                             "FILE (fleetsim receiver --tls prints it)"), refused.error
    async with HttpTransport(concurrency=1, ssl_context=trust_context(str(tls.ca_file))) as transport:
        trusted = await transport.post(f"{url}/healthz", b"", {}, deadline_s=5, method="GET")
    assert trusted.outcome == "2xx", trusted


def test_the_ca_is_kept_reused_and_its_key_is_private(tmp_path: Path) -> None:
    where = tmp_path / "nested" / "tls"
    first = local_ca_tls(where, "127.0.0.1")
    assert {p.name for p in where.iterdir()} == {CA_FILE, CA_KEY_FILE}
    assert stat.S_IMODE((where / CA_KEY_FILE).stat().st_mode) == 0o600
    ca_bytes = (where / CA_FILE).read_bytes()
    assert b"PRIVATE KEY" not in ca_bytes
    second = local_ca_tls(where, "localhost")
    assert (where / CA_FILE).read_bytes() == ca_bytes  # trusted once, good for every later run
    assert first.ca_file == second.ca_file


def test_the_certificate_names_the_listening_address_but_never_a_wildcard() -> None:
    assert server_names("127.0.0.1") == ("localhost", "127.0.0.1", "::1")
    assert server_names("0.0.0.0") == ("localhost", "127.0.0.1", "::1")
    assert server_names("::") == ("localhost", "127.0.0.1", "::1")
    assert server_names("10.1.2.3") == ("localhost", "127.0.0.1", "::1", "10.1.2.3")
    assert server_names("Hooks.Example") == ("localhost", "127.0.0.1", "::1", "hooks.example")
    assert server_names("[::1]") == ("localhost", "127.0.0.1", "::1")


async def test_a_certificate_for_the_host_option_verifies_for_that_address(tmp_path: Path) -> None:
    tls = local_ca_tls(tmp_path / "tls", "127.0.0.2")
    assert "127.0.0.2" in tls.names
    store = Store()
    runner, url = await start_receiver({}, store, "127.0.0.2", 0, ssl_context=tls.context)
    try:
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(tls.ca_file))) as client:
            assert (await client.get(f"{url}/healthz")).status_code == 200
    finally:
        await stop_receiver(runner)
        await store.close()


@pytest.mark.parametrize(("setup", "says"), [
    (lambda d: (d.mkdir(), (d / "notes.txt").write_text("mine")), "holds other files"),
    (lambda d: (d.mkdir(), (d / CA_FILE).write_text("x")), "ca-key.pem is missing"),
    (lambda d: (d.mkdir(), (d / CA_FILE).write_text("x"), (d / CA_KEY_FILE).write_text("y")), "not a CA fleetsim"),
    (lambda d: d.write_text("a file"), "not a directory"),
])
def test_a_directory_that_cannot_hold_the_ca_is_one_usage_error(tmp_path: Path, setup: object, says: str) -> None:
    where = tmp_path / "tls"
    setup(where)  # type: ignore[operator]
    with pytest.raises(UsageError, match=says):
        local_ca_tls(where, "127.0.0.1")
    if where.is_dir():
        assert not (where / CA_KEY_FILE).exists() or (where / CA_KEY_FILE).read_text() == "y"  # nothing overwritten


def test_a_users_own_certificate_is_served_and_a_mismatched_key_refused(tmp_path: Path) -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    assert own_certificate_tls(str(cert), str(key)).ca_file is None
    other = tmp_path / "other-key.pem"
    ca.issue_cert("x.example").private_key_pem.write_to_path(str(other))
    with pytest.raises(UsageError, match="matching private key"):
        own_certificate_tls(str(cert), str(other))
    with pytest.raises(UsageError, match="--tls-key '/nonexistent': no such file"):
        own_certificate_tls(str(cert), "/nonexistent")


@pytest.mark.parametrize(("options", "says"), [
    ({"cert": "c.pem"}, "go together"),
    ({"tls_dir": "d"}, "needs --tls"),
    ({"cert": "c.pem", "key": "k.pem", "tls_dir": "d"}, "no use with your own"),
])
def test_option_combinations_that_mean_nothing_are_refused(options: dict[str, str], says: str) -> None:
    given: dict[str, object] = {"tls": False, "tls_dir": None, "cert": None, "key": None, "host": "127.0.0.1",
                                **options}
    with pytest.raises(UsageError, match=says):
        server_tls(**given)  # type: ignore[arg-type]
    assert server_tls(tls=False, tls_dir=None, cert=None, key=None, host="127.0.0.1") is None


def test_a_ca_bundle_that_is_no_pem_is_one_usage_error(tmp_path: Path) -> None:
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(UsageError, match="not a PEM file of CA certificates"):
        trust_context(str(tmp_path / "junk.pem"))
    with pytest.raises(UsageError, match="cannot read it"):
        trust_context(str(tmp_path))
    assert trust_context().minimum_version == ssl.TLSVersion.TLSv1_2
