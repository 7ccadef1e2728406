"""State probes: how `fleetsim check` asks a receiver what it *did*, so that checks can judge effects, not only
answers.

An HTTP answer says whether a delivery was accepted; it cannot say whether a duplicate was applied twice
(RPL-06, IDM-02, IDM-03), whether the latest position moved back to a back-filled fix (ORD-02) or whether the
final state is the newest one rather than the last to arrive (ORD-01). A *state probe file* (YAML) maps the
three questions checks ask onto the receiver's own read API (a URL template, GET, JSON answer) or onto a
command (an argv template whose stdout is JSON):

- `effects` (provider, event id) -> int: how many times the receiver applied one event's effects;
- `latest` (provider, device) -> `Latest` or None: the device's latest fix (device time, lat, lon);
- `state` (provider, device) -> {name: value}: the device's current state, e.g. {"ignition": "on"}.

An optional `settle` question is polled first until it gives the expected value (e.g. the reference receiver's
`processing` count reaches 0), for receivers that acknowledge first and apply in the background.

Checks stay pure functions of what was recorded. After the run and its probes were sent, run.py asks every
selected check what it needs to read (`READS`, registered with `@reads(check_id)`: a pure function of the
context's exchanges), takes those readings once through the `StateProbe`, and hands them to the checks as
`context.readings`; `context.state` is the probe itself, only so that a check can say whether one was given
(None: graded on HTTP only, and the reasons say so). A reading that fails is recorded as an error for that
question, and the check that needed it ends in `error` (the harness's trouble, never the receiver's).

Template values: `{base}` the target base URL (no query, no trailing slash: `urls.url_base`), `{provider}`,
`{event_id}` the event's key as the provider unit reads it (`adapter.event_key`: Samsara `eventId`, Traccar
`event.id`, the Standard Webhooks `webhook-id` header, MettaX "<kind>:<id>", and for SmartGPS, which sends no
id, a hash of vehicle, event and time), `{device}` the provider's own device id (the one its messages carry).
In URLs every value but `{base}` is percent-encoded; in commands each argv element is formatted on its own,
never through a shell.

Paths pick a value out of the JSON answer: a tiny dotted subset of JSON path ("a.b.0.c": object keys and list
indexes; "" or "." is the whole answer). That is all the questions need, so no dependency is taken for it.
The format is documented in docs/state-probes.md, with conformance/probes/reference.yaml (the reference
receiver's, used when `fleetsim check` runs without --target) as the example.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import string
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
import orjson

from simulator.delivery.model import Attempt
from simulator.delivery.sending import Sender
from simulator.errors import ScenarioError
from simulator.providers import Provider
from simulator.providers.receiving import Change, Fix, epoch
from simulator.scenario.yamlsafe import FileKind, JsonPath, YamlDocument, load_yaml_file
from simulator.signing import CIHeaders

__all__ = ["CA_ENV", "QUESTIONS", "READS", "REFERENCE_PROBE", "Ask", "FileStateProbe", "Latest", "Readings",
           "StateProbe", "change_of", "command_ca_file", "command_env", "event_key", "fix_of", "key_of",
           "load_state_probe", "reads", "runs_commands", "take_readings"]

EFFECTS, LATEST, STATE = "effects", "latest", "state"
QUESTIONS = (EFFECTS, LATEST, STATE)
_PROBE_FILE = FileKind("state probe", f"{EFFECTS}: ..., {LATEST}: ..., {STATE}: ...")
#: the template values each question may use
_FIELDS = {EFFECTS: {"base", "provider", "event_id"}, LATEST: {"base", "provider", "device"},
           STATE: {"base", "provider", "device"}, "settle": {"base"}}
#: the answer fields each question reads (each a path into the JSON answer)
_ANSWERS = {EFFECTS: ("path",), LATEST: ("device_time", "lat", "lon"), STATE: ("path",), "settle": ("path",)}
REFERENCE_PROBE = Path(__file__).parent / "probes" / "reference.yaml"
READ_TIMEOUT_S = 5.0
SETTLE_TIMEOUT_S = 10.0
READ_CONCURRENCY = 4
#: HTTP statuses that mean "the receiver knows nothing of it" rather than "the read failed"
_UNKNOWN = frozenset({404})
#: what a probe command is told to trust with --ca-bundle or --tls (docs/state-probes.md, "HTTPS")
CA_ENV = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
#: the largest answer a state reading takes (a device's whole event list can be long); one byte more is read to
#: tell a complete answer at the cap from a cut one
ANSWER_CAP = 8 * 1024 * 1024


@dataclass(frozen=True)
class Latest:
    device_time: float  # UTC epoch seconds
    lat: float
    lon: float


Reading = int | Latest | dict[str, str] | None


class ReadError(Exception):
    """A question the probe could not answer (the receiver's read API failed, or answered something else)."""


class StateProbe(Protocol):
    """What the run asks a receiver's state; `base` is the target base URL."""

    description: str  # where the answers come from, for reasons and reports

    def batch(self) -> contextlib.AbstractAsyncContextManager[StateProbe]:
        """The probe to take one batch of readings with (sharing whatever connections it needs)."""
        ...

    async def settle(self, base: str) -> None: ...

    async def effects(self, base: str, provider: str, event_id: str) -> int: ...

    async def latest(self, base: str, provider: str, device: str) -> Latest | None: ...

    async def state(self, base: str, provider: str, device: str) -> dict[str, str]: ...


# --- the file --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """How one question is answered: a URL (GET) or an argv, and paths into the JSON answer."""

    url: str | None
    command: tuple[str, ...] | None
    paths: Mapping[str, str]
    equals: Any = None  # settle only: the value to wait for


@dataclass(frozen=True)
class ProbeFile:
    source: str
    questions: Mapping[str, Source]
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = READ_TIMEOUT_S
    settle_timeout_s: float = SETTLE_TIMEOUT_S


class _Problems:
    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.found: list[str] = []

    def add(self, path: JsonPath, expected: str, *, key: bool = False) -> None:
        where = ".".join(str(p) for p in path) or "(top level)"
        self.found.append(f"{self.doc.location(path, key=key)}: {where}: expected {expected}")


def load_state_probe(path: str | Path) -> ProbeFile:
    """Read and check a state probe file; every problem is reported at once, as file:line:col: field: expected
    ... (a ScenarioError: exit 2)."""
    doc = load_yaml_file(path, kind=_PROBE_FILE)
    problems = _Problems(doc)
    data = doc.data
    known = {"version", "headers", "timeout", "settle_timeout", "settle", *QUESTIONS}
    for name in data:
        if name not in known:
            problems.add((name,), f"one of {', '.join(sorted(known))}", key=True)
    if data.get("version", 1) != 1:
        problems.add(("version",), "1 (the only version of this format)")
    questions = {name: _source(problems, name, data[name]) for name in (*QUESTIONS, "settle") if name in data}
    if not any(name in data for name in QUESTIONS):
        problems.add((), f"at least one of the questions {', '.join(QUESTIONS)}")
    headers = data.get("headers", {})
    if not (isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())):
        problems.add(("headers",), "a mapping of header names to text values")
        headers = {}
    timeouts = [_seconds(problems, data, name, default)
                for name, default in (("timeout", READ_TIMEOUT_S), ("settle_timeout", SETTLE_TIMEOUT_S))]
    if problems.found:
        raise ScenarioError(problems.found)
    return ProbeFile(doc.source, {k: v for k, v in questions.items() if v is not None}, headers, *timeouts)


def _seconds(problems: _Problems, data: Mapping[str, Any], name: str, default: float) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 600:
        problems.add((name,), "seconds, a number above 0 and at most 600")
        return default
    return float(value)


def _source(problems: _Problems, name: str, value: Any) -> Source | None:
    what = (f"a mapping with url: TEMPLATE or command: [ARGV...], and {', '.join(_ANSWERS[name])}: PATH"
            + (" and equals: VALUE" if name == "settle" else ""))
    if not isinstance(value, dict):
        problems.add((name,), what)
        return None
    allowed = {"url", "command", *_ANSWERS[name], *(("equals",) if name == "settle" else ())}
    for key in value:
        if key not in allowed:
            problems.add((name, key), f"one of {', '.join(sorted(allowed))}", key=True)
    url, command = value.get("url"), value.get("command")
    if (url is None) == (command is None):
        problems.add((name,), "exactly one of url: or command:")
        return None
    if url is not None and not (isinstance(url, str) and url.startswith(("{base}", "http://", "https://"))):
        problems.add((name, "url"), "a URL template starting with {base}, http:// or https://")
    if command is not None and not (isinstance(command, list) and command
                                    and all(isinstance(a, str) and a for a in command)):
        problems.add((name, "command"), "a non-empty list of argv strings (no shell)")
        command = None
    for i, template in enumerate([url] if isinstance(url, str) else command or []):
        _check_template(problems, (name, "url") if url is not None else (name, "command", i), template, name)
    paths = {}
    for answer in _ANSWERS[name]:
        path = value.get(answer, "" if answer == "path" and name == STATE else None)
        if not isinstance(path, str):
            problems.add((name, answer), "a dotted path into the JSON answer, such as effects or data.0.count")
        else:
            paths[answer] = path
    if name == "settle" and "equals" not in value:
        problems.add((name,), "equals: the value that means the receiver has settled (e.g. 0)")
    return Source(url if isinstance(url, str) else None, tuple(command) if command else None, paths,
                  value.get("equals"))


def _check_template(problems: _Problems, path: JsonPath, template: str, question: str) -> None:
    allowed = _FIELDS[question]
    try:
        names = [f for _, f, spec, conv in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        problems.add(path, f"a template ({exc}; write {{{{ and }}}} for literal braces)")
        return
    for name in names:
        if name not in allowed:
            problems.add(path, f"only the values {', '.join('{' + a + '}' for a in sorted(allowed))} "
                         f"in the {question} template, not {{{name}}}")


# --- answering -------------------------------------------------------------------------------------------------


def pick(document: Any, path: str) -> Any:
    """The value at a dotted path ("a.b.0.c"); ReadError when it is not there."""
    node = document
    for part in (p for p in path.split(".") if p):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise ReadError(f"the answer has nothing at {path!r}")
    return node


class FileStateProbe:
    """A `StateProbe` that answers as a state probe file says."""

    def __init__(self, probe: ProbeFile, sender: Sender | None = None,
                 session: aiohttp.ClientSession | None = None, ssl_context: ssl.SSLContext | None = None,
                 ca_file: str | None = None) -> None:
        self.probe = probe
        self.description = f"state probe {probe.source}"
        self.sender = sender
        self.session = session
        self.ssl_context = ssl_context  # whom its https GETs trust (--ca-bundle); None: the system's CAs
        #: the PEM file its commands are told to trust (SSL_CERT_FILE and kin, `command_env`); None: their own
        self.ca_file = ca_file

    def trusting(self, ssl_context: ssl.SSLContext | None, ca_file: str | None = None) -> FileStateProbe:
        """The same probe, its https GETs verified with `ssl_context` and its commands pointed at `ca_file`
        (None: unchanged)."""
        if ssl_context is None and ca_file is None:
            return self
        return FileStateProbe(self.probe, self.sender, self.session, ssl_context or self.ssl_context,
                              ca_file or self.ca_file)

    def through(self, sender: Sender) -> FileStateProbe:
        """The same probe, its GETs carried by `sender` (an in-process app's read API has no socket)."""
        return FileStateProbe(self.probe, sender, ca_file=self.ca_file)

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[FileStateProbe]:
        """This probe with one HTTP session (and its pooled connections) for a whole batch of readings, instead
        of a session and a connection per reading (`fleetsim load` takes up to 20,000)."""
        if self.sender is not None or self.session is not None:
            yield self
            return
        connector = aiohttp.TCPConnector(ssl=self.ssl_context) if self.ssl_context is not None else None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.probe.timeout_s),
                                         connector=connector) as session:
            yield FileStateProbe(self.probe, session=session, ca_file=self.ca_file)

    async def _ask(self, question: str, values: Mapping[str, str]) -> Any:
        """The JSON answer to `question`, or None when the receiver knows nothing of it (404)."""
        source = self.probe.questions.get(question)
        if source is None:
            raise ReadError(f"{self.probe.source} has no {question} question")
        if source.url is not None:
            url = source.url.format(**{k: v if k == "base" else quote(v, safe="") for k, v in values.items()})
            return await self._get(url)
        assert source.command is not None
        return await self._run([arg.format(**values) for arg in source.command])

    async def _get(self, url: str) -> Any:
        if self.sender is not None:
            return await self._get_through(self.sender, url)
        if self.session is None:
            async with self.batch() as bound:
                return await bound._get(url)
        try:
            async with self.session.get(url, headers=dict(self.probe.headers)) as response:
                body = await response.content.read(ANSWER_CAP + 1)
                while len(body) <= ANSWER_CAP and (more := await response.content.read(ANSWER_CAP + 1 - len(body))):
                    body += more
                if response.status in _UNKNOWN:
                    return None
                if not 200 <= response.status < 300:
                    raise ReadError(f"GET {url} answered {response.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ReadError(f"GET {url} failed: {type(exc).__name__}") from None
        return _json(_whole(body, url), f"GET {url}")

    async def _get_through(self, sender: Sender, url: str) -> Any:
        response = await sender.post(url, b"", dict(self.probe.headers), deadline_s=self.probe.timeout_s,
                                     method="GET", keep=ANSWER_CAP + 1)
        if response.status in _UNKNOWN:
            return None
        if response.status is None or not 200 <= response.status < 300:
            raise ReadError(f"GET {url} answered {response.status or response.outcome}")
        return _json(_whole(response.body, url), f"GET {url}")

    async def _run(self, argv: list[str]) -> Any:
        try:
            process = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                           stderr=asyncio.subprocess.DEVNULL,
                                                           env=command_env(os.environ, self.ca_file))
        except OSError as exc:
            raise ReadError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
        try:
            async with asyncio.timeout(self.probe.timeout_s):
                out = await _read_at_most(process, ANSWER_CAP + 1)
                if len(out) > ANSWER_CAP:  # `cat /dev/zero` grew fleetsim by gigabytes: the answer is cut here
                    raise ReadError(f"{argv[0]} answered more than {ANSWER_CAP // (1024 * 1024)} MiB")
                await process.wait()
        except TimeoutError:
            raise ReadError(f"{argv[0]} did not answer within {self.probe.timeout_s:g} s") from None
        finally:
            if process.returncode is None:  # timed out, too long, or cancelled: the command must not outlive it
                process.kill()
                # drain, not wait(): a stdout left unread past its buffer is paused, and wait() would wait for its
                # end forever; the killed command writes no more than what its pipe already holds
                await process.communicate()
        if process.returncode != 0:
            raise ReadError(f"{argv[0]} exited with {process.returncode}")
        return _json(out, argv[0])

    async def settle(self, base: str) -> None:
        source = self.probe.questions.get("settle")
        if source is None:
            return
        deadline = time.monotonic() + self.probe.settle_timeout_s
        while True:
            answer = await self._ask("settle", {"base": base})
            if answer is not None and pick(answer, source.paths["path"]) == source.equals:
                return
            if time.monotonic() > deadline:
                raise ReadError(f"the receiver did not settle within {self.probe.settle_timeout_s:g} s")
            await asyncio.sleep(0.05)

    async def effects(self, base: str, provider: str, event_id: str) -> int:
        answer = await self._ask(EFFECTS, {"base": base, "provider": provider, "event_id": event_id})
        if answer is None:
            return 0
        value = pick(answer, self.probe.questions[EFFECTS].paths["path"])
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ReadError(f"effects: expected a count (an integer >= 0), got {type(value).__name__}")
        return value

    async def latest(self, base: str, provider: str, device: str) -> Latest | None:
        answer = await self._ask(LATEST, {"base": base, "provider": provider, "device": device})
        if answer is None:
            return None
        paths = self.probe.questions[LATEST].paths
        try:
            return Latest(_time(pick(answer, paths["device_time"])), float(pick(answer, paths["lat"])),
                          float(pick(answer, paths["lon"])))
        except (TypeError, ValueError) as exc:
            raise ReadError(f"latest: expected a device time and numeric lat/lon ({exc})") from None

    async def state(self, base: str, provider: str, device: str) -> dict[str, str]:
        answer = await self._ask(STATE, {"base": base, "provider": provider, "device": device})
        if answer is None:
            return {}
        value = pick(answer, self.probe.questions[STATE].paths["path"])
        if not isinstance(value, dict):
            raise ReadError(f"state: expected an object of state names and values, got {type(value).__name__}")
        return {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in value.items()}


async def _read_at_most(process: asyncio.subprocess.Process, limit: int) -> bytes:
    """A command's standard output up to `limit` bytes (all of it when shorter)."""
    assert process.stdout is not None
    out = bytearray()
    while len(out) < limit:
        piece = await process.stdout.read(limit - len(out))
        if not piece:
            break
        out += piece
    return bytes(out)


def _whole(body: bytes, url: str) -> bytes:
    if len(body) > ANSWER_CAP:
        raise ReadError(f"GET {url} answered more than {ANSWER_CAP // (1024 * 1024)} MiB")
    return body


def _json(raw: bytes, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ReadError(f"{what} did not answer JSON") from None


def _time(value: Any) -> float:
    """A device time: epoch seconds (a number) or an RFC 3339 text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        return epoch(value)
    raise ValueError(f"a device time must be epoch seconds or RFC 3339 text, not {type(value).__name__}")


# --- what checks read ------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Ask:
    """One reading: a question about one event (effects) or one device (latest, state) of a provider."""

    question: str
    provider: str
    key: str  # the event id for effects, the device for latest and state


@dataclass(frozen=True)
class Readings:
    """The answers the run took for the checks: a value or, when the read failed, why."""

    values: Mapping[Ask, Reading] = field(default_factory=dict)
    errors: Mapping[Ask, str] = field(default_factory=dict)

    def get(self, ask: Ask) -> Reading:
        """The reading, or ReadError (with why) when it failed or was never taken."""
        if ask in self.errors:
            raise ReadError(self.errors[ask])
        if ask not in self.values:
            raise ReadError(f"no {ask.question} reading was taken for {ask.key}")
        return self.values[ask]


ReadsFunction = Callable[[Any], Iterable[Ask]]  # (registry.Context) -> the readings a check needs
READS: dict[str, ReadsFunction] = {}


def reads(check_id: str) -> Callable[[ReadsFunction], ReadsFunction]:
    """Register what check `check_id` needs to read, as a pure function of its context (the exchanges)."""

    def register(function: ReadsFunction) -> ReadsFunction:
        READS[check_id] = function
        return function

    return register


async def take_readings(probe: StateProbe, base: str, asks: Iterable[Ask]) -> Readings:
    """Let the receiver settle, then take every reading (a few at a time); failures are kept per reading."""
    wanted = sorted(set(asks))
    if not wanted:
        return Readings()
    async with probe.batch() as batch:
        return await _take(batch, base, wanted)


def runs_commands(probe: StateProbe | None) -> bool:
    """Whether `probe` answers any question with a command (only those need a CA file written for them)."""
    return isinstance(probe, FileStateProbe) and any(s.command for s in probe.probe.questions.values())


@contextlib.contextmanager
def command_ca_file(bundle: str | None, extra_pem: bytes | None) -> Iterator[str | None]:
    """A temporary PEM file for probe commands to trust while the block runs: the system's CAs (so a public
    receiver still verifies: SSL_CERT_FILE replaces them for OpenSSL), `bundle`'s (--ca-bundle) and `extra_pem`
    (the throwaway CA of --tls); None when neither is given. Removed afterwards: nothing is left behind."""
    if bundle is None and extra_pem is None:
        yield None
        return
    parts: list[bytes] = []
    system = ssl.get_default_verify_paths().cafile
    for path in (system, bundle):
        if path:
            with contextlib.suppress(OSError):  # the bundle was read already (--ca-bundle's check)
                parts.append(Path(path).read_bytes().rstrip(b"\n") + b"\n")
    if extra_pem:
        parts.append(extra_pem)
    handle, name = tempfile.mkstemp(prefix="fleetsim-ca-", suffix=".pem")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(b"".join(parts))
        yield name
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def command_env(base: Mapping[str, str], ca_file: str | None) -> dict[str, str] | None:
    """The environment of a probe command: `base` with every common "trust this CA file" variable pointed at
    `ca_file` (OpenSSL and Python's ssl, requests, curl, Node), so a command that reads an https receiver with a
    local CA verifies it as fleetsim's own GETs do; None (inherit) without a CA file."""
    if ca_file is None:
        return None
    return {**base, **dict.fromkeys(CA_ENV, ca_file)}


async def _take(probe: StateProbe, base: str, wanted: list[Ask]) -> Readings:
    try:
        await probe.settle(base)
    except ReadError as exc:
        return Readings({}, {ask: f"{probe.description}: {exc}" for ask in wanted})
    gate = asyncio.Semaphore(READ_CONCURRENCY)
    values: dict[Ask, Reading] = {}
    errors: dict[Ask, str] = {}

    async def one(ask: Ask) -> None:
        ask_of: dict[str, Callable[[str, str, str], Awaitable[Reading]]] = {
            EFFECTS: probe.effects, LATEST: probe.latest, STATE: probe.state}
        async with gate:
            try:
                values[ask] = await ask_of[ask.question](base, ask.provider, ask.key)
            except ReadError as exc:
                errors[ask] = f"{probe.description}: {exc}"

    await asyncio.gather(*(one(ask) for ask in wanted))
    return Readings(values, errors)


# --- what the provider unit says about a recorded request -------------------------------------------------------


def _read(provider: Provider, body: bytes, headers: Mapping[str, str]) -> tuple[dict[str, Any], str | None]:
    content_type = CIHeaders(headers.items()).get("Content-Type", "application/json")
    doc = provider.adapter.decode(body, content_type.split(";")[0].strip().lower())
    return doc, provider.adapter.classify(doc)


def event_key(provider: Provider, attempt: Attempt) -> str | None:
    """The key the provider unit gives the event a recorded request carries (what `{event_id}` is), or None
    when the request does not carry a readable event."""
    return key_of(provider, attempt.request_body, attempt.request_headers)


def key_of(provider: Provider, body: bytes, headers: Mapping[str, str]) -> str | None:
    """The event key of a request's body and headers, as the provider unit reads it (None: not readable)."""
    try:
        doc, kind = _read(provider, body, headers)
        adapter = provider.adapter
        header = CIHeaders(headers.items()).get(adapter.key_header) if adapter.key_header else None
        return header or adapter.event_key(doc, kind)
    except Exception:  # not a readable event (a corrupt-body probe): nothing to ask about
        return None


def fix_of(provider: Provider, body: bytes, headers: Mapping[str, str]) -> Fix | None:
    """The position a request reports, as the provider unit reads it."""
    try:
        doc, kind = _read(provider, body, headers)
        return provider.adapter.fix(doc, kind) if kind is not None else None
    except Exception:
        return None


def change_of(provider: Provider, body: bytes, headers: Mapping[str, str]) -> Change | None:
    """The device state a request reports, as the provider unit reads it."""
    try:
        doc, kind = _read(provider, body, headers)
        return provider.adapter.change(doc, kind) if kind is not None else None
    except Exception:
        return None


def keys(provider: Provider, attempts: Sequence[Attempt]) -> list[str]:
    """The distinct event keys of `attempts`, in order."""
    return list(dict.fromkeys(k for a in attempts if (k := event_key(provider, a)) is not None))
