"""A click group that imports a command's module only when that command runs.

Each command is named in a table: name -> (where it lives, its short help). Where it
lives is either "module:attribute" (a click command or group at module level) or a bare
"module" whose ``register(cli)`` adds its commands to the top-level group (the feature
modules that build their commands inside ``register``). ``--help`` lists the table's
short help, so listing commands imports none of them; tests/test_import_cli.py checks
that the table says what each command's docstring says.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# name -> (target, short help)
Table = dict[str, tuple[str, str]]


class _LoadOnAccess(dict[str, click.Command]):
    """The group's commands; asking for one not loaded yet loads it.

    ``register`` functions reach into ``cli.commands["question"]`` to add a subcommand;
    this makes that work whether or not the group was loaded before.
    """

    def __init__(self, group: LazyGroup) -> None:
        super().__init__()
        self.group = group

    def __missing__(self, name: str) -> click.Command:
        command = self.group.load(name)
        if command is None:
            raise KeyError(name)
        return command


class LazyGroup(click.Group):
    """A group whose commands are imported on first use (see the module docstring)."""

    def __init__(self, *args: Any, lazy: Table | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: Table = dict(lazy or {})
        self.commands = _LoadOnAccess(self)
        # The top-level group, which `register` functions add their commands to.
        self.root: LazyGroup = self
        self._registered: set[str] = set()

    def load(self, name: str) -> click.Command | None:
        """The command called ``name``, importing its module if need be; None if unknown."""
        if dict.__contains__(self.commands, name):
            return dict.__getitem__(self.commands, name)
        if name not in self.lazy:
            return None
        module_name, _, attribute = self.lazy[name][0].partition(":")
        module = importlib.import_module(module_name)
        if attribute:
            command = getattr(module, attribute)
            if isinstance(command, LazyGroup):
                command.root = self.root
            self.add_command(command, name)
        elif module_name not in self.root._registered:
            self.root._registered.add(module_name)
            module.register(self.root)
        return dict.get(self.commands, name)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.load(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.lazy) | set(self.commands))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of --help, from the table: no command module is imported."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in self.lazy:
                # A bare command carrying the table's text shortens it as click would.
                text = click.Command(name, help=self.lazy[name][1]).get_short_help_str(limit)
            else:
                text = dict.__getitem__(self.commands, name).get_short_help_str(limit)
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def lazy_group(lazy: Table, **attrs: Any) -> Any:
    """``@lazy_group(table)``: like ``@click.group()``, with commands imported on first use."""
    return click.group(cls=LazyGroup, lazy=lazy, **attrs)
