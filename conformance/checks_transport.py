"""Transport checks: TRN-01 (HTTPS with a verified certificate), TRN-02 (no plain http), TRN-03 (no redirect
for a trailing slash) and TRN-04 (gzip request bodies). See docs/conformance-catalogue.md §1.8.

The harness's client verifies certificates (the default of every `fleetsim check`) and, like Python's default
TLS context, refuses anything older than TLS 1.2: a completed handshake over https is the evidence TRN-01 needs,
and a failed one names what went wrong.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from urllib.parse import urlsplit

from simulator.delivery.model import GENUINE

from .checks import _answered, _missing
from .probing import Base, ProbeRequest, probe
from .registry import ERROR, FAILED, PASSED, SKIPPED, CheckResult, Context, check


def _target_scheme(context: Context) -> str | None:
    """The scheme of the endpoint the scenario's genuine deliveries went to (None: nothing was sent)."""
    genuine = context.of(GENUINE)
    return urlsplit(genuine[0].url).scheme if genuine else None


_PLAIN_HTTP = "the target is plain http: there is no TLS to check (check the production https URL for this one)"


# --- TRN-01: HTTPS with certificate verification ------------------------------------------------------------


@check(id="TRN-01", needs=frozenset({GENUINE}), socket=True, suite="standard")
def verified_tls(context: Context) -> CheckResult:
    """Over https, the receiver's certificate chain verifies and TLS 1.2 or later is negotiated.

    Graded on the scenario's genuine deliveries: the harness's client verifies the chain and the host name and
    refuses TLS below 1.2, so a handshake that completed proves both, and one that failed (`tls_error`) fails
    the check. Skipped for an http target (a test receiver); the catalogue's "no self-signed certificate in the
    production profile" is the same verification: a self-signed certificate does not verify.
    """
    scheme = _target_scheme(context)
    if scheme is None:
        return _missing(GENUINE)
    if scheme != "https":
        return CheckResult(SKIPPED, _PLAIN_HTTP)
    genuine = context.of(GENUINE)
    expected = "a TLS 1.2+ handshake with a certificate chain that verifies for the host name"
    failed = [a for a in genuine if a.outcome == "tls_error"]
    if failed:
        return CheckResult(FAILED, f"the TLS handshake failed with verification on: {failed[0].error}", failed[0],
                           expected)
    answered = [a for a in genuine if _answered(a)]
    if not answered:
        return CheckResult(ERROR, f"no genuine delivery got an HTTP answer ({genuine[0].outcome})", genuine[0],
                           expected)
    return CheckResult(PASSED, f"{len(answered)} deliveries over https: certificate verified, TLS 1.2 or later")


# --- TRN-02: the same delivery over plain http --------------------------------------------------------------


@probe("plain_http", socket=True, well_formed=True)
def plain_http(bases: Sequence[Base]) -> list[ProbeRequest]:
    """The real, correctly signed event sent to the http:// form of the endpoint (same host, port and path)."""
    base = bases[0]
    return [ProbeRequest("http://", base.body, base.sign(base.body), scheme="http")]


@check(id="TRN-02", needs=frozenset({GENUINE, "plain_http"}), socket=True, suite="standard")
def plain_http_refused(context: Context) -> CheckResult:
    """An https receiver does not take the same delivery over plain http: refused, 4xx or a redirect; never 2xx.

    Sent to the http:// form of the endpoint URL (same host, port and path: a TLS port that speaks no plain HTTP
    refuses it, which passes). Skipped for an http target.
    """
    scheme = _target_scheme(context)
    if scheme is None:
        return _missing(GENUINE)
    if scheme != "https":
        return CheckResult(SKIPPED, "the target is plain http already: nothing to downgrade")
    probes = context.of("plain_http")
    if not probes:
        return _missing("plain_http")
    for a in probes:
        if _answered(a) and a.status is not None and a.status < 300:
            return CheckResult(FAILED, f"a delivery over plain http was accepted ({a.status})", a,
                               "refused: no listener, a closed connection, a 4xx or a redirect to https")
    got = ", ".join(str(a.status) if a.status is not None else a.outcome for a in probes)
    return CheckResult(PASSED, f"plain http was not accepted ({got})")


# --- TRN-03: a trailing slash -------------------------------------------------------------------------------


@probe("trailing_slash", events=2, well_formed=True)
def trailing_slash(bases: Sequence[Base]) -> list[ProbeRequest]:
    """Two real, correctly signed events: one POSTed to the endpoint URL with a trailing slash, one without."""
    return [ProbeRequest(variant, base.body, base.sign(base.body), path=path, event_id=base.event_id)
            for (variant, path), base in zip((("with a trailing slash", "/"), ("without", "")), bases, strict=True)]


@check(id="TRN-03", needs=frozenset({"trailing_slash"}), suite="standard")
def no_redirect(context: Context) -> CheckResult:
    """A POST to the URL with and without a trailing slash gets no 3xx (senders count a redirect as a failure).

    Only a 3xx fails (the catalogue's rule). Any other non-success on the trailing-slash form is reported in the
    reason (a sender configured with it would lose every event) but does not fail this check. The http-to-https
    redirect of the catalogue's line is TRN-02.
    """
    probes = context.of("trailing_slash")
    if not probes:
        return _missing("trailing_slash")
    for a in probes:
        if a.outcome == "3xx":
            where = a.response_headers.get("location", "?")
            return CheckResult(FAILED, f"the URL {a.variant} was redirected ({a.status} to {where})", a,
                               "the delivery answered where it was sent: no 3xx")
    for a in probes:
        if not _answered(a):
            return CheckResult(ERROR, f"the URL {a.variant} got no HTTP answer ({a.outcome})", a)
    delivery = context.provider.delivery
    odd = [a for a in probes if a.status is not None and not delivery.is_success(a.status)]
    note = "; note: " + ", ".join(f"{a.variant} answered {a.status}" for a in odd) if odd else ""
    return CheckResult(PASSED, "no redirect: " + ", ".join(f"{a.variant} {a.status}" for a in probes) + note)


# --- TRN-04: a gzip request body ----------------------------------------------------------------------------


#: the two readings of a signature over a gzip body: no vendor of fleetsim compresses or says which bytes it signs
OVER_DECODED, OVER_WIRE = "gzip, signed over the decoded body", "gzip, signed over the compressed bytes"


@probe("gzip_body", well_formed=True)
def gzip_body(bases: Sequence[Base]) -> list[ProbeRequest]:
    """The real event gzip-compressed (`Content-Encoding: gzip`), signed over the decoded bytes and, where the
    signature covers the body, once more signed over the compressed bytes as sent."""
    base = bases[0]
    # mtime=0: the same bytes every time (a pure probe)
    packed = gzip.compress(base.body, mtime=0)
    requests = [ProbeRequest(OVER_DECODED, packed, {**base.sign(base.body), "Content-Encoding": "gzip"})]
    if base.secrets and base.provider.auth.covers_body:
        requests.append(ProbeRequest(OVER_WIRE, packed, {**base.sign(packed), "Content-Encoding": "gzip"}))
    return requests


@check(id="TRN-04", needs=frozenset({"gzip_body"}), suite="standard")
def gzip_body_handled(context: Context) -> CheckResult:
    """A valid gzip body is decoded (2xx) or refused with 415 and `Accept-Encoding`; never 5xx.

    No provider of fleetsim compresses, nor says which bytes a signature covers then, so a signed one is sent
    twice: signed over the decoded body, and over the compressed bytes as sent. A receiver decodes one of them
    (the other is refused as a bad signature, 401 or 403) or refuses gzip with 415; acknowledging both would
    accept a signature that cannot be right for the bytes it verifies. Any other answer fails: a 415 without
    `Accept-Encoding` does not tell the sender what to do instead, and another 4xx means the body was neither
    decoded nor refused for its coding. Decoding within bounds is LIM-04.
    """
    probes = context.of("gzip_body")
    if not probes:
        return _missing("gzip_body")
    delivery = context.provider.delivery
    expected = f"{delivery.describe_success()} (decoded) or 415 with Accept-Encoding; never 5xx"
    for a in probes:
        if not _answered(a) or a.status is None or a.outcome in ("3xx", "429"):
            return CheckResult(ERROR, f"a gzip body got {a.status or a.outcome}: inconclusive", a, expected)
    decoded = [a for a in probes if a.status is not None and delivery.is_success(a.status)]
    told = [a for a in probes if a.status == 415 and "accept-encoding" in a.response_headers]
    if len(decoded) > 1:
        return CheckResult(FAILED, "a gzip body was acknowledged under both readings of its signature (decoded "
                           "body and compressed bytes): one of them cannot be valid for the bytes verified",
                           decoded[-1], "one reading acknowledged, the other refused (401/403)")
    for a in probes:
        if a in decoded or a in told or (decoded and a.status in (401, 403)):
            continue
        what = "415 without Accept-Encoding" if a.status == 415 else str(a.status)
        return CheckResult(FAILED, f"a gzip body ({a.variant}) was answered {what}", a, expected)
    got = ", ".join(f"{a.status} (Accept-Encoding: {a.response_headers['accept-encoding']})" if a in told
                    else f"{a.status} (decoded)" if a in decoded else f"{a.status} (the other reading of the "
                    "signature)" for a in probes)
    return CheckResult(PASSED, f"a gzip body was answered {got}")
