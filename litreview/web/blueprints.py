"""The review blueprint: every page of one review, under ``/r/<slug>/``.

The slug is taken out of the view arguments (views get the review as ``g.review``,
loaded and checked by ``access.enforce``) and put back when URLs are built.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g

review = Blueprint("review", __name__, url_prefix="/r/<slug>")


@review.url_value_preprocessor
def _pull_slug(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values is not None:
        g.slug = values.pop("slug", None)


@review.url_defaults
def _add_slug(_endpoint: str, values: dict[str, Any]) -> None:
    if "slug" not in values and "review" in g:
        values["slug"] = g.review.slug
