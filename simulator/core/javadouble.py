"""The float that Traccar JSON (core/javajson.py) writes the Java way, in a module of its own.

A float subclass cannot be a mypyc native class, so the optional compiled build (simulator/compiled.py) leaves this
module interpreted and compiles the writer around it: the class stays an ordinary Python class either way.
"""

from __future__ import annotations


class JavaDouble(float):
    """A float that must be written the Java way. orjson hands float subclasses to `default`, which turns
    them into raw JSON; everything else (jsonschema, arithmetic) sees a plain float."""

    __slots__ = ()
