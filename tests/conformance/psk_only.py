"""A PowUnity receiver as its vendor's page allows: it checks the pre-shared `Authorization` value exactly and
takes `X-PowTxn` as what it is, a transaction id to quote to support (docs/provider-facts.md §2), not a
credential. A plain WSGI app, for `fleetsim check --app tests.conformance.psk_only:app`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

PSK = "Bearer fleetsim-demo-psk"  # demo-city's powunity psk


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["REQUEST_METHOD"] != "POST":
        start_response("405 Method Not Allowed", [("Allow", "POST")])
        return [b""]
    if environ.get("HTTP_AUTHORIZATION") != PSK:
        start_response("401 Unauthorized", [("Content-Type", "text/plain")])
        return [b"unauthorized"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
