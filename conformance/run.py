"""Run the selected checks for one provider: plan a scenario, deliver it through the existing `Runner` (which
records every `Attempt` through its `on_attempt` hook), then hand the exchanges to the checks.

Checks never send, nor read. When a state probe is given (conformance/state.py), the run takes the readings the
selected checks declare after everything was sent, and hands them to the checks in their context. A harness or
network failure of the run turns every check of that provider into `error` (never counted against the
receiver); a usage mistake (a bad URL) propagates as UsageError.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from simulator.delivery.model import Attempt
from simulator.delivery.runner import RunConfig, Runner
from simulator.delivery.sending import SenderFactory, http_sender, trusting_sender
from simulator.delivery.urls import masked_url_secrets, url_base
from simulator.errors import HarnessError, UsageError
from simulator.providers import PROVIDERS, Provider
from simulator.scenario.model import Rate
from simulator.servers.serving import start_receiver, stop_receiver
from simulator.servers.store import Store
from simulator.signing import Secret
from simulator.stream import Outgoing, scenario_stream

from . import catalogue as _catalogue  # noqa: F401  (registers the probes and checks)
from .checks_fuzz import FuzzSettings
from .plan import Plan, plan
from .probing import BODY_LIMIT, ProbeRequest, bases, send_probes
from .registry import ERROR, FUZZ, PASSED, SKIPPED, Check, CheckResult, Context
from .state import READS, Ask, FileStateProbe, StateProbe, take_readings

#: retry schedules are compressed this much: a receiver that fails genuine deliveries costs a second, not days
TIME_SCALE = 1e6
CONCURRENCY = 4


@dataclass(frozen=True)
class ProviderRun:
    provider: str
    url: str
    results: tuple[CheckResult, ...]
    exchanges: tuple[Attempt, ...]
    elapsed_s: float


def has_secret(provider: Provider, settings: Mapping[str, Mapping[str, Any]]) -> bool:
    """The settings give the provider's requests something to authenticate them: a secret its signer uses, or a
    static credential header (a MettaX token)."""
    own = settings.get(provider.name, {})
    return isinstance(own.get("secret"), Secret) or bool(provider.credential_headers(own))


async def run_provider(provider: Provider, checks: Iterable[Check], *, target: str,
                       settings: Mapping[str, Mapping[str, Any]], seed: int,
                       timeout_s: float | None = None, sender: SenderFactory = http_sender,
                       in_process: bool = False, state: StateProbe | None = None,
                       fuzz: FuzzSettings | None = None,
                       progress: Callable[[str], None] | None = None,
                       ssl_context: ssl.SSLContext | None = None,
                       body_limit: int = BODY_LIMIT) -> ProviderRun:
    """Deliver the planned scenario of `provider` to `target`, then the probes the checks need, then the fuzz
    phase if a selected check needs it (`fuzz` bounds it), and judge it with `checks`. `sender` carries the
    requests (real sockets unless the receiver runs in-process); `state` answers what the checks need to read of
    the receiver's state (None: graded on HTTP only). `progress` hears each phase as it starts. `ssl_context`
    (--ca-bundle) is whom the https requests trust: the sender's and the probes' raw connections alike.
    `body_limit` is the receiver's declared body limit (LIM-01 sends one byte more)."""
    sender = trusting_sender(ssl_context) if sender is http_sender else sender
    # the seed's own event ids, under what the user set: a receiver that keeps earlier runs' events must not see
    # one of them again in this run's new events (Provider.fresh_id_settings)
    settings = {**settings, provider.name: {**provider.fresh_id_settings(seed), **settings.get(provider.name, {})}}
    selected = tuple(checks)
    say = progress or (lambda phase: None)
    the_plan = plan(provider, selected, seed=seed, has_secret=has_secret(provider, settings))
    if in_process:  # probes that need a real socket cannot be sent; their checks are skipped with that reason
        the_plan = dataclasses.replace(the_plan, probes=tuple(p for p in the_plan.probes if not p.socket))
    exchanges: list[Attempt] = []
    config = RunConfig(scenario=the_plan.scenario, target=target, settings=settings, rate=Rate("max"),
                       concurrency=CONCURRENCY, time_scale=TIME_SCALE, timeout_s=timeout_s, limit=the_plan.limit,
                       grace_s=2.0, on_attempt=exchanges.append, sender=sender)
    started = time.monotonic()
    runner = Runner(config)  # checks the URL: a usage mistake is raised here, before anything is sent
    endpoint = runner.endpoints[provider.name]
    url = endpoint.url
    trouble: str | None = None
    try:
        say("sending the scenario's traffic")
        await runner.run()
        fuzzing = any(FUZZ in c.needs and c.applies(provider) for c in selected)
        # the probes' fresh events and, after them, the fuzz phase's template: the stream is generated once
        fresh = (fresh_records(the_plan, runner.config.settings, extra=1 if fuzzing else 0)
                 if the_plan.probes or fuzzing else [])
        if the_plan.probes:
            wanted = sum(p.events for p in the_plan.probes)
            requests, kinds = _probe_requests(the_plan, runner.config.settings, now=int(time.time()),
                                              fresh=fresh[:wanted], body_limit=body_limit)
            say(f"sending {len(requests)} probe requests")
            # a request repeated N times (IDM-02's concurrent copies) needs N connections to be concurrent at all
            width = max([CONCURRENCY, *(r.repeat for _, r in requests)])
            async with sender(width, True) as transport:
                exchanges += await send_probes(
                    requests, sender=transport, url=url, provider=provider.name, kinds=kinds,
                    deadline_s=endpoint.timeout_s, redactor=runner.redactor, concurrency=CONCURRENCY,
                    now=time.time, ssl_context=ssl_context)
        if fuzzing:
            from .fuzz import run_fuzz  # Hypothesis is loaded only by runs that fuzz

            say("fuzzing")

            template = bases(provider, fresh[-1:], runner.config.settings.get(provider.name, {}),
                             int(time.time()))[0]
            async with sender(1, True) as transport:
                exchanges += await run_fuzz(provider, template, sender=transport, url=url,
                                            deadline_s=endpoint.timeout_s, redactor=runner.redactor,
                                            settings=fuzz or FuzzSettings(), seed=seed)
    except UsageError:
        raise
    except Exception as exc:  # HarnessError or anything unforeseen: the harness's trouble, not the receiver's
        trouble = f"the run could not be completed: {type(exc).__name__}: {runner.redactor.text(str(exc))}"
    context = Context(provider, tuple(exchanges), timeout_s or provider.delivery.timeout_s, in_process, state)
    if state is not None and trouble is None:
        say("reading the receiver's state")
        base = url_base(target)
        if in_process and isinstance(state, FileStateProbe):
            async with sender(CONCURRENCY, True) as transport:  # the receiver's read API lives in the app too
                readings = await take_readings(state.through(transport), base, _asks(context, selected))
        else:
            readings = await take_readings(state, base, _asks(context, selected))
        context = dataclasses.replace(context, readings=readings)
    say("judging")
    if trouble is not None:
        results = tuple(CheckResult(ERROR, trouble, check_id=c.id, provider=provider.name) for c in selected)
    else:
        results = baseline_kept(context, tuple(c.run(context) for c in selected))
    # the URL as shown: a user:password@ or ?token= of the target is sent, never printed or reported
    return ProviderRun(provider.name, masked_url_secrets(url), results, tuple(exchanges), time.monotonic() - started)


#: checks whose verdict stands without an acknowledged genuine delivery: what error answers may show (SIG-10),
#: the TLS of the endpoint (TRN-01/02), a property of the provider (RPL-07)
BASELINE_FREE = frozenset({"SIG-10", "TRN-01", "TRN-02", "RPL-07"})


def baseline_kept(context: Context, results: tuple[CheckResult, ...]) -> tuple[CheckResult, ...]:
    """Every check is measured against SIG-01's baseline (docs/conformance-catalogue.md, SIG-01): when the
    receiver acknowledged no genuine delivery at all (a wrong secret or path, a receiver refusing everything), a
    check that passed because something was refused shows nothing. Its PASS becomes a skip that says why; FAILs
    (a 5xx, an accepted forgery) stand."""
    genuine = context.of("genuine")
    if not genuine or any(a.status is not None and context.provider.delivery.is_success(a.status) for a in genuine):
        return results
    answered = sorted({str(a.status) for a in genuine if a.status is not None})
    got = f"answered {'/'.join(answered)}" if answered else "not answered"
    reason = f"not judged: no genuine delivery was acknowledged ({got}, SIG-01), so a refusal here shows nothing"
    return tuple(CheckResult(SKIPPED, reason, r.exchange, r.expected, dict(r.metrics), check_id=r.check_id,
                             provider=r.provider)
                 if r.status == PASSED and r.check_id not in BASELINE_FREE else r for r in results)


def _asks(context: Context, checks: Iterable[Check]) -> set[Ask]:
    """What the selected checks that apply need to read of the receiver's state."""
    return {ask for c in checks if c.id in READS and c.applies(context.provider)
            and not (c.socket and context.in_process) for ask in READS[c.id](context)}


def fresh_records(the_plan: Plan, settings: Mapping[str, Mapping[str, Any]], extra: int = 0) -> list[Outgoing]:
    """The webhook records of the plan's scenario after the ones the run sends: up to the events every probe
    wants, at least what they need, and `extra` more after those (the fuzz phase's template)."""
    scenario = dataclasses.replace(the_plan.scenario,
                                   delivery=dataclasses.replace(the_plan.scenario.delivery, providers=settings))
    wanted = sum(p.events for p in the_plan.probes) + extra
    needed = sum(p.least for p in the_plan.probes) + extra
    stream = scenario_stream(scenario, providers={the_plan.provider.name}, channels={"webhook"})
    records = list(itertools.islice(stream, the_plan.limit, the_plan.limit + wanted))
    if len(records) < needed:
        raise HarnessError(f"the planned scenario of {the_plan.provider.name} has {len(records)} fresh events "
                           f"for probes that need {needed}")
    return records


def _probe_requests(the_plan: Plan, settings: Mapping[str, Mapping[str, Any]], *, now: int,
                    fresh: list[Outgoing] | None = None, body_limit: int = BODY_LIMIT,
                    ) -> tuple[list[tuple[str, ProbeRequest]], dict[str, str]]:
    """Each planned probe's requests, built from its own share of the fresh events (`fresh_records`, generated
    here unless given; event ids filled in), and the kind of every event they carry."""
    if fresh is None:
        fresh = fresh_records(the_plan, settings)
    kinds = {r.event_id: r.kind for r in fresh}
    records = iter(fresh)
    requests: list[tuple[str, ProbeRequest]] = []
    own_settings = settings.get(the_plan.provider.name, {})
    spare = len(fresh) - sum(p.least for p in the_plan.probes)  # shared out in plan order to probes that want more
    # probes that look through "up to N" events take theirs last, so that every other probe's window is the same
    # whatever they get; and theirs holds the newest events of the probe phase
    for probe in sorted(the_plan.probes, key=lambda p: p.min_events > 0):
        extra = min(probe.events - probe.least, spare)
        spare -= extra
        own = bases(the_plan.provider, list(itertools.islice(records, probe.least + extra)), own_settings, now,
                    body_limit=body_limit)
        for request in probe.function(own):
            if not request.event_id:
                request = dataclasses.replace(request, event_id=own[0].event_id)
            requests.append((probe.name, request))
    return requests, kinds


@contextlib.asynccontextmanager
async def reference_receiver(settings: Mapping[str, Mapping[str, Any]],
                             ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """fleetsim's reference receiver with `settings`, in this event loop, for as long as the context lasts (over
    https with `ssl_context`)."""
    store = Store()
    server, url = await start_receiver(settings, store, ssl_context=ssl_context)
    try:
        yield url
    finally:
        await stop_receiver(server)
        await store.close()


def webhook_providers() -> list[Provider]:
    return [p for _, p in sorted(PROVIDERS.items()) if "webhook" in p.channels]
