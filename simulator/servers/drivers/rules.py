"""Laravel-style validation for the drivers API: the rules of a driver's `available_settings` (seed 002:
`required`, `required_if`, types boolean / url / string …) and the query parameters of `GET /drivers`.

Pure. Errors are gathered per field as Laravel gathers them, in its Brazilian Portuguese wording (the seed is
written in Portuguese), and answered as Laravel answers a failed validation: 422 with
`{"message": "<first error> (e mais N erros)", "errors": {"field": ["..."]}}`. Messages never quote a value, so
a secret given in the wrong place cannot come back in an error.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Errors", "check_type", "is_url", "laravel_422", "parse_bool", "required_if_applies"]

#: Laravel's pt-BR wording of each rule (lang/pt_BR/validation.php), :attribute replaced by the field name
MESSAGES = {
    "required": "O campo {field} é obrigatório.",
    "required_if": "O campo {field} é obrigatório quando {other} for {value}.",
    "boolean": "O campo {field} deve ser verdadeiro ou falso.",
    "url": "O campo {field} deve ser uma URL válida.",
    "string": "O campo {field} deve ser uma string.",
    "integer": "O campo {field} deve ser um número inteiro.",
    "number": "O campo {field} deve ser um número.",
    "email": "O campo {field} deve ser um endereço de e-mail válido.",
    "array": "O campo {field} deve ser uma matriz.",
    "min": "O campo {field} deve ser pelo menos {min}.",
    "max": "O campo {field} não pode ser superior a {max}.",
    "in": "O campo {field} selecionado é inválido.",
}


class Errors:
    """Field errors in the order found (Laravel keeps the order of its rules)."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, rule: str, **values: Any) -> None:
        self.fields.setdefault(field, []).append(MESSAGES[rule].format(field=field, **values))

    def add_text(self, field: str, text: str) -> None:
        self.fields.setdefault(field, []).append(text)

    def __bool__(self) -> bool:
        return bool(self.fields)


def laravel_422(errors: Errors) -> dict[str, Any]:
    """The body of Laravel's ValidationException: the first message, then how many more there are."""
    messages = [m for ms in errors.fields.values() for m in ms]
    more = len(messages) - 1
    suffix = "" if more == 0 else f" (e mais {more} erro)" if more == 1 else f" (e mais {more} erros)"
    return {"message": messages[0] + suffix, "errors": errors.fields}


_TRUE = (True, 1, "1", "true")
_FALSE = (False, 0, "0", "false")


def parse_bool(value: Any) -> bool | None:
    """Laravel's `boolean` rule: true, false, 1, 0, "1", "0" (and "true"/"false" from a query string)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | str) and value in _TRUE:
        return True
    if isinstance(value, int | str) and value in _FALSE:
        return False
    return None


def is_url(value: Any) -> bool:
    """An http(s) URL with a host that could exist: an IP address, or DNS labels of letters, digits, `-` and `_`
    (any script, as Laravel's `url` rule takes them) of 1 to 63 characters, 253 at most in all; no control
    character or space anywhere."""
    if not isinstance(value, str) or not value or not value.isprintable() or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    host = parts.hostname
    return parts.scheme in ("http", "https") and host is not None and (_is_ip(host) or _is_dns_name(host))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_dns_name(host: str) -> bool:
    name = host[:-1] if host.endswith(".") else host
    return 0 < len(name) <= 253 and all(_LABEL.fullmatch(label) for label in name.split("."))


_LABEL = re.compile(r"\w(?:[\w-]{0,61}\w)?")  # \w: letters and digits of any script, and _


def check_type(errors: Errors, field: str, kind: str, value: Any) -> None:
    """Add the error of `kind`'s rule when `value` is not of it."""
    checks: dict[str, Callable[[Any], bool]] = {
        "boolean": lambda v: parse_bool(v) is not None,
        "url": is_url,
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "email": lambda v: isinstance(v, str) and v.count("@") == 1 and "." in v.partition("@")[2],
        "array": lambda v: isinstance(v, list),
    }
    ok = checks.get(kind)
    if ok is not None and not ok(value):
        errors.add(field, kind)


def present(value: Any) -> bool:
    """Laravel's `required`: not null, not an empty string, not an empty array."""
    return value is not None and value != "" and value != [] and value != {}


def required_if_applies(condition: str, values: Mapping[str, Any]) -> tuple[bool, str, str]:
    """`"other,value"`: whether the other field holds that value (booleans compared as Laravel does)."""
    other, _, expected = condition.partition(",")
    actual = values.get(other)
    if isinstance(actual, bool) or expected in ("true", "false"):
        return parse_bool(actual) is (expected == "true"), other, expected
    return str(actual) == expected, other, expected
