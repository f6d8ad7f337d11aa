"""Probable duplicates side by side, differences marked; merge, keep apart, undo a merge."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from litreview.errors import Invalid, NotFound
from litreview.library import duplicates
from litreview.library.listing import records_with_sources
from litreview.models import Record
from litreview.web import db
from litreview.web.access import requires
from litreview.web.blueprints import review
from litreview.web.helpers import actor, arg_int, commit, sentence
from litreview.web.helpers import review as this_review
from litreview.web.template_filters import authors

PAIRS_PER_PAGE = 20
FIELDS = (
    ("Title", "title"),
    ("Authors", "authors"),
    ("Year", "year"),
    ("Venue", "venue"),
    ("Volume", "volume"),
    ("Issue", "issue"),
    ("Pages", "pages"),
    ("DOI", "doi"),
    ("PMID", "pmid"),
    ("Type", "type"),
    ("Abstract", "abstract"),
)


def _value(record: Record, name: str) -> str:
    value = getattr(record, name)
    if name == "authors":
        return authors(value)
    return "" if value is None else str(value)


def _differs(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) != " ".join(b.casefold().split())


@review.get("/duplicates", endpoint="duplicates")
@requires("viewer")
def duplicates_page() -> str:
    session = db()
    rv = this_review()
    pairs = duplicates.find_probable(session, rv)
    page = max(arg_int("page") or 1, 1)
    pages = max((len(pairs) + PAIRS_PER_PAGE - 1) // PAIRS_PER_PAGE, 1)
    shown = pairs[(page - 1) * PAIRS_PER_PAGE : page * PAIRS_PER_PAGE]
    ids = {i for p in shown for i in (p.a, p.b)}
    records = records_with_sources(session, rv, ids)
    rows = []
    for pair in shown:
        a, b = records[pair.a], records[pair.b]
        fields = []
        for label, name in FIELDS:
            left, right = _value(a, name), _value(b, name)
            if left or right:
                fields.append((label, left, right, _differs(left, right)))
        rows.append({"pair": pair, "a": a, "b": b, "fields": fields})
    merges = duplicates.recent_merges(session, rv, limit=20)
    return render_template(
        "duplicates.html", rows=rows, total=len(pairs), page=page, pages=pages, merges=merges
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
