"""What delivery talks about: jobs (one planned HTTP request), attempts (what happened to one request) and
the terminal states every event ends in. Pure data; the runner and transports fill it in.

Copies of an event:
- "genuine": the delivery that counts for accounting (retried per the provider's policy);
- "duplicate": the same event again (same event id, fresh signature) — receivers must process it once;
- probes that a correct receiver must reject and that never count as the event's delivery:
  "tampered_signature", "stale_timestamp", "future_timestamp", "corrupt_body".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # an annotation only: loading a scenario (which imports this) need not import the world
    from ..stream import Outgoing

GENUINE = "genuine"
DUPLICATE = "duplicate"
PROBES = ("tampered_signature", "stale_timestamp", "future_timestamp", "corrupt_body")
COPIES = (GENUINE, DUPLICATE, *PROBES)

# attempt outcome classes (conformance-catalogue H-1.4), and fleetsim's own `cancelled`: a request fleetsim
# stopped waiting for when a stop's grace ran out (docs/delivery.md, "Stopping"). It was sent, or being sent, and
# had no answer: the receiver may have received it, so it is recorded, never counted as not sent
CANCELLED = "cancelled"
OUTCOMES = ("2xx", "3xx", "4xx", "5xx", "429", "timeout_connect", "timeout_total", "conn_refused", "reset",
            "tls_error", "protocol_error", CANCELLED)

# terminal event states and skip reasons (H-1.2)
DELIVERED, FAILED, SKIPPED = "delivered", "failed", "skipped"
# `interrupted_in_flight`: the genuine copy's last attempt was `cancelled` (it may have arrived); `interrupted`:
# the stop came before it was sent
INTERRUPTED, INTERRUPTED_IN_FLIGHT = "interrupted", "interrupted_in_flight"
SKIP_REASONS = ("filtered", "endpoint_gone_410", "endpoint_down", INTERRUPTED, INTERRUPTED_IN_FLIGHT, "dry_run",
                "fault_drop")


@dataclass(slots=True)
class Job:
    record: Outgoing
    copy: str = GENUINE
    due: float = 0.0  # scheduled send time, scenario seconds since its start (faults' delay included)
    attempt: int = 1


@dataclass(slots=True)
class Attempt:
    event_id: str
    provider: str
    kind: str
    copy: str
    attempt: int  # 1-based, per copy
    url: str
    sent_at: float  # wall clock, UTC epoch seconds
    latency_s: float  # time to the response headers and capped body, or to the error
    outcome: str  # one of OUTCOMES
    status: int | None = None
    retry_after_s: float | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""  # at most 4 KiB kept
    error: str | None = None  # one line, for transport errors
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: bytes = b""
    method: str = "POST"
    #: which form of a conformance probe this was (e.g. "wrong_prefix" of a malformed-signature probe)
    variant: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id, "provider": self.provider, "kind": self.kind, "copy": self.copy,
            "attempt": self.attempt, "url": self.url, "sent_at": self.sent_at,
            "latency_ms": round(self.latency_s * 1000, 3), "outcome": self.outcome, "status": self.status,
            "retry_after_s": self.retry_after_s, "error": self.error,
            "response_body": self.response_body[:4096].decode("utf-8", "replace"),
            **({"method": self.method} if self.method != "POST" else {}),
            **({"variant": self.variant} if self.variant else {}),
        }
