"""What every renderer is: world events in, provider messages out. Each provider's renderer lives in its
package (simulator/providers/<name>/render.py) and is reached through `Provider.renderer`."""

from .base import Message, Renderer, RendererFactory

__all__ = ["Message", "Renderer", "RendererFactory"]
