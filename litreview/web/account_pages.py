"""Your account: who you are, your reviews and roles, changing your password.

A changed password ends every session of the account, this one too (see
``accounts.users.set_password``): the page signs you out and asks you to sign in with
the new password.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import logout_user

from litreview.accounts import admins
from litreview.accounts import users as accounts
from litreview.errors import Invalid
from litreview.web import db
from litreview.web.access import requires
from litreview.web.helpers import me, sentence

bp = Blueprint("account", __name__)


def _page(status: int = 200, **extra: object) -> tuple[str, int]:
    user = me()
    return (
        render_template(
            "account.html",
            reviews=accounts.reviews_for(db(), user),
            roles=accounts.roles_for(db(), user),
            **extra,
        ),
        status,
    )


@bp.get("/account")
@requires("signed_in")
def account() -> tuple[str, int]:
    return _page()


@bp.post("/account/password")
@requires("signed_in")
def change_password() -> object:
    session_db = db()
    try:
        admins.change_own_password(
            session_db,
            me(),
            current=request.form.get("current", ""),
            new=request.form.get("new", ""),
            repeat=request.form.get("repeat", ""),
        )
    except Invalid as exc:
        session_db.rollback()
        return _page(400, error=sentence(str(exc)))
    session_db.commit()
    logout_user()
    session.clear()
    flash(
        "Your password is changed, and every browser signed in to your account is signed "
        "out, this one too: sign in with your new password.",
        "info",
    )
    return redirect(url_for("auth.signin"), code=303)
