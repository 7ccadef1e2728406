"""The platforms `fleetsim serve` can be: a registry of served APIs (docs/serving.md).

Each platform is one unit the command asks, never branches on: its name, what it is, the port it listens on by
default (its vendor's, where one is known), the scenario it plays without `--scenario`, the command-line options
of its own, and how to start it in this event loop. Entries name their module as "module:attribute" and are
imported only when that platform is served, so `fleetsim --help` never loads a server.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import ssl as ssl_
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..scenario.model import Rate, Scenario

__all__ = ["PLATFORMS", "Platform", "PlatformEntry", "ServeContext", "Served", "load_platform"]


@dataclass(frozen=True)
class ServeContext:
    """What `fleetsim serve` hands a platform: the loaded scenario (already the one `--scenario` named, or the
    platform's default), the provider settings laid over it, where to listen, the rate, and the parsed
    command line (for the platform's own options, read by their `dest`)."""

    scenario: Scenario
    settings: Mapping[str, Mapping[str, Any]]
    host: str
    port: int
    rate: Rate | None
    options: argparse.Namespace = field(default_factory=argparse.Namespace)
    #: serve https (and wss) with this context (`--tls`, simulator/servers/tls.py); None: plain http
    ssl: ssl_.SSLContext | None = None


@dataclass
class Served:
    """A platform being served: its base URL, one line for the console, a task that ends when its world has
    nothing more to play (None: a platform without a world clock), and how to stop it."""

    name: str
    url: str
    banner: str
    stop: Callable[[], Awaitable[None]]
    world: asyncio.Task[None] | None = None
    #: said once when `world` ends ("the scenario has ended …")
    ended: Callable[[], str] = lambda: "its scenario has ended"


class Platform(Protocol):
    def add_options(self, group: argparse._ArgumentGroup) -> None:
        """Options of this platform alone (their `dest` must not collide with another platform's)."""

    async def start(self, context: ServeContext) -> Served:
        """Start serving in the running loop; a user's mistake (port in use, scenario without the devices the
        platform needs) raises UsageError."""


@dataclass(frozen=True)
class PlatformEntry:
    name: str
    title: str
    #: where the platform listens unless told otherwise
    default_port: int
    #: the shipped scenario played without --scenario
    default_scenario: str
    #: "module:attribute" of the Platform object, imported only when it is served
    target: str


PLATFORMS: dict[str, PlatformEntry] = {}


def register_platform(entry: PlatformEntry) -> None:
    if entry.name in PLATFORMS:
        raise ValueError(f"platform {entry.name!r} is registered twice")
    PLATFORMS[entry.name] = entry


def load_platform(name: str) -> Platform:
    module, _, attribute = PLATFORMS[name].target.partition(":")
    platform: Platform = getattr(importlib.import_module(module), attribute)
    return platform


# Traccar's own default port (provider-facts §1.1)
register_platform(PlatformEntry(
    "traccar", "Traccar (PowUnity BikeTrax) REST API and /api/socket; log in as demo@fleetsim.local / demo or "
    "the powunity accounts setting's users", 8082, "powunity-ebike-theft.yaml",
    "simulator.servers.traccar.platform:PLATFORM"))
# no vendor port is known (provider-facts §4.1): 8090, beside Traccar's 8082
register_platform(PlatformEntry(
    "smartgps", "SmartGPS REST API (OAuth2, trackers, objects, commands) with signed webhooks", 8090,
    "smartgps-truck-fleet.yaml", "simulator.servers.smartgps.platform:PLATFORM"))
register_platform(PlatformEntry(
    "drivers", "the drivers control API (seed 002), with a real send-test-event", 8091, "demo-city.yaml",
    "simulator.servers.drivers.platform:PLATFORM"))
