"""Signing in and out; the signed-in user as Flask-Login sees it.

The session cookie holds the user's id and a fingerprint of their password hash, so
changing a password (``litreview user password``) signs out every other browser, and a
deactivated account is signed out at its next request.
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from litreview.accounts import users as accounts
from litreview.models import User
from litreview.web import db
from litreview.web.access import requires
from litreview.web.ratelimit import SignInLimiter
from litreview.web.security import cookies_will_be_refused

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


class WebUser(UserMixin):
    """The signed-in user for Flask-Login; ``user`` is the row, bound to the request's session."""

    def __init__(self, user: User) -> None:
        self.user = user

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.user.is_active)

    def get_id(self) -> str:
        return f"{self.user.id}:{password_fingerprint(self.user)}"


def password_fingerprint(user: User) -> str:
    """A short hash of the password hash: the cookie changes meaning when the password does."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def load_user(cookie_id: str) -> WebUser | None:
    user_id, _, fingerprint = cookie_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db().get(User, int(user_id))
    if user is None or not user.is_active or fingerprint != password_fingerprint(user):
        return None
    return WebUser(user)


def limiter() -> SignInLimiter:
    return current_app.extensions["litreview.signin_limiter"]


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
    email = accounts.normalize_email(request.form.get("email", ""))
    password = request.form.get("password", "")
    target = safe_next(request.form.get("next"))
    ip = request.remote_addr or "?"

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
    wait = limiter().retry_after(email, ip)
    if wait:
        minutes = (wait + 59) // 60
        log.warning("sign-in for %s from %s refused: too many failures", email, ip)
        return again(
            f"Too many failed sign-ins for {email} from your address. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            429,
        )
    user = accounts.authenticate(db(), email, password)
    if user is None:
        limiter().failed(email, ip)
        log.info("failed sign-in for %s from %s", email, ip)
        return again("That email and password do not match an account.", 401)
    db().commit()  # authenticate may have upgraded the password hash
    limiter().succeeded(email, ip)
    # A fresh session at sign-in: nothing set before it (by anyone) survives.
    session.clear()
    login_user(WebUser(user))
    session.permanent = True
    log.info("user %s signed in from %s", user.id, ip)
    return redirect(target or url_for("home.index"))


@bp.post("/signout")
@requires("signed_in")
def signout() -> object:
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.signin"))


def init_app(app: Flask) -> None:
    manager = LoginManager()
    manager.session_protection = "basic"
    manager.user_loader(load_user)
    manager.init_app(app)
    app.extensions["litreview.signin_limiter"] = SignInLimiter(
        max_failures=app.config.get("LITREVIEW_SIGNIN_MAX_FAILURES", 5),
        max_per_ip=app.config.get("LITREVIEW_SIGNIN_MAX_PER_IP", 50),
        window=app.config.get("LITREVIEW_SIGNIN_WINDOW", 15 * 60),
    )

    @app.context_processor
    def signed_in_user() -> dict[str, object]:
        user = current_user.user if current_user.is_authenticated else None
        return {"me": user}
