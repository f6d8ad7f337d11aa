"""A review's settings, for its leads: questions, criteria, exclusion reasons, highlight
words, screening mode. Members have a page of their own (``members_pages``)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for

from litreview.errors import Invalid
from litreview.library import reviews
from litreview.web import db
from litreview.web.access import requires
from litreview.web.blueprints import review
from litreview.web.helpers import actor, commit, form_text, sentence
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
        return _page(400, question_form=form, error=sentence(str(exc)))
    commit()
    flash(f"Review question {q.code} saved.", "info")
    return redirect(url_for("review.settings") + "#questions", code=303)
