"""`fleetsim check` reaches the CLI through the `fleetsim.commands` entry point (simulator never imports
conformance); a plugin that cannot load costs a warning, not the built-in commands."""

from __future__ import annotations

import importlib.metadata

import pytest

from simulator.cli import PLUGIN_GROUP, build_parser, plugins


def test_check_is_declared_as_a_command_plugin() -> None:
    found = {e.name: e.value for e in importlib.metadata.entry_points(group=PLUGIN_GROUP)}
    assert found.get("check") == "conformance.command:register"


def test_a_broken_plugin_is_a_warning(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    broken = plugins.PluginEntry("broken", "no_such_module:add_parser")
    monkeypatch.setattr(plugins, "plugin_entries", lambda group: [broken])
    parser = build_parser()
    assert parser.parse_args(["providers"]).command == "providers"
    assert "command 'broken' (no_such_module:add_parser) could not be loaded" in capsys.readouterr().err
