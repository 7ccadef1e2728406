"""TRN-01/TRN-02 against real HTTPS receivers served with fleetsim's local CA (simulator/servers/tls.py): they pass
against `fleetsim receiver --tls`; TRN-01 fails against one that negotiates only TLS 1.0/1.1 and against one whose
certificate names another host; a plain-http target skips both with their reasons."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from conformance.registry import CHECKS
from conformance.run import ProviderRun, reference_receiver, run_provider
from simulator.delivery.transport import trust_context
from simulator.providers import PROVIDERS
from simulator.servers.serving import start_receiver, stop_receiver
from simulator.servers.store import Store
from simulator.servers.tls import local_ca_tls

from .flawed import settings

TRN = [CHECKS["TRN-01"], CHECKS["TRN-02"], CHECKS["SIG-01"]]


async def check(url: str, ca_file: Path | None) -> dict[str, str]:
    run: ProviderRun = await run_provider(PROVIDERS["smartgps"], TRN, target=url, settings=settings(), seed=1,
                                          ssl_context=trust_context(str(ca_file)) if ca_file else None)
    return {r.check_id: f"{r.status}: {r.reason}" for r in run.results}


@contextlib.asynccontextmanager
async def receiver(context: ssl.SSLContext) -> AsyncIterator[str]:
    store = Store()
    runner, url = await start_receiver(settings(), store, ssl_context=context)
    try:
        yield url
    finally:
        await stop_receiver(runner)
        await store.close()


async def test_trn_01_and_02_pass_against_the_receiver_served_with_the_local_ca(tmp_path: Path) -> None:
    tls = local_ca_tls(tmp_path / "tls", "127.0.0.1")
    async with receiver(tls.context) as url:
        results = await check(url, tls.ca_file)
    assert results["TRN-01"].startswith("passed: ") and "TLS 1.2 or later" in results["TRN-01"], results
    assert results["TRN-02"].startswith("passed: plain http was not accepted"), results
    assert results["SIG-01"].startswith("passed"), results


def _old_tls_only(ca: trustme.CA) -> ssl.SSLContext | None:
    """A server context that negotiates TLS 1.0/1.1 only, or None when this OpenSSL cannot make one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # that is the point
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        except (ssl.SSLError, ValueError):
            return None
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def _negotiates(server: ssl.SSLContext, ca: trustme.CA) -> str | None:
    """The version a permissive client gets from `server` (proof that the server really speaks old TLS)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept() -> None:
        connection, _ = listener.accept()
        with contextlib.suppress(OSError), server.wrap_socket(connection, server_side=True):
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = ssl.create_default_context()
        ca.configure_trust(client)
        client.minimum_version = ssl.TLSVersion.TLSv1
        client.set_ciphers("DEFAULT:@SECLEVEL=0")
        try:
            with client.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                                    server_hostname="127.0.0.1") as tls:
                return tls.version()
        except (ssl.SSLError, OSError):
            return None
        finally:
            thread.join(5)
            listener.close()


async def test_trn_01_fails_against_a_receiver_that_negotiates_only_tls_1_0_or_1_1(tmp_path: Path) -> None:
    ca = trustme.CA()
    server = _old_tls_only(ca)
    if server is None or _negotiates(server, ca) not in ("TLSv1", "TLSv1.1"):
        pytest.skip(f"{ssl.OPENSSL_VERSION} cannot serve TLS 1.0/1.1 (the wrong-host test below shows the failure)")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    async with receiver(server) as url:
        results = await check(url, ca_file)  # the chain is trusted: only the version can fail it
    assert results["TRN-01"].startswith("failed: the TLS handshake failed"), results
    assert "no TLS version or cipher this client accepts (TLS 1.2 or later)" in results["TRN-01"], results
    assert results["SIG-01"].startswith("error"), results  # never reached: not counted against the receiver


async def test_trn_01_fails_against_a_certificate_for_another_host(tmp_path: Path) -> None:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("hooks.example").configure_cert(server)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    async with receiver(server) as url:
        results = await check(url, ca_file)
    assert results["TRN-01"].startswith("failed: the TLS handshake failed with verification on: certificate verify "
                                        "failed: IP address mismatch, certificate is not valid for '127.0.0.1'"), \
        results


async def test_a_plain_http_target_still_skips_trn_01_and_02_with_their_reasons() -> None:
    async with reference_receiver(settings()) as url:
        results = await check(url, None)
    assert results["TRN-01"] == ("skipped: the target is plain http: there is no TLS to check (check the production "
                                 "https URL for this one)"), results
    assert results["TRN-02"] == "skipped: the target is plain http already: nothing to downgrade", results
