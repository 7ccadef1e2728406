"""The settings PowUnity takes, as a JSON Schema fragment (docs/adding-a-provider.md, "The package")."""

from typing import Any

SETTINGS: dict[str, Any] = {
    "title": "PowUnity settings",
    "description": "PowUnity BikeTrax (Traccar) webhook settings.",
    "properties": {
        "psk": {
            "title": "Pre-shared Authorization value",
            "description": "Sent verbatim as the Authorization header, e.g. \"Bearer abc\".",
            "type": "string"
        },
        "psk_env": {
            "$ref": "#/$defs/secretEnv",
            "description": "Name of the environment variable holding the pre-shared Authorization value."
        },
        "webhook_types": {
            "title": "Webhook event types",
            "description": "Traccar event types the webhook is called for (PowUnity's webhookTypes; default: all).",
            "anyOf": [
                {
                    "type": "string"
                },
                {
                    "type": "array",
                    "items": {
                        "type": "string"
                    },
                    "uniqueItems": True
                }
            ],
            "x-expected": "a list of Traccar event types such as [alarm, geofenceExit]"
        },
        "id_stride": {
            "title": "Id stride",
            "description": ("Spacing of Traccar database ids between devices (positions and events of device n "
                            "start at n x stride)."),
            "type": "integer",
            "minimum": 1000,
            "maximum": 1000000000
        },
        "initially_armed": {
            "title": "Initially armed",
            "description": "Bikes start armed (theft alarm on).",
            "type": "boolean"
        },
        "b2b": {
            "title": "B2B account",
            "description": "Device attributes as a B2B (fleet) account writes them.",
            "type": "boolean"
        },
        "profile": {
            "title": "Traccar version",
            "description": ("Which Traccar the frames and webhooks follow exactly: traccar-4.12 (PowUnity's: event "
                            "serverTime, no attributes.message, HTML-encoded strings) or traccar-6 (eventTime, "
                            "message, position geofenceIds, device calendarId/expirationTime); provider-facts §1.3."),
            "enum": ["traccar-4.12", "traccar-6"],
            "x-expected": "traccar-4.12 or traccar-6"
        },
        "status_events": {
            "title": "Status events",
            "description": ("Whether deviceOnline/deviceUnknown/deviceOffline events are generated (Traccar's "
                            "event.status.enable: always in 4.12, off by default since 6.14; provider-facts §1.2). "
                            "The device's status changes either way."),
            "type": "boolean"
        },
        "status_timeout_s": {
            "title": "Status timeout",
            "description": ("Traccar's status.timeout: seconds without data before a device turns unknown "
                            "(deviceUnknown), unless its connection closed earlier (provider-facts §1.2)."),
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 86400
        },
        "offline_after_s": {
            "title": "Offline after",
            "description": ("Seconds without a report before the server closes the tracker's connection and marks "
                            "it offline (PowUnity: 3 minutes)."),
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 86400
        },
        "geofence_areas": {
            "title": "Geofence areas",
            "description": "Traccar area strings per scenario geofence name (CIRCLE (lat lon, r) or POLYGON ((...))).",
            "type": "object",
            "additionalProperties": {
                "type": "string"
            }
        }
    }
}
