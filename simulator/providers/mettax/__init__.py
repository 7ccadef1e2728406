"""MettaX: everything fleetsim knows about this platform, in one package (docs/adding-a-provider.md).

provider.py  kinds, envelope, signing profile, delivery semantics — the `Provider` everything else asks
render.py    world events in, MettaX messages out (one renderer per device)
receive.py   how a receiver decodes, classifies and deduplicates MettaX webhooks
"""

from .provider import MettaX

__all__ = ["MettaX"]
