"""A request aiohttp cannot parse (a 64 KiB signature header, as SIG-05 sends) is answered 400 and logged as one
INFO line without the header's value, like every other rejection: no traceback on the operator's terminal."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from simulator.servers.serving import start_receiver, stop_receiver
from simulator.servers.store import Store


async def test_an_oversized_header_is_a_one_line_rejection(caplog: pytest.LogCaptureFixture) -> None:
    store = Store()
    runner, url = await start_receiver({}, store)
    caplog.set_level(logging.INFO)
    try:
        async with aiohttp.ClientSession() as session:
            headers = {"Content-Type": "application/json", "X-SmartGPS-Signature": "sha256=" + "f" * 65536}
            async with session.post(f"{url}/smartgps", data=b"{}", headers=headers) as response:
                assert response.status == 400
    finally:
        await stop_receiver(runner)
        await store.close()
    records = [r for r in caplog.records if r.name == "fleetsim.receiver.http"]
    assert records and all(r.levelno == logging.INFO and not r.exc_info for r in records)
    assert "unparsable HTTP request" in records[0].getMessage() and "fff" not in caplog.text
