"""`make_transport`: each transport test runs once per HTTP transport, so both keep one contract."""

from __future__ import annotations

import pytest

from simulator.delivery.h1 import H1Transport
from simulator.delivery.transport import HttpTransport

AnyTransport = HttpTransport | H1Transport
TransportClass = type[HttpTransport] | type[H1Transport]


@pytest.fixture(params=[HttpTransport, H1Transport], ids=["aiohttp", "h1"])
def make_transport(request: pytest.FixtureRequest) -> TransportClass:
    cls: TransportClass = request.param
    return cls
