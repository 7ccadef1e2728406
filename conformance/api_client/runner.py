"""One `fleetsim check --provider smartgps-api` run: serve the emulated SmartGPS, play the phases the selected
checks need against the integrator's code, and grade the calls it made.

The phases, in order (registry.PHASES); each is one activation, bounded by the activation deadline:

- first: a fresh activation (a new IMEI and plate);
- second: another fresh one at once, while the first token is still good (is it reused?);
- expired: another, after the first token expired (the short `token_ttl_s` makes that happen during the run);
- revoked: every token revoked, then another (a 401, answered by one refresh);
- limited: the rate limit lowered to `lowered_limit` a second for another (a 429 with Retry-After);
- dropped: another, whose first successful registerTracker is carried out but not answered (the connection is
  closed): the client's retry must not fail on, or duplicate, the tracker that exists;
- retried: the first activation again, the same IMEI and plate (no second tracker or object).

I/O lives here and in trigger.py; the checks only read the `ApiContext` built at the end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from simulator.delivery.redaction import Redactor
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.servers.smartgps.app import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SmartGpsServer, start_smartgps_server

from ..registry import CheckResult
from ..run import ProviderRun
from .registry import PHASES, Activation, ApiCheck, ApiContext

__all__ = ["PROVIDER", "SCENARIO", "ApiOptions", "Trigger", "activation_body", "run_api_client"]

PROVIDER = "smartgps-api"
#: the world behind the API: its vehicles give a registered tracker a track to report
SCENARIO = "smartgps-truck-fleet.yaml"
#: the call whose answer phase "dropped" does not send: registerTracker
DROPPED = ("POST", "/trackers")
#: after the first token's expiry, how long to wait before the "expired" activation (clocks differ a little)
EXPIRY_MARGIN_S = 0.3


@dataclass(frozen=True)
class ApiOptions:
    token_ttl_s: int = 20
    activation_timeout_s: float = 30.0
    lowered_limit: int = 2
    port: int = 0
    seed: int = 1
    #: each activation runs the integrator's command anew (no --activate-url)
    per_process: bool = False


class Trigger(Protocol):
    async def activate(self, body: Mapping[str, Any]) -> tuple[bool, str]: ...


def activation_body(rng: random.Random, taken: Callable[[str, str], bool]) -> dict[str, Any]:
    """An activation [I] (docs/api-client-checks.md): a new 15-digit IMEI and a Brazilian plate (ABC-1234)."""
    while True:
        imei = "35" + "".join(rng.choice("0123456789") for _ in range(13))
        plate = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(3)) + "-" + \
            "".join(rng.choice("0123456789") for _ in range(4))
        if not taken(imei, plate):
            return {"imei": imei, "plate": plate, "model": "FMB920", "name": f"Truck {plate}"}


def api_settings(user: Mapping[str, Mapping[str, Any]], options: ApiOptions) -> dict[str, Any]:
    """The smartgps settings the server runs with: the user's client id and secret (and webhook url, if any),
    fleetsim's token lifetime, and no rate limit outside phase "limited"."""
    own = dict(user.get("smartgps", {}))
    own.setdefault("api_client_id", DEMO_CLIENT_ID)
    own.setdefault("api_client_secret", DEMO_CLIENT_SECRET)
    own.update(api_token_ttl_s=options.token_ttl_s, api_rate_limit=0)
    return own


async def start_server(user: Mapping[str, Mapping[str, Any]], options: ApiOptions) -> SmartGpsServer:
    scenario = load_scenario(scenarios_dir() / SCENARIO)
    own = api_settings(user, options)
    return await start_smartgps_server(scenario, {"smartgps": own}, port=options.port)


async def play(server: SmartGpsServer, trigger: Trigger, checks: Iterable[ApiCheck], options: ApiOptions,
               say: Callable[[str], None] = lambda phase: None) -> ApiContext:
    """Play the phases the checks need against `trigger`; the context the checks judge."""
    needed = {phase for c in checks for phase in c.needs}
    phases = [p for p in PHASES if p in needed]
    state = server.state
    store = state.fleet.store
    rng = random.Random(options.seed)
    bodies: list[dict[str, Any]] = []

    def taken(imei: str, plate: str) -> bool:
        return (store.tracker_by_imei(imei) is not None or store.object_by_plate(plate) is not None
                or any(b["imei"] == imei or b["plate"] == plate for b in bodies))

    activations: list[Activation] = []
    revoked_at = None
    t0 = time.time()

    async def activate(phase: str, body: dict[str, Any], fresh: bool) -> Activation:
        say(f"{phase} activation (IMEI {body['imei']})")
        start = time.time()
        ok, outcome = await trigger.activate(body)
        done = Activation(phase, body["imei"], body["plate"], fresh, start, time.time(), ok, outcome)
        activations.append(done)
        return done

    for phase in phases:
        if phase == "retried":
            first = bodies[0] if bodies else activation_body(rng, taken)
            await activate(phase, first, fresh=False)
            continue
        body = activation_body(rng, taken)
        bodies.append(body)
        if phase == "expired":
            issued = [c.t for c in state.calls if c.path == "/auth/token" and 200 <= c.status < 300]
            since = issued[0] if issued else t0
            wait = since + options.token_ttl_s + EXPIRY_MARGIN_S - time.time()
            if wait > 0:
                say(f"waiting {wait:.0f} s for the first token to expire")
                await asyncio.sleep(wait)
        elif phase == "revoked":
            revoked_at = time.time()
            state.clients.revoke_all()
        elif phase == "dropped":
            state.drop.add(DROPPED)
            try:
                await activate(phase, body, fresh=True)
            finally:
                state.drop.discard(DROPPED)
            continue
        elif phase == "limited":
            limit = state.limiter.limit
            state.limiter.limit = options.lowered_limit
            try:
                await activate(phase, body, fresh=True)
            finally:
                state.limiter.limit = limit
            continue
        await activate(phase, body, fresh=True)
    return ApiContext(tuple(state.calls), tuple(activations), float(options.token_ttl_s), revoked_at,
                      options.lowered_limit, options.per_process, t0)


async def run_api_client(server: SmartGpsServer, trigger: Trigger, checks: Iterable[ApiCheck], options: ApiOptions,
                         shown_as: str, say: Callable[[str], None] = lambda phase: None) -> tuple[ProviderRun,
                                                                                                 ApiContext]:
    """Play and grade; the server is the caller's to stop."""
    selected = tuple(checks)
    started = time.monotonic()
    context = await play(server, trigger, selected, options, say)
    results: tuple[CheckResult, ...] = tuple(c.run(context, PROVIDER) for c in selected)
    # a result may quote what the client printed or answered, and a client may print its bearer token: every
    # token the server handed out (expired and revoked ones too) is scrubbed from what is reported
    scrub = Redactor([t.encode() for t in server.state.clients.handed_out])
    results = tuple(r.scrubbed(scrub.text) for r in results)
    scrubbed = tuple(dataclasses.replace(a, outcome=scrub.text(a.outcome)) for a in context.activations)
    context = dataclasses.replace(context, activations=scrubbed)
    return ProviderRun(PROVIDER, shown_as, results, (), time.monotonic() - started), context

