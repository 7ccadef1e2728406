"""The socket-client checks TRN-06…TRN-10: fleetsim plays the Traccar/PowUnity server and grades the user's
socket client (`fleetsim check --provider powunity-socket`, docs/socket-client-checks.md).

Each check reads the recording of one session (conformance/socket_client/recording.py): the director's marks and
every HTTP request, upgrade, open and close the client made, timed at the server's edge. Against a webhook
receiver these checks do not apply and are reported skipped.
"""

from __future__ import annotations

import itertools

from simulator.providers import Provider

from .registry import ERROR, FAILED, PASSED, SKIPPED, CheckResult, Context, check
from .socket_client.recording import (
    CLOSE,
    DEAD_SESSION,
    MARK,
    NO_SESSION,
    PHASES,
    UNMASKED_FRAME,
    UPGRADE,
    Record,
    Recording,
    is_login,
    uncovered,
)

_NOT_A_RECEIVER = ("grades a socket client, not a webhook receiver: run it with fleetsim check --provider "
                   "powunity-socket")
#: TRN-07: upgrade attempts at the start of an outage not counted against the storm limit (the first delay and
#: the first retries of a backoff are quick by design)
STORM_GRACE = 3
#: TRN-07: first reconnect delays closer together than this over three closures or more are one constant delay
CONSTANT_SPREAD_S = 0.02
#: TRN-10: the close code for a frame too big to take (RFC 6455 §7.4.1)
MESSAGE_TOO_BIG = 1009
#: TRN-10: what the server sees when the client closed with 1009 and dropped the connection while the rest of the
#: 10 MB was still arriving: its kernel resets the connection (unread data), which may destroy the close frame
ABNORMAL = 1006


def _never(provider: Provider) -> bool:
    return False


def _tail(recording: Recording) -> str:
    code, tail = recording.client_exit or (None, "")
    last = " | ".join(tail.strip().splitlines()[-3:]) or "(no output)"
    return f"the client exited (code {code}); its last output: {last}"


def _phase(context: Context, check_id: str) -> tuple[Recording, Record, float] | CheckResult:
    """The session's recording, the check's phase start mark and its end time; or the result when the phase
    cannot be judged (it was not reached, the client exited during it, the client was not connected)."""
    recording = context.client
    if recording is None:
        return CheckResult(ERROR, "no socket-client session was recorded")
    name = next(n for n, c in PHASES.items() if c == check_id)
    start, end = recording.phase(name)
    exited_at = recording.client_exit_t
    if start is None:
        if recording.client_exit is not None:
            return CheckResult(SKIPPED, f"not reached: {_tail(recording)}")
        if recording.mark("no-client") is not None:
            return CheckResult(SKIPPED, "not reached: no client ever connected (see TRN-06)")
        return CheckResult(SKIPPED, "its phase was not played")
    end_t = end.t if end is not None else float("inf")
    if exited_at is not None and exited_at <= end_t:
        return CheckResult(FAILED, f"during this phase {_tail(recording)}",
                           expected="the client keeps running and keeps its socket open")
    # a real Traccar (Jetty) ends the socket at the client's first unmasked frame: whatever else the phase asks
    # for, a client that sends one keeps losing its socket there (docs/traccar-server.md, "The socket")
    unmasked = next(recording.between(start.t, end_t, lambda r: r.kind == CLOSE and bool(r.data.get(UNMASKED_FRAME))),
                    None)
    if unmasked is not None:
        return CheckResult(FAILED, f"during this phase the client sent an unmasked frame on connection "
                           f"{unmasked.conn}: fleetsim closed that socket with 1002 (protocol error), as Traccar's "
                           "Jetty does", expected="every frame from the client masked (RFC 6455 §5.1), as "
                           "WebSocket libraries do")
    first = next(recording.between(start.t, end_t, lambda r: r.kind == MARK), None)
    if name != "auth" and first is not None and first.label == "not-connected":
        return CheckResult(SKIPPED, "the client had no open socket when the phase began (see the checks before)")
    return recording, start, end_t


def _options(context: Context) -> dict[str, float]:
    return context.client.options if context.client is not None else {}


@check(id="TRN-06", applies=_never, not_applicable=_NOT_A_RECEIVER, suite="standard", client=True)
def socket_reauthenticates(context: Context) -> CheckResult:
    """The client logs in before opening the socket, and after its session expires logs in again once and reconnects.

    fleetsim refuses an upgrade without a valid session with 503, as Traccar 4.12 does; the client must log in
    (`POST /api/session`, or `GET /api/session?token=`) and upgrade with the `JSESSIONID` cookie. Then fleetsim
    forgets every session, as a restarted Traccar does, and closes the socket with 1001: the client may retry
    its old cookie once (it cannot know it died), then must log in exactly once and reconnect within the phase
    timeout. A login loop (more than one login before the reconnect) fails, and so does retrying the dead cookie
    more than once. A client that never comes back is given its old session back, so the later checks still
    run. The catalogue's "no cookie" upgrade is whatever the client sends before logging in: refused, not
    required.
    """
    judged = _phase(context, "TRN-06")
    if isinstance(judged, CheckResult):
        return judged
    recording, start, end_t = judged
    timeout = _options(context).get("phase_timeout_s", 0.0)
    first = recording.first_open_after(start.t - 1e9, end_t)
    refused = [r for r in recording.between(-1e18, end_t, lambda r: r.kind == UPGRADE and r.status != 101)]
    logins = [r for r in recording.records if is_login(r)]
    if first is None:
        connect = _options(context).get("connect_timeout_s", 0.0)
        # logged in, yet no upgrade carried a cookie: most often a cookie jar that keeps none for an IP-address
        # host (aiohttp's default CookieJar; `CookieJar(unsafe=True)` keeps them)
        cookieless = bool(logins) and bool(refused) and all(r.session == NO_SESSION for r in refused)
        hint = ("; none of the upgrades carried the JSESSIONID cookie the logins set (a cookie jar that drops "
                "cookies of an IP-address host, such as aiohttp's default, does that)") if cookieless else ""
        return CheckResult(FAILED, f"no socket opened within {connect:g} s ({len(logins)} logins, {len(refused)} "
                           f"upgrades refused){hint}", expected="POST /api/session, then the upgrade with JSESSIONID")
    if not any(r.t <= first.t for r in logins):
        return CheckResult(FAILED, "the socket opened without a login first",
                           expected="POST /api/session before the upgrade")
    expired, restored = recording.mark("expire"), recording.mark("restored")
    if expired is None:
        return CheckResult(ERROR, "the session was never expired: the phase ended early")
    back = recording.first_open_after(expired.t, restored.t if restored else end_t)
    until = back.t if back is not None else (restored.t if restored else end_t)
    dead = [r for r in recording.between(expired.t, until, lambda r: r.kind == UPGRADE and r.session == DEAD_SESSION)]
    again = [r for r in recording.between(expired.t, until, is_login)]
    metrics = {"logins_after_expiry": float(len(again)), "dead_session_upgrades": float(len(dead))}
    expected = "after a refused upgrade, one login, then the upgrade with the new cookie"
    if back is None:
        return CheckResult(FAILED, f"after its session expired the client did not log in again and reconnect "
                           f"within {timeout:g} s ({len(dead)} upgrades with the expired cookie, {len(again)} "
                           "logins)", expected=expected, metrics=metrics)
    if len(again) > 1:
        return CheckResult(FAILED, f"logged in {len(again)} times before reconnecting: a login loop",
                           expected=expected, metrics=metrics)
    if len(dead) > 1:
        return CheckResult(FAILED, f"retried the expired cookie {len(dead)} times before logging in again",
                           expected=expected, metrics=metrics)
    metrics["reconnect_s"] = round(back.t - expired.t, 3)
    retried = "retried the expired cookie once, then " if dead else ""
    return CheckResult(PASSED, f"logged in before its first upgrade; after the session expired it {retried}logged "
                       f"in once and reconnected after {back.t - expired.t:.2f} s", metrics=metrics)


@check(id="TRN-07", applies=_never, not_applicable=_NOT_A_RECEIVER, suite="standard", client=True)
def socket_reconnects_with_backoff(context: Context) -> CheckResult:
    """After every close the client reconnects after a random first delay within 5 s; it backs off while refused.

    fleetsim closes the socket `--closures` times (default 20, the catalogue's) cycling 1001, 1011, 1012 and a
    TCP close without a close frame (the client sees 1006), and times each closure to the next successful
    upgrade at the server's edge. Each must be followed by a reconnect; each first delay must be at most 5 s;
    over three closures or more the delays must not all be the same (within 20 ms): a constant delay puts a
    fleet of clients back in lockstep. Then an outage: the socket is closed with 1012 and every upgrade is
    refused with 503 for `--outage` seconds (default 60). The storm test is a rate: the upgrade attempts during
    the outage, leaving out the first 3, per minute of outage, must not exceed `--storm-limit` (default 10, the
    catalogue's "more than 10 connects a minute"), so a short outage in a test still grades backoff against
    a reconnect loop. That the gaps grow (exponential backoff) is reported, not graded: with jitter a single
    session cannot tell truncated exponential backoff from any other slow enough schedule. After the outage the
    client must reconnect within the phase timeout plus the outage's length (a backoff that doubled through the
    outage may be waiting about that long).
    """
    judged = _phase(context, "TRN-07")
    if isinstance(judged, CheckResult):
        return judged
    recording, start, end_t = judged
    options = _options(context)
    closures = [m for m in recording.marks("closure") if start.t <= m.t <= end_t]
    outage_start, outage_end = recording.mark("outage-start"), recording.mark("outage-end")
    stops = [m.t for m in closures[1:]] + [outage_start.t if outage_start else end_t]
    delays: list[float] = []
    for mark, stop in zip(closures, stops, strict=True):
        back = recording.first_open_after(mark.t, stop)
        if back is None:
            return CheckResult(FAILED, f"no reconnect within {options.get('phase_timeout_s', 0):g} s after closure "
                               f"{mark.data['number']} (code {mark.data['code']})",
                               expected="a reconnect after every closure")
        delays.append(back.t - mark.t)
    if not delays:
        return CheckResult(ERROR, "no closure was made: the phase ended early")
    metrics = {"closures": float(len(delays)), "first_delay_min_s": round(min(delays), 3),
               "first_delay_max_s": round(max(delays), 3)}
    limit = options.get("first_delay_max_s", 5.0)
    late = next(((i, d) for i, d in enumerate(delays) if d > limit), None)
    if late is not None:
        return CheckResult(FAILED, f"reconnected {late[1]:.2f} s after closure {late[0] + 1}: the first delay must be "
                           f"at most {limit:g} s", expected=f"a random first delay within 0-{limit:g} s",
                           metrics=metrics)
    if outage_start is None or outage_end is None:
        return CheckResult(ERROR, "the outage was not played: the phase ended early", metrics=metrics)
    attempts = [r.t for r in recording.between(outage_start.t, outage_end.t, lambda r: r.kind == UPGRADE)]
    outage_s = outage_end.t - outage_start.t
    per_minute = max(0, len(attempts) - STORM_GRACE) / outage_s * 60
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    metrics.update(outage_attempts=float(len(attempts)), outage_per_minute=round(per_minute, 1))
    storm = options.get("storm_limit", 10.0)
    shown = ", ".join(f"{g:.2f}" for g in gaps[:8]) + (" ..." if len(gaps) > 8 else "")
    if per_minute > storm:
        return CheckResult(FAILED, f"a reconnect storm: {len(attempts)} upgrade attempts during the {outage_s:.1f} s "
                           f"outage, {per_minute:.0f} a minute after the first {STORM_GRACE} (limit {storm:g})",
                           expected="truncated exponential backoff while the server refuses", metrics=metrics)
    if len(delays) >= 3 and max(delays) - min(delays) < CONSTANT_SPREAD_S:
        return CheckResult(FAILED, f"the same first delay after all {len(delays)} closures ({min(delays) * 1000:.0f}-"
                           f"{max(delays) * 1000:.0f} ms): not random, a fleet of such clients reconnects in "
                           "lockstep", expected=f"a random first delay within 0-{limit:g} s", metrics=metrics)
    back = recording.first_open_after(outage_end.t, end_t)
    if back is None:
        waited = options.get("phase_timeout_s", 0) + options.get("outage_s", 0)
        return CheckResult(FAILED, f"did not reconnect within {waited:g} s after the outage ended",
                           expected="a reconnect once the server accepts again", metrics=metrics)
    return CheckResult(PASSED, f"reconnected after all {len(delays)} closures (first delays {min(delays):.2f}-"
                       f"{max(delays):.2f} s); {len(attempts)} attempts during the {outage_s:.1f} s outage "
                       f"(gaps {shown or '-'} s), back {back.t - outage_end.t:.2f} s after it", metrics=metrics)


@check(id="TRN-08", applies=_never, not_applicable=_NOT_A_RECEIVER, suite="standard", client=True)
def socket_notices_half_open(context: Context) -> CheckResult:
    """When the socket goes silent without closing, the client notices within twice its keepalive and reconnects.

    fleetsim stops sending on the socket and stops reading it (so pings go unanswered) without closing it, as a
    toxiproxy `timeout` toxic with timeout 0 does. Not reading, fleetsim cannot see the moment the client gives
    the socket up, only its next successful upgrade; and TRN-07 asks every reconnect to wait a random first delay
    (up to 5 s). So the limit is twice `--client-keepalive` (the catalogue's pass line; default 30 s: 60 s) plus
    that first delay, timed from the moment the socket went silent. fleetsim waits a little past the limit, then
    drops the silent connection (the client may then reconnect, unjudged).
    """
    judged = _phase(context, "TRN-08")
    if isinstance(judged, CheckResult):
        return judged
    recording = judged[0]
    began, released = recording.mark("half-open"), recording.mark("half-open-released")
    if began is None or released is None:
        return CheckResult(ERROR, "the socket was not made half-open: the phase ended early")
    limit = float(began.data["limit_s"])
    keepalive, delay = began.data.get("keepalive_s"), began.data.get("first_delay_s")
    made_of = (f"twice the declared keepalive, {2 * float(keepalive):g} s, plus the {float(delay):g} s first delay "
               "TRN-07 allows" if keepalive is not None and delay is not None else "")
    back = recording.first_open_after(began.t, released.t)
    expected = f"a ping/pong or idle timer that notices, and a reconnect within {limit:g} s"
    if back is None:
        return CheckResult(FAILED, f"no new connection within {limit:g} s of the socket going silent"
                           + (f" ({made_of})" if made_of else "") + ": it did not notice, or did not reconnect",
                           expected=expected)
    took = back.t - began.t
    metrics = {"reconnected_after_s": round(took, 3), "limit_s": limit}
    if took > limit:
        return CheckResult(FAILED, f"reconnected only {took:.2f} s after the socket went silent (limit {limit:g} s"
                           + (f": {made_of}" if made_of else "") + ")", expected=expected, metrics=metrics)
    return CheckResult(PASSED, f"reconnected {took:.2f} s after the socket went silent (limit {limit:g} s)",
                       metrics=metrics)


@check(id="TRN-09", applies=_never, not_applicable=_NOT_A_RECEIVER, suite="standard", client=True)
def socket_backfills_gap(context: Context) -> CheckResult:
    """After a disconnection the client fetches over REST what it missed while away.

    fleetsim closes the socket (1001), refuses upgrades for a short while and plays positions meanwhile (about
    two per device). Traccar's socket has no replay cursor, so after reconnecting the client must ask for them:
    one successful `GET /api/positions?deviceId=D&from=&to=` (or `GET /api/reports/events?deviceId=D&from=&to=`)
    per such device whose window spans every position played while it was away, made after the outage and
    within the phase timeout after the reconnect. fleetsim cannot read the client's own store, so the
    catalogue's "completeness of its final state" is graded on these recorded calls: a client that asked for
    the whole gap was able to fill it; duplicates in the overlap are the client's to drop and are not seen here.
    """
    judged = _phase(context, "TRN-09")
    if isinstance(judged, CheckResult):
        return judged
    recording, _, end_t = judged
    ended, played = recording.mark("gap-end"), recording.mark("gap-positions")
    if ended is None or played is None:
        return CheckResult(ERROR, "the gap was not played: the phase ended early")
    devices = sorted(int(d) for d in played.data["fixes"])
    if recording.first_open_after(ended.t, end_t) is None:
        return CheckResult(FAILED, "did not reconnect after the gap", expected="a reconnect, then the back-fill")
    missing = uncovered(recording)
    calls = sum(1 for _ in recording.between(ended.t, end_t, lambda r: r.label == "GET /api/positions"))
    metrics = {"devices": float(len(devices)), "uncovered": float(len(missing)), "position_calls": float(calls)}
    if missing:
        return CheckResult(FAILED, f"did not fetch what it missed: no back-fill spanning the gap for devices "
                           f"{', '.join(map(str, missing))} ({calls} GET /api/positions calls after the gap)",
                           expected="GET /api/positions?deviceId=D&from=<last seen>&to=<now> for every device",
                           metrics=metrics)
    return CheckResult(PASSED, f"fetched the gap of all {len(devices)} devices over REST after reconnecting",
                       metrics=metrics)


@check(id="TRN-10", applies=_never, not_applicable=_NOT_A_RECEIVER, suite="standard", client=True)
def socket_survives_garbage(context: Context) -> CheckResult:
    """The client survives a non-JSON frame, unknown keys, a binary frame and a 10 MB frame, and keeps reading.

    fleetsim sends each on the open socket and waits: after the first three the socket must stay open (Traccar
    leaves absent keys out and adds new ones over versions, so unknown keys are skipped); after the 10 MB one
    it may stay open or be closed by the client with 1009, and then the client must reconnect (fleetsim also takes
    1006 there: a client that closes with 1009 and drops the connection while the rest of the 10 MB is still
    arriving makes its kernel reset the connection, which can destroy the close frame on its way). Finally a real
    frame and a WebSocket ping: some frame from the client (its pong) must come within 2 s, so a client whose
    reading loop died while its process lives still fails. A launched client that exits fails.
    """
    judged = _phase(context, "TRN-10")
    if isinstance(judged, CheckResult):
        return judged
    recording, start, end_t = judged
    sent = [m for m in recording.marks("garbage") if start.t <= m.t <= end_t]
    stops = [m.t for m in sent[1:]] + [end_t]
    expected = "skip what it cannot use and stay connected (or close with 1009 on the 10 MB frame, then reconnect)"
    for mark, stop in zip(sent, stops, strict=True):
        name = mark.data["frame"]
        closed = next(recording.between(mark.t, stop, lambda r: r.kind == CLOSE and not r.by_server), None)
        if closed is None:
            continue
        if not name.startswith("oversized") or closed.code not in (MESSAGE_TOO_BIG, ABNORMAL):
            return CheckResult(FAILED, f"closed the socket (code {closed.code}) after the {name} frame",
                               expected=expected)
        # after the frame, not after the close: a quick client's new socket may open before the server's old
        # handler has finished with the dead one (and recorded its close)
        if recording.first_open_after(mark.t, end_t) is None:
            return CheckResult(FAILED, f"closed ({closed.code}) after the {name} frame and did not reconnect",
                               expected=expected)
    if len(sent) < 4:
        return CheckResult(ERROR, "not every frame was sent: the phase ended early")
    if recording.mark("no-pong") is not None:
        return CheckResult(FAILED, "stopped reading after the garbage: no answer to a ping within 2 s",
                           expected="still reading (a pong to the ping)")
    if recording.mark("pong") is None:
        return CheckResult(FAILED, "had no open socket after the garbage", expected=expected)
    big = next((r for r in recording.between(sent[-1].t, end_t, lambda r: r.kind == CLOSE and not r.by_server)), None)
    how = (f"closed ({big.code}) on the 10 MB frame and reconnected" if big is not None
           else "stayed connected through all four")
    return CheckResult(PASSED, f"survived the non-JSON, unknown-key, binary and 10 MB frames ({how}) and answered a "
                       "ping afterwards")


__all__: list[str] = []
