"""The admin's page of accounts: create one, disable and enable, make admins, make a
one-time link to set a password (there is no mail: the page shows the link once, for
the admin to hand over), and the account events of the audit log.

Every route needs an admin (``@requires("admin")``); the domain functions check it
again (``accounts.admins``, ``accounts.invites``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Blueprint, abort, flash, redirect, render_template, url_for

from litreview import audit
from litreview.accounts import admins, invites
from litreview.accounts import users as accounts
from litreview.errors import Invalid, NotFound
from litreview.models import User
from litreview.web import db
from litreview.web.access import requires
from litreview.web.helpers import form_text, me, sentence

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

bp = Blueprint("admin", __name__, url_prefix="/admin")
EVENTS = 30


def _page(status: int = 200, **extra: object) -> tuple[str, int]:
    session = db()
    return (
        render_template(
            "admin.html",
            accounts=admins.overview(session),
            events=audit.read(session, None, limit=EVENTS).entries,
            form=extra.pop("form", {}),
            **extra,
        ),
        status,
    )


def _made(made: invites.Made) -> dict[str, object]:
    """The link just made, for the page to show this once (never put in a flash message:
    those travel in the session cookie)."""
    url = url_for("links.reset", token=made.token, _external=True)
    return {"url": url, "until": made.expires_at}


def _account(user_id: int) -> User:
    try:
        return accounts.get_user(db(), user_id)
    except NotFound:
        abort(404)


@bp.get("/accounts")
@requires("admin")
def accounts_page() -> tuple[str, int]:
    return _page()


@bp.post("/accounts")
@requires("admin")
def account_create() -> tuple[str, int]:
    form = {
        "email": form_text("email", 320),
        "name": form_text("name", 200),
        "admin": form_text("admin", 8) == "1",
    }
    session = db()
    try:
        user, made = admins.create_account(
            session, form["email"], name=form["name"], is_admin=form["admin"], by=me()
        )
    except Invalid as exc:
        session.rollback()
        return _page(400, form=form, error=sentence(str(exc)))
    session.commit()
    return _page(201, link=_made(made), link_for=user.email, new_account=True)


@bp.post("/accounts/<int:user_id>/reset-link")
@requires("admin")
def account_reset_link(user_id: int) -> tuple[str, int]:
    user = _account(user_id)
    session = db()
    try:
        made = invites.reset_link(session, user, by=me())
    except Invalid as exc:
        session.rollback()
        return _page(400, error=sentence(str(exc)))
    session.commit()
    return _page(link=_made(made), link_for=user.email)


@bp.post("/accounts/<int:user_id>/withdraw-reset")
@requires("admin")
def account_withdraw_reset(user_id: int) -> object:
    user = _account(user_id)
    withdrawn = invites.withdraw_resets(db(), user, by=me())
    db().commit()
    flash(
        f"The reset link of {user.email} is withdrawn."
        if withdrawn
        else f"{user.email} had no reset link to withdraw.",
        "info",
    )
    return redirect(url_for("admin.accounts_page"), code=303)


def _change(
    user_id: int, change: Callable[[Session, User], bool], done: str, already: str
) -> object:
    user = _account(user_id)
    session = db()
    try:
        changed = change(session, user)
    except Invalid as exc:
        session.rollback()
        return _page(400, error=sentence(str(exc)))
    session.commit()
    flash((done if changed else already).format(email=user.email), "info")
    if not me().is_admin:  # an admin who stopped being one has no accounts page
        return redirect(url_for("home.index"), code=303)
    return redirect(url_for("admin.accounts_page") + f"#account-{user.id}", code=303)


@bp.post("/accounts/<int:user_id>/active")
@requires("admin")
def account_active(user_id: int) -> object:
    active = form_text("active", 8) == "1"
    return _change(
        user_id,
        lambda session, user: admins.set_active(session, user, active, by=me()),
        "{email} is enabled: it can sign in again."
        if active
        else "{email} is disabled: it cannot sign in, and is signed out everywhere.",
        "{email} was so already.",
    )


@bp.post("/accounts/<int:user_id>/admin")
@requires("admin")
def account_admin(user_id: int) -> object:
    admin = form_text("admin", 8) == "1"
    return _change(
        user_id,
        lambda session, user: admins.set_admin(session, user, admin, by=me()),
        "{email} is an admin: they create reviews and accounts and lead every review."
        if admin
        else "{email} is no longer an admin.",
        "{email} was so already.",
    )
