"""Where the shipped data (schemas/, scenarios/) lives, installed or in a source checkout.

The wheel carries both folders inside the package as `simulator/_data/...`; an editable install or a
plain checkout reads them from the repository root. Callers never care which.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    packaged = _PACKAGE_DIR / "_data" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE_DIR.parent / name


@cache
def schemas_dir() -> Path:
    return _data_dir("schemas")


@cache
def scenarios_dir() -> Path:
    return _data_dir("scenarios")
