"""Every option, positional and subcommand explains itself in --help."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from simulator.cli import build_parser


def _actions(parser: argparse.ArgumentParser, path: str = "") -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        yield path, action
        if isinstance(action, argparse._SubParsersAction):
            yield from ((path, choice) for choice in action._choices_actions)  # the one-line subcommand help
            for name, child in action.choices.items():
                yield from _actions(child, f"{path} {name}".strip())


def test_every_action_has_help_text() -> None:
    missing = []
    for path, action in _actions(build_parser()):
        if isinstance(action, argparse._HelpAction):
            continue
        if not action.help or action.help == argparse.SUPPRESS:
            missing.append(" ".join(["fleetsim", path, "/".join(action.option_strings) or action.dest]))
    assert not missing, missing


def test_the_walk_sees_every_command() -> None:
    seen = {path for path, _ in _actions(build_parser())}
    assert {"", "run", "replay", "receiver", "schemas validate", "schemas list", "demo"} <= seen
