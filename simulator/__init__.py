"""fleetsim: fleet-telematics webhook device simulator and receiver conformance harness.

The small API a user's own Python code needs (the CLI is built on the same names):

    import simulator

    scenario = simulator.load_scenario("scenarios/demo-city.yaml")
    for record in simulator.scenario_stream(scenario):          # the exact bytes and headers, in send order
        ...
    provider = simulator.get_provider("samsara")                # kinds, envelope, signing, delivery semantics
    signer = simulator.SIGNERS[provider.signing]
    secret = signer.parse_secret("c2Ftc2FyYS10ZXN0LXNlY3JldC0wMDAx")
    headers = signer.sign(body, [secret], timestamp=1700000000, message_id="m-1")
    verdict = signer.verify(body, headers, [secret], now=1700000000, tolerance=300)

    app = simulator.build_receiver_app(settings, simulator.Store())    # the reference receiver (aiohttp)
    runner, url = await simulator.start_receiver(settings, store)      # ... or running on a free port

Errors are one tree (`FleetsimError`; `UsageError` and `ScenarioError` are the user's to fix). Names load on first
use, so `import simulator` stays cheap and never imports aiohttp, locust or gevent.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS = {
    "load_scenario": "simulator.scenario.loader",
    "load_scenario_text": "simulator.scenario.loader",
    "Scenario": "simulator.scenario.model",
    "scenario_stream": "simulator.stream",
    "Outgoing": "simulator.stream",
    "PROVIDERS": "simulator.providers",
    "get_provider": "simulator.providers",
    "Provider": "simulator.providers",
    "SIGNERS": "simulator.signing",
    "Secret": "simulator.signing",
    "Verdict": "simulator.signing",
    "load_settings": "simulator.settings",
    "merge_settings": "simulator.settings",
    "Runner": "simulator.delivery.runner",
    "RunConfig": "simulator.delivery.runner",
    "Replayer": "simulator.delivery.replay",
    "Store": "simulator.servers.store",
    "start_receiver": "simulator.servers.serving",
    "stop_receiver": "simulator.servers.serving",
    "FleetsimError": "simulator.errors",
    "UsageError": "simulator.errors",
    "ScenarioError": "simulator.errors",
    "HarnessError": "simulator.errors",
}
_RENAMED = {"build_receiver_app": ("simulator.servers.receiver", "build_app")}

__all__ = [
    "PROVIDERS",
    "SIGNERS",
    "FleetsimError",
    "HarnessError",
    "Outgoing",
    "Provider",
    "Replayer",
    "RunConfig",
    "Runner",
    "Scenario",
    "ScenarioError",
    "Secret",
    "Store",
    "UsageError",
    "Verdict",
    "__version__",
    "build_receiver_app",
    "get_provider",
    "load_scenario",
    "load_scenario_text",
    "load_settings",
    "merge_settings",
    "scenario_stream",
    "start_receiver",
    "stop_receiver",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in _RENAMED:
        module, attribute = _RENAMED[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")


if TYPE_CHECKING:
    from .delivery.replay import Replayer
    from .delivery.runner import RunConfig, Runner
    from .errors import FleetsimError, HarnessError, ScenarioError, UsageError
    from .providers import PROVIDERS, Provider, get_provider
    from .scenario.loader import load_scenario, load_scenario_text
    from .scenario.model import Scenario
    from .servers.receiver import build_app as build_receiver_app
    from .servers.serving import start_receiver, stop_receiver
    from .servers.store import Store
    from .settings import load_settings, merge_settings
    from .signing import SIGNERS, Secret, Verdict
    from .stream import Outgoing, scenario_stream
