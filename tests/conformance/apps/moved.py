"""flask_receiver.py's SmartGPS endpoint at another path, as an integrator's service often has it: only
/hooks/gps (and /hooks/gps/) is served; everything else is 404."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .flask_receiver import app as _inner

PATH = "/hooks/gps"


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO", "").rstrip("/") == PATH:
        return _inner({**environ, "PATH_INFO": "/smartgps"}, start_response)
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]
