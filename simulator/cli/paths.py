"""Output paths are checked before any work starts: a report or capture that cannot be written is a usage
error (exit 2) found in the first millisecond, not after an hour of delivery."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UsageError

__all__ = ["check_output_path"]


def check_output_path(path: str, what: str) -> Path:
    """`path` as a Path if a file can be created or replaced there, else a UsageError naming `what`."""
    if not path or "\x00" in path:
        raise UsageError(f"{what}: expected a file path, got {'an empty value' if not path else 'a NUL byte'}")
    target = Path(path)
    resolved = target.resolve()
    if resolved.parts[1:2] in (("proc",), ("sys",), ("dev",)) and str(resolved) != os.devnull:
        raise UsageError(f"{what}: {path} is a kernel or device file, not a file fleetsim can write a report to")
    try:
        if target.is_dir():
            raise UsageError(f"{what}: {path} is a directory, expected a file")
        if target.exists() and not target.is_file():
            raise UsageError(f"{what}: {path} is not a regular file (a device or special file cannot hold it)")
        parent = target.parent if str(target.parent) else Path(".")
        if not parent.is_dir():
            raise UsageError(f"{what}: directory {parent} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
            raise UsageError(f"{what}: {path} is not writable")
    except OSError as exc:  # a name too long, a loop of symlinks...
        raise UsageError(f"{what}: {path}: {exc.strerror or exc}") from None
    return target
