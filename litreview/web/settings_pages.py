"""A review's settings, for its leads: questions, criteria, exclusion reasons, highlight
words, screening mode, and members (invite an existing user as lead, reviewer or viewer)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for

from litreview.accounts import users as accounts
from litreview.errors import Invalid, NotFound
from litreview.library import reviews
from litreview.models import User
from litreview.models.accounts import ROLES
from litreview.web import db
from litreview.web.access import requires
from litreview.web.blueprints import review
from litreview.web.helpers import actor, commit, form_text, me, sentence
from litreview.web.helpers import review as this_review

LIST_FIELDS = ("exclusion_reasons", "highlight_include", "highlight_exclude")


def _settings_form(rv: Any) -> dict[str, Any]:
    return {
        "title": rv.title,
        "description": rv.description or "",
        "criteria": rv.criteria or "",
        "screening_mode": rv.screening_mode,
        **{name: "\n".join(getattr(rv, name) or []) for name in LIST_FIELDS},
    }


def _page(status: int = 200, **overrides: Any) -> tuple[str, int]:
    rv = this_review()
    context: dict[str, Any] = {
        "form": _settings_form(rv),
        "question_form": {},
        "member_form": {"role": "reviewer"},
        "members": accounts.members(db(), rv),
        "roles": ROLES,
        "usage": reviews.question_usage(db(), rv),
        "question_errors": {},
    }
    context.update(overrides)
    return render_template("settings.html", **context), status


@review.get("/settings")
@requires("lead")
def settings() -> tuple[str, int]:
    return _page()


@review.post("/settings")
@requires("lead")
def settings_save() -> object:
    form = {
        "title": form_text("title", 500),
        "description": form_text("description"),
        "criteria": form_text("criteria", 50_000),
        "screening_mode": form_text("screening_mode"),
        **{name: form_text(name) for name in LIST_FIELDS},
    }
    session = db()
    try:
        reviews.update_settings(session, this_review(), actor=actor(), **form)
    except Invalid as exc:
        session.rollback()
        return _page(400, form=form, error=sentence(str(exc)))
    commit()
    flash("Settings saved.", "info")
    return redirect(url_for("review.settings"), code=303)


@review.post("/settings/questions")
@requires("lead")
def question_save() -> object:
    form = {name: form_text(name) for name in ("code", "title", "description", "query")}
    session = db()
    try:
        q = reviews.add_question(
            session,
            this_review(),
            form["code"],
            form["title"],
            actor(),
            form["description"] or None,
            form["query"] or None,
        )
    except Invalid as exc:
        session.rollback()
        message = sentence(str(exc))
        existing = {q.code for q in this_review().questions}
        if form["code"] in existing:  # the question's own form shows what was typed
            return _page(400, question_errors={form["code"]: (form, message)}, error=message)
        return _page(400, question_form=form, error=message)
    commit()
    flash(f"Review question {q.code} saved.", "info")
    return redirect(url_for("review.settings") + f"#question-{q.id}", code=303)


@review.post("/settings/questions/<int:question_id>/remove")
@requires("lead")
def question_remove(question_id: int) -> object:
    """Remove a question; its tags and annotations go too (kept in the audit log) or
    move to the question chosen."""
    rv = this_review()
    question = next((q for q in rv.questions if q.id == question_id), None)
    if question is None:
        abort(404)
    code, move_to = question.code, form_text("move_to", 64) or None
    session = db()
    try:
        counts = reviews.remove_question(session, rv, code, actor(), move_to=move_to)
    except NotFound:
        abort(404)
    except Invalid as exc:
        session.rollback()
        return _page(400, error=sentence(str(exc)))
    commit()
    what = f"{_count(counts['tags'], 'tag')} and {_count(counts['annotations'], 'annotation')}"
    if move_to:
        said = f"its {what} moved to {move_to}"
    else:
        said = f"its {what} removed (the audit log keeps them)"
    flash(f"Review question {code} removed; {said}.", "info")
    return redirect(url_for("review.settings") + "#questions", code=303)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@review.post("/settings/members")
@requires("lead")
def member_save() -> object:
    form = {"email": form_text("email", 320), "role": form_text("role")}
    session = db()
    try:
        if not form["email"]:
            raise Invalid("enter the email address of the person to invite")
        try:
            user = accounts.get_user_by_email(session, form["email"])
        except NotFound:
            raise Invalid(
                f"no account with the email {accounts.normalize_email(form['email'])}: "
                "ask an administrator to create one (litreview user create EMAIL)"
            ) from None
        membership = accounts.add_member(session, this_review(), user, form["role"], actor=actor())
    except Invalid as exc:
        session.rollback()
        return _page(400, member_form=form, error=sentence(str(exc)))
    commit()
    flash(f"{user.email} is now a {membership.role} of this review.", "info")
    return redirect(url_for("review.settings") + "#members", code=303)


@review.post("/settings/members/<int:user_id>/remove")
@requires("lead")
def member_remove(user_id: int) -> object:
    session = db()
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    try:
        accounts.remove_member(session, this_review(), user, actor=actor())
    except NotFound:
        abort(404)
    except Invalid as exc:
        session.rollback()
        return _page(400, error=sentence(str(exc)))
    commit()
    flash(f"{user.email} is no longer a member of this review.", "info")
    if user.id == me().id:  # a lead who left cannot see the settings any more
        return redirect(url_for("home.index"), code=303)
    return redirect(url_for("review.settings") + "#members", code=303)
