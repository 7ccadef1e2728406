"""Socket-client conformance (catalogue TRN-06…TRN-10): fleetsim plays the Traccar/PowUnity server and grades
the user's socket client. `recording.py` holds what a session records (pure data), `director.py` runs the server
and its scripted phases, `launcher.py` starts and stops a client command, `runner.py` ties them to the checks
(conformance/checks_socket.py) and `command.py` is `fleetsim check --provider powunity-socket`.
"""

from __future__ import annotations

#: the name `fleetsim check --provider` takes for these checks: a client of PowUnity's socket, not a receiver
SOCKET_PROVIDER = "powunity-socket"

__all__ = ["SOCKET_PROVIDER"]
