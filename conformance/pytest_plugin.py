"""fleetsim's pytest plugin (entry point `pytest11: fleetsim`): the conformance checks as pytest tests, and
fixtures for an integrator's own tests.

With `--fleetsim-target URL` or `--fleetsim-app MODULE:ATTR`, one test per (provider, check) is added to the
session, named `fleetsim[PROVIDER-CHECK_ID]` (so `-k SIG-04` selects, `--junitxml` reports), with the node id
`fleetsim/check/PROVIDER::fleetsim[...]` (JUnit classname `fleetsim.check.PROVIDER`, as `fleetsim check --report
junit:` writes). Options: `--fleetsim-provider P` (repeatable, or `all`: the default), `--fleetsim-settings FILE`,
`--fleetsim-seed S`, `--fleetsim-suite quick|standard|full|fuzz` (default standard), `--fleetsim-body-limit BYTES`,
`--fleetsim-state-probe FILE` (without it the state checks are graded on HTTP answers only, and say so).

Each provider is run once, lazily, by its first test that runs (a deselected provider is never run), exactly as
`fleetsim check` runs it; each test then reports its check's result:
- passed: the test passes;
- failed: the test fails with the Sent / Received / Expected / Reproduce lines of `fleetsim check`;
- skipped: `pytest.skip` with the check's reason;
- error (harness or network trouble, never the receiver's fault): the test FAILS with "harness error: ...". A
  check that could not be judged is not a pass, and xfail would hide it from a CI that only counts failures.
A provider that cannot be run at all (nothing listens at the target: `fleetsim check`'s exit 2) makes each of its
tests an ERROR in set-up, with one line: "fleetsim: cannot reach --fleetsim-target URL: connection refused ...".
With pytest-xdist each worker runs the providers of the tests it gets (a provider may run more than once).

Without either option the plugin adds no test and imports nothing beyond pytest: the project's own test run
loads it too (it is installed), and must not pay for it. The fixtures cost nothing until a test asks for one:
- `fleetsim_stream(provider, seed=None)`: a seeded stream of the provider's webhook records (`Outgoing`), built
  from the same small scenario `fleetsim check` plans, with the configured secrets;
- `fleetsim_sender(provider, to, ...)`: signs one of those events afresh (now) and posts it to `to`, a URL or an
  ASGI/WSGI app (object or MODULE:ATTR); returns the `Response` (`.apost` for async tests);
- `fleetsim_receiver`: fleetsim's reference receiver, started for the test; its base URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from argparse import ArgumentTypeError
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from simulator.delivery.transport import Response
    from simulator.stream import Outgoing

    from .report import Reporter
    from .run import ProviderRun

SUITE_DEFAULT = "standard"
SEED_DEFAULT = 1


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fleetsim", "fleetsim: webhook receiver conformance checks")
    group.addoption("--fleetsim-target", metavar="URL", help="check the receiver at this base URL")
    group.addoption("--fleetsim-app", metavar="MODULE:ATTR",
                    help="check this ASGI/WSGI app in-process (like uvicorn's main:app; a factory: main:make())")
    group.addoption("--fleetsim-provider", action="append", default=[], metavar="P|all",
                    help="a provider to check (repeatable; default all)")
    group.addoption("--fleetsim-settings", metavar="FILE", help="provider settings: secrets (over the demo ones)")
    group.addoption("--fleetsim-seed", type=int, default=SEED_DEFAULT, metavar="S",
                    help=f"seed of the planned traffic (default {SEED_DEFAULT})")
    group.addoption("--fleetsim-suite", default=SUITE_DEFAULT, metavar="SUITE",
                    help=f"quick, standard, full or fuzz (default {SUITE_DEFAULT})")
    group.addoption("--fleetsim-state-probe", metavar="FILE",
                    help="how to read the receiver's state (docs/state-probes.md): the state checks (RPL-06, IDM, "
                    "ORD, MAL-02) grade what it did, not only its HTTP answers")
    group.addoption("--fleetsim-body-limit", type=int, default=None, metavar="BYTES",
                    help="the largest body the receiver takes by design: LIM-01 sends one byte more "
                    "(default 1 MiB)")


# --- the checks as tests ----------------------------------------------------------------------------------


class CheckFailed(Exception):
    """A check failed (or could not be judged): the message is the whole report, shown without a traceback."""


class Checking:
    """What the options asked for, and the provider runs, made on first use."""

    def __init__(self, config: pytest.Config) -> None:
        from simulator.errors import FleetsimError

        from . import cli
        from .registry import CHECKS, SUITES

        opt = config.option
        if opt.fleetsim_target and opt.fleetsim_app:
            raise pytest.UsageError("fleetsim: give --fleetsim-target or --fleetsim-app, not both")
        if opt.fleetsim_suite not in SUITES:
            raise pytest.UsageError(f"fleetsim: unknown suite {opt.fleetsim_suite!r} (known: {', '.join(SUITES)})")
        self.target: str | None = opt.fleetsim_target
        self.app: str | None = opt.fleetsim_app
        self.seed: int = opt.fleetsim_seed
        try:
            self.settings = cli._settings(opt.fleetsim_settings)
            if self.target:
                from simulator.cli.common import target_url

                self.target = target_url(self.target)
            if self.app:
                from .inprocess import load_app

                load_app(self.app)  # a mistake in MODULE:ATTR is a usage error now, not N failed tests later
            names = opt.fleetsim_provider or ["all"]
            self.providers: list[str] = []
            self.notes: list[str] = []
            for name in ["all"] if "all" in names else names:
                chosen, notes = cli._providers(name, self.settings)
                self.providers += [p.name for p in chosen if p.name not in self.providers]
                self.notes += notes
            from .state import FileStateProbe, StateProbe, load_state_probe

            self.state_path: str | None = opt.fleetsim_state_probe
            self.state: StateProbe | None = FileStateProbe(load_state_probe(self.state_path)) \
                if self.state_path else None
        except (FleetsimError, ValueError, ArgumentTypeError) as exc:  # target_url's refusal is argparse's type
            raise pytest.UsageError(f"fleetsim: {exc}") from None
        from .probing import BODY_LIMIT, MAX_BODY_LIMIT

        self.body_limit: int = BODY_LIMIT if opt.fleetsim_body_limit is None else opt.fleetsim_body_limit
        if not 1024 <= self.body_limit <= MAX_BODY_LIMIT:
            raise pytest.UsageError(f"fleetsim: --fleetsim-body-limit must be 1024..{MAX_BODY_LIMIT} bytes")
        self.checks = [c for c in CHECKS.values() if c.in_suite(opt.fleetsim_suite)]
        self.suite: str = opt.fleetsim_suite
        self.settings_path: str | None = opt.fleetsim_settings
        self._runs: dict[str, ProviderRun | BaseException] = {}
        self._reporter: Reporter | None = None

    @property
    def reporter(self) -> Reporter:
        if self._reporter is None:
            from simulator.delivery.redaction import Redactor

            from . import cli
            from .report import Invocation, Reporter
            from .run import webhook_providers

            providers = [p for p in webhook_providers() if p.name in self.providers]
            from .probing import BODY_LIMIT

            extra = (*(("--state-probe", self.state_path) if self.state_path else ()),
                     *(("--body-limit", str(self.body_limit)) if self.body_limit != BODY_LIMIT else ()))
            self._reporter = Reporter(Invocation(self.target, self.settings_path, self.seed, None, self.app,
                                                 extra=extra),
                                      Redactor.from_settings(self.settings, [self.target]),
                                      cli._credential_headers(providers, self.settings), cli.default_body_dir())
        return self._reporter

    def run_of(self, provider: str) -> ProviderRun:
        """The provider's run, made on first use. A target nothing listens at is `fleetsim check`'s usage error
        (exit 2) and here every one of the provider's tests' setup error: one line, "cannot reach ...", not a
        failed check per test, each blaming the receiver for connection errors."""
        from simulator.errors import UsageError

        if provider not in self._runs:
            try:
                if self.target:
                    from simulator.delivery.reach import all_reachable
                    from simulator.delivery.urls import delivery_urls

                    all_reachable((url, "--fleetsim-target" if what == "--target" else what)
                                  for url, what in delivery_urls(self.target, [provider], self.settings))
                self._runs[provider] = asyncio.run(self._run(provider))
            except Exception as exc:  # kept: every test of this provider reports it, not just the first
                self._runs[provider] = exc
        found = self._runs[provider]
        if isinstance(found, UsageError):
            pytest.fail(f"fleetsim: {self.reporter.redactor.text(str(found))}", pytrace=False)
        if isinstance(found, BaseException):
            pytest.fail(f"harness error: {provider} could not be run: {type(found).__name__}: "
                        f"{self.reporter.redactor.text(str(found))}", pytrace=False)
        return found

    async def _run(self, provider: str) -> ProviderRun:
        from simulator.providers import PROVIDERS

        from .inprocess import APP_URL, serve_app
        from .run import run_provider

        def run(target: str, **kwargs: Any) -> Any:
            return run_provider(PROVIDERS[provider], self.checks, target=target, settings=self.settings,
                                seed=self.seed, body_limit=self.body_limit, state=self.state, **kwargs)

        if self.app:
            async with serve_app(self.app) as served:
                result: ProviderRun = await run(APP_URL, sender=served.factory, in_process=True)
                return result
        assert self.target is not None
        result = await run(self.target)
        return result


_CHECKING = pytest.StashKey["Checking | None"]()


def pytest_configure(config: pytest.Config) -> None:
    wanted = config.getoption("fleetsim_target", None) or config.getoption("fleetsim_app", None)
    config.stash[_CHECKING] = Checking(config) if wanted else None


def pytest_report_header(config: pytest.Config) -> list[str]:
    checking = config.stash.get(_CHECKING, None)
    if checking is None:
        return []
    from simulator.delivery.urls import masked_url_secrets

    where = f"--fleetsim-app {checking.app}" if checking.app else masked_url_secrets(checking.target or "")
    state = f"state probe {checking.state_path}" if checking.state_path else \
        "no --fleetsim-state-probe: the state checks are graded on HTTP answers only"
    lines = [f"fleetsim: checking {', '.join(checking.providers)} at {where} (suite {checking.suite}, "
             f"seed {checking.seed}; {state})"]
    return lines + [f"fleetsim: {note}" for note in checking.notes]


@pytest.hookimpl(tryfirst=True)  # before -k / -m deselect, so that they select among these tests too
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    checking = config.stash.get(_CHECKING, None)
    if checking is None:
        return
    added: list[pytest.Item] = []
    for provider in checking.providers:
        for c in checking.checks:
            name = f"fleetsim[{provider}-{c.id}]"
            added.append(CheckItem.from_parent(session, name=name, nodeid=f"fleetsim/check/{provider}::{name}",
                                               provider=provider, check_id=c.id, rule=c.rule))
    items += added
    # reported as collected, so that "collected N items" counts them (it said "collected 2 items / 42 deselected
    # / -40 selected": the terminal counts collect reports, and these tests come from no file)
    report = pytest.CollectReport("fleetsim/check", "passed", None, list[pytest.Item | pytest.Collector](added))
    session.ihook.pytest_collectreport(report=report)


class CheckItem(pytest.Item):
    """One check of one provider."""

    def __init__(self, *, provider: str, check_id: str, rule: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.provider = provider
        self.check_id = check_id
        self.rule = rule

    def setup(self) -> None:
        # the provider's run is this test's set-up: when it cannot be made (no receiver listening, a harness
        # fault) the test is an ERROR, as with a broken fixture, and never a verdict about the receiver
        checking = self.config.stash[_CHECKING]
        assert checking is not None
        checking.run_of(self.provider)

    def runtest(self) -> None:
        checking = self.config.stash[_CHECKING]
        assert checking is not None
        run = checking.run_of(self.provider)
        result = next(r for r in run.results if r.check_id == self.check_id)
        reason = checking.reporter.redactor.text(result.reason)
        if result.status == "skipped":
            pytest.skip(reason)
        if result.status == "error":
            raise CheckFailed(f"harness error: {reason}")
        if result.status == "failed":
            lines = checking.reporter.failure_lines(result)
            raise CheckFailed("\n".join([f"{self.check_id} failed: {reason}", *lines]))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | Any:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"{self.name}: {self.rule}"


# --- fixtures for the integrator's own tests ----------------------------------------------------------------


def _settings(config: pytest.Config) -> Mapping[str, Mapping[str, Any]]:
    from . import cli

    return cli._settings(config.getoption("fleetsim_settings", None))


def _stream(provider: str, seed: int, settings: Mapping[str, Mapping[str, Any]]) -> Iterator[Outgoing]:
    from simulator.providers import PROVIDERS
    from simulator.stream import scenario_stream

    from .plan import plan
    from .run import has_secret

    unit = PROVIDERS[provider]
    scenario = plan(unit, [], seed=seed, has_secret=has_secret(unit, settings)).scenario
    scenario = dataclasses.replace(scenario, delivery=dataclasses.replace(scenario.delivery, providers=settings))
    return scenario_stream(scenario, providers={provider}, channels={"webhook"})


@pytest.fixture
def fleetsim_stream(pytestconfig: pytest.Config) -> Callable[..., Iterator[Outgoing]]:
    """`fleetsim_stream(provider, seed=None)`: the provider's webhook records, seeded (default --fleetsim-seed)."""

    def make(provider: str, *, seed: int | None = None) -> Iterator[Outgoing]:
        chosen = pytestconfig.getoption("fleetsim_seed", SEED_DEFAULT) if seed is None else seed
        return _stream(provider, chosen, _settings(pytestconfig))

    return make


class FleetsimSender:
    """Signs one event of a provider afresh and posts it to a URL or an in-process app: by default where
    `--fleetsim-target` or `--fleetsim-app` points, at the provider's endpoint (its settings `url`, else
    `/PROVIDER`)."""

    def __init__(self, settings: Mapping[str, Mapping[str, Any]], stream: Callable[..., Iterator[Outgoing]], *,
                 target: str | None = None, app: str | None = None) -> None:
        self.settings = settings
        self._stream = stream
        self._streams: dict[str, Iterator[Outgoing]] = {}
        self.target = target
        self.app = app

    def next_record(self, provider: str) -> Outgoing:
        """The provider's next event of the seeded stream (each call, a new event)."""
        stream = self._streams.setdefault(provider, self._stream(provider))
        return next(stream)

    def __call__(self, provider: str, to: str | Callable[..., Any] | None = None, *, record: Outgoing | None = None,
                 body: bytes | None = None, path: str | None = None, deadline_s: float = 10.0) -> Response:
        """Post synchronously (from a sync test); see `apost`."""
        return asyncio.run(self.apost(provider, to, record=record, body=body, path=path, deadline_s=deadline_s))

    async def apost(self, provider: str, to: str | Callable[..., Any] | None = None, *,
                    record: Outgoing | None = None, body: bytes | None = None, path: str | None = None,
                    deadline_s: float = 10.0) -> Response:
        """Post `record` (default: the next event) with `body` (default: the record's) signed now. `to` is the
        endpoint's URL (http/https), or an ASGI/WSGI app (object or MODULE:ATTR) posted at `path` (default: the
        provider's settings `url` when it is a path, else /PROVIDER); without `to`, the app of `--fleetsim-app`,
        or `--fleetsim-target` with that path under it (the provider's `url` setting when it is a whole URL)."""
        import time

        from simulator.delivery.transport import HttpTransport
        from simulator.delivery.urls import endpoint_path, endpoint_url
        from simulator.providers import PROVIDERS

        from .inprocess import APP_URL, serve_app
        from .probing import bases

        own = self.settings.get(provider, {})
        if to is None:
            if self.app is None and self.target is None:
                raise TypeError("fleetsim_sender: give `to` (a URL or an app), or run pytest with "
                                "--fleetsim-target URL or --fleetsim-app MODULE:ATTR")
            to = self.app if self.app is not None else endpoint_url(self.target or "", provider, own)
        chosen = record if record is not None else self.next_record(provider)
        base = bases(PROVIDERS[provider], [chosen], own, int(time.time()))[0]
        data = chosen.body if body is None else body
        headers = base.sign(data)
        if isinstance(to, str) and to.startswith(("http://", "https://")):
            async with HttpTransport(1) as transport:
                return self._scrubbed(await transport.post(to, data, headers, deadline_s=deadline_s), to)
        async with serve_app(to) as served, served.sender(1, True) as sender:
            return self._scrubbed(await sender.post(APP_URL + (path or endpoint_path(provider, own)), data, headers,
                                                    deadline_s=deadline_s), None)

    def _scrubbed(self, response: Response, url: str | None) -> Response:
        """`response` with every configured secret scrubbed from its body, headers and error: a failing
        `assert response.status == 200` prints the whole Response into the test log, and a receiver that
        echoes the PSK or token it was sent would put it there."""
        from simulator.delivery.redaction import Redactor

        scrub = Redactor.from_settings(self.settings, [url])
        if not scrub:
            return response
        return dataclasses.replace(response, body=scrub.bytes(response.body), headers=scrub.headers(response.headers),
                                   error=scrub.optional_text(response.error))


@pytest.fixture
def fleetsim_sender(pytestconfig: pytest.Config, fleetsim_stream: Callable[..., Iterator[Outgoing]]) -> FleetsimSender:
    """`fleetsim_sender(provider[, url_or_app])`: one freshly signed event posted; returns the `Response`. Without
    a URL or app, where --fleetsim-target or --fleetsim-app points."""
    from simulator.cli.common import target_url

    target = pytestconfig.getoption("fleetsim_target", None)
    return FleetsimSender(_settings(pytestconfig), fleetsim_stream, target=target_url(target) if target else None,
                          app=pytestconfig.getoption("fleetsim_app", None))


@pytest.fixture
def fleetsim_receiver(pytestconfig: pytest.Config) -> Iterator[str]:
    """fleetsim's reference receiver (its own event loop in a thread), for this test; its base URL."""
    with _serving(_settings(pytestconfig)) as url:
        yield url


@contextlib.contextmanager
def _serving(settings: Mapping[str, Mapping[str, Any]]) -> Iterator[str]:
    from .run import reference_receiver

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fleetsim-receiver", daemon=True)
    thread.start()
    server = reference_receiver(settings)
    try:
        url = asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(30)
        try:
            yield url
        finally:
            asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


__all__ = ["CheckItem", "FleetsimSender", "fleetsim_receiver", "fleetsim_sender", "fleetsim_stream"]
