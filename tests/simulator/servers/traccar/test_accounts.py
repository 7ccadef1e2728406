"""Accounts of `fleetsim serve` from the powunity `accounts` setting: they log in (form, Basic, tokens per
profile), the demo account is the default only, and a bad setting is one line and exit 2 naming the field,
never a password or token."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from simulator.errors import ScenarioError, UsageError
from simulator.servers.traccar import start_traccar_server, stop_traccar_server
from simulator.servers.traccar.accounts import Account, accounts_from_settings
from simulator.servers.traccar.state import device_ids
from simulator.settings import load_settings
from simulator.signing import Secret

from ....conftest import CliResult
from .support import scenario

PASSWORD = "Sup3r-secret-pw"
TOKEN = "tok-4f1c9e2b7a"
SECRET_PASSWORD, SECRET_TOKEN = Secret(PASSWORD.encode()), Secret(TOKEN.encode())


def _settings(tmp_path: Path, accounts: str) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(f"providers:\n  powunity:\n    accounts:\n{accounts}")
    return path


async def test_accounts_from_settings_log_in_and_the_demo_account_is_gone() -> None:
    accounts = [{"email": "Ops@Example.com", "password": PASSWORD, "token": TOKEN, "name": "Ops"}]
    server = await start_traccar_server(scenario(), {"powunity": {"accounts": accounts}}, profile="traccar-6")
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(f"{server.url}/api/session",
                                 data={"email": "ops@example.com", "password": PASSWORD}) as response:
                assert response.status == 200
                user = await response.json()
                assert (user["id"], user["name"], user["administrator"]) == (1, "Ops", False)
            async with http.get(f"{server.url}/api/devices", headers={"Authorization": f"Bearer {TOKEN}"}) as r:
                assert r.status == 200
            demo = "Basic " + base64.b64encode(b"demo@fleetsim.local:demo").decode()
            async with http.get(f"{server.url}/api/devices", headers={"Authorization": demo}) as r:
                assert r.status == 401
    finally:
        await stop_traccar_server(server)


def test_device_keys_map_to_traccar_ids_and_an_unknown_one_names_the_field() -> None:
    ids = device_ids(scenario(), "powunity")
    assert ids == {"bikes/1": 1, "bikes/2": 2}
    made = accounts_from_settings({"accounts": [{"email": "a@b.c", "password": PASSWORD, "devices": ["bikes/2", 1]},
                                                {"email": "x@b.c", "password": PASSWORD}]}, ids)
    assert made is not None and [a.devices for a in made] == [frozenset({1, 2}), None]
    assert [a.id for a in made] == [1, 2]
    assert accounts_from_settings({}, ids) is None
    for ref in ("bikes/3", 7):
        with pytest.raises(UsageError) as bad:
            accounts_from_settings({"accounts": [{"email": "a@b.c", "password": PASSWORD, "devices": [ref]}]}, ids,
                                   "powunity setting")
        assert "powunity setting accounts[0].devices[0]: no device" in str(bad.value)
        assert PASSWORD not in str(bad.value)


def test_no_repr_shows_a_password_or_token() -> None:
    account = Account(3, "a@b.c", SECRET_PASSWORD, SECRET_TOKEN, administrator=True)
    assert PASSWORD not in repr(account) and TOKEN not in repr(account) and TOKEN not in repr([account])
    assert PASSWORD not in str(account)


@pytest.mark.parametrize(("accounts", "says"), [
    ("      - {email: a@b.c, password: one-pass-1}\n      - {email: A@B.C, password: two-pass-2}\n",
     "accounts[1].email: the same email as accounts[0]"),
    ("      - {email: a@b.c, password: one-pass-1, token: same-tok-1}\n"
     "      - {email: b@b.c, password: two-pass-2, token: same-tok-1}\n",
     "accounts[1].token: the same token as accounts[0]"),
    ("      - {email: a@b.c}\n", "accounts[0].password: required field is missing"),
    ("      - {email: a@b.c, password: 987654321}\n", "accounts[0].password: expected text, found a whole number"),
    ("      - {email: a@b.c, password: one-pass-1, devices: bikes/1}\n", "accounts[0].devices: expected a list"),
])
def test_a_bad_accounts_setting_names_the_field_not_the_secret(tmp_path: Path, accounts: str, says: str) -> None:
    with pytest.raises(ScenarioError) as bad:
        load_settings(_settings(tmp_path, accounts))
    message = str(bad.value)
    assert says in message and "settings.yaml:" in message
    for secret in ("one-pass-1", "two-pass-2", "same-tok-1", "987654321"):
        assert secret not in message


def test_serve_answers_bad_accounts_with_one_line_and_exit_2(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    for accounts, says in (
        ("      - {email: a@b.c, password: one-pass-1, devices: [bikes/9]}\n",
         "powunity setting accounts[0].devices[0]: no device 'bikes/9'"),
        ("      - {email: a@b.c, password: one-pass-1}\n      - {email: a@b.c, password: two-pass-2}\n",
         "accounts[1].email: the same email"),
    ):
        result = cli("serve", "--port", "0", "--settings", str(_settings(tmp_path, accounts)))
        assert result.code == 2, result.err
        assert len(result.err.splitlines()) == 1 and says in result.err, result.err
        assert "one-pass-1" not in result.err + result.out and "two-pass-2" not in result.err + result.out


def test_the_start_up_line_prints_the_demo_password_only() -> None:
    from simulator.servers.traccar.accounts import DEMO_ACCOUNT
    from simulator.servers.traccar.platform import _login_hint

    assert _login_hint([DEMO_ACCOUNT]) == "log in as demo@fleetsim.local / demo"
    hint = _login_hint([Account(1, "ops@example.com", SECRET_PASSWORD, SECRET_TOKEN),
                        Account(2, "b@c.d", SECRET_PASSWORD)])
    assert "ops@example.com" in hint and "2 accounts" in hint
    assert PASSWORD not in hint and TOKEN not in hint
