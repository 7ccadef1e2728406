"""Webhook receivers written as an integrator would, for `fleetsim check --app` (see test_inprocess.py)."""
