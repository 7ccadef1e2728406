"""Plugin commands are found without importlib.metadata (simulator/cli/plugins.py): its answer must stay the
one importlib.metadata gives, here on the installed environment and on small made-up site directories."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

from simulator.cli import PLUGIN_GROUP
from simulator.cli.plugins import PluginEntry, plugin_entries


@pytest.mark.parametrize("group", [PLUGIN_GROUP, "pytest11", "console_scripts"])
def test_the_installed_environment_gives_what_importlib_metadata_gives(group: str) -> None:
    expected = sorted((e.name, e.value) for e in importlib.metadata.entry_points(group=group))
    assert sorted(plugin_entries(group)) == expected
    assert expected  # every group has entries here (fleetsim's own, pytest's, the console scripts)


def _distribution(site: Path, directory: str, entry_points: str | None) -> None:
    (site / directory).mkdir(parents=True)
    (site / directory / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {directory.split('-')[0]}\n"
                                               "Version: 1.0\n")
    if entry_points is not None:
        (site / directory / "entry_points.txt").write_text(entry_points)


def test_the_first_distribution_of_a_name_wins_as_for_importlib_metadata(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _distribution(first, "Acme.Tools-2.0.dist-info",
                  "# a comment\n[console_scripts]\nacme = acme:main\n\n[fleetsim.commands]\n"
                  "  fly = acme.fleet:register  \n# another comment\nsail = acme.sea:register [boats]\n")
    _distribution(second, "acme_tools-1.0.dist-info", "[fleetsim.commands]\nold = acme.old:register\n")
    _distribution(second, "other.egg-info", "[fleetsim.commands]\nmore = other:register\n")
    _distribution(second, "plain-3.dist-info", None)
    (tmp_path / "not-a-directory.zip").write_bytes(b"PK")
    path = [str(first), str(tmp_path / "missing"), str(tmp_path / "not-a-directory.zip"), str(second)]

    found = plugin_entries(PLUGIN_GROUP, path)

    assert found == [PluginEntry("fly", "acme.fleet:register"), PluginEntry("sail", "acme.sea:register [boats]"),
                     PluginEntry("more", "other:register")]
    stock = sorted((entry.name, entry.value) for distribution in importlib.metadata.distributions(path=path)
                   for entry in distribution.entry_points if entry.group == PLUGIN_GROUP)
    # importlib.metadata.distributions() does not drop the shadowed acme_tools 1.0; entry_points() does
    assert sorted(found) == [pair for pair in stock if pair != ("old", "acme.old:register")]


def test_a_plugin_with_extras_loads_by_its_module_and_attribute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from simulator.cli import build_parser, plugins

    package = tmp_path / "fleetsim_extra_plugin.py"
    package.write_text("def register(sub):\n    sub.add_parser('extra', help='an extra command')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugins, "plugin_entries",
                        lambda group: [PluginEntry("extra", "fleetsim_extra_plugin:register [speed]")])
    assert build_parser().parse_args(["extra"]).command == "extra"
    assert capsys.readouterr().err == ""
    sys.modules.pop("fleetsim_extra_plugin", None)
