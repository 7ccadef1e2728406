"""Reading a request's body in the served APIs (`fleetsim serve`) without a 500 for one that cannot be decoded.

aiohttp raises while reading a body that is not what its headers say: a `Content-Encoding: gzip` over bytes that
are not gzip (ContentEncodingError, or RequestPayloadError around it), a form in a charset Python does not know
(LookupError) or bytes not in it (UnicodeDecodeError, a ValueError), a multipart body without its boundary
(ValueError). Each is the client's mistake: the APIs answer it in their own error shape, never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

__all__ = ["UnreadableBody", "read_body", "read_form"]

_UNDECODABLE = (HttpProcessingError, RequestPayloadError, ValueError, LookupError)


class UnreadableBody(Exception):
    """The body could not be decoded; the message says what to check, in a few words."""


async def read_body(request: web.Request) -> bytes:
    try:
        return await request.read()
    except _UNDECODABLE:
        raise UnreadableBody(_why(request)) from None


async def read_form(request: web.Request) -> Mapping[str, Any]:
    try:
        return await request.post()
    except _UNDECODABLE:
        raise UnreadableBody(_why(request)) from None


def _why(request: web.Request) -> str:
    coding = request.headers.get("Content-Encoding")
    if coding:
        return f"the body could not be read as its Content-Encoding ({coding[:40]}) says"
    return f"the body could not be read as its Content-Type ({request.headers.get('Content-Type', '')[:80]}) says"
