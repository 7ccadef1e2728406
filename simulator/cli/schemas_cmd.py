"""`fleetsim schemas validate|list`: check documents against the shipped JSON Schemas."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import InputError
from ..providers import PROVIDERS, get_provider
from ..resources import schemas_dir
from ..validation import validate
from .common import read_input


def add_parser(sub: Any) -> None:
    p = sub.add_parser("schemas", help="list or validate against the shipped JSON Schemas")
    ssub = p.add_subparsers(dest="schemas_command", metavar="ACTION")
    ssub.required = True
    v = ssub.add_parser(
        "validate",
        help="validate a JSON document or NDJSON stream",
        description="Exit 0 when every document is valid; 1 with path, expected and actual for each error.",
    )
    v.add_argument("provider")
    v.add_argument("kind")
    v.add_argument("file", nargs="?", default="-", help="JSON or NDJSON file, or - for stdin (default)")
    v.set_defaults(handler=run_validate)
    ls = ssub.add_parser("list", help="print every schema file with its provider and kind")
    ls.set_defaults(handler=run_list)


def parse_documents(name: str, raw: bytes) -> list[tuple[int, Any]]:
    """[(line number, document)]: one JSON document, or NDJSON (one per non-blank line)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(name, f"not UTF-8 text (bad byte at offset {exc.start})") from None
    if not text.strip():
        raise InputError(name, "empty input, expected a JSON document or NDJSON lines")
    try:
        return [(1, json.loads(text))]
    except json.JSONDecodeError as whole:
        lines = [(i, line) for i, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) < 2 or not _parses(lines[0][1]):
            # not NDJSON (its first line is not a whole document): report the error in the one document
            raise InputError(f"{name}:{whole.lineno}:{whole.colno}", f"invalid JSON: {whole.msg}") from None
    docs = []
    for lineno, line in lines:
        try:
            docs.append((lineno, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise InputError(f"{name}:{lineno}:{exc.colno}", f"invalid JSON on this NDJSON line: {exc.msg}") from None
    return docs


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def run_validate(args: argparse.Namespace) -> int:
    provider = get_provider(args.provider)
    provider.spec(args.kind)  # unknown kind: exit 2 before reading input
    name, raw = read_input(args.file)
    documents = parse_documents(name, raw)
    failed = 0
    for lineno, doc in documents:
        errors = validate(provider, args.kind, doc)
        if errors:
            failed += 1
            for err in errors:
                print(f"{name}:{lineno}: {err}")
    total = len(documents)
    summary = f"{total - failed} of {total} valid ({provider.name} {args.kind})"
    print(summary if failed else f"all {total} valid ({provider.name} {args.kind})")
    return 1 if failed else 0


def run_list(args: argparse.Namespace) -> int:
    root = schemas_dir()
    for provider in PROVIDERS.values():
        for kind, spec in provider.all_schemas().items():
            print(f"{provider.name:<12} {kind:<20} {root / spec.schema}")
    return 0
