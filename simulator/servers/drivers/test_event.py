"""`POST /drivers/{id}/send-test-event`: deliver one real, signed sample event of the driver to the user's URL
and grade the answer with seed 002's checks, in its order: `valid_url`, `https`, `gzip`, `timeout`,
`post_success`. After the first failure the rest are `skipped` with a null message, as the seed's 400 example
shows; the answer is 200 when every check succeeded, 400 otherwise.

The event is the provider's own: a sample of the kind named by `event_name`, generated from its schema and made
coherent by the provider unit (`generation.generate_one`), wrapped in its envelope with its settings and signed
by its signer with the driver's configured secret (unsigned, as `fleetsim run` sends it, when none is
configured).

What "Servidor aceita compressão gzip" tests [I] (docs/drivers-api.md, "send-test-event"): the event is first
sent compressed (`Content-Encoding: gzip`, signature over the uncompressed bytes, as a compressing proxy would
leave it). A 2xx settles every check from that one request. Otherwise it is sent again uncompressed, and `gzip`
fails when the receiver refused the coding (415, RFC 7694) or took the uncompressed copy but not the
compressed one; a receiver that fails both the same way has not refused gzip, and the later checks say what
went wrong. `timeout` and `post_success` grade the last request: its deadline is the configured limit (default:
the provider's own delivery timeout), success is the provider's own (2xx, or PowUnity's 200/201). A TLS failure
fails `https` (the certificate is not trusted); no HTTP answer at all (refused, reset, no connection or TLS
handshake within the limit) fails `gzip`, the first check that needs the server, with what happened. A first
request that times out is not sent again: the answer comes within the limit it names, not twice that.
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ...delivery.sending import Sender
from ...delivery.transport import Response
from ...generation import generate_one
from ...signing import SIGNERS
from .catalogue import Driver
from .rules import is_url
from .tenant import Tenant

__all__ = ["CHECKS", "Grade", "send_test_event"]

#: the checks in the seed's order, with the seed's message when they pass
CHECKS = (
    ("valid_url", "URL é válida"),
    ("https", "URL usa HTTPS"),
    ("gzip", "Servidor aceita compressão gzip"),
    ("timeout", "Timeout adequado"),
    ("post_success", "POST retornou código 2xx"),
)
_NO_ANSWER = {
    "conn_refused": "Não foi possível conectar ao servidor",
    "reset": "O servidor encerrou a conexão sem responder",
    "protocol_error": "O servidor não respondeu em HTTP válido",
}


@dataclass(frozen=True)
class Grade:
    """The seed's `data` body: every check, in order, and whether all succeeded."""

    success: bool
    checks: dict[str, dict[str, str | None]]

    def body(self) -> dict[str, Any]:
        return {"data": {"success": self.success, "checks": self.checks}}


def _grade(failed: str | None, message: str | None) -> Grade:
    checks: dict[str, dict[str, str | None]] = {}
    seen_failure = False
    for name, passed in CHECKS:
        if seen_failure:
            checks[name] = {"result": "skipped", "message": None}
        elif name == failed:
            checks[name] = {"result": "failed", "message": message}
            seen_failure = True
        else:
            checks[name] = {"result": "succeeded", "message": passed}
    return Grade(failed is None, checks)


def _why(response: Response, timeout_s: float) -> str:
    if response.status is not None:
        return f"código {response.status}"
    if response.outcome.startswith("timeout"):
        return f"sem resposta em {timeout_s:g} s"
    return _NO_ANSWER.get(response.outcome, "sem resposta").lower()


async def send_test_event(sender: Sender, tenant: Tenant, driver: Driver, url: str, event_name: str, *,
                          timeout_s: float, index: int, now: Callable[[], float]) -> Grade:
    """Grade `url` with one sample `event_name` event of `driver`; `index` picks the sample (one per call)."""
    if not is_url(url):
        return _grade("valid_url", "URL inválida")
    if urlsplit(url).scheme != "https":
        return _grade("https", "URL deve usar HTTPS")
    provider = driver.provider
    payload = generate_one(provider, event_name, seed=0, index=index).payload
    message_id = f"test_{uuid.uuid4().hex}"
    envelope = provider.envelope(event_name, payload, message_id=message_id,
                                 settings=tenant.provider_settings(driver))
    headers = dict(envelope.headers)
    secret = tenant.secret(driver)
    if secret is not None:
        headers.update(SIGNERS[provider.signing].sign(envelope.body, [secret], timestamp=int(now()),
                                                      message_id=message_id))
    compressed = gzip.compress(envelope.body, mtime=0)
    first = await sender.post(url, compressed, {**headers, "Content-Encoding": "gzip", "Accept-Encoding": "gzip"},
                              deadline_s=timeout_s)
    ok = provider.delivery.is_success
    last = first
    if first.outcome == "timeout_connect":  # no connection, or no TLS handshake, within the limit: no retry,
        # which would only double the wait past the limit the answer names
        return _grade("gzip", f"{_NO_ANSWER['conn_refused']} (sem resposta em {timeout_s:g} s)")
    if first.status is None or not ok(first.status):
        if first.outcome == "tls_error":
            return _grade("https", "Certificado TLS inválido ou não confiável")
        if first.outcome == "timeout_total":  # connected, asked, no answer in time: that is the timeout check
            return _grade("timeout", f"Servidor não respondeu dentro do tempo limite ({timeout_s:g} s)")
        last = await sender.post(url, envelope.body, headers, deadline_s=timeout_s)
        if last.outcome == "tls_error":
            return _grade("https", "Certificado TLS inválido ou não confiável")
        took_plain = last.status is not None and ok(last.status)
        if first.status == 415 or took_plain:
            return _grade("gzip", f"Servidor não aceita compressão gzip ({_why(first, timeout_s)})")
        if last.status is None and last.outcome in _NO_ANSWER:
            return _grade("gzip", _NO_ANSWER[last.outcome])
    if last.outcome.startswith("timeout"):
        return _grade("timeout", f"Servidor não respondeu dentro do tempo limite ({timeout_s:g} s)")
    if last.status is None or not ok(last.status):
        return _grade("post_success", f"POST retornou código {last.status}")
    return _grade(None, None)
