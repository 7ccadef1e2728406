"""How a distributed `fleetsim load` run waits for its workers, shared by the locustfile (which imports Locust) and
the command (which must not).

Locust's master counts a worker as ready when it connects, before the worker's pools are built (seconds on a
loaded machine), and gives its workers half a second between "quit" and closing; so the master's shape starts
its run time only when every worker has said its pools are built, and at the end the master asks each worker for
its records and waits until each says all are sent. Both waits are bounds, not budgets: what is waited for is
normally there long before.
"""

from __future__ import annotations

__all__ = ["FLUSHED_MESSAGE", "FLUSH_MESSAGE", "FLUSH_WAIT_S", "POOLS_WAIT_S", "READY_MESSAGE"]

#: a worker to its master: its pools are built, it can send
READY_MESSAGE = "fleetsim_ready"
#: the master to its workers at the end of the run: stop and send your records; a worker's answer once they are
FLUSH_MESSAGE, FLUSHED_MESSAGE = "fleetsim_flush", "fleetsim_flushed"
#: how long a master waits for every worker's pools before it starts with those that have them
POOLS_WAIT_S = 120.0
#: how long a master waits for every worker's records before it writes the summary without the missing ones
FLUSH_WAIT_S = 60.0
