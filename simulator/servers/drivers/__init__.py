"""`fleetsim serve --api drivers`: the drivers control API of seed 002, where the drivers are fleetsim's providers.

An integrator lists the drivers, configures one (`PUT /drivers/{id}/settings`, validated by the driver's
`available_settings`) and fires a real, signed sample event at its own receiver (`POST
/drivers/{id}/send-test-event`), graded with the seed's checks. docs/drivers-api.md describes it:

- catalogue.py: the drivers, derived from the provider registry (pure);
- listing.py: filters, sorts and Laravel pagination of GET /drivers (pure);
- rules.py: Laravel-style validation and its 422 body (pure);
- tenant.py: the tenant's configured drivers and their settings;
- test_event.py: send-test-event's delivery and grading (an edge: it sends);
- openapi.py: the OpenAPI 3.1 document, built from schemas/drivers_api/;
- app.py, platform.py, trust.py: the aiohttp server, the `fleetsim serve` platform, the CA bundle.
"""
