"""`fleetsim serve --api smartgps:0` as a command: its URL line, a real token over it, and SIGTERM stops it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from tests.cli.test_cli_errors import assert_usage_error

from ..serve_process import serving
from .support import CREDENTIALS, SCENARIO


async def test_it_prints_its_url_and_stops_on_sigterm(tmp_path: Path) -> None:
    scenario = tmp_path / "serve.yaml"
    scenario.write_text(SCENARIO)
    async with serving("--api", "smartgps:0", "--scenario", str(scenario)) as served:
        found = re.search(r"fleetsim serve on (http://\S+)\s+SmartGPS API", served.line)
        assert found, served.line
        assert "fleetsim-demo / fleetsim-demo-secret" in served.line
        async with httpx.AsyncClient(base_url=found.group(1)) as http:
            assert (await http.post("/auth/token", data=CREDENTIALS)).status_code == 200
        await served.stop()
    served.assert_stopped_cleanly()


async def test_a_user_set_secret_is_never_printed(tmp_path: Path) -> None:
    scenario = tmp_path / "serve.yaml"
    scenario.write_text(SCENARIO)
    settings = tmp_path / "settings.yaml"
    settings.write_text("providers:\n  smartgps: {api_client_id: acme, api_client_secret: s3cr3t-of-acme}\n")
    async with serving("--api", "smartgps:0", "--scenario", str(scenario), "--settings", str(settings)) as served:
        await served.stop()
    assert "acme" in served.line
    assert b"s3cr3t-of-acme" not in served.line.encode() + served.out + served.err


def test_a_webhook_url_that_is_only_a_path_is_refused(tmp_path: Path, cli: Any) -> None:
    scenario = tmp_path / "serve.yaml"
    scenario.write_text(SCENARIO)
    settings = tmp_path / "settings.yaml"
    settings.write_text("providers:\n  smartgps: {url: /hooks/smartgps}\n")
    assert_usage_error(cli("serve", "--api", "smartgps:0", "--scenario", str(scenario), "--settings", str(settings)),
                       "smartgps url: the server posts its webhooks to a whole URL", "a path alone has no host")


def test_an_option_of_a_platform_not_served_is_refused(cli: Any) -> None:
    # `--api smartgps --profile traccar-6` once served SmartGPS and ignored the Traccar profile without a word
    assert_usage_error(cli("serve", "--api", "smartgps:0", "--profile", "traccar-6"),
                       "serve: --profile is a traccar option, and traccar is not served (add --api traccar)")
    assert_usage_error(cli("serve", "--api", "traccar:0", "--links-keep-query"),
                       "serve: --links-keep-query is a drivers option")
