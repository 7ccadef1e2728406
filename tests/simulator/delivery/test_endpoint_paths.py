"""A provider's `url` setting may be a path (`/webhooks/samsara`): the endpoint under the base URL the traffic goes
to — `--target`, an in-process app, fleetsim's own receiver — in place of `/<provider>` (docs/delivery.md,
"Where each provider's traffic goes"). Real runs against a recording receiver and the reference receiver."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from simulator.delivery.runner import RunConfig, Runner
from simulator.delivery.urls import delivery_urls, endpoint_path, endpoint_url, is_path, url_base, url_named
from simulator.errors import ScenarioError, UsageError
from simulator.scenario.model import Rate
from simulator.servers.receiver import endpoint_paths
from simulator.settings import load_settings, merge_settings
from tests.cli.test_cli_errors import assert_usage_error
from tests.conftest import CliResult

from .test_runner import _recorder, tiny


@pytest.mark.parametrize(("url", "path"), [
    ("/webhooks/samsara", True), ("/", True), ("//evil.example/x", False), ("http://h/x", False),
    ("webhooks/samsara", False), ("", False),
])
def test_a_path_is_a_url_setting_that_starts_with_one_slash(url: str, path: bool) -> None:
    assert is_path(url) is path


@pytest.mark.parametrize(("target", "settings", "url"), [
    ("http://h:8000", {}, "http://h:8000/samsara"),
    ("http://h:8000/", {"url": "/webhooks/samsara"}, "http://h:8000/webhooks/samsara"),
    ("http://h:8000/base/", {"url": "/in?src=fleetsim"}, "http://h:8000/base/in?src=fleetsim"),
    ("http://h:8000", {"url": "https://elsewhere.example/hooks"}, "https://elsewhere.example/hooks"),
    ("", {"url": "https://elsewhere.example/hooks"}, "https://elsewhere.example/hooks"),
    # a key in the target's query (Azure Functions' ?code=) stays the query: the path went after it, into its value
    ("https://fn.example/api?code=k3y", {}, "https://fn.example/api/samsara?code=k3y"),
    ("https://fn.example/api/?code=k3y#top", {"url": "/in?src=fleetsim"}, "https://fn.example/api/in?src=fleetsim&code=k3y"),
])
def test_a_path_goes_under_the_target_in_place_of_the_provider_name(target: str, settings: dict[str, Any],
                                                                     url: str) -> None:
    assert endpoint_url(target, "samsara", settings) == url


@pytest.mark.parametrize(("target", "base"), [
    ("http://h:8000", "http://h:8000"), ("http://h:8000/api/", "http://h:8000/api"),
    ("https://fn.example/api/?code=k3y#top", "https://fn.example/api"),  # a state probe's {base}: no query
])
def test_the_base_a_state_probe_path_goes_after_has_no_query(target: str, base: str) -> None:
    assert url_base(target) == base


def test_the_path_and_the_name_of_a_path_setting() -> None:
    assert endpoint_path("samsara", {"url": "/in"}) == "/in"
    assert endpoint_path("samsara", {"url": "http://h/in"}) == "/samsara"  # a whole URL is under no base
    assert endpoint_path("samsara", {}) == "/samsara"
    assert url_named("samsara", {"url": "/in"}) == "--target"  # its host is --target's: so are its errors
    assert url_named("samsara", {"url": "http://h/in"}) == "samsara url"


def test_without_a_target_a_path_goes_to_fleetsims_own_receiver_and_is_not_probed() -> None:
    settings = {"samsara": {"url": "/in"}, "smartgps": {"url": "http://h:9/x"}}
    assert delivery_urls("", ["samsara", "smartgps", "mettax"], settings) == [("http://h:9/x", "smartgps url")]
    assert delivery_urls("http://t", ["samsara"], settings) == [("http://t/in", "--target")]


@pytest.mark.parametrize(("url", "needle"), [
    ("hooks/in", "or a path under --target, such as /webhooks/samsara"),
    ("/web hooks", "spaces or control characters"),
    ("/hooks#frag", "a fragment (#...) is never sent"),
    ("/hooks/{id}", "percent-encoded"),
])
def test_a_settings_file_refuses_a_path_it_cannot_send(tmp_path: Path, url: str, needle: str) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(f'providers:\n  samsara: {{url: "{url}"}}\n')
    with pytest.raises(ScenarioError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "providers.samsara.url" in message and needle in message, message
    assert url not in message  # a url is never quoted: it may hold a token


async def test_a_run_posts_to_the_path_under_the_target(tmp_path: Path) -> None:
    recorder, server, url = await _recorder()
    try:
        path = tmp_path / "settings.yaml"
        path.write_text('providers:\n  samsara: {url: "/webhooks/in/samsara?src=fleetsim"}\n')
        scenario = tiny("samsara")
        settings = merge_settings(scenario.delivery.providers, load_settings(path))
        runner = Runner(RunConfig(scenario=scenario, target=url + "/base", settings=settings, rate=Rate("max"),
                                  concurrency=4, time_scale=1e6, timeout_s=5.0, limit=6))
        await runner.run()
    finally:
        await server.cleanup()
    assert runner.summary()["totals"]["delivered"] == 6
    assert {p for p, _, _ in recorder.requests} == {"/base/webhooks/in/samsara"}


def test_without_a_target_the_reference_receiver_serves_the_path(tmp_path: Path, cli: Any) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text('providers:\n  samsara: {url: /hooks/fleet/samsara}\n')
    result: CliResult = cli("run", "samsara-cold-chain", "--settings", str(settings), "--limit", "20",
                            "--rate", "max", "--quiet", "--report", f"json:{tmp_path / 'report.json'}")
    assert result.code == 0, result.err
    totals = json.loads((tmp_path / "report.json").read_text())["summary"]["totals"]
    assert (totals["delivered"], totals["failed"]) == (20, 0), totals


def test_the_reference_receiver_mounts_each_path_once() -> None:
    endpoints = dict.fromkeys(["samsara", "smartgps"])
    assert endpoint_paths(endpoints, {"samsara": {"url": "/hooks/s/?token=x"}}) == {
        "samsara": "/hooks/s", "smartgps": "/smartgps"}
    for settings, needle in [
        ({"samsara": {"url": "/smartgps"}}, "samsara url: the path '/smartgps' is smartgps's"),
        ({"samsara": {"url": "/webhooks/smartgps/"}}, "is smartgps's"),
        ({"samsara": {"url": "/in"}, "smartgps": {"url": "/in"}}, "smartgps url: the path '/in' is samsara's"),
        ({"samsara": {"url": "/state/devices"}}, "is the receiver's own"),
        ({"smartgps": {"url": "/healthz"}}, "is the receiver's own"),
    ]:
        with pytest.raises(UsageError) as caught:
            endpoint_paths(endpoints, settings)
        assert needle in str(caught.value)


def test_a_receiver_given_a_clashing_path_is_a_usage_error(tmp_path: Path, cli: Any) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("providers:\n  samsara: {url: /state}\n")
    assert_usage_error(cli("run", "samsara-cold-chain", "--settings", str(settings), "--limit", "2", "--quiet"),
                       "samsara url: the path '/state' is the receiver's own")
