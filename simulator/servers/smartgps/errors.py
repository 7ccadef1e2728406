"""The one error shape of the emulated SmartGPS API [I]: `{"error": CODE, "message": TEXT, "status": N}`, plus
`fields` (which field, what was expected) on 422. `error` is the OAuth2 error code on /auth/token (RFC 6749,
section 5.2: `invalid_client`, `unsupported_grant_type`), so OAuth2 client
libraries read it, and a short code elsewhere."""

from __future__ import annotations

from typing import Any

from aiohttp import web

__all__ = ["ApiError", "error_body", "error_response"]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, fields: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields = fields
        self.headers = headers or {}


def error_body(status: int, code: str, message: str, fields: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message, "status": status}
    if fields:
        body["fields"] = fields
    return body


def error_response(error: ApiError) -> web.Response:
    return web.json_response(error_body(error.status, error.code, error.message, error.fields),
                             status=error.status, headers=error.headers)


def invalid(field: str, expected: str) -> ApiError:
    return ApiError(422, "validation_failed", f"{field}: {expected}", fields=[{"field": field, "message": expected}])


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} {ident[:80]!r} not found")


def conflict(message: str) -> ApiError:
    return ApiError(409, "conflict", message)
