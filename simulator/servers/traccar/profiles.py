"""What differs between the Traccar versions `fleetsim serve` plays (provider-facts §1.1, §1.2).

Kept minimal on purpose: the frames themselves are the powunity provider's business (its `profile` setting);
this table holds only what the server side does differently.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    #: `Authorization: Bearer <token>` on REST and `?token=` on /api/socket arrived in v6.2 (provider-facts §1.1);
    #: 4.12 knows Basic auth and the session cookie only
    tokens: bool
    #: the `{}` keepalive frame every 55 s exists since v4.14 (TaskWebSocketKeepalive, provider-facts §1.2);
    #: 4.12 sends none. None: no keepalive
    keepalive_s: float | None
    #: what GET /api/server reports as `version`
    version: str
    #: GET /api/positions?deviceId= for a device with no position yet: 4.12's PositionResource answers
    #: `Collections.singleton(getLastPosition(deviceId))`, i.e. `[null]`; 6.x queries storage
    #: (Condition.LatestPositions) and answers `[]`, which is what its OpenAPI clients can parse
    null_latest: bool
    #: v6.12.0's session Origin check (SessionHelper.isSessionOriginValid, provider-facts §1.8): a session whose
    #: login had an Origin authenticates only requests with no Origin or the same one. Neither shipped profile
    #: has it (traccar-6 plays 6.6)
    session_origin: bool = False


PROFILES: dict[str, Profile] = {
    "traccar-4.12": Profile("traccar-4.12", tokens=False, keepalive_s=None, version="4.12", null_latest=True),
    "traccar-6": Profile("traccar-6", tokens=True, keepalive_s=55.0, version="6.6", null_latest=False),
}
DEFAULT_PROFILE = "traccar-4.12"  # PowUnity runs a 4.x build (provider-facts §2)
