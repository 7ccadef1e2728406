"""How scenario and settings problems are worded: `file:line:col: path: expected X, found Y`, with "did you mean"
suggestions, values clipped and secrets never quoted. Shared by the scenario loader and settings files, so both
speak alike (conformance catalogue H-5)."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

from ..schemastore import load_schema, validator
from .yamlsafe import JsonPath, YamlDocument

SCHEMA = "scenario.schema.json"
#: what a settings field name looks like; other unknown keys in provider settings are not quoted
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
#: values never quoted in messages (an *_env field sometimes holds the secret itself by mistake; nothing in
#: powunity's `accounts` is quoted, since a password or token shifted into the wrong field is still one)
REDACTED_KEYS = frozenset({"secret", "psk", "token", "password", "secret_env", "psk_env", "accounts"})
_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_$-]{1,40}")
_TYPE_WORDS = {
    "string": "text", "integer": "a whole number", "number": "a number", "object": "a mapping",
    "array": "a list", "boolean": "true or false", "null": "nothing",
}
_ITEM_NOUNS = {"polygon": "points", "fleet": "groups", "features": "features"}


# --- paths and values in messages ------------------------------------------------------------------------------


def format_path(path: Iterable[str | int]) -> str:
    """("fleet", 0, "provider") -> "fleet[0].provider"; the root is "(top level)"."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _SIMPLE_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{clip(json.dumps(part, ensure_ascii=False))}]"
    return out or "(top level)"


def clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _secret_key(part: object) -> bool:
    """A credential's key: one of REDACTED_KEYS, or a name ending in a credential's word (`api_client_secret`)."""
    return isinstance(part, str) and (part in REDACTED_KEYS or part.rpartition("_")[2] in _CREDENTIAL_WORDS)


_CREDENTIAL_WORDS = frozenset({"secret", "psk", "token", "password"})


def credential_values(data: Any, under_secret: bool = False) -> set[str]:
    """Every text in `data` that stands under a credential's key (`_secret_key`, `accounts` whole): what no
    message about the file may quote, even where it stands under another key too. Not a `secret_env`/`psk_env`
    value: it names a variable, which messages say ("environment variable X is not set")."""
    found: set[str] = set()
    if isinstance(data, str):
        if under_secret and data:
            found.add(data)
    elif isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and key.endswith("_env"):
                continue
            found |= credential_values(value, under_secret or _secret_key(key))
    elif isinstance(data, list):
        for item in data:
            found |= credential_values(item, under_secret)
    return found


#: a credential shorter than this is only masked where it is quoted whole (`'1234'`): masking every "1234" in a
#: message would mangle line numbers and values and protect nothing
_MIN_MASKED_INSIDE = 6


def without_credentials(problems: Iterable[str], data: Any) -> list[str]:
    """`problems` with every credential of `data` (`credential_values`) masked wherever it is quoted: `describe`
    keeps a credential key's value out of its own message, but a mistake may have copied the same text under
    another key (a PSK as a PowUnity `profile`), where it is quoted as the value found."""
    values = sorted(credential_values(data), key=len, reverse=True)
    if not values:
        return list(problems)
    needles: list[str] = []
    for value in values:
        quoted = repr(value)
        needles.append(quoted)
        if len(value) >= _MIN_MASKED_INSIDE:
            needles.append(quoted[1:-1])
            if len(quoted) > 60:  # `clip` cut it: what is left of it before the "..."
                needles.append(clip(quoted)[1:-3])
    masked = []
    for problem in problems:
        for needle in needles:
            problem = problem.replace(needle, "<redacted>")
        masked.append(problem)
    return masked


def describe(value: Any, path: JsonPath = ()) -> str:
    if any(_secret_key(part) for part in path):
        return f"{_TYPE_WORDS.get(json_type(value), 'a value')} (redacted)"
    if isinstance(value, str) and len(path) >= 2 and path[-2] == "providers":
        # text where a provider's settings mapping belongs is a broken `{psk: "..."}`: it may hold the secret
        return "text (not shown: it may hold a secret)"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return clip(repr(value))
    if isinstance(value, str):
        return clip(repr(value))
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    return "a mapping"


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def close_match(value: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known name closest to `value` (ignoring case), if any is close enough."""
    candidates = {str(k).lower(): str(k) for k in known}
    close = difflib.get_close_matches(value.lower(), list(candidates), n=1, cutoff=cutoff)
    return candidates[close[0]] if close else None


def did_you_mean(value: str, known: Iterable[str], cutoff: float = 0.6) -> str:
    close = close_match(value, known, cutoff)
    return f"; did you mean {close!r}?" if close else ""


# --- stage 2: the JSON Schema -------------------------------------------------------------------------------------


def schema_problems(doc: YamlDocument) -> list[str]:
    """Every way `doc` breaks the scenario schema, the best match first and the rest in file order."""
    errors = list(validator(SCHEMA).iter_errors(doc.data))
    if not errors:
        return []
    top = best_match(errors)
    while top is not None and top.parent is not None:
        top = top.parent
    type_paths = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    errors.sort(key=lambda e: (e is not top, doc.position(tuple(e.absolute_path)), str(e.validator)))
    problems: dict[str, None] = {}  # ordered, without repeats
    for err in errors:
        path = tuple(err.absolute_path)
        if err.validator != "type" and path in type_paths:
            continue  # the type error says it all
        problems.update(dict.fromkeys(explain(err, doc)))
    return list(problems)


@cache
def root_schema() -> dict[str, Any]:
    return load_schema(SCHEMA)


def resolve(schema: Any) -> dict[str, Any]:
    """`schema` with a local `$ref` followed (titles and descriptions beside the $ref win)."""
    if not isinstance(schema, dict):
        return {}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root_schema()
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return {**resolve(target), **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def explain(err: ValidationError, doc: YamlDocument) -> list[str]:
    path: JsonPath = tuple(err.absolute_path)
    where = doc.location(path)
    name = format_path(path)
    schema = resolve(err.schema)
    kw, value, inst = err.validator, err.validator_value, err.instance
    expected = schema.get("x-expected")
    found = describe(inst, path)
    if kw == "required":
        out = []
        known = list(schema.get("properties", {}))
        # a missing field that an unknown key is a misspelling of is explained by the unknown-field problem
        typos = {close_match(key, known) for key in inst if key not in known} if isinstance(inst, dict) else set()
        for missing in value:
            if isinstance(inst, dict) and missing not in inst and missing not in typos:
                sub = resolve(schema.get("properties", {}).get(missing))
                if sub.get("x-expected"):
                    hint = f"; expected {sub['x-expected']}"
                else:
                    hint = f". {sub['description']}" if sub.get("description") else ""
                out.append(f"{where}: {format_path((*path, missing))}: required field is missing{hint}")
        return out
    if kw == "additionalProperties" and isinstance(inst, dict):
        allowed = list(schema.get("properties", {}))
        out = []
        for key in inst:
            if key in allowed:
                continue
            hint = did_you_mean(key, allowed) or f"; expected one of: {', '.join(sorted(allowed))}"
            if len(path) >= 2 and path[-2] == "providers" and not _FIELD_NAME.fullmatch(key):
                # an unknown key in a provider's settings that does not even look like a field name may be a
                # secret gone astray (`{psk "Bearer ..."}` parses as a key): name neither it nor its path
                out.append(f"{doc.location((*path, key), key=True)}: {name}: unknown field (not shown: it may "
                           f"hold a secret){hint}")
                continue
            out.append(f"{doc.location((*path, key), key=True)}: {format_path((*path, key))}: "
                       f"unknown field {clip(repr(key), 40)}{hint}")
        return out
    if kw in ("anyOf", "oneOf"):
        specific = sorted(branch_errors(err), key=lambda e: doc.position(tuple(e.absolute_path)))
        if specific:
            return [problem for leaf in specific for problem in explain(leaf, doc)]
        if expected:
            if isinstance(inst, dict):
                named = sorted(k for k in inst if k in mentioned(value))
                found = "fields " + ", ".join(named) if named else "none of them"
            return [f"{where}: {name}: expected {expected}, found {found}"]
    if kw in ("enum", "const"):
        allowed_values = value if kw == "enum" else [value]
        shown = ", ".join(str(v) for v in allowed_values)
        what = schema.get("x-what")
        hint = did_you_mean(inst, [str(v) for v in allowed_values], 0.5) if isinstance(inst, str) else ""
        if what and isinstance(inst, str):
            return [f"{where}: {name}: unknown {what} {found}{hint} (expected one of: {shown})"]
        return [f"{where}: {name}: expected one of {shown}, found {found}{hint}"]
    if kw == "type":
        types = [str(t) for t in value] if isinstance(value, list) else [str(value)]
        words = expected or " or ".join(_TYPE_WORDS.get(t, t) for t in types)
        return [f"{where}: {name}: expected {words}, found {found}"]
    if kw in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return [f"{where}: {name}: expected {expected or range_words(schema)}, found {found}"]
    if kw in ("minItems", "maxItems") and isinstance(inst, list):
        noun = _ITEM_NOUNS.get(str(path[-1]) if path else "", "items")
        bound = "at least" if kw == "minItems" else "at most"
        return [f"{where}: {name}: expected {bound} {value} {noun}, found {len(inst)}"]
    if kw in ("minLength", "maxLength") and isinstance(inst, str):
        bound = "at least" if kw == "minLength" else "at most"
        return [f"{where}: {name}: expected {bound} {value} characters, found {len(inst)}"]
    if kw == "uniqueItems" and isinstance(inst, list):
        seen: set[str] = set()
        dup = None
        for item in inst:
            item_key = json.dumps(item, sort_keys=True, default=str)
            if item_key in seen:
                dup = item
                break
            seen.add(item_key)
        return [f"{where}: {name}: items must be unique; {describe(dup, path)} is listed more than once"]
    if kw == "pattern":
        return [f"{where}: {name}: expected {expected or 'text matching ' + str(value)}, found {found}"]
    if any(_secret_key(part) for part in path):
        return [f"{where}: {name}: invalid value (not shown: it may be a secret)"]
    if expected:
        return [f"{where}: {name}: expected {expected}, found {found}"]
    return [f"{where}: {name}: {clip(err.message, 200)}"]


def branch_errors(err: ValidationError) -> list[ValidationError]:
    """For a failed anyOf/oneOf: the errors of the first branch whose type fits the value, when they say more
    than "wrong type" (risk: "hihg" -> the preset enum; risk: {phone_per_h: -1} -> the mapping's fields)."""
    here = list(err.absolute_path)
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in err.context or ():
        by_branch.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    for _, subs in sorted(by_branch.items()):
        if any(s.validator == "type" and list(s.absolute_path) == here for s in subs):
            continue  # this branch is for another type of value
        useful = [s for s in subs if s.validator not in ("required", "not", "anyOf", "oneOf") or s.context]
        if useful and len(useful) == len(subs):
            return useful
    return []


def mentioned(branches: Any) -> set[str]:
    """Property names the `required` lists of oneOf/anyOf branches talk about."""
    names: set[str] = set()
    stack: list[Any] = [branches]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            names.update(n for n in item.get("required", []) if isinstance(n, str))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return names


def _number(value: float) -> str:
    """1000000000 as written, not 1e+09; 0.5 as 0.5."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


def range_words(schema: Mapping[str, Any]) -> str:
    noun = "a whole number" if schema.get("type") == "integer" else "a number"
    low = schema.get("minimum")
    high = schema.get("maximum")
    if high is not None and high > 1e12:  # a technical bound (the seed's 2**63 - 1), not worth showing
        high = None
    if low is not None and high is not None:
        return f"{noun} from {_number(low)} to {_number(high)}"
    parts = []
    if low is not None:
        parts.append(f">= {_number(low)}")
    if schema.get("exclusiveMinimum") is not None:
        parts.append(f"> {_number(schema['exclusiveMinimum'])}")
    if high is not None:
        parts.append(f"<= {_number(high)}")
    if schema.get("exclusiveMaximum") is not None:
        parts.append(f"< {_number(schema['exclusiveMaximum'])}")
    return f"{noun} {' and '.join(parts)}"


