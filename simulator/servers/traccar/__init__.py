"""`fleetsim serve`: a Traccar-compatible server (REST and /api/socket) backed by a running scenario's world.

A stock Traccar client (pytraccar, traccar-web, a BikeTrax integration) logs in, lists devices and holds the
socket open without knowing it is not Traccar. The frames are the powunity provider's own socket frames, played
at the scenario's rate; this package only keeps the latest state, answers REST calls and fans frames out.
docs/traccar-server.md describes it; provider-facts §1.1-§1.2 has the behaviour it follows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .profiles import PROFILES, Profile

if TYPE_CHECKING:
    from .app import TraccarServer, start_traccar_server, stop_traccar_server

__all__ = ["PROFILES", "Profile", "TraccarServer", "start_traccar_server", "stop_traccar_server"]


def __getattr__(name: str) -> Any:
    # the server (aiohttp and the world) is imported when it is used, not when `fleetsim serve --help` reads the
    # platform's options
    if name in {"TraccarServer", "start_traccar_server", "stop_traccar_server"}:
        from . import app
        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
