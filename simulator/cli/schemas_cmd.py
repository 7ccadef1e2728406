"""`fleetsim schemas validate|list`: check documents against the shipped JSON Schemas."""

from __future__ import annotations

import argparse
from typing import Any

from ..providers import APIS, PROVIDERS, SchemaFamily, schema_family
from ..resources import schemas_dir
from ..schemastore import EXTRA_FIELDS, OWN_BOUND, UNKNOWN_KIND, SchemaError
from ..strictjson import MAX_DEPTH, MAX_DOCUMENT_BYTES
from ..validation import validate
from .common import int_range, open_input
from .documents import TooLarge, read_documents

#: the largest --max-bytes: 1 GiB, past any webhook body and within what a read can be asked for
MAX_MAX_BYTES = 1 << 30

DESCRIPTION = f"""\
Validate one JSON document, or an NDJSON stream (one document per line, streamed: any size), against the
schema of PROVIDER's KIND. For the MettaX envelope the message inside the `data` string is checked too,
against the kind the reference receiver recognises it as. Each document's errors are printed as they are
found: FILE:LINE: JSON path, expected, actual.

JSON is read as strictly as the reference receiver reads it: no NaN or Infinity, no key repeated in one
object, at most {MAX_DEPTH} levels deep, numbers that fit a 64-bit double.

A document is valid when it breaks no rule the vendor states: what a receiver must accept. A rule fleetsim chose
to generate realistic traffic (a speed of at most 300 km/h, a 6-20 digit MettaX device id) is printed as a note
when broken, labelled "fleetsim's own rule", and so are a field the schema does not declare and a MettaX message
of no kind fleetsim knows (a newer platform release may add either: receivers acknowledge them, MAL-03); with
--strict these make a document invalid.

Exit 0 when every document is valid; 1 when any is not, or is larger than --max-bytes (reported like an
invalid document: the receiver refuses such a body too); 2 when the input is not JSON at all (the first
line and column that is not is named, also on a line too long to read whole; documents before it have
already been reported), is empty, or cannot be read."""


def add_parser(sub: Any) -> None:
    p = sub.add_parser("schemas", help="list or validate against the shipped JSON Schemas")
    ssub = p.add_subparsers(dest="schemas_command", metavar="ACTION", help="validate or list")
    ssub.required = True
    v = ssub.add_parser(
        "validate",
        help="validate a JSON document or NDJSON stream",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument("provider", help="provider name (see `fleetsim providers`)")
    v.add_argument("kind", help="message kind of that provider, or a schema such as the mettax envelope "
                   "(see `fleetsim schemas list`)")
    v.add_argument("file", nargs="?", default="-", help="JSON or NDJSON file, or - for stdin (default)")
    v.add_argument("--max-bytes", type=int_range(1, MAX_MAX_BYTES), default=MAX_DOCUMENT_BYTES, metavar="BYTES",
                   help=f"largest document accepted (default {MAX_DOCUMENT_BYTES}, the reference receiver's body "
                   "limit); a longer NDJSON line is reported invalid without being read whole")
    v.add_argument("--strict", action="store_true",
                   help="also count the rules fleetsim chose and no vendor states (what `fleetsim generate` keeps), "
                   "and undeclared fields")
    v.set_defaults(handler=run_validate)
    ls = ssub.add_parser("list", help="print every schema file with its provider and kind")
    ls.set_defaults(handler=run_list)


def run_validate(args: argparse.Namespace) -> int:
    provider = schema_family(args.provider)
    provider.spec(args.kind)  # unknown kind: exit 2 before reading input
    total = failed = 0
    with open_input(args.file) as (name, stream):
        for doc in read_documents(name, stream, args.max_bytes):
            total += 1
            notes: list[SchemaError] = []
            if isinstance(doc, TooLarge):
                errors = [_too_large(doc, args.max_bytes)]
            else:
                errors, notes = _judged(provider, args.kind, doc.value, strict=args.strict)
            if errors:
                failed += 1
            for err in errors:
                print(f"{name}:{doc.line}: {err}")
            for note in notes:
                print(f"{name}:{doc.line}: note: {note}")
    summary = f"{total - failed} of {total} valid ({provider.name} {args.kind})"
    print(summary if failed else f"all {total} valid ({provider.name} {args.kind})")
    return 1 if failed else 0


def _judged(family: SchemaFamily, kind: str, value: Any, *, strict: bool) -> tuple[list[SchemaError],
                                                                                   list[SchemaError]]:
    """The errors that make `value` invalid, and the notes: what breaks only fleetsim's own rules, which the
    reference receiver acknowledges too (docs/schema-conventions.md, x-inferred)."""
    whole = validate(family, kind, value)
    if strict or not whole:
        return whole, []
    documented = validate(family, kind, value, documented=True)
    # a field the schema does not declare is one a newer platform release may add: noted, tolerated (MAL-03)
    extra = [e for e in documented if e.expected == EXTRA_FIELDS]
    errors = [e for e in documented if e.expected != EXTRA_FIELDS]
    return errors, [*extra, *(e for e in whole if OWN_BOUND in e.expected or UNKNOWN_KIND in e.expected)]


def _too_large(doc: TooLarge, max_bytes: int) -> SchemaError:
    return SchemaError("", f"a document of at most {max_bytes} bytes (--max-bytes)", f"{doc.size} bytes")


def run_list(args: argparse.Namespace) -> int:
    root = schemas_dir()
    for provider in [*PROVIDERS.values(), *APIS.values()]:
        for kind, spec in provider.all_schemas().items():
            print(f"{provider.name:<12} {kind:<20} {root / spec.schema}")
    return 0
