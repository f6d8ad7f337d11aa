"""The signed-in user's reviews, and creating one (admins only; its creator becomes its lead)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    send_from_directory,
    url_for,
)

from litreview.accounts import users as accounts
from litreview.errors import Invalid
from litreview.library import reviews
from litreview.web import db
from litreview.web.access import requires
from litreview.web.helpers import actor, commit, form_text, me, sentence

bp = Blueprint("home", __name__)


@bp.get("/favicon.ico")
@requires("public")
def favicon() -> Response:
    """The site's icon (an SVG, which browsers take at this address too)."""
    response = send_from_directory(
        current_app.static_folder or "", "favicon.svg", mimetype="image/svg+xml", max_age=86400
    )
    return response


@bp.get("/")
@requires("signed_in")
def index() -> str:
    session = db()
    mine = accounts.reviews_for(session, me())
    roles = accounts.roles_for(session, me())
    return render_template("index.html", reviews=mine, roles=roles, may_create=me().is_admin)


def _admins_only() -> None:
    """Only admins create reviews (accounts.require_admin); others get a 403 saying so."""
    try:
        accounts.require_admin(me(), "create reviews")
    except accounts.NotAllowed as exc:
        abort(403, sentence(str(exc)))


@bp.get("/reviews/new")
@requires("signed_in")
def new_review() -> str:
    _admins_only()
    return render_template("review_new.html", form={})


@bp.post("/reviews/new")
@requires("signed_in")
def create_review() -> object:
    _admins_only()
    form = {name: form_text(name) for name in ("slug", "title", "description")}
    session = db()
    try:
        created = reviews.create_review(
            session, form["slug"], form["title"], actor(), form["description"] or None
        )
        accounts.add_member(session, created, me(), "lead", actor=actor())
    except Invalid as exc:
        session.rollback()
        return render_template("review_new.html", form=form, error=sentence(str(exc))), 400
    commit()
    return redirect(url_for("review.settings", slug=created.slug), code=303)
