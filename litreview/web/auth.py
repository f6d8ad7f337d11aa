"""Signing in and out; the signed-in user as Flask-Login sees it.

The session cookie holds a session's token (``accounts.sessions``): each request finds
its user through the session kept in the database, so signing out ends the session on
the server (a copy of the cookie is worth nothing after it), and so do a password change
(``litreview user password``) and disabling the account (``litreview user disable``).
Sign-in attempts are limited in the database (``accounts.signin_limits``), counted
before the password is checked, so the limits hold across processes and app servers.
"""

from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from litreview.accounts import sessions as user_sessions
from litreview.accounts import signin_limits
from litreview.accounts import users as accounts
from litreview.models import User
from litreview.web import db
from litreview.web.access import requires
from litreview.web.security import cookies_will_be_refused

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


class WebUser(UserMixin):
    """The signed-in user for Flask-Login: ``user`` is the row, bound to the request's
    session; ``token`` the session's, which is what the cookie holds."""

    def __init__(self, user: User, token: str) -> None:
        self.user = user
        self.token = token

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.user.is_active)

    def get_id(self) -> str:
        return self.token


def load_user(token: str) -> WebUser | None:
    if g.get("without_database"):  # an error page that cannot read the database
        return None
    user = user_sessions.user_of(db(), token)
    return None if user is None else WebUser(user, token)


def limits() -> signin_limits.SignInLimits:
    return current_app.extensions["litreview.signin_limits"]


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return None
    return target


@bp.get("/signin")
@requires("public")
def signin() -> str:
    return render_template(
        "signin.html",
        email="",
        next=safe_next(request.args.get("next")),
        insecure_cookie=cookies_will_be_refused(current_app),
    )


@bp.post("/signin")
@requires("public")
def signin_post() -> tuple[str, int] | object:
    # Cut to the longest address there can be: what is counted must fit its column.
    email = accounts.normalize_email(request.form.get("email", ""))[:320]
    password = request.form.get("password", "")
    target = safe_next(request.form.get("next"))
    ip = (request.remote_addr or "?")[:64]

    def again(message: str, status: int) -> tuple[str, int]:
        page = render_template(
            "signin.html",
            email=email,
            next=target,
            error=message,
            insecure_cookie=cookies_will_be_refused(current_app),
        )
        return page, status

    if not email or not password:
        return again("Enter your email address and your password.", 400)
    session_db = db()
    # Counted (and committed) before the password is checked: see accounts.signin_limits.
    admission = signin_limits.admit(session_db, limits(), email, ip)
    session_db.commit()
    if admission.attempt_id is None:
        minutes = (admission.retry_after + 59) // 60
        log.warning("sign-in for %s from %s refused: too many failures", email, ip)
        return again(
            f"Too many failed sign-ins for {email} from your address. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            429,
        )
    user = accounts.authenticate(session_db, email, password)
    signin_limits.settle(session_db, admission.attempt_id, email, ip, user)
    if user is None:
        session_db.commit()
        log.info("failed sign-in for %s from %s", email, ip)
        return again("That email and password do not match an account.", 401)
    lifetime = current_app.permanent_session_lifetime
    token = user_sessions.start(session_db, user, lifetime)
    session_db.commit()  # with the password hash, if authenticate upgraded it
    # A fresh session at sign-in: nothing set before it (by anyone) survives.
    session.clear()
    login_user(WebUser(user, token))
    session.permanent = True
    log.info("user %s signed in from %s", user.id, ip)
    return redirect(target or url_for("home.index"))


@bp.post("/signout")
@requires("signed_in")
def signout() -> object:
    user_sessions.end(db(), current_user.token, actor=current_user.user.email)
    db().commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.signin"))


def _setting(app: Flask, name: str, default: object) -> object:
    """The app's setting ``name``, else the environment variable, else ``default``."""
    value = app.config.get(name)
    if value is None:
        value = os.environ.get(name) or default
    return value


def init_app(app: Flask) -> None:
    manager = LoginManager()
    manager.session_protection = "basic"
    manager.user_loader(load_user)
    manager.init_app(app)
    app.extensions["litreview.signin_limits"] = signin_limits.SignInLimits(
        max_failures=int(_setting(app, "LITREVIEW_SIGNIN_MAX_FAILURES", 5)),
        max_per_ip=int(_setting(app, "LITREVIEW_SIGNIN_MAX_PER_IP", 50)),
        window=float(_setting(app, "LITREVIEW_SIGNIN_WINDOW", 15 * 60)),
    )

    @app.context_processor
    def signed_in_user() -> dict[str, object]:
        # An error page rendered while the database cannot be read names no one.
        if g.get("without_database"):
            return {"me": None}
        user = current_user.user if current_user.is_authenticated else None
        return {"me": user}
