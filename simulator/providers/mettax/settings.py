"""The MettaX settings a scenario's `delivery.providers.mettax` or a `--settings` file may give: a JSON Schema
fragment, the one description of them. The scenario schema (schemas/scenario.schema.json) is generated from it
(`python -m simulator.scenario.schema_build`), and the loader reports any key not listed here as unknown, with a
"did you mean". Settings every provider takes (url, retry, retry_jitter) are added by the builder."""

from typing import Any

SETTINGS: dict[str, Any] = {
    "title": "MettaX settings",
    "description": "MettaX IotHub push settings (MettaX does not sign requests).",
    "properties": {
        "envelope": {
            "title": "Envelope",
            "description": "Body encoding: json ({\"data\": \"...\"}) or form (data=...).",
            "type": "string",
            "enum": [
                "json",
                "form"
            ],
            "x-what": "envelope"
        },
        "token": {
            "title": "Token",
            "description": "Optional static token header value.",
            "x-secret": True,
            "type": "string"
        },
        "token_header": {
            "title": "Token header",
            "description": "Header carrying the token (default Authorization).",
            "type": "string"
        },
        "speeding_alarm": {
            "title": "Speeding alarm",
            "description": "alarmType sent when speeding starts (empty: none).",
            "type": "string"
        },
        "speeding_end_alarm": {
            "title": "Speeding end alarm",
            "description": "alarmType sent when speeding ends (default: none).",
            "type": "string"
        }
    }
}
