"""API-client conformance (`fleetsim check --provider smartgps-api`): fleetsim serves the emulated SmartGPS REST
API, drives the integrator's activation code through timed phases (a token expiry, a revocation, a lowered rate
limit, a lost answer, a repeated activation) and grades the calls the server recorded (API-01 … API-06 of
conformance-catalogue §1.11).

registry.py holds the checks' registry and what they judge, checks.py the checks, trigger.py how an activation
is started (POST to the integrator's endpoint, or the integrator's command), runner.py the phases, cli.py the
`fleetsim check` route.
"""
