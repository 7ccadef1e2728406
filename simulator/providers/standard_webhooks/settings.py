"""The settings a generic Standard Webhooks sender takes (see the package docstring)."""

from typing import Any

SETTINGS: dict[str, Any] = {
    "title": "Standard Webhooks settings",
    "description": "A generic sender following standardwebhooks.com (the way Svix, Clerk, Resend and others sign).",
    "properties": {
        "secret": {"$ref": "#/$defs/secret",
                   "description": "The signing secret as the platform shows it: whsec_ followed by base64."},
        "secret_env": {"$ref": "#/$defs/secretEnv"},
    },
}
