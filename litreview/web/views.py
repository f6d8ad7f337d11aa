"""The view modules: importing one adds its routes to its blueprint."""

from __future__ import annotations

import importlib

# Each module holds the pages of one feature; all of a review's pages are on the
# ``review`` blueprint, with their access levels declared next to each route.
VIEW_MODULES = (
    "dashboard",
    "settings",
    "importing",
    "dedup",
    "screen",
    "conflicts",
    "records",
    "evidence",
    "exports",
)


def load_view_modules() -> None:
    """Import every view module (once; Python caches them), so their routes exist."""
    for name in VIEW_MODULES:
        importlib.import_module(f"{__package__}.{name}")
