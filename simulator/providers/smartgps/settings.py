"""The settings SmartGPS takes, as a JSON Schema fragment (docs/adding-a-provider.md, "The package").

The `api_*` settings are for `fleetsim serve --api smartgps` (docs/smartgps-server.md): the OAuth2 client the
emulated REST API accepts, how long its tokens live and how many requests a client may make per second.
"""

from typing import Any

SETTINGS: dict[str, Any] = {
    "title": "SmartGPS settings",
    "description": "SmartGPS webhook settings, and the REST API `fleetsim serve --api smartgps` plays.",
    "properties": {
        "secret": {
            "$ref": "#/$defs/secret",
            "description": "The HMAC secret shared with SmartGPS."
        },
        "secret_env": {
            "$ref": "#/$defs/secretEnv"
        },
        "api_client_id": {
            "title": "API client id",
            "type": "string", "minLength": 1, "maxLength": 200,
            "description": "fleetsim serve: the OAuth2 client id POST /auth/token accepts (default fleetsim-demo)."
        },
        "api_client_secret": {
            "title": "API client secret",
            "type": "string", "minLength": 1, "maxLength": 200,
            "description": "fleetsim serve: the OAuth2 client secret POST /auth/token accepts "
                           "(default fleetsim-demo-secret)."
        },
        "api_token_ttl_s": {
            "title": "API token lifetime",
            "type": "integer", "minimum": 1, "maximum": 86400,
            "description": "fleetsim serve: seconds a bearer token lives (expires_in; default 3600)."
        },
        "api_rate_limit": {
            "title": "API rate limit",
            "type": "integer", "minimum": 0, "maximum": 100000,
            "description": "fleetsim serve: requests per second one client may make before 429 with Retry-After "
                           "(0: no limit; default 20)."
        }
    }
}
