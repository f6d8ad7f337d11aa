"""Editing a record's metadata: the form, and saving it through
:func:`litreview.library.editing.edit_record` (the field rules, the audit, the kept
original are the domain's)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from litreview.errors import Invalid, NotFound
from litreview.library import editing
from litreview.library.fields import EDITABLE
from litreview.web import db
from litreview.web.access import requires
from litreview.web.blueprints import review
from litreview.web.helpers import actor, commit, record_or_404, sentence
from litreview.web.helpers import review as this_review

LABELS = {
    "title": "Title",
    "authors": "Authors (one per line: Family, Given)",
    "year": "Year",
    "venue": "Venue (journal, book, conference)",
    "doi": "DOI",
    "abstract": "Abstract",
}


def _form(record_id: int, status: int = 200, **extra: Any) -> Any:
    record = record_or_404(record_id)
    if record.merged_into_id is not None:
        abort(404)
    shown = editing.form_values(record)
    context = {
        "record": record,
        "fields": [(name, LABELS[name]) for name in EDITABLE],
        "values": shown,
        "shown": shown,
        **extra,
    }
    return render_template("record_edit.html", **context), status


@review.get("/records/<int:record_id>/edit")
@requires("reviewer")
def record_edit(record_id: int) -> Any:
    return _form(record_id)


@review.post("/records/<int:record_id>/edit")
@requires("reviewer")
def record_edit_save(record_id: int) -> Any:
    record_or_404(record_id)
    typed = {name: request.form.get(name, "") for name in EDITABLE if name in request.form}
    shown = {
        name: request.form.get(f"shown-{name}", "")
        for name in EDITABLE
        if f"shown-{name}" in request.form
    }
    session = db()
    try:
        changed = editing.edit_record(
            session, this_review(), record_id, typed, actor(), shown=shown
        )
    except NotFound:
        session.rollback()
        abort(404)
    except Invalid as exc:
        session.rollback()
        status = 409 if isinstance(exc, editing.EditedElsewhere) else 400
        # What the person typed stays in the form, to correct or to copy.
        return _form(
            record_id, status, values=_typed_over(record_id, typed), error=sentence(str(exc))
        )
    commit()
    if changed:
        flash(f"Record {record_id}: {', '.join(changed)} changed (the original is kept).", "info")
    else:
        flash(f"Record {record_id}: nothing changed.", "info")
    return redirect(url_for("review.record", record_id=record_id), code=303)


def _typed_over(record_id: int, typed: dict[str, str]) -> dict[str, str]:
    return {**editing.form_values(record_or_404(record_id)), **typed}
