"""`fleetsim generate PROVIDER KIND [-n N] [--seed S] [--invalid]`: NDJSON payloads, one per line."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Generator
from typing import Any

from ..errors import UsageError
from .common import int_range, note_fleet_size, positive_int, seed

#: the most worker processes --workers takes (simulator/stream_workers.py checks the same bound)
MAX_WORKERS = 64


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "generate",
        help="print schema-valid (or deliberately invalid) payloads as NDJSON",
        description="Print N payloads of one provider kind, one JSON document per line, exactly as the "
        "provider serializes them. Same --seed, same bytes.",
    )
    p.add_argument("provider", nargs="?", help="provider name (see `fleetsim providers`); with --scenario, "
                   "only that provider's messages")
    p.add_argument("kind", nargs="?", help="message kind of that provider")
    p.add_argument("-n", "--count", type=positive_int, help="how many payloads (default 1; with --scenario, "
                   "give --limit)")
    p.add_argument("--scenario", metavar="FILE", help="stream a whole scenario instead: one record per message "
                   "{seq, event_id, provider, kind, device, send_at, headers, body}")
    p.add_argument("--limit", type=positive_int, metavar="N", help="with --scenario: stop after N records")
    p.add_argument("--workers", type=int_range(1, MAX_WORKERS), default=1, metavar="N",
                   help="with --scenario: generate in N processes (devices split between them), the same bytes "
                   "as one (default 1)")
    p.add_argument("--seed", type=seed,
                   help="RNG seed (default 0; with --scenario, replaces the scenario's own seed)")
    p.add_argument("--keep-secrets", action="store_true",
                   help="with --scenario: write credential headers as they are sent (PowUnity's PSK, a MettaX "
                   "token); by default their values read <redacted>, as in a capture (signatures always stay)")
    p.add_argument(
        "--invalid",
        action="store_true",
        help='break each payload in one labelled way; lines become {"violation": {...}, "payload": ...}',
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.scenario:
        return run_scenario(args)
    if args.limit is not None:
        raise UsageError("--limit applies to --scenario streams; use -n for payload counts")
    if args.workers != 1:
        raise UsageError("--workers applies to --scenario streams")
    if not args.provider or not args.kind:
        raise UsageError("generate needs PROVIDER KIND, or --scenario FILE")
    import orjson

    from ..generation import generate_payloads  # the two modes import apart: a scenario needs the world, faker
    from ..providers import schema_family

    provider = schema_family(args.provider)
    out = sys.stdout.buffer
    payload_seed = 0 if args.seed is None else args.seed
    count = 1 if args.count is None else args.count
    for item in generate_payloads(provider, args.kind, seed=payload_seed, count=count, invalid=args.invalid):
        if item.violation is None:
            line = provider.serialize(item.payload)
        else:
            payload = provider.serialize(item.payload)
            line = b'{"violation":' + orjson.dumps(item.violation.as_dict()) + b',"payload":' + payload + b"}"
        out.write(line + b"\n")
    out.flush()
    return 0


def run_scenario(args: argparse.Namespace) -> int:
    if args.kind or args.invalid:
        raise UsageError("with --scenario, give no KIND and no --invalid (to keep one provider's messages, "
                         "give its name: fleetsim generate PROVIDER --scenario FILE)")
    if args.count is not None:  # it was silently ignored: the whole stream came out
        raise UsageError("with --scenario, -n/--count does not apply: give --limit N for the first N records")
    from ..stream_workers import generating_only

    with generating_only():  # this process only generates (and ends with its output)
        return _scenario_output(args)


def _scenario_output(args: argparse.Namespace) -> int:
    from ..stream_workers import start_workers

    # the workers start first: they import the world while this process loads the scenario (this process makes
    # one shard itself, so N workers are N - 1 processes besides it); before this process's own imports of the
    # providers and orjson too (~30 ms), which is why this module imports them inside its functions
    started = start_workers(args.workers - 1) if args.workers > 1 else None
    out = sys.stdout.buffer
    try:
        chunks = _chunks(args, started)
        try:
            for chunk in chunks:
                out.write(chunk)
        finally:
            chunks.close()  # stops the workers when the output ends early
    finally:
        for proc in started or ():
            proc.close()
    out.flush()
    return 0


def _chunks(args: argparse.Namespace, started: list[Any] | None) -> Generator[bytes, None, None]:
    from ..providers import get_provider
    from ..scenario.loader import load_scenario
    from ..stream_workers import ndjson_chunks

    scenario = load_scenario(args.scenario)
    if args.seed is not None:
        # the same scenario with another seed: every random choice (world, rendering, ids) derives from it
        scenario = dataclasses.replace(scenario, seed=args.seed)
    wanted = None
    if args.provider:
        get_provider(args.provider)  # unknown names get a "did you mean"
        if args.provider not in scenario.providers():
            raise UsageError(f"scenario {scenario.name!r} has no {args.provider} devices "
                             f"(it has: {', '.join(scenario.providers())})")
        wanted = {args.provider}
    _note_unsigned(scenario, wanted)
    note_fleet_size(scenario, wanted)
    if started is not None:
        chunks = ndjson_chunks(scenario, args.workers, providers=wanted, limit=args.limit, started=started)
    else:
        chunks = _one_process(scenario, wanted, args.limit)
    masks = [] if args.keep_secrets else _credential_masks(scenario, wanted)
    return _masked(chunks, masks) if masks else chunks


def _credential_masks(scenario: Any, wanted: set[str] | None) -> list[tuple[bytes, bytes]]:
    """(the header as a record's JSON writes it, the same with its value <redacted>) for each static credential
    header of the scenario's providers: the records are what is sent, but a PSK or token sent as it is must not
    reach a terminal or a file unasked (signatures are no secret: they stay, to be verified)."""
    import orjson

    from ..delivery.redaction import MASK
    from ..providers import get_provider

    masks = []
    for name in sorted(wanted or scenario.providers()):
        headers = get_provider(name).plain_credentials(scenario.delivery.providers.get(name, {}))
        for header, value in headers.items():
            key = orjson.dumps(header) + b":"
            masks.append((key + orjson.dumps(value), key + orjson.dumps(MASK)))
    return masks


def _masked(chunks: Generator[bytes, None, None], masks: list[tuple[bytes, bytes]]) -> Generator[bytes, None, None]:
    """`chunks` with each credential header's value masked: chunks are whole lines, so no header is split."""
    try:
        for chunk in chunks:
            for needle, mask in masks:
                chunk = chunk.replace(needle, mask)
            yield chunk
    finally:
        chunks.close()


def _note_unsigned(scenario: Any, wanted: set[str] | None) -> None:
    """A provider that signs, with no secret in the scenario, is written unsigned: said once on stderr (the
    records are still what the scenario makes; `run` refuses to deliver them)."""
    from ..providers import PROVIDERS
    from ..signing import SIGNERS, Secret

    for name in sorted(wanted or scenario.providers()):
        secret = scenario.delivery.providers.get(name, {}).get("secret")
        if SIGNERS[PROVIDERS[name].signing].name != "none" and not isinstance(secret, Secret):
            print(f"fleetsim: note: {name} signs its requests, and the scenario gives it no secret: its records "
                  "carry no signature headers", file=sys.stderr)


def _one_process(scenario: Any, wanted: set[str] | None, limit: int | None) -> Generator[bytes, None, None]:
    from ..stream import record_lines, scenario_windows

    # a window (~2,000 records, a few ms of output) at a time, numbered and written at once: the lines of
    # `record_line` over `scenario_stream`, without its per-record generator step and `seq` assignment
    seq = 0
    for window in scenario_windows(scenario, providers=wanted):
        if limit is not None and seq + len(window) >= limit:
            yield b"".join(record_lines(window[:limit - seq], seq + 1))
            return
        yield b"".join(record_lines(window, seq + 1))
        seq += len(window)
