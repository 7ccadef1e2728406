"""The published scenario schema (schemas/scenario.schema.json), generated from the provider registry.

Each provider describes its own settings (`Provider.settings_schema`, in its package's settings.py); this module
puts them, the settings every provider takes (url, retry, retry_jitter; retry names from RETRY_POLICIES) and the
list of provider names into the scenario schema. The loader and `--settings` files validate against the published
file; tests/simulator/scenario/test_schema_build.py fails when it is out of date. After adding a provider or a
setting:

    python -m simulator.scenario.schema_build      # rewrites schemas/scenario.schema.json
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

from ..delivery.retry import RETRY_POLICIES
from ..providers import PROVIDERS, Provider
from ..resources import schemas_dir

__all__ = ["build", "common_settings", "published_path", "render", "webhook_providers"]

SCHEMA = "scenario.schema.json"


def webhook_providers() -> list[str]:
    """Providers a scenario fleet may use: every registered provider with webhook kinds."""
    return sorted(name for name, p in PROVIDERS.items() if "webhook" in p.channels)


def common_settings() -> dict[str, Any]:
    """The settings every provider takes (built on use: the retry registry may grow)."""
    return {
        "url": {
            "title": "Receiver URL",
            "description": "Where this provider's webhooks are sent: an http(s) URL, or a path under the base "
                           "URL (--target; fleetsim's own receiver serves it too) such as /webhooks/samsara; "
                           "default TARGET/<provider>.",
            "type": "string",
            "x-expected": "an http:// or https:// URL, or a path such as /webhooks/samsara",
        },
        "retry": {
            "title": "Retry schedule",
            "description": "A named schedule, or a list of delays after each failure (default: the provider's).",
            "anyOf": [
                {"type": "string", "enum": sorted(RETRY_POLICIES), "x-what": "retry schedule"},
                {"type": "array", "minItems": 0, "maxItems": 50, "items": {"$ref": "#/$defs/duration"}},
            ],
            "x-expected": f"one of {', '.join(sorted(RETRY_POLICIES))}, or a list of delays such as "
                          '["5s", "5m", "30m"]',
        },
        "retry_jitter": {
            "title": "Retry jitter",
            "description": "Full jitter: each retry waits a random time up to its scheduled delay.",
            "type": "boolean",
        },
    }


def provider_settings(provider: Provider) -> dict[str, Any]:
    own = copy.deepcopy(provider.settings_schema)
    return {
        "title": own.get("title", f"{provider.title} settings"),
        "description": own.get("description", f"{provider.title} settings."),
        "type": "object",
        "additionalProperties": False,
        "properties": {**own.get("properties", {}), **common_settings()},
    }


def build(base: dict[str, Any]) -> dict[str, Any]:
    """`base` (the scenario schema) with the provider list and every provider's settings filled in."""
    schema = copy.deepcopy(base)
    defs = schema["$defs"]
    names = webhook_providers()
    defs["group"]["properties"]["provider"]["enum"] = names
    defs["delivery"]["properties"]["providers"]["properties"] = {
        name: provider_settings(PROVIDERS[name]) for name in names}
    return schema


def published_path() -> Path:
    return schemas_dir() / SCHEMA


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    path = published_path()
    current = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(render(build(current)), encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
