"""Screening, one record at a time, at title/abstract or full text; keyboard-driven.

A decision is a POST that redirects to the next record (so reloading never decides
twice), and asks for the reviewer's ranking to be retrained in the background (the next
record comes from the last ranking stored, never waiting for one). The order, "most
relevant first" or "in order", is the review's choice unless the reviewer picks the
other for themselves (kept on the server, per reviewer, review and stage:
``screening.orders``; it holds in another browser and after signing in again). "Skip"
puts a record off on the server (``screening.skips``, per reviewer, review and stage):
it comes back once everything else at that stage is done, in another browser or after
signing in again too. "Previous" walks back through the person's own decisions in the
order they made them (``screening.previous_record``). In blind dual mode the page
shows only the reviewer's own decision until they have decided (``visible_decisions``
hides the other reviewer's from reviewers; leads are shown theirs only after deciding
too, so a lead who screens is as blind as anyone).
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, url_for

from litreview import screening
from litreview.accounts.users import NotAllowed
from litreview.errors import Invalid, NotFound
from litreview.evidence import retrieval
from litreview.evidence.attachments import full_text
from litreview.library.listing import record_with_sources
from litreview.models import Record
from litreview.screening import orders, prioritised, queue, skips
from litreview.screening.decisions import reason_required
from litreview.screening.outcomes import outcome_counts
from litreview.web import db
from litreview.web.access import requires
from litreview.web.blueprints import review
from litreview.web.evidence_pages import tagging_panel
from litreview.web.helpers import (
    actor,
    arg_int,
    decision_choice,
    decision_form,
    form_text,
    me,
    record_or_404,
    sentence,
)
from litreview.web.helpers import commit as commit_and_sync
from litreview.web.helpers import review as this_review

STAGE = "<any(title_abstract, full_text):stage>"


def _order(stage: str) -> str | None:
    """The order this person chose for this stage, or None for the review's."""
    return orders.chosen(db(), this_review(), me(), stage)


def _retrain_soon(stage: str) -> None:
    """Ask for this person's ranking at ``stage`` to be retrained if due (in the background)."""
    learner = queue.learner_of(this_review(), me())
    current_app.extensions["litreview.retrainer"].request(this_review().id, stage, learner)


def _load(record_id: int) -> Record:
    """The record with what the page shows of it, in a fixed number of queries."""
    try:
        return record_with_sources(db(), this_review(), record_id)
    except NotFound:
        abort(404)


def _page(
    stage: str,
    record: Record,
    status: int = 200,
    form: dict[str, Any] | None = None,
    order: str | None = None,
    **extra: Any,
) -> tuple[str, int]:
    """The screening page of ``record``; ``order``: the person's own order at ``stage``
    (:func:`_order`, which the caller has read already), None for the review's."""
    rv, user = this_review(), me()
    mine, others = screening.while_screening(db(), rv, record.id, user, stage)
    previous = screening.previous_record(db(), rv, user, stage, before_id=record.id)
    if form is None:
        form = {
            "decision": mine.decision if mine else "",
            "reason": (mine.reason or "") if mine else "",
            "note": (mine.note or "") if mine else "",
        }
    attachments, pages = full_text(db(), rv, record.id) if stage == "full_text" else ([], [])
    full = stage == "full_text" and record.merged_into_id is None
    context = {
        "stage": stage,
        "record": record,
        "mine": mine,
        "others": others,
        "previous": previous,
        "form": form,
        "attachments": attachments,
        "pdfs": [a for a in attachments if a.kind == "pdf" and a.path],
        "pages": pages,
        "skipped": skips.waiting_count(db(), rv, user, stage),
        "place": queue.place(db(), rv, user, stage, record.id),
        "stage_counts": outcome_counts(db(), rv, stage),
        "reasons": rv.exclusion_reasons or [],
        "reason_required": reason_required(rv, stage),
        "retrieval": retrieval.mark_of(record) if full else None,
        "why_not_retrievable": retrieval.can_mark(db(), rv, record) if full else None,
        "tagging": tagging_panel(record),
        "here": url_for("review.screen_record", stage=stage, record_id=record.id),
        "prio": prioritised.panel(db(), rv, user, stage, record.id, order),
        "orders": queue.ORDERS,
    }
    context.update(extra)
    return render_template("screen.html", **context), status


@review.get(f"/screen/{STAGE}/")
@requires("reviewer")
def screen_next(stage: str) -> object:
    rv, user = this_review(), me()
    _retrain_soon(stage)
    order = _order(stage)
    record, came_back = skips.next_to_screen(
        db(), rv, user, stage, after_id=arg_int("after"), order=order
    )
    db().commit()  # the record is held open for this reviewer (single mode)
    if record is None:
        decided = screening.decided_count(db(), rv, user, stage)
        previous = screening.previous_record(db(), rv, user, stage)
        return render_template("screen_done.html", stage=stage, decided=decided, previous=previous)
    return _page(stage, _load(record.id), order=order, came_back=came_back)


@review.get(f"/screen/{STAGE}/<int:record_id>")
@requires("reviewer")
def screen_record(stage: str, record_id: int) -> tuple[str, int]:
    return _page(stage, _load(record_id), order=_order(stage))


@review.post(f"/screen/{STAGE}/<int:record_id>")
@requires("reviewer")
def screen_decide(stage: str, record_id: int) -> object:
    record_or_404(record_id)
    form = decision_form()
    session_ = db()
    try:
        decision, reason, note = decision_choice(form)
        screening.decide(
            session_, this_review(), record_id, me(), stage, decision, reason=reason, note=note
        )
    except NotAllowed as exc:
        session_.rollback()
        abort(403, str(exc))
    except NotFound:
        session_.rollback()
        abort(404)
    except Invalid as exc:
        session_.rollback()
        return _page(
            stage, _load(record_id), 400, form=form, order=_order(stage), error=sentence(str(exc))
        )
    skips.unskip(session_, this_review(), me(), stage, record_id)
    commit_and_sync()
    _retrain_soon(stage)
    return redirect(url_for("review.screen_next", stage=stage, after=record_id), code=303)


@review.post(f"/screen/{STAGE}/<int:record_id>/skip")
@requires("reviewer")
def screen_skip(stage: str, record_id: int) -> object:
    record_or_404(record_id)
    session_ = db()
    try:
        skips.skip(session_, this_review(), me(), stage, record_id)
    except NotAllowed as exc:
        session_.rollback()
        abort(403, str(exc))
    session_.commit()
    return redirect(url_for("review.screen_next", stage=stage, after=record_id), code=303)


@review.post(f"/screen/{STAGE}/undo")
@requires("reviewer")
def screen_undo(stage: str) -> object:
    session_ = db()
    try:
        undone = screening.undo_last(session_, this_review(), me(), stage)
    except Invalid as exc:
        session_.rollback()
        flash(sentence(str(exc)), "error")
        return redirect(url_for("review.screen_next", stage=stage), code=303)
    if undone is None:
        flash("There is nothing to undo at this stage.", "info")
        return redirect(url_for("review.screen_next", stage=stage), code=303)
    commit_and_sync()
    flash(f"Undone: your {undone.decision} on record {undone.record_id}.", "info")
    return redirect(
        url_for("review.screen_record", stage=stage, record_id=undone.record_id), code=303
    )


@review.post(f"/screen/{STAGE}/order")
@requires("reviewer")
def screen_order(stage: str) -> object:
    """This person's screening order at ``stage`` (the review's choice otherwise)."""
    session_ = db()
    try:
        orders.choose(session_, this_review(), me(), stage, form_text("order", 16))
    except NotAllowed as exc:
        session_.rollback()
        abort(403, str(exc))
    except Invalid as exc:
        session_.rollback()
        abort(400, str(exc))
    session_.commit()
    return redirect(url_for("review.screen_next", stage=stage), code=303)


@review.post("/screen/full_text/<int:record_id>/not-retrievable")
@requires("reviewer")
def screen_not_retrievable(record_id: int) -> object:
    """Mark the record's report as not retrievable from the full-text screening page
    (the record page's mark, ``evidence.retrieval``), then go on to the next record."""
    record_or_404(record_id)
    session_ = db()
    try:
        note = form_text("note", retrieval.MAX_NOTE + 1)
        changed = retrieval.mark_not_retrievable(session_, this_review(), record_id, actor(), note)
    except Invalid as exc:
        session_.rollback()
        flash(sentence(str(exc)), "error")
        return redirect(
            url_for("review.screen_record", stage="full_text", record_id=record_id), code=303
        )
    commit_and_sync()
    said = "is marked as not retrievable" if changed else "was marked already"
    flash(f"The report of record {record_id} {said}.", "info")
    return redirect(url_for("review.screen_next", stage="full_text", after=record_id), code=303)
