"""Short timings for socket-client sessions: a whole session takes seconds, not the catalogue's minutes."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from conformance import catalogue as _catalogue  # noqa: F401  (registers the checks)
from conformance.registry import CHECKS, Check
from conformance.socket_client.director import SocketOptions
from conformance.socket_client.runner import InProcessClient

from .clients.sample_client import Config, run

CLIENT = Path(__file__).parent / "clients" / "sample_client.py"
SOCKET_CHECKS: list[Check] = [c for c in CHECKS.values() if c.client]
#: five closures (with the client's 0-0.3 s jitter, five first delays all within TRN-07's 20 ms happen about once
#: in 10,000 sessions), a 1 s outage graded at 300 connects a minute (a storm makes thousands), a declared
#: keepalive of 1 s (limit 2 s) for a client that pings every 0.4 s
FAST = SocketOptions(connect_timeout_s=20.0, phase_timeout_s=2.0, closures=5, outage_s=1.0, storm_limit=300.0,
                     client_keepalive_s=1.0, gap_s=0.3, settle_s=0.05, first_delay_max_s=1.0)
#: the sample client's timings to go with FAST
CLIENT_TIMINGS = {"jitter_s": 0.3, "base_s": 0.1, "cap_s": 1.0, "keepalive_s": 0.4}
CLIENT_ARGS = ["--jitter", "0.3", "--base", "0.1", "--cap", "1.0", "--keepalive", "0.4"]


def sample(flaw: str | None = None) -> InProcessClient:
    """The sample client with `flaw`, as an in-process client for run_socket_client."""
    async def client(url: str, credentials: Mapping[str, str]) -> None:
        await run(Config(url, credentials["email"], credentials["password"], flaw, **CLIENT_TIMINGS))
    return client


def command(*extra: str) -> str:
    """The sample client as a command line, with fleetsim's placeholders."""
    import shlex

    return shlex.join([sys.executable, str(CLIENT), "--url", "{url}", "--email", "{email}", "--password",
                       "{password}", *CLIENT_ARGS, *extra])
