"""What every handler reaches through the app: the live fleet, the OAuth2 client, the rate limit, the webhook
sender, the clock, and the call log (`Call`: what the API-client conformance checks grade)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from .auth import Clients, RateLimiter
from .feed import Player
from .live import LiveFleet
from .webhooks import Webhooks

__all__ = ["SERVER", "Call", "ServerState"]


@dataclass(frozen=True)
class Call:
    """One request as the integrator made it: never the token itself, only which one (its serial number)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    status: int
    t: float  # wall clock, epoch seconds, when the answer was sent
    client_id: str | None  # the OAuth2 client the token (or the token request) belongs to
    token: int | None  # serial number of the bearer token used (1 = the first issued)
    retry_after: int | None = None  # the Retry-After of a 429, in seconds
    dropped: bool = False  # carried out, but the connection was closed instead of answering (ServerState.drop)


@dataclass
class ServerState:
    fleet: LiveFleet
    clients: Clients
    limiter: RateLimiter
    webhooks: Webhooks
    player: Player
    #: monotonic seconds: token expiry and the rate limit
    clock: Callable[[], float]
    #: wall-clock seconds: the call log
    wall: Callable[[], float]
    calls: list[Call] = field(default_factory=list)
    #: (method, path) whose next successful answer is not sent: the connection is closed instead, after the
    #: request was carried out (the API-client checks: does a client's retry create a second tracker?)
    drop: set[tuple[str, str]] = field(default_factory=set)


SERVER = web.AppKey("smartgps_server", ServerState)
