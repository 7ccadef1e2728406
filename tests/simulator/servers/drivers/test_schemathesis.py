"""Schemathesis against the served drivers API (issue 12's "Done when"): requests generated from the OpenAPI
document, valid and not, get no 5xx and only responses (status, content type, body) the document describes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.core.failures import FailureGroup

from simulator.servers.drivers.app import start_drivers_server, stop_drivers_server
from simulator.servers.drivers.catalogue import drivers
from simulator.servers.drivers.openapi import openapi_document

from .support import MANAGE, OAUTH, demo

SCHEMA = schemathesis.openapi.from_dict(openapi_document())
OPERATIONS = [(path, method.upper()) for path, item in openapi_document()["paths"].items() for method in item]
DRIVER_IDS = [d.id for d in drivers()]
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The API on a real port, served from its own thread and loop (Schemathesis calls it synchronously);
    test events get 0.5 s, so a generated https URL to nowhere cannot hold the run up."""
    loop = asyncio.new_event_loop()
    settings_, installed = demo()
    started = threading.Event()
    box: dict[str, Any] = {}

    async def start() -> None:
        box["server"] = await start_drivers_server(settings_, installed, oauth=OAUTH, test_timeout_s=0.5)
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    assert started.wait(30)
    try:
        yield str(box["server"].url)
    finally:
        asyncio.run_coroutine_threadsafe(stop_drivers_server(box["server"]), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_generated_requests_get_no_5xx_and_conforming_answers(base_url: str, path: str, method: str) -> None:
    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.function_scoped_fixture])
    @given(case=SCHEMA[path][method].as_strategy(), real=st.sampled_from([*DRIVER_IDS, None]))
    def run(case: schemathesis.Case[Any], real: str | None) -> None:
        if real is not None and case.path_parameters and "id" in case.path_parameters:
            case.path_parameters["id"] = real  # mostly a driver that exists, so more than the 404 is exercised
        case.call_and_validate(base_url=base_url, headers=MANAGE, checks=CHECKS)

    run()


def test_it_would_catch_a_response_the_document_does_not_describe(base_url: str) -> None:
    # the same checks fail when the document and the server disagree: here a document whose list response
    # demands a field the server never sends
    document = openapi_document()
    strict = {**document, "components": {**document["components"], "schemas": {
        **document["components"]["schemas"],
        "DriverList": {**document["components"]["schemas"]["DriverList"],
                       "required": ["data", "links", "meta", "tenant"]}}}}
    operation = schemathesis.openapi.from_dict(strict)["/drivers"]["GET"]
    case = operation.Case(query={"limit": 5})
    with pytest.raises(FailureGroup):
        case.call_and_validate(base_url=base_url, headers=MANAGE, checks=CHECKS)
