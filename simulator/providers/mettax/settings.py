"""The settings MettaX takes, as a JSON Schema fragment (docs/adding-a-provider.md, "The package")."""

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
            "type": "string",
            # a header value: a line break or control character could never be sent (it would split the header)
            "pattern": "^[!-~]([ -~]*[!-~])?$",
            "x-expected": "printable ASCII text with no line breaks, control characters or surrounding spaces"
        },
        "token_header": {
            "title": "Token header",
            "description": "Header carrying the token (default Authorization).",
            "type": "string",
            "pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
            "x-expected": "an HTTP header name (letters, digits and - such as X-Api-Token)"
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
