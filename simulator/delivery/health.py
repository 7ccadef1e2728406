"""Endpoint health: when a receiver is clearly down, stop spending the run on it.

Real senders do this (Svix and Stripe disable an endpoint that keeps failing; Standard Webhooks asks senders to
stop a 410 endpoint at once). fleetsim marks an endpoint down after `down_after` consecutive attempts that got
no HTTP response at all — a timeout, a refused or reset connection, a TLS or protocol failure. Any HTTP status,
even a 500, proves the receiver is there and resets the count: a receiver answering 5xx is failing events, not
down. Once down, the endpoint's remaining events end `skipped: endpoint_down`, and the reason is kept for every
report (docs/delivery.md, "Endpoint health").

Pure bookkeeping; the runner feeds it outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DOWN_AFTER", "NO_RESPONSE", "EndpointHealth"]

#: consecutive no-response attempts after which an endpoint is marked down (0 disables)
DOWN_AFTER = 10
#: attempt outcomes that mean no HTTP response came back
NO_RESPONSE = frozenset({"timeout_connect", "timeout_total", "conn_refused", "reset", "tls_error", "protocol_error"})


@dataclass
class EndpointHealth:
    down_after: int = DOWN_AFTER
    consecutive: int = 0
    down_reason: str | None = None  # a skip reason ("endpoint_down", "endpoint_gone_410") once stopped
    detail: str = ""  # one line for people: why the endpoint was stopped

    @property
    def stopped(self) -> bool:
        return self.down_reason is not None

    def observe(self, outcome: str, error: str | None) -> bool:
        """Record one attempt's outcome; True when this attempt marked the endpoint down."""
        if outcome not in NO_RESPONSE:
            self.consecutive = 0
            return False
        self.consecutive += 1
        if self.stopped or not self.down_after or self.consecutive < self.down_after:
            return False
        self.down_reason = "endpoint_down"
        self.detail = (f"no HTTP response to {self.consecutive} attempts in a row (last: {outcome}"
                       + (f", {error}" if error else "") + ")")
        return True

    def answered(self) -> None:
        """An attempt got an HTTP answer that was a success: `observe` of a 2xx, for the runner's fast path."""
        self.consecutive = 0

    def gone(self, status: int) -> None:
        """The receiver answered 410 Gone: stop the endpoint (Standard Webhooks)."""
        if not self.stopped:
            self.down_reason = "endpoint_gone_410"
            self.detail = f"the receiver answered {status} Gone"
