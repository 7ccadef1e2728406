"""The float that Traccar JSON (core/javajson.py) writes the Java way, in a module of its own.

A float subclass cannot be a mypyc native class, so the optional compiled build (simulator/compiled.py) leaves this
module interpreted and compiles the writer around it: the class stays an ordinary Python class either way.
"""

from __future__ import annotations


class JavaDouble(float):
    """A float that must be written the Java way. orjson hands float subclasses to `default`, which turns
    them into raw JSON; everything else (jsonschema, arithmetic) sees a plain float."""

    __slots__ = ()


class JavaDocument(dict):  # type: ignore[type-arg]
    """A Traccar document whose builder promises that every float Java writes differently from orjson (0 <
    |x| < 1e-3, |x| >= 1e7) is already a `JavaDouble`: `javajson.dumps` then skips its rewrite scan, a regular
    expression over the whole body that cost more than orjson writing it (PowUnity's renderer makes every frame
    and webhook one). orjson writes a dict subclass as a dict; everything else sees a plain dict."""

    __slots__ = ()
