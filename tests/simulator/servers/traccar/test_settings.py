"""What the served frames are rendered with: the settings given to the server (a settings file laid over the
scenario's), and the profile, passed to the provider as its `profile` setting when it takes one."""

from __future__ import annotations

import asyncio

import pytest

from simulator.errors import UsageError
from simulator.providers import PROVIDERS
from simulator.servers.traccar import start_traccar_server, stop_traccar_server
from simulator.servers.traccar.app import with_settings

from .support import scenario


async def test_the_frames_are_rendered_with_the_settings_given() -> None:
    plain = scenario()
    newer = {**plain.delivery.providers, "powunity": {"profile": "traccar-6"}}
    # a Traccar 6 device has calendarId (added in 5.9) and no geofenceIds; a 4.12 one the reverse (provider-facts §1)
    for settings, has_calendar in ((None, False), (newer, True)):
        server = await start_traccar_server(plain, settings)
        try:
            await asyncio.sleep(0.3)
            devices = server.state.world.devices.values()
            assert devices and {"calendarId" in d for d in devices} == {has_calendar}
            assert {"geofenceIds" in d for d in devices} == {not has_calendar}
        finally:
            await stop_traccar_server(server)


def test_the_profile_goes_to_the_provider_only_when_it_takes_one() -> None:
    served, profile = with_settings(scenario(), None, None)
    assert profile == "traccar-4.12"
    takes_profile = "profile" in PROVIDERS["powunity"].settings_schema.get("properties", {})
    served, profile = with_settings(scenario(), None, "traccar-6")
    assert profile == "traccar-6"
    assert ("profile" in served.delivery.providers["powunity"]) is takes_profile
    if takes_profile:
        assert served.delivery.providers["powunity"]["profile"] == "traccar-6"


def test_an_unknown_profile_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="traccar-5"):
        with_settings(scenario(), None, "traccar-5")
