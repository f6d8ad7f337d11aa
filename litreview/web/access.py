"""Who may reach which page: every view declares it, one hook enforces it.

Each view function says what it needs with ``@requires(level)``:

* ``public``: anyone (sign-in page, static files);
* ``signed_in``: any signed-in user (the list of their reviews, creating a review);
* ``admin``: a signed-in admin of the installation (``accounts.users.require_admin``:
  the accounts pages);
* ``viewer`` / ``reviewer`` / ``lead``: a member of the review in the URL with at least
  that role (lead > reviewer > viewer).

``enforce`` runs before every request and is the only place that checks. A view
without ``@requires`` is refused to everyone (403), so a route added without a
decision fails its own tests and the access-matrix test, never silently opens up.
A review that does not exist and a review the user is not a member of both answer 404,
so URLs do not tell which reviews exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, abort, current_app, g, jsonify, redirect, request, url_for
from flask_login import current_user

from litreview.accounts import users as accounts
from litreview.errors import NotFound
from litreview.library import reviews
from litreview.web import db
from litreview.web.helpers import sentence

log = logging.getLogger(__name__)

RANK = {"viewer": 1, "reviewer": 2, "lead": 3}
LEVELS = ("public", "signed_in", "admin", *RANK)
F = TypeVar("F", bound=Callable[..., Any])


def requires(level: str, *, json: bool = False) -> Callable[[F], F]:
    """Declare who may call a view; ``json`` views answer 401 instead of redirecting."""
    if level not in LEVELS:
        raise ValueError(f"unknown access level {level!r}")

    def mark(view: F) -> F:
        view.access_level = level  # type: ignore[attr-defined]
        view.access_json = json  # type: ignore[attr-defined]
        return view

    return mark


def level_of(endpoint: str) -> str | None:
    """The level a registered endpoint declared (None: it declared none)."""
    if endpoint == "static":
        return "public"
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_level", None)


def at_least(role: str | None, level: str) -> bool:
    """Whether ``role`` in a review is enough for ``level``."""
    return role is not None and RANK[role] >= RANK[level]


def _unauthorized(as_json: bool) -> Response:
    if as_json:
        response = jsonify(error="sign in first")
        response.status_code = 401
        return response
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for("auth.signin", next=target.rstrip("?") if target else None))


def enforce() -> Response | None:
    """The before-request hook: sign-in, review membership and role, for every route."""
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: Flask answers 404 or 405 next
        return None
    level = level_of(endpoint)
    if level is None:
        log.error("route %s declares no access level; refused", endpoint)
        abort(403)
    if level == "public":
        return None
    view = current_app.view_functions[endpoint]
    if not current_user.is_authenticated:
        return _unauthorized(getattr(view, "access_json", False))
    if level == "signed_in":
        return None
    if level == "admin":
        try:
            accounts.require_admin(current_user.user, "manage accounts")
        except accounts.NotAllowed as exc:
            abort(403, sentence(str(exc)))
        return None
    slug = g.get("slug")
    if slug is None:
        log.error("route %s needs a review role but has no review in its URL", endpoint)
        abort(500)
    try:
        review = reviews.get_review(db(), slug)
    except NotFound:
        abort(404)
    role = accounts.role_of(db(), review, current_user.user)
    if role is None:
        abort(404)
    g.review, g.role = review, role
    if not at_least(role, level):
        abort(403, f"this needs a {level} of the review; you are a {role}")
    return None
