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
        "id_base": {
            "title": "Id base",
            "description": ("Added to every Traccar position and event id: where the server's database sequences "
                            "stand. fleetsim check sets it from its seed, so a receiver that keeps earlier runs' "
                            "events sees new ids."),
            "type": "integer",
            "minimum": 0,
            "maximum": 4503599627370496
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
        "accounts": {
            "title": "Server accounts",
            "description": ("Users of `fleetsim serve` (Traccar users, ids 1, 2, ... in this order); without it the "
                            "one demo account. `devices` lists the devices linked to the user (scenario keys such "
                            "as bikes/1, or Traccar ids); left out, every device of the scenario. A user sees only "
                            "its linked devices in lists and on the socket; an administrator may also ask any device "
                            "by id (docs/traccar-server.md, Accounts)."),
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["email", "password"],
                "properties": {
                    "email": {"title": "Email", "description": "The login (compared without case).", "type": "string",
                              "minLength": 1, "maxLength": 200},
                    "password": {"title": "Password", "description": "The password; never printed.", "type": "string",
                                 "minLength": 1, "x-secret": True},
                    "token": {"title": "Token",
                              "description": "The user's token (GET /api/session?token=; Bearer under traccar-6).",
                              "type": "string", "minLength": 1, "x-secret": True},
                    "name": {"title": "Name", "description": "The user's name (default: the email's local part).",
                             "type": "string", "maxLength": 200},
                    "administrator": {"title": "Administrator",
                                      "description": "May ask any device by id; ?all=true lists every device.",
                                      "type": "boolean"},
                    "devices": {
                        "title": "Linked devices",
                        "description": "Devices linked to the user (default: every device of the scenario).",
                        "type": "array",
                        "items": {"anyOf": [{"type": "string", "minLength": 1}, {"type": "integer", "minimum": 1}]},
                        "uniqueItems": True,
                        "x-expected": "a list of device keys (group/n) or Traccar device ids",
                    },
                },
            },
            "x-expected": "a list of accounts such as [{email: ops@example.com, password: ..., devices: [bikes/1]}]"
        },
        "web_notifications": {
            "title": "Web notifications",
            "description": ("Event types pushed on the socket by `fleetsim serve`: in Traccar an event reaches the "
                            "socket only through a notification with the web notificator (provider-facts §1.2); "
                            "all (default), none, or a list of event types. Webhooks are filtered by "
                            "webhook_types instead."),
            "anyOf": [
                {"enum": ["all", "none"]},
                {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
            ],
            "x-expected": "all, none or a list of Traccar event types such as [alarm, geofenceExit]"
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
