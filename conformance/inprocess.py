"""In-process receivers: `fleetsim check --app MODULE:ATTR` and the pytest plugin's `--fleetsim-app`.

The receiver is a Python web application loaded into this process and called through httpx's transports: ASGI
(FastAPI, Starlette, Django's ASGIHandler...) on the event loop, WSGI (Flask, Django's WSGIHandler...) on worker
threads. Nothing goes over a socket, so the checks that need one are skipped (registry.Check.socket).

Loading `MODULE:ATTR`, like uvicorn and gunicorn: MODULE is imported with the current directory first on sys.path,
ATTR is a dotted attribute chain inside it. An app factory is called only when asked for with a trailing `()`
(`MODULE:create_app()`, gunicorn's spelling): guessing is not possible, since an ASGI or WSGI app is itself a
callable. ASGI or WSGI is told from the callable: a coroutine function (or an object whose `__call__` is one), or
a plain callable of three positional parameters (scope, receive, send), is ASGI; two (environ, start_response) is
WSGI. Anything else, a missing module or attribute, or a factory that fails, is a `UsageError` (exit 2).

ASGI apps get their lifespan run once around the whole check, with uvicorn's `--lifespan auto` rules (the lifespan
state is handed to every request), so an app that opens its database on startup works; an app that does not
speak lifespan (it raises or returns on that scope) is used without it. A startup that fails is a `UsageError`.

Every request is answered with the `Response` and the outcome classes of `HttpTransport` (transport.py):
- the status decides "2xx"/"3xx"/"4xx"/"5xx"/"429" (redirects are never followed: there is no client);
- the deadline covers the whole call; when it passes the outcome is "timeout_total" (there is no connection phase
  in-process, so never "timeout_connect"). An ASGI app is cancelled; a WSGI call cannot be, and its thread runs
  on to the end in the background;
- an exception raised by the app is what a server would answer with a 500 (uvicorn, gunicorn, werkzeug all do):
  status 500, outcome "5xx", and the exception's type and message as the response's error line;
- at most READ_CAP body bytes are read and KEEP_CAP kept (a state reading asks for more with `keep`). A WSGI
  body is read lazily, so the cap holds; httpx's ASGI transport collects the app's whole body before
  returning, so for ASGI the cap bounds what is kept only.

Known difference from a real server: httpx's ASGI transport returns when the app's call returns, so work an app
does after sending its response (Starlette's BackgroundTasks) counts in the latency TIM-01 measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import math
import os
import queue
import sys
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from simulator.delivery.response import select_headers
from simulator.delivery.sending import SenderFactory
from simulator.delivery.transport import DEFAULT_KEEP_HEADERS, KEEP_CAP, READ_CAP, Response, parse_retry_after
from simulator.delivery.transport import _status_outcome as status_outcome
from simulator.errors import HarnessError, UsageError

if TYPE_CHECKING:
    import httpx

__all__ = ["APP_URL", "InProcessApp", "InProcessSender", "load_app", "serve_app"]

#: the base URL the run is given: never resolved, every request goes to the app whatever its host
APP_URL: Final = "http://app.invalid"
LIFESPAN_TIMEOUT_S: Final = 10.0  # for the app's startup and shutdown each
WSGI_THREADS: Final = 8  # worker threads for WSGI calls, shared by every sender of one app
_ERROR_CAP: Final = 300
_DEFAULT_HEADERS: Final = {"user-agent": "fleetsim", "accept-encoding": "identity"}  # as HttpTransport sends


# --- loading -----------------------------------------------------------------------------------------------


def load_app(spec: str) -> tuple[Callable[..., Any], str]:
    """The application named by `MODULE:ATTR` (or `MODULE:FACTORY()`) and its kind, "asgi" or "wsgi"."""
    _require()
    module_name, colon, attr = spec.partition(":")
    if not colon or not module_name or not attr:
        raise UsageError(f"--app: expected MODULE:ATTR (like uvicorn's main:app), got {spec!r}")
    factory = attr.endswith("()")
    attr = attr.removesuffix("()")
    module = _import(module_name)
    found: Any = module
    for part in attr.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise UsageError(f"--app {spec}: module {module_name!r} has no attribute {attr!r}") from None
    if factory:
        found = _call_factory(found, spec)
    kind = app_kind(found)
    if kind is None:
        raise UsageError(f"--app {spec}: {type(found).__name__} object is not an ASGI app (async (scope, receive, "
                         f"send)) nor a WSGI app ((environ, start_response)); for a factory, write {attr}()")
    return found, kind


def _require() -> None:
    """httpx is a dependency of fleetsim; an install that lost it gets a clear message, not a traceback."""
    try:
        importlib.import_module("httpx")
    except ImportError:
        raise UsageError("--app needs httpx, which is missing from this install: pip install httpx") from None


def _import(module_name: str) -> Any:
    cwd = os.getcwd()
    if cwd not in sys.path:  # like uvicorn's --app-dir ".": the user's module is where they stand
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):  # the module itself (or its package) is missing
            raise UsageError(f"--app: no module named {module_name!r} (looked in {cwd} and sys.path)") from None
        raise UsageError(f"--app: importing {module_name!r} failed: {_one_line(exc)}") from exc
    except Exception as exc:  # the user's module raised while importing: their mistake, said in one line
        raise UsageError(f"--app: importing {module_name!r} failed: {_one_line(exc)}") from exc


def _call_factory(factory: Any, spec: str) -> Any:
    if not callable(factory):
        raise UsageError(f"--app {spec}: {type(factory).__name__} object is not callable")
    try:
        return factory()
    except Exception as exc:
        raise UsageError(f"--app {spec}: the factory failed: {_one_line(exc)}") from exc


def app_kind(app: Any) -> str | None:
    """"asgi", "wsgi", or None when `app` is neither."""
    if not callable(app) or inspect.ismodule(app) or inspect.isclass(app):
        return None
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else type(app).__call__
    if inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(app):
        return "asgi"
    try:
        params = inspect.signature(app).parameters.values()
    except (TypeError, ValueError):
        return None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None  # a wrapper taking *args could be either: say so rather than guess
    return {3: "asgi", 2: "wsgi"}.get(len(positional))


class DaemonExecutor(Executor):
    """A fixed pool of daemon threads for WSGI calls.

    Not ThreadPoolExecutor: its threads are joined when the interpreter exits, so one WSGI call that never
    returns (a WSGI call cannot be cancelled) kept `fleetsim check` alive for ever after "interrupted". A daemon
    thread is abandoned at exit instead: the check ends, the stuck call dies with the process."""

    def __init__(self, workers: int, name: str) -> None:
        self._work: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue())
        self._lock = threading.Lock()
        self._closed = False
        for index in range(workers):
            threading.Thread(target=self._serve, name=f"{name}-{index}", daemon=True).start()
        self._workers = workers

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if kwargs:
            raise TypeError("DaemonExecutor.submit takes positional arguments only")
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new calls after shutdown")
            future: Future[Any] = Future()
            self._work.put((future, fn, args))
            return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        del wait  # never: a stuck call must not hold the caller (that is the point of daemon threads)
        with self._lock:
            self._closed = True
        if cancel_futures:
            with contextlib.suppress(queue.Empty):
                while True:
                    item = self._work.get_nowait()
                    if item is not None:
                        item[0].cancel()
        for _ in range(self._workers):
            self._work.put(None)

    def _serve(self) -> None:
        while (item := self._work.get()) is not None:
            future, fn, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to the awaiting caller, as ThreadPoolExecutor does
                future.set_exception(exc)
            else:
                future.set_result(result)


# --- one loaded app, started once for a whole check ---------------------------------------------------------


@dataclass
class InProcessApp:
    """A loaded app, its lifespan started: `sender` is the `SenderFactory` every run of the check uses."""

    spec: str
    app: Callable[..., Any]
    kind: str
    executor: DaemonExecutor | None = None

    def sender(self, concurrency: int, verify: bool) -> InProcessSender:
        del verify  # no TLS in-process
        return InProcessSender(self, concurrency)

    @property
    def factory(self) -> SenderFactory:
        """What `run_provider(sender=...)` takes (typed so: mypy proves InProcessSender is a Sender)."""
        return self.sender


@contextlib.asynccontextmanager
async def serve_app(app: str | Callable[..., Any]) -> AsyncIterator[InProcessApp]:
    """Load `app` (a MODULE:ATTR spec; an app object is taken as it is), run its ASGI lifespan (startup now,
    shutdown at the end) and yield it."""
    if isinstance(app, str):
        spec = app
        found, kind = load_app(app)
    else:
        _require()
        spec, found, known = f"<{type(app).__name__} object>", app, app_kind(app)
        if known is None:
            raise UsageError(f"{spec} is not an ASGI app (async (scope, receive, send)) nor a WSGI app "
                             "((environ, start_response))")
        kind = known
    if kind == "wsgi":
        executor = DaemonExecutor(WSGI_THREADS, "fleetsim-wsgi")
        try:
            yield InProcessApp(spec, found, kind, executor)
        finally:
            executor.shutdown(wait=False, cancel_futures=True)  # a stuck WSGI call must not hold the check
        return
    async with _lifespan(found, spec) as started:
        yield InProcessApp(spec, started, kind)


@contextlib.asynccontextmanager
async def _lifespan(app: Callable[..., Any], spec: str) -> AsyncIterator[Callable[..., Any]]:
    """Run the app's lifespan around the block with uvicorn's `--lifespan auto` rules; yield the app to call.

    Not asgi-lifespan's LifespanManager: a raw ASGI app that simply returns on a lifespan scope (a common
    `if scope["type"] != "http": return`) makes it wait out its 5 s startup timeout, where uvicorn goes on at once.
    """
    lifespan = _Lifespan(app)
    await lifespan.startup(spec)
    if not lifespan.supported:
        yield app
        return
    try:
        yield lifespan.app
    finally:
        await lifespan.shutdown()


class _Lifespan:
    """One ASGI lifespan conversation (asgi spec "lifespan" 2.0) with an app, driven from this side."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self._app = app
        self._state: dict[str, Any] = {}
        self._messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._started = asyncio.Event()
        self._stopped = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.supported = False
        self._failure: str | None = None

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """The app, with the lifespan state in every request's scope (a shallow copy per request, as uvicorn)."""
        if scope["type"] in ("http", "websocket"):
            scope["state"] = self._state.copy()
        await self._app(scope, receive, send)

    async def startup(self, spec: str) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self._state}
        self._task = asyncio.create_task(self._main(scope))
        self._messages.put_nowait({"type": "lifespan.startup"})
        try:
            await asyncio.wait_for(self._started.wait(), LIFESPAN_TIMEOUT_S)
        except TimeoutError:
            await self._cancel()
            raise UsageError(f"--app {spec}: the app's startup (ASGI lifespan) did not finish within "
                             f"{LIFESPAN_TIMEOUT_S:g} s") from None
        if self._failure is not None:
            await self._cancel()
            raise UsageError(f"--app {spec}: the app's startup (ASGI lifespan) failed: {self._failure}")

    async def shutdown(self) -> None:
        if self._task is None or self._task.done():
            return
        self._messages.put_nowait({"type": "lifespan.shutdown"})
        with contextlib.suppress(TimeoutError):  # an app that does not shut down in time is cancelled below
            await asyncio.wait_for(self._stopped.wait(), LIFESPAN_TIMEOUT_S)
        await self._cancel()

    async def _main(self, scope: dict[str, Any]) -> None:
        try:
            await self._app(scope, self._messages.get, self._send)
        except SystemExit as exc:  # sys.exit() in the app: a server would stop, so its startup failed
            if not self._started.is_set():
                self._failure = f"it called sys.exit({exc.code!r})"
        except Exception:  # before startup completed: lifespan unsupported (uvicorn's auto); after: shutdown trouble
            pass
        finally:
            self._started.set()  # an app that returned or raised without answering does not speak lifespan
            self._stopped.set()

    async def _send(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "lifespan.startup.complete":
            self.supported = True
            self._started.set()
        elif kind == "lifespan.startup.failed":
            self._failure = " ".join(str(message.get("message") or "no message given").split())[:_ERROR_CAP]
            self._started.set()
        elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            self._stopped.set()

    async def _cancel(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


# --- the sender -------------------------------------------------------------------------------------------


class InProcessSender:
    """A `Sender` (simulator.delivery.sending) that calls an in-process app; at most `concurrency` at once."""

    def __init__(self, app: InProcessApp, concurrency: int) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise UsageError(f"sender concurrency must be a positive integer, got {concurrency!r}")
        import httpx

        self._app = app
        self._gate: asyncio.Semaphore | None = None
        self._concurrency = concurrency
        self._asgi = httpx.ASGITransport(app=app.app) if app.kind == "asgi" else None
        self._wsgi = httpx.WSGITransport(app=app.app) if app.kind == "wsgi" else None

    async def __aenter__(self) -> InProcessSender:
        self._gate = asyncio.Semaphore(self._concurrency)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self._gate = None

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], *, deadline_s: float,
                   method: str = "POST", keep: int = KEEP_CAP) -> Response:
        """Call the app with this request and classify the answer as `HttpTransport.post` does."""
        gate = self._gate
        if gate is None:
            raise HarnessError("InProcessSender.post used outside 'async with'")
        if not (deadline_s > 0 and math.isfinite(deadline_s)):
            raise UsageError(f"delivery deadline must be a positive number of seconds, got {deadline_s!r}")
        started = time.perf_counter()
        admitted = False  # like a pooled connection: waiting for a free slot counts in the deadline
        deadline = asyncio.timeout(deadline_s)
        try:
            async with deadline, gate:
                admitted = True
                status, raw_headers, data = await self._call(_request(method, url, body, headers), max(READ_CAP, keep))
        except asyncio.CancelledError:
            raise
        except (Exception, SystemExit) as exc:  # sys.exit() in a handler too: never this command's own exit
            latency = time.perf_counter() - started
            if deadline.expired():
                if admitted:
                    return Response("timeout_total", latency_s=latency,
                                    error=f"no complete response within the {deadline_s:g} s deadline")
                return Response("timeout_connect", latency_s=latency,
                                error=f"no free in-process slot within the {deadline_s:g} s deadline")
            # what a server (uvicorn, gunicorn, werkzeug) answers when the app raises
            return Response("5xx", status=500, latency_s=latency, error=f"the app raised {_one_line(exc)}")
        return _response(status, raw_headers, data, time.perf_counter() - started, keep)

    async def _call(self, request: httpx.Request, cap: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if self._asgi is not None:
            response = await self._asgi.handle_async_request(request)
            buf = bytearray()
            stream = response.stream
            if isinstance(stream, AsyncIterable):
                async for chunk in stream:
                    buf += chunk
                    if len(buf) >= cap:
                        break
            return response.status_code, list(response.headers.raw), bytes(buf[:cap])
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._app.executor, self._wsgi_call, request, cap)

    def _wsgi_call(self, request: httpx.Request, cap: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if self._wsgi is None:
            raise HarnessError("a WSGI call without a WSGI transport")
        response = self._wsgi.handle_request(request)
        buf = bytearray()
        stream = response.stream
        try:
            if isinstance(stream, Iterable):
                for chunk in stream:
                    buf += chunk
                    if len(buf) >= cap:
                        break  # never read what will not be kept: a streaming WSGI body stops here
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # WSGI requires close() on the app's iterable
        return response.status_code, list(response.headers.raw), bytes(buf[:cap])


def _request(method: str, url: str, body: bytes, headers: Mapping[str, str]) -> httpx.Request:
    import httpx

    given = {name.lower() for name in headers}
    raw = [(k.encode(), v.encode()) for k, v in _DEFAULT_HEADERS.items() if k not in given]
    # header values are sent as their UTF-8 bytes, as aiohttp does; a probe's odd bytes reach the app unchanged
    raw += [(k.encode("utf-8", "surrogateescape"), v.encode("utf-8", "surrogateescape")) for k, v in headers.items()]
    return httpx.Request(method, url, headers=raw, content=body)


def _response(status: int, raw_headers: list[tuple[bytes, bytes]], data: bytes, latency_s: float,
              keep: int = KEEP_CAP) -> Response:
    # as the transports keep them
    headers = select_headers(((name.decode("latin-1"), value.decode("latin-1")) for name, value in raw_headers),
                             status, DEFAULT_KEEP_HEADERS)
    retry_after = headers.get("retry-after")
    outcome = status_outcome(status)
    return Response(
        outcome=outcome, status=status,
        retry_after_s=parse_retry_after(retry_after, time.time()) if retry_after is not None else None,
        headers=headers, body=data[:keep], latency_s=latency_s,
        error=f"unexpected final status {status}" if outcome == "protocol_error" else None)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return line if len(line) <= _ERROR_CAP else line[: _ERROR_CAP - 3] + "..."
