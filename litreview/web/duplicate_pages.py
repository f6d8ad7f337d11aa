"""Probable duplicates side by side, differences marked; merge, keep apart, undo a merge."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from litreview.errors import Invalid, NotFound
from litreview.library import duplicates
from litreview.library.comparison import compare, percent_alike
from litreview.library.listing import records_with_sources
from litreview.web import db
from litreview.web.access import requires
from litreview.web.blueprints import review
from litreview.web.helpers import actor, arg_int, commit, sentence
from litreview.web.helpers import review as this_review

PAIRS_PER_PAGE = 20
KEPT_APART_SHOWN = 20


@review.get("/duplicates", endpoint="duplicates")
@requires("viewer")
def duplicates_page() -> str:
    session = db()
    rv = this_review()
    pairs = duplicates.find_probable(session, rv)
    page = max(arg_int("page") or 1, 1)
    pages = max((len(pairs) + PAIRS_PER_PAGE - 1) // PAIRS_PER_PAGE, 1)
    shown = pairs[(page - 1) * PAIRS_PER_PAGE : page * PAIRS_PER_PAGE]
    apart = duplicates.kept_apart(session, rv, limit=KEPT_APART_SHOWN)
    ids = {i for p in shown for i in (p.a, p.b)} | {
        i for k in apart for i in (k.record_a_id, k.record_b_id)
    }
    records = records_with_sources(session, rv, ids)
    rows = []
    for pair in shown:
        a, b = records[pair.a], records[pair.b]
        # The pair's reasons after the first ("titles N% alike", shown from the score).
        _titles, _sep, why = pair.why.partition("; ")
        rows.append(
            {
                "pair": pair,
                "a": a,
                "b": b,
                "fields": compare(a, b),
                "alike": percent_alike(pair.score),
                "why": why,
            }
        )
    merges = duplicates.recent_merges(session, rv, limit=20)
    return render_template(
        "duplicates.html",
        rows=rows,
        total=len(pairs),
        page=page,
        pages=pages,
        merges=merges,
        apart=[(k, records[k.record_a_id], records[k.record_b_id]) for k in apart],
    )


def _form_id(name: str) -> int:
    value = (request.form.get(name) or "").strip()
    if not value.isdigit():
        abort(400, f"{name}: expected a record number")
    return int(value)


def _back() -> object:
    return redirect(url_for("review.duplicates", page=request.form.get("page") or None), code=303)


@review.post("/duplicates/merge")
@requires("reviewer")
def duplicates_merge() -> object:
    keep, other = _form_id("keep"), _form_id("other")
    session = db()
    try:
        entry = duplicates.merge(session, this_review(), keep, other, actor())
    except NotFound:
        abort(404)
    except Invalid as exc:
        session.rollback()
        flash(sentence(str(exc)), "error")
        return _back()
    commit()
    flash(f"Record {other} was merged into record {keep} (merge {entry.id}).", "info")
    return _back()


@review.post("/duplicates/keep-apart")
@requires("reviewer")
def duplicates_keep_apart() -> object:
    a, b = _form_id("a"), _form_id("b")
    session = db()
    try:
        duplicates.keep_apart(session, this_review(), a, b, actor())
    except NotFound:
        abort(404)
    except Invalid as exc:
        session.rollback()
        flash(sentence(str(exc)), "error")
        return _back()
    commit()
    flash(f"Records {a} and {b} are kept apart: they will not be listed again.", "info")
    return _back()


@review.post("/duplicates/keep-apart/undo")
@requires("reviewer")
def duplicates_keep_apart_undo() -> object:
    a, b = _form_id("a"), _form_id("b")
    session = db()
    try:
        undone = duplicates.undo_keep_apart(session, this_review(), a, b, actor())
    except NotFound:
        abort(404)
    commit()
    if undone:
        flash(f"Records {a} and {b} are no longer kept apart: listed again if still alike.", "info")
    else:
        flash(f"Records {a} and {b} were not kept apart.", "info")
    return _back()


@review.post("/duplicates/merges/<int:merge_id>/undo")
@requires("reviewer")
def duplicates_undo(merge_id: int) -> object:
    session = db()
    try:
        restored = duplicates.undo_merge(session, this_review(), merge_id, actor())
    except NotFound:
        abort(404)
    except Invalid as exc:
        session.rollback()
        flash(sentence(str(exc)), "error")
        return _back()
    commit()
    flash(f"Merge {merge_id} undone: record {restored.id} is back.", "info")
    return _back()
