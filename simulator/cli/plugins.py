"""Finding the commands other packages add (the `fleetsim.commands` entry-point group) without importing
importlib.metadata, which pulls in the `email` package and costs about a third of `fleetsim --help`'s start-up
(docs/architecture.md, "Start-up").

This reads what importlib.metadata's path finder reads, for the one group: the `entry_points.txt` of every
`*.dist-info` and `*.egg-info` directory on sys.path, the first distribution of a name winning. Distributions
only a custom finder knows (inside a zip file, say) are not seen; `entry_points()` remains the full answer, and
tests/cli/test_plugins.py keeps the two in agreement on the installed environment.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from typing import NamedTuple

__all__ = ["PluginEntry", "plugin_entries"]

_METADATA_DIRS = (".dist-info", ".egg-info")
_SECTION = re.compile(r"\[\s*(?P<name>[^\]]+?)\s*\]")


class PluginEntry(NamedTuple):
    name: str
    value: str  # "module:attribute"


def plugin_entries(group: str, path: Iterable[str] | None = None) -> list[PluginEntry]:
    """The entry points of `group` declared by the distributions on `path` (sys.path by default), in path order,
    each distribution counted once (the first of its name, as the import system and importlib.metadata do)."""
    seen: set[str] = set()
    found: list[PluginEntry] = []
    for directory in (sys.path if path is None else path):
        for metadata in _metadata_dirs(directory or "."):
            distribution = _normalized(os.path.basename(metadata))
            if distribution in seen:
                continue
            seen.add(distribution)
            try:
                with open(os.path.join(metadata, "entry_points.txt"), encoding="utf-8") as file:
                    text = file.read()
            except (OSError, UnicodeDecodeError):
                continue  # no entry points (most distributions), or unreadable: nothing declared
            found.extend(_entries(text, group))
    return found


def _metadata_dirs(directory: str) -> Iterator[str]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:  # a zip file, a missing directory: not searched
        return
    for name in names:
        if name.endswith(_METADATA_DIRS):
            yield os.path.join(directory, name)


def _normalized(metadata_dir: str) -> str:
    """`Foo.Bar-1.0.dist-info` and `foo_bar.egg-info` -> `foo_bar` (PEP 503 names, underscored)."""
    stem = metadata_dir.rsplit(".", 1)[0]
    return re.sub(r"[-_.]+", "_", stem.split("-", 1)[0]).lower()


def _entries(text: str, group: str) -> Iterator[PluginEntry]:
    """The `name = value` lines of the `[group]` section of an entry_points.txt (an INI file)."""
    current: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        section = _SECTION.fullmatch(line)
        if section is not None:
            current = section["name"]
            continue
        if current == group and "=" in line:
            name, _, value = line.partition("=")
            yield PluginEntry(name.strip(), value.strip())
