"""The pages of one-time links (``accounts.invites``): an invitation to sign up and join
a review, a password reset. Anyone with the link may open it, so these are public; the
token in the URL is the whole of the permission.

Opening a link changes nothing (a preview by a chat app cannot use it up); only the
form it shows does. A link that is unknown answers 404, one used, withdrawn or expired
410, each with what to do next.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from litreview.accounts import invites, redeem
from litreview.errors import Invalid
from litreview.web import db
from litreview.web.access import requires
from litreview.web.helpers import form_text, me, sentence

bp = Blueprint("links", __name__)


def _refused(exc: redeem.LinkRefused) -> tuple[str, int]:
    status = 410 if exc.gone else 404
    return render_template("link_refused.html", message=sentence(str(exc))), status


def _signed_in() -> bool:
    return bool(current_user.is_authenticated)


def _join_page(token: str, status: int = 200, **extra: object) -> tuple[str, int]:
    try:
        info = redeem.look_up(db(), invites.INVITE, token)
    except redeem.LinkRefused as exc:
        return _refused(exc)
    form = extra.pop("form", {"email": info.email or "", "name": ""})
    return (
        render_template(
            "join.html", info=info, token=token, form=form, signed_in=_signed_in(), **extra
        ),
        status,
    )


@bp.get("/join/<token>")
@requires("public")
def join(token: str) -> tuple[str, int]:
    return _join_page(token)


@bp.post("/join/<token>")
@requires("public")
def join_post(token: str) -> object:
    if _signed_in():
        abort(409, "You are signed in: accept the invitation as yourself, or sign out first.")
    form = {"email": form_text("email", 320), "name": form_text("name", 200)}
    session = db()
    try:
        info = redeem.look_up(session, invites.INVITE, token)
        redeem.sign_up(
            session,
            token,
            email=form["email"],
            name=form["name"],
            password=request.form.get("password", ""),
            repeat=request.form.get("repeat", ""),
        )
    except redeem.LinkRefused as exc:
        session.rollback()
        return _refused(exc)
    except Invalid as exc:
        session.rollback()
        return _join_page(token, 400, form=form, error=sentence(str(exc)))
    session.commit()
    where = f" and joined {info.review_title} as a {info.role}" if info.review_title else ""
    flash(f"Your account is made{where}: sign in with your email and password.", "info")
    target = url_for("review.dashboard", slug=info.review_slug) if info.review_slug else None
    return redirect(url_for("auth.signin", next=target), code=303)


@bp.post("/join/<token>/accept")
@requires("signed_in")
def join_accept(token: str) -> object:
    session = db()
    try:
        info = redeem.look_up(session, invites.INVITE, token)
        joined = redeem.accept_as(session, token, me())
    except redeem.LinkRefused as exc:
        session.rollback()
        return _refused(exc)
    except Invalid as exc:
        session.rollback()
        return _join_page(token, 400, error=sentence(str(exc)))
    session.commit()
    if joined is None:
        flash(f"You take part in {info.review_title} already; the link stays unused.", "info")
    else:
        flash(f"You joined {info.review_title} as a {joined.role}.", "info")
    return redirect(url_for("review.dashboard", slug=info.review_slug), code=303)


def _reset_page(token: str, status: int = 200, **extra: object) -> tuple[str, int]:
    try:
        info = redeem.look_up(db(), invites.RESET, token)
    except redeem.LinkRefused as exc:
        return _refused(exc)
    return render_template("reset.html", info=info, token=token, **extra), status


@bp.get("/reset/<token>")
@requires("public")
def reset(token: str) -> tuple[str, int]:
    return _reset_page(token)


@bp.post("/reset/<token>")
@requires("public")
def reset_post(token: str) -> object:
    session = db()
    try:
        user = redeem.reset_password(
            session,
            token,
            password=request.form.get("password", ""),
            repeat=request.form.get("repeat", ""),
        )
    except redeem.LinkRefused as exc:
        session.rollback()
        return _refused(exc)
    except Invalid as exc:
        session.rollback()
        return _reset_page(token, 400, error=sentence(str(exc)))
    session.commit()
    flash(f"The password of {user.email} is set: sign in with it.", "info")
    return redirect(url_for("auth.signin"), code=303)
