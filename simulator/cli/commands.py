"""Which commands `fleetsim` has, and the subcommand action that declares each one only when it is chosen.

A command's arguments are declared by its module's `add_parser(sub)` (or `add_parsers`), and importing that
module imports what the command runs on: the delivery engine, aiohttp, the world. `fleetsim sign` must not pay
for what `fleetsim serve` needs, so the top-level parser knows each command only by name and one-line help,
and imports the declaring module when argparse reaches that command's word (or when a complete parser is
asked for: tests, docs). This module imports argparse and nothing else of fleetsim.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import Any, NamedTuple


class Command(NamedTuple):  # not a dataclass: `dataclasses` imports `inspect`, 5 ms of every start
    name: str
    #: the line `fleetsim --help` shows (the declaring module's own help= replaces it when it differs)
    help: str
    #: "module:function" that declares the command's parser, given the subcommands action
    declare: str


#: the built-in commands, in `fleetsim --help` order
BUILTIN_COMMANDS = (
    Command("providers", "list providers, their message kinds, transport and signing",
            "simulator.cli.providers_cmd:add_parser"),
    Command("generate", "print schema-valid (or deliberately invalid) payloads as NDJSON",
            "simulator.cli.gen_cmd:add_parser"),
    Command("sign", "print the headers that sign a body", "simulator.cli.sign_cmd:add_parsers"),
    Command("verify", "check a request's signature headers", "simulator.cli.sign_cmd:add_parsers"),
    Command("schemas", "list or validate against the shipped JSON Schemas", "simulator.cli.schemas_cmd:add_parser"),
    Command("run", "deliver a scenario's webhooks to a receiver and account for every event",
            "simulator.cli.run_cmd:add_parsers"),
    Command("replay", "re-send a capture byte for byte (optionally re-signed)", "simulator.cli.run_cmd:add_parsers"),
    Command("receiver", "run the reference webhook receiver", "simulator.cli.receiver_cmd:add_parser"),
    Command("serve", "be the platform: serve vendor APIs (Traccar REST and /api/socket, …) over a running scenario",
            "simulator.cli.serve_cmd:add_parser"),
    Command("demo", "play the demo scenario against the built-in reference receiver (~30 s)",
            "simulator.cli.demo_cmd:add_parser"),
)


def resolve(target: str | Callable[..., Any]) -> Callable[..., Any]:
    """A "module:function" reference, imported now; a callable is returned as it is."""
    if callable(target):
        return target
    module, _, name = target.partition(":")
    found: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return found


class LazyCommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """argparse's subcommands, where a command may be added as a placeholder (name and help) whose arguments
    its declaring function adds only when the command is chosen. The declaring function calls
    `sub.add_parser(name, ...)` as for any subcommand and gets the placeholder back, filled in, so the command
    keeps its place in the help and in "choose from" messages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: dict[str, str] = {}  # command -> "module:function" not yet called
        self._placeholders: dict[str, argparse.ArgumentParser] = {}

    def add_lazy(self, name: str, help: str, declare: str) -> None:
        self._placeholders[name] = super().add_parser(name, help=help)
        self._pending[name] = declare

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        placeholder = self._placeholders.pop(name, None)
        if placeholder is None:
            parser: argparse.ArgumentParser = super().add_parser(name, **kwargs)
            return parser
        self._pending.pop(name, None)
        help_line = kwargs.pop("help", None)
        if help_line is not None:  # the declaring module's words win (a test keeps the two alike)
            for choice in self._choices_actions:
                if choice.dest == name:
                    choice.help = help_line
        for key, value in kwargs.items():  # description, formatter_class, ...: plain attributes of a parser
            setattr(placeholder, key, value)
        return placeholder

    def declare(self, name: str) -> None:
        """Declare `name`'s arguments now, if they are still pending."""
        declare = self._pending.get(name)
        if declare is not None:
            resolve(declare)(self)
            # a declaring function that does not declare `name` must not be asked again on every use
            self._pending.pop(name, None)

    def declare_all(self) -> None:
        for name in list(self._pending):
            self.declare(name)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        if values:
            self.declare(values[0])
        super().__call__(parser, namespace, values, option_string)
