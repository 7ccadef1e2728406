"""Locust load tests of webhook receivers, and the `fleetsim load` command (docs/load-testing.md).

The layering: `pools`, `shapes`, `records` and `summary` are plain Python over the simulator (no Locust, no
gevent); `locustfile` is the only module that imports Locust, and `cli` runs it in a subprocess, so gevent's
monkey-patching never reaches the rest of fleetsim. `import simulator` and `import conformance` never import
this package.
"""
