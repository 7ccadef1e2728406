"""fleetsim's Locust users: one FastHttpUser per webhook provider, posting realistic signed requests.

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8080 [--fleetsim-scenario FILE]
           [--fleetsim-provider P|all] [--fleetsim-settings FILE] [--fleetsim-shape NAME] [--fleetsim-records DIR]

Works on its own, with the web UI or headless, and is what `fleetsim load` runs in a subprocess. The options
are in Locust's own parser (so `locust --help` lists them and the web UI shows them). At init each process that
sends (a local runner or a worker, never the master) renders the scenario once into payload pools
(loadtests/pools.py); each task takes the next request, with a fresh event id, signed now. Providers are
weighted by their devices in the scenario. With --fleetsim-records every process writes what it sent
(loadtests/records.py) when its test stops, for the correctness summary.

This is the only module of fleetsim that imports Locust (and so gevent).
"""

from __future__ import annotations

import os
import secrets
import ssl
import sys
import time
from dataclasses import astuple
from pathlib import Path
from typing import Any, ClassVar

from greenlet import GreenletExit  # type: ignore[import-untyped]  # gevent's: Locust raises it to stop a user
from locust import FastHttpUser, LoadTestShape, events, task
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `locust -f loadtests/locustfile.py` from a checkout

from loadtests import shapes
from loadtests.pools import Pool, build_pools, device_weights, loadable, origin_of, request_paths
from loadtests.readiness import FLUSH_MESSAGE, FLUSH_WAIT_S, FLUSHED_MESSAGE, POOLS_WAIT_S, READY_MESSAGE
from loadtests.records import CUT_OFF, Record, write_records
from simulator.errors import UsageError
from simulator.providers import PROVIDERS
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.scenario.model import Scenario
from simulator.settings import load_settings, merge_settings

DEFAULT_SCENARIO = str(scenarios_dir() / "demo-city.yaml")
POOLS: dict[str, Pool] = {}  # per process, built at init
#: what this process sent, as plain tuples (a Record's fields, then the template index): appending a tuple is the
#: cheapest record a send can leave; they become Records, keys worked out, when the test stops (_flush)
SENT: list[tuple[str, str, str, str | None, float, int, float, int]] = []
_RECORDS: dict[str, str | None] = {"dir": None, "ca_bundle": None}
RECORDS_MESSAGE = "fleetsim_records"
CHUNK = 5000  # records per message from a worker to its master
#: the master's view of its workers (node ids): whose pools are built, whose records are all in
_WORKERS: dict[str, set[str]] = {"ready": set(), "flushed": set()}


def _options(parser: LocustArgumentParser) -> None:
    group = parser  # Locust's own parser: include_in_web_ui works on it, not on an argument group
    group.add_argument("--fleetsim-scenario", default=DEFAULT_SCENARIO, metavar="FILE", include_in_web_ui=False,
                       help="scenario whose fleet is rendered and whose device counts weight the providers")
    group.add_argument("--fleetsim-provider", default="all", metavar="P|all",
                       help="load one provider only (default: every provider of the scenario)")
    group.add_argument("--fleetsim-settings", default="", metavar="FILE", include_in_web_ui=False,
                       help="provider settings (secrets) laid over the scenario's")
    group.add_argument("--fleetsim-shape", default="steady", choices=sorted(shapes.SHAPES),
                       help="load shape: steady, ignition-storm, reconnect-burst or spike")
    group.add_argument("--fleetsim-records", default="", metavar="DIR", include_in_web_ui=False,
                       help="write what each process sent here (for fleetsim's correctness summary)")
    group.add_argument("--fleetsim-ca-bundle", default="", metavar="FILE", include_in_web_ui=False,
                       help="also trust these CA certificates (PEM) when verifying an https host")
    group.add_argument("--fleetsim-pool-size", type=int, default=2000, metavar="N", include_in_web_ui=False,
                       help="templates per provider and process (default 2000)")


def scenario_of(options: Any) -> Scenario:
    scenario = load_scenario(options.fleetsim_scenario)
    if options.fleetsim_settings:
        providers = merge_settings(scenario.delivery.providers, load_settings(options.fleetsim_settings))
        scenario = scenario.__class__(**{**scenario.__dict__,
                                         "delivery": scenario.delivery.__class__(
                                             **{**scenario.delivery.__dict__, "providers": providers})})
    return scenario


def chosen(options: Any, scenario: Scenario) -> dict[str, int]:
    """The providers to load and their weights (devices in the scenario's fleet)."""
    weights = device_weights(scenario)
    if options.fleetsim_provider != "all":
        name = options.fleetsim_provider
        if name not in PROVIDERS or not loadable(PROVIDERS[name]):
            raise SystemExit(f"fleetsim: error: cannot load provider {name!r}")
        weights = {name: weights.get(name, 1)}
    return weights


def _init(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None:
        return
    scenario = scenario_of(options)
    weights = chosen(options, scenario)
    for user_class in USERS.values():
        user_class.weight = weights.get(user_class.provider, 0)
    environment.user_classes[:] = [u for u in environment.user_classes if getattr(u, "weight", 1) > 0]
    _RECORDS["dir"] = options.fleetsim_records or None
    _RECORDS["ca_bundle"] = options.fleetsim_ca_bundle or None
    if isinstance(environment.runner, MasterRunner):
        # the master sends nothing (pools are built per worker); it keeps what its workers sent
        environment.runner.register_message(RECORDS_MESSAGE, _received)
        environment.runner.register_message(READY_MESSAGE, _worker_is(environment, "ready"))
        environment.runner.register_message(FLUSHED_MESSAGE, _worker_is(environment, "flushed"))
        events.test_stop.add_listener(_gather)  # type: ignore[no-untyped-call]
        return
    origin = origin_of(os.getpid(), secrets.randbelow(10**9))  # this process's id space (pools.fresh_number)
    try:
        paths = request_paths(environment.host or "", sorted(weights), scenario.delivery.providers)
    except UsageError as exc:  # `fleetsim load` said so before Locust started; `locust -f` says it here
        raise SystemExit(f"fleetsim: error: {exc}") from None
    POOLS.update(build_pools(scenario, sorted(weights), origin=origin, size=options.fleetsim_pool_size,
                             paths=paths))
    if isinstance(environment.runner, WorkerRunner):
        # Locust told the master this worker was ready when it connected, before these pools were built (seconds
        # on a loaded machine): the master's shape waits for this message before its run time starts
        environment.runner.register_message(FLUSH_MESSAGE, _flush_on_request)
        environment.runner.send_message(READY_MESSAGE)


def _worker_is(environment: Environment, what: str) -> Any:
    def note(environment: Environment, msg: Any, **_: Any) -> None:
        _WORKERS[what].add(msg.node_id)

    return note


def _expected_workers(environment: Environment) -> int:
    options = environment.parsed_options
    return max(1, int(getattr(options, "expect_workers", 1) or 1))


def _gather(environment: Environment, **_: Any) -> None:
    """The master, when its run ends: ask every worker for its records and wait (bounded) until each says all are
    sent. Locust's headless master gives its workers half a second between "quit" and closing, too little for a
    worker on a loaded machine to stop its users and send what they sent."""
    runner = environment.runner
    if not isinstance(runner, MasterRunner) or not _RECORDS["dir"]:
        return
    workers = {client.id for client in runner.clients.all}
    runner.send_message(FLUSH_MESSAGE)
    deadline = time.monotonic() + FLUSH_WAIT_S
    while not workers <= _WORKERS["flushed"] and time.monotonic() < deadline:
        time.sleep(0.05)  # gevent's sleep (Locust monkey-patched time): the master's receiver runs meanwhile
    missing = workers - _WORKERS["flushed"]
    if missing:
        print(f"fleetsim: warning: {len(missing)} worker(s) did not send their records within {FLUSH_WAIT_S:g} s: "
              "the summary counts the others only", file=sys.stderr)


def _flush_on_request(environment: Environment, msg: Any, **_: Any) -> None:
    """A worker asked by its master for its records: stop its users (test_stop sends the records, _flush) and
    say so, after them on the same connection."""
    runner = environment.runner
    assert isinstance(runner, WorkerRunner)
    runner.stop()
    _flush(environment)  # a no-op when test_stop has sent them already
    runner.send_message(FLUSHED_MESSAGE)


def _flush(environment: Environment, **_: Any) -> None:
    """At the end of a run: a local runner writes what it sent; a worker sends it to its master in chunks (Locust's
    own messages, so a worker on another machine needs no shared disk), before it reports itself stopped."""
    if not (_RECORDS["dir"] and SENT) or isinstance(environment.runner, MasterRunner):
        return
    resolved = [_record(*row) for row in SENT]
    SENT.clear()
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        for start in range(0, len(resolved), CHUNK):
            runner.send_message(RECORDS_MESSAGE, {"rows": [astuple(r) for r in resolved[start:start + CHUNK]]})
        return
    write_records(_RECORDS["dir"], resolved, name=f"{os.getpid()}-{time.monotonic_ns()}")


def _received(environment: Environment, msg: Any, **_: Any) -> None:
    """The master writes each chunk a worker sent as a records file of its own."""
    if _RECORDS["dir"]:
        write_records(_RECORDS["dir"], (Record(*row) for row in msg.data["rows"]),
                      name=f"{msg.node_id}-{time.monotonic_ns()}")


# registered as calls, not decorators: Locust's add_listener has no type hints, and as a decorator it would make
# the handlers untyped too
events.init_command_line_parser.add_listener(_options)  # type: ignore[no-untyped-call]
events.init.add_listener(_init)  # type: ignore[no-untyped-call]
events.test_stop.add_listener(_flush)  # type: ignore[no-untyped-call]


def _record(provider: str, device: str, event_id: str, key: str | None, sent_at: float, status: int,
            latency_ms: float, template: int) -> Record:
    """One row of SENT as a Record; a key the send could not compute cheaply (SmartGPS's hash of vehicle, type
    and time) is worked out here, from its template, off the hot path."""
    if key is None:
        key = POOLS[provider].key_for(template, event_id)
    return Record(provider, device, event_id, key, sent_at, status, latency_ms)


def verified_context(cafile: str | None = None) -> ssl.SSLContext:
    """geventhttpclient's TLS context for an https host: chain and host name verified (FastHttpUser's default is
    not to verify; fleetsim never switches verification off silently), TLS 1.2 or later, the system's CAs
    (SSL_CERT_FILE honoured) and --ca-bundle's."""
    # Locust has monkey-patched ssl by now: this is gevent's SSLContext, as geventhttpclient's own default is
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if _RECORDS["ca_bundle"]:
        context.load_verify_locations(cafile=_RECORDS["ca_bundle"])
    return context


class ProviderUser(FastHttpUser):
    """Posts one provider's requests as fast as its connection allows (pace it with --users, or a shape)."""

    abstract = True
    provider: ClassVar[str] = ""
    insecure = False
    ssl_context_factory = staticmethod(verified_context)

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        # no cookie jar, like fleetsim's own sender (simulator/delivery/transport.py): a webhook sender does not
        # hand a receiver's cookies back; and the jar's two passes over every request and response (reading
        # Set-Cookie, writing Cookie) were a tenth of a FastHttpUser's cost per request
        self.client.client.cookiejar = None

    @task
    def post(self) -> None:
        pool = POOLS[self.provider]
        send = pool.next()
        sent_at = time.time()
        started = time.perf_counter()
        try:
            # bytes as they were signed (FastHttpSession's hints say str or dict; geventhttpclient sends bytes as is)
            response = self.client.post(send.path, data=send.body, headers=send.headers,  # type: ignore[arg-type]
                                        name=pool.label)
        except GreenletExit:
            # Locust stopped this user while its request waited for an answer (the run ended): the request went
            # out and no answer came. Recorded as CUT_OFF with its wait, or a receiver that hangs would look like
            # one never asked (the summary counts a wait of STOP_TIMEOUT_S or more as a failure)
            if _RECORDS["dir"]:
                SENT.append((self.provider, send.device, send.event_id, send.key, sent_at, CUT_OFF,
                             (time.perf_counter() - started) * 1000, send.template))
            raise
        if _RECORDS["dir"]:
            SENT.append((self.provider, send.device, send.event_id, send.key, sent_at, response.status_code or 0,
                         (time.perf_counter() - started) * 1000, send.template))


def _user_class(name: str) -> type[ProviderUser]:
    title = "".join(part.title() for part in name.split("_"))
    return type(f"{title}User", (ProviderUser,), {"provider": name, "abstract": False, "__module__": __name__})


USERS = {name: _user_class(name) for name, p in sorted(PROVIDERS.items()) if loadable(p)}
globals().update({u.__name__: u for u in USERS.values()})  # Locust finds user classes among module globals


class FleetShape(LoadTestShape):
    """--fleetsim-shape over Locust's own --users, --spawn-rate and --run-time (the peak and the length)."""

    use_common_options = True

    def tick(self) -> tuple[int, float] | None:
        options = self.runner.environment.parsed_options if self.runner else None
        if options is None:
            return None
        if isinstance(self.runner, MasterRunner) and not self._started:
            if not self._workers_ready():
                return 0, float(options.spawn_rate or 1)
            self._started = True
            self.start_time = time.perf_counter()  # the run time starts when every worker can send
        run_time = float(options.run_time) if options.run_time else None
        elapsed = time.perf_counter() - self.start_time  # what get_run_time() says (it has no type hints)
        return shapes.tick(options.fleetsim_shape, elapsed, run_time, int(options.num_users or 1),
                           float(options.spawn_rate or 1))

    _waiting_since: float | None = None
    _started = False  # a master's run time has started (its workers' pools are built)

    def _workers_ready(self) -> bool:
        """Every expected worker has built its pools; or POOLS_WAIT_S has passed (the run goes on with those that
        have, and the summary counts what they sent)."""
        assert self.runner is not None
        if len(_WORKERS["ready"]) >= _expected_workers(self.runner.environment):
            return True
        if self._waiting_since is None:
            self._waiting_since = time.monotonic()
        return time.monotonic() - self._waiting_since > POOLS_WAIT_S
