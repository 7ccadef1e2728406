"""Standard Webhooks: a generic sender, in one package (docs/adding-a-provider.md).

provider.py  kinds, signing profile, delivery semantics — the `Provider` everything else asks
settings.py  the settings it takes (the scenario schema is generated from them)
render.py    world events in, {type, timestamp, data} events out
receive.py   how a receiver reads them (webhook-id is the idempotency key)
"""

from .provider import StandardWebhooks

__all__ = ["StandardWebhooks"]
