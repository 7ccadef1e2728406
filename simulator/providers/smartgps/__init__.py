"""SmartGPS: everything fleetsim knows about this platform, in one package (docs/adding-a-provider.md).

provider.py  kinds, envelope, signing profile, delivery semantics — the `Provider` everything else asks
render.py    world events in, SmartGPS messages out (one renderer per device)
receive.py   how a receiver decodes, classifies and deduplicates SmartGPS webhooks
"""

from .provider import SmartGPS

__all__ = ["SmartGPS"]
