"""`fleetsim generate PROVIDER KIND [-n N] [--seed S] [--invalid]`: NDJSON payloads, one per line."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from ..generation import generate_payloads
from ..providers import get_provider
from .common import non_negative_int, positive_int


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "generate",
        help="print schema-valid (or deliberately invalid) payloads as NDJSON",
        description="Print N payloads of one provider kind, one JSON document per line, exactly as the "
        "provider serializes them. Same --seed, same bytes.",
    )
    p.add_argument("provider", help="provider name (see `fleetsim providers`)")
    p.add_argument("kind", help="message kind of that provider")
    p.add_argument("-n", "--count", type=positive_int, default=1, help="how many payloads (default 1)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="RNG seed (default 0)")
    p.add_argument(
        "--invalid",
        action="store_true",
        help='break each payload in one labelled way; lines become {"violation": {...}, "payload": ...}',
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    provider = get_provider(args.provider)
    out = sys.stdout.buffer
    for item in generate_payloads(provider, args.kind, seed=args.seed, count=args.count, invalid=args.invalid):
        if item.violation is None:
            line = provider.serialize(item.payload)
        else:
            payload = provider.serialize(item.payload)
            line = b'{"violation":' + orjson.dumps(item.violation.as_dict()) + b',"payload":' + payload + b"}"
        out.write(line + b"\n")
    out.flush()
    return 0
