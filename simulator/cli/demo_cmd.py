"""`fleetsim demo`: the one-minute tour with nothing to configure.

Generates a seeded stream for every provider kind, puts each message in its provider's envelope, signs it
with a demo secret at the current time, then checks it the way a correct receiver would: schema-valid,
signature verified, and a one-byte tampered copy rejected. Prints what happened per provider and kind.
"""

from __future__ import annotations

import argparse
import base64
import time
from dataclasses import dataclass
from typing import Any

from ..generation import generate_payloads
from ..providers import PROVIDERS
from ..signing import SIGNERS, CIHeaders
from ..validation import validate
from .common import non_negative_int, positive_int

#: demo secrets per signing profile, in the format each provider hands out
DEMO_SECRETS = {
    "samsara": base64.b64encode(b"fleetsim-demo-samsara-key").decode(),
    "smartgps": "fleetsim-demo-smartgps-secret",
    "powunity": "Bearer fleetsim-demo-psk",
    "standard-webhooks": "whsec_" + base64.b64encode(b"fleetsim-demo-standard-key-32byte").decode(),
    "hmac-sha256": "fleetsim-demo-hmac-secret",
    "none": "",
}


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="generate, sign and verify a stream for every provider (no setup)")
    p.add_argument("-n", "--count", type=positive_int, default=200, help="messages per kind (default 200)")
    p.add_argument("--seed", type=non_negative_int, default=7)
    p.set_defaults(handler=run)


@dataclass
class Row:
    provider: str
    kind: str
    messages: int = 0
    body_bytes: int = 0
    schema_valid: int = 0
    verified: int = 0
    tamper_rejected: int = 0
    signed: bool = True
    signing: str = ""


def _tamper(body: bytes) -> bytes:
    # flip one bit in the middle of the body: the smallest change a signature must catch
    i = len(body) // 2
    return body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]


def run(args: argparse.Namespace) -> int:
    rows: list[Row] = []
    started = time.perf_counter()
    now = int(time.time())
    for provider in PROVIDERS.values():
        signer = SIGNERS[provider.signing]
        secret_text = DEMO_SECRETS[provider.signing]
        secrets = [signer.parse_secret(secret_text)] if secret_text else []
        for kind, spec in provider.kinds.items():
            if spec.channel != "webhook":
                continue  # socket frames and API responses carry no webhook signature
            row = Row(provider.name, kind, signed=bool(secrets) and signer.covers_body, signing=signer.name)
            for item in generate_payloads(provider, kind, seed=args.seed, count=args.count):
                message_id = f"demo-{provider.name}-{kind}-{item.index}"
                env = provider.envelope(kind, item.payload, message_id=message_id, settings={})
                headers = {**env.headers, **signer.sign(env.body, secrets, timestamp=now, message_id=message_id)}
                row.messages += 1
                row.body_bytes += len(env.body)
                row.schema_valid += not validate(provider, kind, item.payload)
                received = CIHeaders(headers)
                row.verified += signer.verify(env.body, received, secrets, now=now, tolerance=300).ok
                if row.signed:
                    tampered = signer.verify(_tamper(env.body), received, secrets, now=now, tolerance=300)
                    row.tamper_rejected += not tampered.ok
            rows.append(row)
    elapsed = time.perf_counter() - started
    _print(rows, elapsed)
    bad = [r for r in rows if r.schema_valid != r.messages or r.verified != r.messages
           or (r.signed and r.tamper_rejected != r.messages)]
    return 1 if bad else 0


def _why_unsigned(row: Row) -> str:
    return "n/a: PSK header, body not signed" if row.signing == "powunity" else "n/a: provider signs nothing"


def _print(rows: list[Row], elapsed: float) -> None:
    header = ("provider", "kind", "messages", "avg bytes", "schema-valid", "signature ok", "tampered rejected")
    table = [header]
    for r in rows:
        table.append((
            r.provider, r.kind, str(r.messages), str(r.body_bytes // max(r.messages, 1)),
            f"{r.schema_valid}/{r.messages}", f"{r.verified}/{r.messages}",
            f"{r.tamper_rejected}/{r.messages}" if r.signed else _why_unsigned(r),
        ))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    total = sum(r.messages for r in rows)
    providers = len({r.provider for r in rows})
    print(f"\n{total} messages across {providers} providers generated, enveloped, signed and verified "
          f"in {elapsed:.2f} s ({total / elapsed:,.0f} msg/s).")
