"""The Server and User objects, as each profile's Traccar writes them (model/Server.java and model/User.java at
v4.12 and v6.6, getters in declaration order). Devices, positions and events are not written here: they are the
socket provider's frames."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .accounts import Account
from .profiles import Profile


def _server_4_12(profile: Profile) -> dict[str, Any]:
    return {
        "id": 1, "attributes": {}, "registration": False, "readonly": False, "deviceReadonly": False,
        "map": None, "bingKey": None, "mapUrl": None, "latitude": 0.0, "longitude": 0.0, "zoom": 0,
        "twelveHourFormat": False, "forceSettings": False, "coordinateFormat": None, "limitCommands": False,
        "poiLayer": None, "announcement": None, "version": profile.version,
    }


def _server_6(profile: Profile) -> dict[str, Any]:
    # twelveHourFormat is gone; storageSpace is filled for administrators only
    return {
        "id": 1, "attributes": {}, "registration": False, "readonly": False, "deviceReadonly": False,
        "map": None, "bingKey": None, "mapUrl": None, "overlayUrl": None, "latitude": 0.0, "longitude": 0.0,
        "zoom": 0, "forceSettings": False, "coordinateFormat": None, "limitCommands": False, "disableReports": False,
        "fixedEmail": False, "poiLayer": None, "announcement": None, "version": profile.version,
        "emailEnabled": False, "textEnabled": False, "geocoderEnabled": False, "storageSpace": None,
        "newServer": False, "openIdEnabled": False, "openIdForce": False,
    }


def _token(account: Account) -> str | None:
    """Traccar 4.12 writes the user's token into the user's own User object (the only place it is revealed: a
    logged-in user may read its own token, as in Traccar)."""
    return None if account.token is None else account.token.reveal().decode("utf-8", "surrogatepass")


def _user_4_12(account: Account) -> dict[str, Any]:
    return {
        "id": account.id, "attributes": {}, "name": account.display_name, "login": None, "email": account.email,
        "phone": None, "readonly": False, "administrator": account.administrator, "map": None, "latitude": 0.0,
        "longitude": 0.0, "zoom": 0, "twelveHourFormat": False, "coordinateFormat": None, "disabled": False,
        "expirationTime": None, "deviceLimit": -1, "userLimit": 0, "deviceReadonly": False, "token": _token(account),
        "limitCommands": False, "poiLayer": None, "password": None,
    }


def _user_6(account: Account) -> dict[str, Any]:
    # tokens are no longer a user field (they are issued by POST /api/session/token)
    return {
        "id": account.id, "attributes": {}, "name": account.display_name, "login": None, "email": account.email,
        "phone": None, "readonly": False, "administrator": account.administrator, "map": None, "latitude": 0.0,
        "longitude": 0.0, "zoom": 0, "coordinateFormat": None, "disabled": False, "expirationTime": None,
        "deviceLimit": -1, "userLimit": 0, "deviceReadonly": False, "limitCommands": False, "disableReports": False,
        "fixedEmail": False, "poiLayer": None, "totpKey": None, "temporary": False, "password": None,
    }


SERVERS: dict[str, Callable[[Profile], dict[str, Any]]] = {"traccar-4.12": _server_4_12, "traccar-6": _server_6}
USERS: dict[str, Callable[[Account], dict[str, Any]]] = {"traccar-4.12": _user_4_12, "traccar-6": _user_6}
