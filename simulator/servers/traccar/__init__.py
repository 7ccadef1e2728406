"""`fleetsim serve`: a Traccar-compatible server (REST and /api/socket) backed by a running scenario's world.

A stock Traccar client (pytraccar, traccar-web, a BikeTrax integration) logs in, lists devices and holds the
socket open without knowing it is not Traccar. The frames are the powunity provider's own socket frames, played
at the scenario's rate; this package only keeps the latest state, answers REST calls and fans frames out.
docs/traccar-server.md describes it; provider-facts §1.1-§1.2 has the behaviour it follows.
"""

from .app import TraccarServer, start_traccar_server, stop_traccar_server
from .profiles import PROFILES, Profile

__all__ = ["PROFILES", "Profile", "TraccarServer", "start_traccar_server", "stop_traccar_server"]
