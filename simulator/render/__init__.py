"""Renderers per provider; importing the package registers all of them in RENDERERS."""

from . import mettax, powunity, samsara, smartgps  # noqa: F401  (registration side effect)
from .base import RENDERERS, Message, Renderer, register_renderer

__all__ = ["RENDERERS", "Message", "Renderer", "register_renderer"]
