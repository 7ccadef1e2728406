"""A small case-insensitive, read-only header mapping, and the header reads the verifiers share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from simulator.signing.base import Verdict


class CIHeaders(Mapping[str, str]):
    """Headers looked up without regard to case. The first value of a repeated name wins; `getall` sees all.

    `repr()` lists names only: values such as `Authorization` may hold a pre-shared key.
    """

    __slots__ = ("_first", "_pairs")

    def __init__(self, source: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = source.items() if isinstance(source, Mapping) else source
        self._pairs: tuple[tuple[str, str], ...] = tuple((name, value) for name, value in pairs)
        self._first: dict[str, tuple[str, str]] = {}
        for name, value in self._pairs:
            self._first.setdefault(name.lower(), (name, value))

    def __getitem__(self, name: str) -> str:
        if not isinstance(name, str):
            raise KeyError(name)
        return self._first[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._first.values())

    def __len__(self) -> int:
        return len(self._first)

    def getall(self, name: str) -> list[str]:
        """Every value sent under `name` (any case), in arrival order; [] when absent."""
        folded = name.lower()
        return [value for key, value in self._pairs if key.lower() == folded]

    def __repr__(self) -> str:
        return f"CIHeaders({[name for name, _ in self._pairs]!r})"


def ci_headers(headers: Mapping[str, str]) -> CIHeaders:
    """`headers` as a CIHeaders (no copy when it already is one)."""
    return headers if isinstance(headers, CIHeaders) else CIHeaders(headers)


def read_headers(headers: Mapping[str, str], *names: str) -> list[str] | Verdict:
    """The single value of each of `names`, or a verdict naming every missing (or repeated) header."""
    ci = ci_headers(headers)
    found = [ci.getall(name) for name in names]
    missing = [name for name, values in zip(names, found, strict=True) if not values]
    if missing:
        noun = "header is" if len(missing) == 1 else "headers are"
        return Verdict.invalid("missing_header", f"{' and '.join(missing)} {noun} missing")
    for name, values in zip(names, found, strict=True):
        if len(values) > 1:
            return Verdict.invalid("malformed_header", f"{name} header appears {len(values)} times; send it once")
    return [values[0] for values in found]
