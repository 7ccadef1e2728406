"""Run the selected checks for one provider: plan a scenario, deliver it through the existing `Runner` (which
records every `Attempt` through its `on_attempt` hook), then hand the exchanges to the checks.

Checks never send. A harness or network failure of the run turns every check of that provider into `error`
(never counted against the receiver); a usage mistake (a bad URL) propagates as UsageError.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from simulator.delivery.model import Attempt
from simulator.delivery.runner import RunConfig, Runner
from simulator.errors import UsageError
from simulator.providers import PROVIDERS, Provider
from simulator.scenario.model import Rate
from simulator.servers.serving import start_receiver, stop_receiver
from simulator.servers.store import Store
from simulator.signing import Secret

from . import checks as _checks  # noqa: F401  (registers the checks)
from .plan import plan
from .registry import ERROR, Check, CheckResult, Context

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
    return isinstance(settings.get(provider.name, {}).get("secret"), Secret)


async def run_provider(provider: Provider, checks: Iterable[Check], *, target: str,
                       settings: Mapping[str, Mapping[str, Any]], seed: int,
                       timeout_s: float | None = None) -> ProviderRun:
    """Deliver the planned scenario of `provider` to `target` and judge it with `checks`."""
    selected = tuple(checks)
    the_plan = plan(provider, selected, seed=seed, has_secret=has_secret(provider, settings))
    exchanges: list[Attempt] = []
    config = RunConfig(scenario=the_plan.scenario, target=target, settings=settings, rate=Rate("max"),
                       concurrency=CONCURRENCY, time_scale=TIME_SCALE, timeout_s=timeout_s, limit=the_plan.limit,
                       grace_s=2.0, on_attempt=exchanges.append)
    started = time.monotonic()
    runner = Runner(config)  # checks the URL: a usage mistake is raised here, before anything is sent
    url = runner.endpoints[provider.name].url
    trouble: str | None = None
    try:
        await runner.run()
    except UsageError:
        raise
    except Exception as exc:  # HarnessError or anything unforeseen: the harness's trouble, not the receiver's
        trouble = f"the run could not be completed: {type(exc).__name__}: {runner.redactor.text(str(exc))}"
    context = Context(provider, tuple(exchanges), timeout_s or provider.delivery.timeout_s)
    if trouble is not None:
        results = tuple(CheckResult(ERROR, trouble, check_id=c.id, provider=provider.name) for c in selected)
    else:
        results = tuple(c.run(context) for c in selected)
    return ProviderRun(provider.name, url, results, tuple(exchanges), time.monotonic() - started)


@contextlib.asynccontextmanager
async def reference_receiver(settings: Mapping[str, Mapping[str, Any]]) -> AsyncIterator[str]:
    """fleetsim's reference receiver with `settings`, in this event loop, for as long as the context lasts."""
    store = Store()
    server, url = await start_receiver(settings, store)
    try:
        yield url
    finally:
        await stop_receiver(server)
        await store.close()


def webhook_providers() -> list[Provider]:
    return [p for _, p in sorted(PROVIDERS.items()) if "webhook" in p.channels]
