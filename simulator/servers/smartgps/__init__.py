"""`fleetsim serve --api smartgps`: the SmartGPS REST API of seed 000 (OAuth2 client credentials, trackers,
objects, commands, geofences, drivers, events) over a running scenario's world, with signed event webhooks.

docs/smartgps-server.md describes it; provider-facts §4.1 has what is inferred and why. The server (aiohttp and
the world) is imported when it is served, not when `fleetsim serve --help` reads the platform's options.

platform.py  the registry entry's object          app.py      start / stop, the call log (`server.calls`)
rest.py      middleware, /auth/token, trackers     objects.py  objects, geofences, drivers, event acks
live.py      the world as SmartGPS sees it         feed.py     plays the scenario at its rate
webhooks.py  signed webhooks to the settings' url  openapi.py  GET /openapi.json
"""
