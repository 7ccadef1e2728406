"""The SmartGPS settings a scenario's `delivery.providers.smartgps` or a `--settings` file may give: a JSON Schema
fragment, the one description of them. The scenario schema (schemas/scenario.schema.json) is generated from it
(`python -m simulator.scenario.schema_build`), and the loader reports any key not listed here as unknown, with a
"did you mean". Settings every provider takes (url, retry, retry_jitter) are added by the builder."""

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
