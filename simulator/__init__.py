"""fleetsim: fleet-telematics webhook device simulator and receiver conformance harness.

The package is layered: a pure core (ids, schemas, providers, signers, generation) that never touches
sockets, clocks or global randomness, and edges (CLI, transports, servers) that do. Importing it is cheap
and never imports locust or gevent.
"""

__version__ = "0.1.0"
