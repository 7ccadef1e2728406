"""The settings Samsara takes, as a JSON Schema fragment (docs/adding-a-provider.md, "The package")."""

from typing import Any

SETTINGS: dict[str, Any] = {
    "title": "Samsara settings",
    "description": "Samsara webhook settings.",
    "properties": {
        "secret": {
            "$ref": "#/$defs/secret",
            "description": "The webhook secret as shown in the Samsara dashboard (base64)."
        },
        "secret_env": {
            "$ref": "#/$defs/secretEnv"
        },
        "payload_version": {
            "title": "Payload version",
            "description": "1 for the 1.0 alert envelope, 2 for the 2.0 event envelope.",
            "enum": [
                1,
                2
            ]
        },
        "org_id": {
            "title": "Organisation id",
            "description": "Samsara organisation id sent in payloads and X-Samsara-Org-Id.",
            "type": "integer",
            "minimum": 1
        },
        "user_agent": {
            "title": "User-Agent",
            "description": "User-Agent header value.",
            "type": "string"
        },
        "webhook_id": {
            "title": "Webhook id",
            "description": ("The webhook's id in Samsara (sent in 2.0 payloads): digits. Default: one drawn from "
                            "the scenario seed."),
            "type": "string",
            "pattern": "^[0-9]{1,20}$",
            "x-expected": "a numeric string such as \"1411751028848270\""
        },
        "movement_alerts": {
            "title": "Movement alerts",
            "description": "Also send DeviceMovement alerts when a vehicle starts moving.",
            "type": "boolean"
        }
    }
}
