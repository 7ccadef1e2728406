"""One provider's settings, as a scenario's `delivery.providers.<name>` or a `--settings` file gives them: secrets
parsed into `Secret` (never quoted), then the checks the schema cannot express — URLs, retry schedules, and
whatever the provider itself checks (`Provider.check_settings`). The scenario loader and settings files both call
`parse_provider_settings`, so a setting means and is checked the same wherever it is written."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ..delivery.urls import is_path, path_problem, url_problem
from ..errors import SecretError
from ..providers.registry import PROVIDERS
from ..signing import Secret, get_signer
from .durations import parse_duration
from .wording import describe
from .yamlsafe import JsonPath

__all__ = ["SECRET_KEYS", "Report", "parse_provider_settings", "secret_key", "wrap_secrets"]

#: settings holding key material: never quoted in a message; parsed into `Secret` under "secret"
SECRET_KEYS = ("secret", "psk")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")



def secret_key(provider: str) -> str:
    """The settings key a provider's signing secret is written under (`psk` for PowUnity, else `secret`), for
    messages that tell the user what to write."""
    properties = PROVIDERS[provider].settings_schema.get("properties", {})
    return next((key for key in SECRET_KEYS if key in properties), "secret")


#: report(path, message, key=...) records one problem at a position in the file
Report = Callable[..., None]


def parse_provider_settings(report: Report, path: JsonPath, provider: str, data: Mapping[str, Any],
                            env: Mapping[str, str], *, env_required: bool = True) -> dict[str, Any]:
    """`data` (schema-valid) with its secret parsed; every problem goes to `report`. With `env_required` False
    (a provider the command will not use), a `secret_env` whose variable is unset leaves the secret out, unsaid:
    one settings file serves several jobs, each with only its own providers' secrets in its environment."""
    out = wrap_secrets(PROVIDERS[provider].settings_schema,
                       _secrets(report, path, provider, data, env, env_required=env_required))
    _check_url(report, path, data)
    _check_retry(report, path, data)
    for subpath, problem in PROVIDERS[provider].check_settings(data):
        report((*path, *subpath), problem)
    return out


def wrap_secrets(schema: Mapping[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """`values` with every text the provider's schema marks `x-secret` made a `Secret`, at any depth (a static
    token at the top, each password and token of powunity's `accounts` list): credentials are Secrets from the
    moment they are loaded, like signing secrets, so no repr, log, report or error can show them, and the
    redactor (simulator/delivery/redaction.py) finds them wherever they sit."""
    wrapped = _wrapped(schema, values)
    assert isinstance(wrapped, dict)
    return wrapped


def _wrapped(spec: Mapping[str, Any], value: Any) -> Any:
    if spec.get("x-secret") and isinstance(value, str):
        return Secret(value.encode("utf-8", "surrogatepass"))
    properties = spec.get("properties")
    if isinstance(value, dict) and isinstance(properties, Mapping):
        return {k: _wrapped(properties.get(k, {}), v) for k, v in value.items()}
    items = spec.get("items")
    if isinstance(value, list) and isinstance(items, Mapping):
        return [_wrapped(items, v) for v in value]
    return value


def _secrets(report: Report, path: JsonPath, provider: str, data: Mapping[str, Any],
             env: Mapping[str, str], *, env_required: bool = True) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k not in SECRET_KEYS and k.removesuffix("_env") not in SECRET_KEYS}
    signer = get_signer(PROVIDERS[provider].signing)
    for key in SECRET_KEYS:
        env_key = f"{key}_env"
        if key in data and env_key in data:
            report((*path, env_key), f"give either {key} or {env_key}, not both", key=True)
            continue
        text: Any = data.get(key)
        where = (*path, key)
        if env_key in data:
            where = (*path, env_key)
            variable = data[env_key]
            if not isinstance(variable, str):
                report(where, f"expected an environment variable name, found {describe(variable)}")
                continue
            text = env.get(variable)
            if text is None:
                if not env_required:
                    continue
                if _ENV_NAME.fullmatch(variable):
                    report(where, f"environment variable {variable} is not set")
                else:  # not a conventional name: it may be the secret itself, so it is not repeated
                    report(where, f"the environment variable named here is not set (is this the "
                                 f"secret itself? put a secret in {key}, or better, its variable's name in "
                                 f"{env_key})")
                continue
        elif key not in data:
            continue
        if not isinstance(text, str):
            report(where, f"expected text, found {describe(text, where)}")
            continue
        if "secret" in out:
            report(where, "give only one secret per provider", key=True)
            continue
        try:
            out["secret"] = signer.parse_secret(text)
        except SecretError as exc:  # the signer's message never quotes the secret
            report(where, str(exc))
    return out


def _check_url(report: Report, path: JsonPath, values: Mapping[str, Any]) -> None:
    url = values.get("url")
    if isinstance(url, str):
        # a path is the endpoint under the base URL (--target, an app, fleetsim's receiver); neither check
        # quotes the value: it may carry credentials or a token
        problem = path_problem(url) if is_path(url) else url_problem(url)
        if problem is not None and not is_path(url) and "://" not in url:
            problem += f" (or a path under --target, such as /webhooks/{path[-1]})"
        if problem is not None:
            report((*path, "url"), problem)


def _check_retry(report: Report, path: JsonPath, values: Mapping[str, Any]) -> None:
    retry = values.get("retry")
    if not isinstance(retry, list):
        return  # a name was checked by the schema (its enum is the retry registry)
    previous = 0.0
    for i, item in enumerate(retry):
        try:
            delay = parse_duration(item)
        except ValueError:
            return  # the schema reported it
        if delay < previous:
            report((*path, "retry", i), "retry delays must not decrease (each delay is the wait after one more "
                   "failure)")
            return
        previous = delay
