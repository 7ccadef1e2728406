"""Checking a delivery URL before any work starts, so a typo is a usage error (exit 2), not a failed run."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from ..errors import UsageError

__all__ = [
    "URL_MASK",
    "check_url",
    "check_url_credentials",
    "delivery_urls",
    "endpoint_path",
    "endpoint_url",
    "is_path",
    "masked_url_password",
    "masked_url_secrets",
    "own_url",
    "path_problem",
    "shown_url",
    "url_base",
    "url_named",
    "url_problem",
    "url_secrets",
]

#: what replaces a URL's password or a secret query value in outputs
URL_MASK = "***"
# the password runs to the '@' after which a host follows (no further '@' before the path, query or fragment): a
# password may itself hold an '@' that was not percent-encoded (URL parsers take the last one), and must not show
# its tail; a '/', '?' or '#' in one makes a URL no parser reads as credentials, refused before anything is sent
_URL_PASSWORD = re.compile(
    r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^/@:\s]*:)[^/?#\s]*?(?P<tail>@)(?=[^@\s/?#]*(?:[/?#\s]|$))")
# userinfo with no colon (`https://TOKEN@host`): many services take a token there, sent as the Basic user
_URL_USER_ONLY = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@:\s?#]+(?P<tail>@)")
#: query parameter names that carry credentials, as parts of a name (`api_key`, `x-amz-signature`, Azure Functions'
#: `code`, `pwd`, `jwt`): a name matching by accident (`zipcode`) only masks a value that was harmless to show
SECRET_QUERY_NAME = re.compile(r"secret|token|psk|key|pass|pwd|auth|sig|code|jwt|hash|credential|session|hmac",
                               re.IGNORECASE)
_URL_QUERY_SECRET = re.compile(
    r"(?P<head>[?&](?:[^=&#\s]*(?:" + SECRET_QUERY_NAME.pattern + r")[^=&#\s]*)=)[^&#\s]*", re.IGNORECASE)


def masked_url_password(text: str) -> str:
    """`text` with the password of every URL in it masked (`user:***@host`), and a user-only userinfo, which
    is a token more often than a name, masked whole (`***@host`): credentials in a target URL are sent (as
    Basic auth) but never shown, reported or captured."""
    masked = _URL_PASSWORD.sub(rf"\g<head>{URL_MASK}\g<tail>", text)
    return _URL_USER_ONLY.sub(rf"\g<head>{URL_MASK}\g<tail>", masked)


def masked_url_secrets(text: str) -> str:
    """`masked_url_password`, and every secret-looking query value masked too (`?token=***`): for what is only
    read (reports, terminals), not what is replayed."""
    return _URL_QUERY_SECRET.sub(rf"\g<head>{URL_MASK}", masked_url_password(text))


def url_secrets(url: str) -> list[str]:
    """The credentials `url` carries, for scrubbing by value: its password (as typed and percent-decoded), a
    user-only userinfo (a token), `user:password` (whose base64 is the Basic header it is sent as), and the
    values of secret-looking query parameters. Only a URL that can be sent has any: an unparsable one has none."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found: list[str] = []
    user, password = parts.username, parts.password
    if password is not None:
        user = user or ""
        found += [password, unquote(password), f"{unquote(user)}:{unquote(password)}", f"{user}:{password}"]
    elif user:
        found += [user, unquote(user)]
    found += [value for name, value in parse_qsl(parts.query) if SECRET_QUERY_NAME.search(name)]
    return list(dict.fromkeys(v for v in found if v))


def check_url_credentials(url: str, what: str, provider: str, auth_header_names: Iterable[str], *,
                          settings_url: bool = True) -> None:
    """Credentials in a URL (`user:password@`) are sent as `Authorization: Basic`; a provider whose requests
    carry their own Authorization header (PowUnity's PSK, a MettaX token) cannot carry both: aiohttp refuses
    such a request, and fleetsim's transport as it does. One usage error before any work, not a failed
    request per event. `settings_url`: the provider could be given a url of its own instead (run, check)."""
    if "authorization" not in auth_header_names:
        return
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return
    instead = f", or give {provider} a url of its own in the settings" if settings_url else ""
    raise UsageError(f"{what}: {provider} sends its own Authorization header, so the credentials in the URL "
                     f"(user:password@, sent as Authorization: Basic) cannot go with it; remove them from the "
                     f"URL{instead}")


def url_problem(url: str) -> str | None:
    """What is wrong with `url` as a place to POST webhooks, or None. Never quotes the URL: it may hold
    credentials (user:password@) or a token in its query."""
    if not url:
        return "expected an http:// or https:// URL, got an empty value"
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return "the URL contains spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError for a port that is not a number in 0..65535
    except ValueError:
        return ("not a valid URL (check the host, the brackets around an IPv6 address, and that the port is "
                "1-65535)")
    if parts.scheme.lower() not in ("http", "https"):
        found = f"a {parts.scheme!r} URL" if parts.scheme and len(parts.scheme) < 20 else "no http(s) scheme"
        return f"expected an http:// or https:// URL, found {found}"
    if not parts.hostname:
        return "the URL has no host (expected e.g. https://receiver.example.com/webhooks)"
    if port == 0:
        return "the URL's port must be 1-65535, not 0"
    return None


def is_path(url: str) -> bool:
    """A provider's `url` setting given as a path (`/webhooks/samsara`): the endpoint under the base URL the
    traffic goes to (`--target`, an in-process app, fleetsim's own receiver), in place of `/<provider>`."""
    return url.startswith("/") and not url.startswith("//")


def path_problem(path: str) -> str | None:
    """What is wrong with `path` as a provider's endpoint path, or None. Never quotes it (a query may hold a
    token)."""
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path):
        return "the path contains spaces or control characters"
    if "{" in path or "}" in path:
        return "write braces in a path percent-encoded (%7B, %7D)"
    if "#" in path:
        return "a fragment (#...) is never sent; leave it out of the path"
    return None


def check_url(url: str, what: str) -> str:
    """`url` if it is usable, else a UsageError naming `what` (e.g. "--target", "samsara url")."""
    problem = url_problem(url)
    if problem is not None:
        raise UsageError(f"{what}: {problem}")
    return url


def shown_url(url: str) -> str:
    """`url` as an error line may quote it: no user:password@ and no query or fragment (either may hold a secret),
    the rest cut to 200 characters; an unparsable URL is not echoed at all."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "an unparsable URL"
    where = f"[{host}]" if ":" in host else host
    shown = f"{parts.scheme}://{where}{f':{port}' if port is not None else ''}{parts.path}"
    shown = "".join(ch if ch.isprintable() else "?" for ch in shown)
    return repr(shown if len(shown) <= 200 else shown[:197] + "...")


def endpoint_url(target: str, provider: str, settings: Mapping[str, Any]) -> str:
    """A provider's traffic goes to its `url` setting, else to TARGET/<provider>; a `url` that is a path goes
    under TARGET in place of /<provider> (`endpoint_path`). A query in TARGET (`?code=...`, an Azure Functions key)
    stays the query, after the path's own: every provider's requests carry it."""
    own = own_url(settings)
    if own:
        return own
    path = endpoint_path(provider, settings)
    if "?" not in target and "#" not in target:
        return target.rstrip("/") + path
    parts = urlsplit(target)  # a fragment is never sent
    path, _, path_query = path.partition("?")
    query = "&".join(q for q in (path_query, parts.query) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + path, query, ""))


def url_base(target: str) -> str:
    """`target` as the base a path goes after (a state probe's `{base}`): no query, no fragment, no trailing
    slash. `https://fn.example/api/?code=KEY` gives `https://fn.example/api`."""
    if "?" in target or "#" in target:
        parts = urlsplit(target)
        target = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return target.rstrip("/")


def own_url(settings: Mapping[str, Any]) -> str | None:
    """A provider's `url` setting when it is a whole URL (its traffic goes there, whatever the base), else None."""
    url = settings.get("url")
    return url if isinstance(url, str) and url and not is_path(url) else None


def endpoint_path(provider: str, settings: Mapping[str, Any]) -> str:
    """The path under the base URL a provider's traffic goes to: its `url` setting when that is a path
    (`/webhooks/samsara`), else `/<provider>`. (A `url` that is a whole URL is not under any base.)"""
    url = settings.get("url")
    return url if isinstance(url, str) and is_path(url) else f"/{provider}"


def delivery_urls(target: str, providers: Iterable[str],
                  settings: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(url, what the user called it) for each provider whose traffic goes where the user said: its `url`
    setting ("samsara url"), else TARGET/<provider> ("--target"). Without a target, providers with no `url` of
    their own, or a path for one, are left out (they go to fleetsim's own receiver)."""
    found = []
    for name in providers:
        own = settings.get(name, {})
        if target or own_url(own):
            found.append((endpoint_url(target, name, own), url_named(name, own)))
    return found


def url_named(provider: str, settings: Mapping[str, Any]) -> str:
    """What the user called the URL `provider`'s traffic goes to, for messages: its `url` setting
    ("samsara url"), else the `--target` it hangs under (also when the setting is a path under it)."""
    return f"{provider} url" if own_url(settings) else "--target"
