"""A review's settings, for its leads: questions, criteria, exclusion reasons, highlight
words, screening mode and order. Members have a page of their own (``members_pages``).

Switching from single to blind dual mode once records were decided asks first: a page
says how many records one reviewer decided and lets the lead choose what becomes of
them (``screening.modes``), then saves the settings as they were typed."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from litreview.errors import Invalid, NotFound
from litreview.library import reviews
from litreview.screening import modes
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
        "screening_order": rv.screening_order,
        "reason_required_title_abstract": bool(rv.reason_required_title_abstract),
        **{name: "\n".join(getattr(rv, name) or []) for name in LIST_FIELDS},
    }


def _page(status: int = 200, **overrides: Any) -> tuple[str, int]:
    rv = this_review()
    context: dict[str, Any] = {
        "form": _settings_form(rv),
        "question_form": {},
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
        **({"screening_order": order} if (order := form_text("screening_order")) else {}),
        "reason_required_title_abstract": bool(request.form.get("reason_required_title_abstract")),
        **{name: form_text(name) for name in LIST_FIELDS},
    }
    rv, session = this_review(), db()
    on_switch = form_text("on_switch", 16)
    try:
        if form["screening_mode"] != rv.screening_mode and on_switch not in modes.CHOICES:
            switch = modes.preview(session, rv, form["screening_mode"])
            if switch.asks:
                return render_template(
                    "settings_switch.html", form=form, switch=switch, choices=modes.CHOICES
                ), 200
        reviews.update_settings(
            session, rv, actor=actor(), on_switch=on_switch or modes.KEEP, **form
        )
    except Invalid as exc:
        session.rollback()
        return _page(400, form=form, error=sentence(str(exc)))
    commit()
    flash(_saved(on_switch), "info")
    return redirect(url_for("review.settings"), code=303)


def _saved(on_switch: str) -> str:
    if on_switch == modes.KEEP:
        return (
            "Settings saved. The review is in blind dual mode; records one reviewer "
            "decided before stay settled."
        )
    if on_switch == modes.SECOND:
        return (
            "Settings saved. The review is in blind dual mode; records one reviewer "
            "decided before now wait for a second reviewer."
        )
    return "Settings saved."


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
