"""`litreview` commands for export (being built: see the issues)."""

import click


def register(cli: click.Group) -> None:
    """Add this feature's commands to ``cli``."""
