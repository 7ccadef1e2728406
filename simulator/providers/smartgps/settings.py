"""The settings SmartGPS takes, as a JSON Schema fragment (docs/adding-a-provider.md, "The package")."""

from typing import Any

SETTINGS: dict[str, Any] = {
    "title": "SmartGPS settings",
    "description": "SmartGPS webhook settings.",
    "properties": {
        "secret": {
            "$ref": "#/$defs/secret",
            "description": "The HMAC secret shared with SmartGPS."
        },
        "secret_env": {
            "$ref": "#/$defs/secretEnv"
        }
    }
}
