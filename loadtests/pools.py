"""Payload pools: realistic webhook requests built once per process from a scenario, stamped and signed per send.

The simulator renders a scenario's webhook traffic once (world -> render -> envelope: the pure core). Each
message becomes a `Template`: its body split around the provider's own event id (Samsara `eventId`, Traccar
`event.id`, MettaX `id`, SmartGPS `timestamp`, which together with vehicle and type is its only identity; a
Standard Webhooks `webhook-id` header). At send time `Pool.next()` writes a fresh id into that gap, so every
request is a distinct event the receiver must store once, and signs the exact bytes with the current time
(receivers refuse stale signed timestamps: docs/load-testing.md, "Signing at send time"). That costs a few
microseconds against roughly 70 of a FastHttpUser send (docs/load-testing.md, "Cost per send").
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from simulator.delivery.urls import endpoint_path, masked_url_secrets, own_url, shown_url
from simulator.errors import UsageError
from simulator.providers import PROVIDERS, Provider
from simulator.render.base import Message
from simulator.scenario.model import Scenario
from simulator.signing import SIGNERS, Secret, Signer
from simulator.stream import scenario_messages

__all__ = ["ID_FIELDS", "Pool", "Send", "Template", "build_pools", "device_weights", "loadable", "origin_of",
           "request_paths"]

#: where each provider's own event id lives in its payload (SmartGPS sends none: its timestamp stands in, see
#: the module docstring); a provider that carries its id in a header (`adapter.key_header`) needs no entry
ID_FIELDS: dict[str, Callable[[str], tuple[str, ...]]] = {
    "samsara": lambda kind: ("eventId",),
    "powunity": lambda kind: ("event", "id"),
    "mettax": lambda kind: ("captureId",) if kind == "capture_file" else ("id",),
    "smartgps": lambda kind: ("timestamp",),
}
#: per-process templates per provider at most: enough variety (devices, kinds, places) for little memory
DEFAULT_POOL_SIZE = 2000
_SENTINEL_INT = 1_357_913_579_135_791_357  # 19 digits: fits a Java long, like the ids it stands in for
_SENTINEL_TEXT = "FLEETSIMLOADSENTINEL"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_NUMBERED = re.compile(r"^(\d+_)?\d+$")


class Send(NamedTuple):
    """One request as it goes out, and what identifies it for the correctness summary. A named tuple: one is made
    per request, and a frozen dataclass's __init__ (an object.__setattr__ per field) cost a microsecond more."""

    path: str
    body: bytes
    headers: dict[str, str]
    event_id: str  # the provider's own id written into this request
    key: str | None  # the receiver's event key for it (None: ask `Pool.key_for` after the run)
    device: str
    template: int  # which template it was stamped from


@dataclass(frozen=True, slots=True)
class Template:
    """One rendered message, its body split where the event id goes."""

    parts: tuple[bytes, ...]  # body = id.join(parts)
    headers: dict[str, str]
    device: str  # the provider's own device id when the key carries it; else the fleet key (vans/2)
    kind: str
    key_parts: tuple[str, str] | None  # key = prefix + id + suffix, when the key is that simple
    make_id: Callable[[int], str]
    id_header: str | None


class Pool:
    """One provider's templates, served round robin with fresh ids (one Pool per process, not thread-safe:
    Locust's users share one OS thread)."""

    def __init__(self, provider: Provider, templates: Sequence[Template], secrets: Sequence[Secret],
                 path: str, origin: int, clock: Callable[[], float] = time.time) -> None:
        if not templates:
            raise ValueError(f"no {provider.name} templates to send")
        self.provider = provider
        self.templates = tuple(templates)
        self.signer: Signer = SIGNERS[provider.signing]
        self.secrets = list(secrets)
        self.path = path
        # what Locust's statistics and HTML report name the requests by: a token in the path's query never shown
        self.label = masked_url_secrets(path)
        self.origin = origin  # this process's distinct id space (see fresh_number)
        self.clock = clock
        self.counter = itertools.count(1)
        self._numbers = fresh_number(origin, 0)  # fresh_number(origin, n) is this + n % 10**9

    def next(self) -> Send:
        """The next request: hot (once per Locust request), so fresh_number is inlined and the headers are built
        in one dict; a template that needs neither an id header nor a signature shares its headers (Locust copies
        what it is given before it adds its own)."""
        n = next(self.counter)
        index = n % len(self.templates)
        template = self.templates[index]
        event_id = template.make_id(self._numbers + n % 1_000_000_000)
        body = event_id.encode().join(template.parts)
        headers = template.headers
        if template.id_header or self.secrets:
            headers = headers.copy()
            if template.id_header:
                headers[template.id_header] = event_id
            if self.secrets:
                headers.update(self.signer.sign(body, self.secrets, timestamp=int(self.clock()),
                                                message_id=event_id))
        key_parts = template.key_parts
        key = None if key_parts is None else key_parts[0] + event_id + key_parts[1]
        return Send(self.path, body, headers, event_id, key, template.device, index)

    def key_for(self, index: int, event_id: str) -> str | None:
        """The event key of a send whose key is not a plain function of its id (SmartGPS hashes vehicle, type
        and time): read from the rebuilt request the way the provider unit reads it. Off the hot path: after
        the run."""
        from conformance.state import key_of

        template = self.templates[index]
        if template.key_parts is not None:
            return template.key_parts[0] + event_id + template.key_parts[1]
        headers = {**template.headers, **({template.id_header: event_id} if template.id_header else {})}
        return key_of(self.provider, event_id.encode().join(template.parts), headers)


def origin_of(pid: int, draw: int) -> int:
    """A process's origin (< 10**9): a random `draw` above its pid's low byte, so that the processes of one
    machine never share one even where an id has room for that byte only (Traccar's int ids)."""
    return (draw % (10**9 // 256)) * 256 + pid % 256


def fresh_number(origin: int, n: int) -> int:
    """A 19-digit number unique to (process origin < 10**9, send n < 10**9): ids never repeat across the
    processes of a run as long as their random origins differ."""
    return 10**18 + (origin % 10**9) * 10**9 + n % 10**9


# --- building --------------------------------------------------------------------------------------------------


def loadable(provider: Provider) -> bool:
    """Whether fleetsim can stamp a fresh id into this provider's requests."""
    return "webhook" in provider.channels and (provider.name in ID_FIELDS or bool(provider.adapter.key_header))


def device_weights(scenario: Scenario) -> dict[str, int]:
    """How many devices each loadable provider has in the scenario's fleet: the providers' share of the load."""
    weights: dict[str, int] = {}
    for group in scenario.groups:
        if group.provider in PROVIDERS and loadable(PROVIDERS[group.provider]):
            weights[group.provider] = weights.get(group.provider, 0) + group.count
    return weights


def build_pools(scenario: Scenario, providers: Sequence[str], *, origin: int, size: int = DEFAULT_POOL_SIZE,
                paths: Mapping[str, str] | None = None) -> dict[str, Pool]:
    """Render the scenario once and keep up to `size` templates of each of `providers` (a ValueError names a
    provider whose scenario has no webhook traffic)."""
    wanted = set(providers)
    found: dict[str, list[Template]] = {name: [] for name in providers}
    settings = scenario.delivery.providers
    for message in _webhook_messages(scenario, wanted):
        pile = found[message.provider]
        if len(pile) < size and (template := make_template(message, settings.get(message.provider, {}),
                                                            start=scenario.start)):
            pile.append(template)
        if all(len(p) >= size for p in found.values()):
            break
    pools = {}
    for name in providers:
        provider = PROVIDERS[name]
        secret = settings.get(name, {}).get("secret")
        path = (paths or {}).get(name, f"/{name}")
        if not found[name]:
            raise ValueError(f"scenario {scenario.name} has no {name} webhook traffic to load with")
        pools[name] = Pool(provider, found[name], [secret] if isinstance(secret, Secret) else [], path, origin)
    return pools


def request_paths(target: str, providers: Sequence[str],
                  settings: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """What each provider's Locust user posts to, under `target` (Locust's host): the provider's `url` setting
    when it is a path, the part under `target` of a `url` that is a whole URL there, else `/<provider>` (as
    `fleetsim run` and `check` send: docs/delivery.md). Locust gives one host to every user, so a `url`
    elsewhere (another host, or credentials of its own) is a usage error, not silently loaded at `target`."""
    return {name: _request_path(target, name, settings.get(name, {})) for name in providers}


def _request_path(target: str, provider: str, settings: Mapping[str, Any]) -> str:
    url = own_url(settings)
    if url is None:
        return endpoint_path(provider, settings)
    base, own = urlsplit(target), urlsplit(url)
    if not target and own.username is None and own.password is None:
        # a `fleetsim load --worker` learns its host from the master, which checked the url against it: the
        # whole URL is posted as it is (Locust posts an absolute URL as given)
        return url
    prefix = base.path.rstrip("/")
    if (own.scheme.lower(), own.hostname, own.port or _PORTS.get(own.scheme.lower())) == (
            base.scheme.lower(), base.hostname, base.port or _PORTS.get(base.scheme.lower())) \
            and own.username is None and own.password is None \
            and (own.path == prefix or own.path.startswith(prefix + "/")):
        rest = own.path[len(prefix):] or "/"
        return rest + (f"?{own.query}" if own.query else "")
    raise UsageError(f"{provider} url: fleetsim load sends every provider to one host, --target's (without "
                     f"--target, fleetsim's reference receiver), and {shown_url(url)} is not under it"
                     f"{' or carries credentials of its own' if own.username or own.password else ''}: give "
                     f"{provider} a path under --target (/webhooks/{provider}) in the settings, or load that "
                     "receiver with --target and --provider")


_PORTS = {"http": 80, "https": 443}


def _webhook_messages(scenario: Scenario, providers: set[str]) -> Iterator[Message]:
    for message in scenario_messages(scenario):
        provider = PROVIDERS[message.provider]
        if message.provider in providers and provider.kinds[message.kind].channel == "webhook":
            yield message


def make_template(message: Message, settings: Mapping[str, Any], *, start: float) -> Template | None:
    """The message's body split where its event id goes; None when the id cannot be placed exactly once.
    `start` is where event times stand in for ids (SmartGPS) begin counting: one for every template, so that two
    templates of one vehicle never give two sends the same time."""
    from conformance.state import key_of  # the provider unit's reading of a request, shared with `fleetsim check`

    provider = PROVIDERS[message.provider]
    id_header = provider.adapter.key_header
    payload = message.payload
    original: Any = None
    if not id_header:
        path = ID_FIELDS[provider.name](message.kind)
        original = _get(payload, path)
        if original is None:
            return None
        payload = _set(payload, path, _SENTINEL_INT if isinstance(original, int) else _SENTINEL_TEXT)
    env = provider.envelope(message.kind, payload, message_id=_SENTINEL_TEXT, settings=settings)
    sentinel = str(_SENTINEL_INT) if isinstance(original, int) else _SENTINEL_TEXT
    parts = tuple(env.body.split(sentinel.encode()))
    if not id_header and len(parts) != 2:
        return None
    headers = {k: v for k, v in env.headers.items() if sentinel not in v}
    key = key_of(provider, env.body, {**headers, **({id_header: sentinel} if id_header else {})})
    key_parts = None
    if key is not None and key.count(sentinel) == 1:
        prefix, _, suffix = key.partition(sentinel)
        key_parts = (prefix, suffix)
    return Template(parts, headers, message.device, message.kind, key_parts, id_maker(original, start), id_header)


def id_maker(original: Any, start: float) -> Callable[[int], str]:
    """How fresh ids look: like the one they replace (a number, a UUID, a MettaX `<device>_<snowflake>`, an
    RFC 3339 time), so the receiver's schema accepts them."""
    if isinstance(original, int) or original is None:
        return _int32

    text = str(original)
    if _UUID.match(text):
        return _uuid
    if _NUMBERED.match(text):
        prefix = text.rpartition("_")[0]
        return (lambda n: f"{prefix}_{n}") if prefix else str
    if text.endswith("Z") and "T" in text:
        return _Rfc3339(start)
    return lambda n: f"ld-{n}"


def _uuid(n: int) -> str:
    """A version-4-shaped UUID of `n` (its low 128 bits; the version and variant nibbles set, as a receiver's
    UUID schema wants): one hex formatting, sliced (the five groups' formatting cost twice as much per send)."""
    h = f"{n & (1 << 128) - 1:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:]}"


def _int32(number: int) -> str:
    """Traccar's ids are Java ints (powunity/traccar.schema.json: at most 2147483647): the origin's low byte
    (a process's pid, distinct among the processes of one machine: see origin_of) above 23 bits of send count."""
    origin, count = divmod(number - 10**18, 10**9)
    return str(((origin % 256) << 23) + count % 2**23 + 1)


def _rfc3339(start: float, n: int) -> str:
    """A distinct event time per id: whole seconds after `start` from the send count, and the process's origin
    in the microseconds (SmartGPS's identity is vehicle, type and time: every send of a process has its own
    second, whatever its template). The plain form of what _Rfc3339 computes per send."""
    origin, count = divmod(n - 10**18, 10**9)
    moment = datetime.fromtimestamp(int(start) + count, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{origin % 10**6:06d}Z"


class _Rfc3339:
    """_rfc3339 for one `start`, at a fifth of its cost: the date is formatted once a day of event time (a
    process's sends step one second each), the time of day with integer arithmetic instead of strftime."""

    __slots__ = ("days", "start")

    def __init__(self, start: float) -> None:
        self.start = int(start)
        self.days: dict[int, str] = {}  # day number since the epoch -> "YYYY-MM-DDT"

    def __call__(self, n: int) -> str:
        origin, count = divmod(n - 10**18, 10**9)
        day, second = divmod(self.start + count, 86_400)
        date = self.days.get(day)
        if date is None:
            date = self.days[day] = datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%dT")
        hour, second = divmod(second, 3600)
        minute, second = divmod(second, 60)
        return f"{date}{hour:02d}:{minute:02d}:{second:02d}.{origin % 10**6:06d}Z"


def _get(payload: Any, path: Sequence[str]) -> Any:
    node = payload
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set(payload: Any, path: Sequence[str], value: Any) -> Any:
    """A copy of `payload` with `value` at `path` (the rendered message is left as it was)."""
    head, *rest = path
    copy = dict(payload)
    copy[head] = _set(payload[head], rest, value) if rest else value
    return copy
