"""Evidence: search, review-question pages, tagging and annotations.

Tagging is offered on the screening page, the record page and each search result;
every form posts here and returns to the page it came from. Search snippets arrive
as HTML (matched words in ``<b>``); ``snippet_markup`` sanitises them: the text is
unescaped and escaped again, and only our own ``<mark>`` survives.
"""

from __future__ import annotations

import html
import re
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from markupsafe import Markup, escape

from litreview.errors import Invalid, NotFound
from litreview.evidence import tags as tagging
from litreview.models import Annotation, Record, ReviewQuestion
from litreview.models.screening import STAGES
from litreview.search import IndexBusy, open_backend
from litreview.search.finding import DECISION_VALUES, search_review, suggest_for_question
from litreview.web import db
from litreview.web.access import requires
from litreview.web.auth import safe_next
from litreview.web.blueprints import review
from litreview.web.helpers import (
    actor,
    commit,
    form_text,
    record_or_404,
    sentence,
    settings,
    sync_search,
)
from litreview.web.helpers import review as this_review

_BOLD = re.compile(r"<b>(.*?)</b>", re.DOTALL)
SEARCH_LIMITS = (20, 50, 100)


@review.app_template_filter("snippet")
def snippet_markup(snippet_html: str) -> Markup:
    """A search snippet as safe markup: matched words in ``<mark>``, everything else text."""
    out, at = [], 0
    for match in _BOLD.finditer(snippet_html):
        out.append(escape(html.unescape(_strip_tags(snippet_html[at : match.start()]))))
        out.append(Markup("<mark>") + escape(html.unescape(_strip_tags(match.group(1)))))
        out.append(Markup("</mark>"))
        at = match.end()
    out.append(escape(html.unescape(_strip_tags(snippet_html[at:]))))
    return Markup("").join(out)


@review.app_template_filter("snippet_text")
def snippet_text(snippet_html: str) -> str:
    """A snippet as plain text, for quoting it in an annotation."""
    return " ".join(html.unescape(_strip_tags(snippet_html)).replace("…", " … ").split())


def _strip_tags(text: str) -> str:
    return re.sub(r"<[^>]*>", "", text)


def tagging_panel(record: Record) -> dict[str, Any] | None:
    """What the tag-and-annotate form of a record shows."""
    rv = this_review()
    questions = rv.questions
    tagged = tagging.tagged_question_ids(db(), rv, [record.id])[record.id]
    return {"questions": questions, "tagged": tagged, "record": record}


def _back(record_id: int) -> object:
    target = safe_next(request.form.get("next"))
    prefix = url_for("review.dashboard")
    if target is None or not target.startswith(prefix):
        target = url_for("review.record", record_id=record_id)
    return redirect(target, code=303)


@review.post("/records/<int:record_id>/tags")
@requires("reviewer")
def record_tag(record_id: int) -> object:
    """Tag to the questions ticked, with an optional annotation (note, quote, page)."""
    record_or_404(record_id)
    codes = [c for c in request.form.getlist("question") if c.strip()]
    note, quote, page = form_text("note", 20_000), form_text("quote", 20_000), form_text("page")
    session = db()
    try:
        if codes:
            tagging.tag_record(
                session,
                this_review(),
                record_id,
                codes,
                actor(),
                note=note or None,
                quote=quote or None,
                page=page or None,
            )
            done = f"Tagged to {', '.join(codes)}" + (
                " with an annotation" if note or quote else ""
            )
        elif note or quote:
            tagging.annotate(
                session,
                this_review(),
                record_id,
                actor(),
                note=note or None,
                quote=quote or None,
                page=page or None,
            )
            done = "Annotation added"
        else:
            raise Invalid("tick a review question, or write a note or a quote")
    except (NotFound, Invalid) as exc:
        session.rollback()
        flash(sentence(str(exc)), "error")
        return _back(record_id)
    commit()
    flash(f"{done} (record {record_id}).", "info")
    return _back(record_id)


@review.post("/records/<int:record_id>/tags/<int:question_id>/remove")
@requires("reviewer")
def record_untag(record_id: int, question_id: int) -> object:
    record_or_404(record_id)
    question = _question_or_404(question_id)
    session = db()
    try:
        removed = tagging.untag_record(session, this_review(), record_id, question.code, actor())
    except NotFound:
        abort(404)
    except Invalid as exc:
        session.rollback()
        flash(sentence(str(exc)), "error")
        return _back(record_id)
    commit()
    # Removed by someone else a moment ago (or a second click): the same end, no error.
    done = "is no longer tagged" if removed else "was not tagged"
    flash(f"Record {record_id} {done} to {question.code}.", "info")
    return _back(record_id)


@review.post("/records/<int:record_id>/annotations/<int:annotation_id>/delete")
@requires("reviewer")
def annotation_delete(record_id: int, annotation_id: int) -> object:
    record_or_404(record_id)
    annotation = db().get(Annotation, annotation_id)
    if annotation is None or annotation.record_id != record_id:
        abort(404)
    session = db()
    try:
        tagging.delete_annotation(session, this_review(), annotation_id, actor())
    except NotFound:
        abort(404)
    commit()
    flash("Annotation deleted (the audit log keeps what it said).", "info")
    return _back(record_id)


def _question_or_404(question_id: int) -> ReviewQuestion:
    question = db().get(ReviewQuestion, question_id)
    if question is None or question.review_id != this_review().id:
        abort(404)
    return question


# ------------------------------------------------------------------ search


def _search_form() -> dict[str, str]:
    args = request.args
    return {
        "q": args.get("q", "")[:2000],
        "question": args.get("question", ""),
        "decision": args.get("decision", ""),
        "stage": args.get("stage", ""),
        "years": args.get("years", "")[:20],
        "fulltext": args.get("fulltext", ""),
        "limit": args.get("limit", "20"),
    }


@review.get("/search")
@requires("viewer")
def search() -> tuple[str, int]:
    form = _search_form()
    context: dict[str, Any] = {
        "form": form,
        "result": None,
        "stages": STAGES,
        "decisions": DECISION_VALUES,
    }
    if not form["q"].strip():
        return render_template("search.html", **context), 200
    limit = int(form["limit"]) if form["limit"] in {str(n) for n in SEARCH_LIMITS} else 20
    try:
        result = search_review(
            db(),
            open_backend(settings()),
            this_review(),
            form["q"],
            question=form["question"] or None,
            decision=form["decision"] or None,
            stage=form["stage"] or None,
            years=form["years"] or None,
            has_fulltext=True if form["fulltext"] else None,
            limit=limit,
        )
    except (Invalid, NotFound) as exc:
        return render_template("search.html", error=sentence(str(exc)), **context), 400
    except IndexBusy as exc:
        return render_template("search.html", error=sentence(str(exc)), **context), 503
    context["result"] = result
    if result.not_searchable:
        sync_search()  # e.g. a large import from the command line: index the rest now
    # Each hit carries its questions' codes: the tag forms tick those, with no query more.
    ids = {q.code: q.id for q in this_review().questions}
    context["panels"] = {h.record_id: {ids[c] for c in h.questions} for h in result.hits}
    return render_template("search.html", **context), 200


# ------------------------------------------------------------------ review questions


@review.get("/questions/<int:question_id>")
@requires("viewer")
def question(question_id: int) -> str:
    q = _question_or_404(question_id)
    session = db()
    tagged = tagging.tagged_records(session, this_review(), q)
    notes = tagging.question_annotations(session, this_review(), q)
    suggestions, problem = None, None
    if (q.query or "").strip():
        try:
            _q, suggestions = suggest_for_question(
                session, open_backend(settings()), this_review(), q.code, limit=20
            )
        except (Invalid, NotFound, IndexBusy) as exc:
            problem = sentence(str(exc))
    return render_template(
        "question.html",
        question=q,
        tagged=tagged,
        notes=notes,
        suggestions=suggestions,
        problem=problem,
    )
