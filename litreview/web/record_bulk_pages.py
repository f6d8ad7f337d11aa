"""Bulk actions on the records table: a decision (asked to confirm first), a tag, an export.

The selection is the ticked rows, or everything the table's filter matches (its
arguments travel with the form as ``f-<name>``, and the records are found again by
:func:`litreview.library.record_table.matching_ids`). The work is the domain's:
``screening.bulk.decide_many`` (each record through the one decision function),
``tags.tag_many``, and ``outputs.chosen_records_file`` (the exports' writers).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from litreview.accounts.users import NotAllowed
from litreview.errors import Invalid, NotFound
from litreview.evidence import tags as tagging
from litreview.export import outputs as files
from litreview.export.record_files import NothingSelected
from litreview.library.listing import titles_of
from litreview.library.record_table import TableQuery, matching_ids, parse
from litreview.models.screening import DECISIONS
from litreview.screening.bulk import check_bulk, decide_many
from litreview.web import db
from litreview.web.access import requires
from litreview.web.blueprints import review
from litreview.web.export_pages import download
from litreview.web.helpers import actor, commit, form_text, me, sentence
from litreview.web.helpers import review as this_review
from litreview.web.record_pages import filter_choices

ACTIONS = (*DECISIONS, "tag", "export")
SHOWN = 25  # records named on the confirmation page; the rest are counted
REFUSED_SHOWN = 10


def _values() -> MultiDict[str, str]:
    """What the form sent: its fields (POST), or the confirmation page's query (GET)."""
    return request.form if request.method == "POST" else request.args


def _text(name: str, limit: int = 10_000) -> str:
    return (_values().get(name) or "").strip()[:limit]


def _filter_args() -> MultiDict[str, str]:
    return MultiDict(
        [(k[2:], v) for k, v in _values().items(multi=True) if k.startswith("f-") and v]
    )


def _query() -> TableQuery:
    choices = filter_choices()
    allowed = {
        name: {value for value, _ in choices[f"{name}s"]}
        for name in ("reviewer", "question", "source")
    }
    return parse(_filter_args(), allowed)


def _selected(query: TableQuery) -> list[int]:
    """The record ids the form selects: every match of the filter, or the ticked rows."""
    if _values().get("scope") == "all":
        return matching_ids(db(), this_review(), query)
    ids = [v for v in _values().getlist("id") if v.isdigit() and len(v) < 12]
    return list(dict.fromkeys(int(v) for v in ids))


def _table_url() -> str:
    """The records table as the person left it (filter and page)."""
    args = {k: v for k, v in _filter_args().items() if k != "page"}
    page = _filter_args().get("page")
    if page and page.isdigit() and page != "1":
        args["page"] = page
    return url_for("review.records", **args)


def _back_to_table() -> Any:
    return redirect(_table_url(), code=303)


def _count(n: int) -> str:
    return f"{n:,} record{'' if n == 1 else 's'}"


@review.post("/records/bulk")
@requires("reviewer")
def records_bulk() -> Any:
    """The bulk form: a decision goes to its confirmation page; a tag or an export is done."""
    action = form_text("action", 16)
    query = _query()
    if query.errors:
        flash(sentence("; ".join(query.errors)), "error")
        return _back_to_table()
    if action not in ACTIONS:
        flash("Choose what to do with the selected records.", "error")
        return _back_to_table()
    ids = _selected(query)
    if not ids:
        flash("No records selected: tick some rows, or choose everything matching.", "error")
        return _back_to_table()
    if action in DECISIONS:
        # Asked first, on a page of its own (reloading it asks again, decides nothing).
        args: dict[str, Any] = {f"f-{k}": v for k, v in _filter_args().items()}
        args.update(scope=_text("scope", 8) or "rows", decision=action)
        if args["scope"] != "all":
            args["id"] = ids
        if action == "exclude" and _text("reason", 500):
            args["reason"] = _text("reason", 500)
        return redirect(url_for("review.records_bulk_confirm", **args), code=303)
    if action == "tag":
        return _tag(ids)
    return _export(ids)


@review.get("/records/bulk/confirm")
@requires("reviewer")
def records_bulk_confirm() -> Any:
    """The bulk decision, said in full (how many records, which, the decision and its
    reason at which stage), to confirm or cancel."""
    decision = _text("decision", 16)
    query = _query()
    if query.errors or decision not in DECISIONS:
        flash(sentence("; ".join(query.errors) or "choose include, exclude or maybe"), "error")
        return _back_to_table()
    ids = _selected(query)
    if not ids:
        flash("No records selected: tick some rows, or choose everything matching.", "error")
        return _back_to_table()
    reason = _text("reason", 500) if decision == "exclude" else ""
    try:  # what no record could take is said now, not after the person confirms
        check_bulk(db(), this_review(), me(), query.stage, decision, reason or None)
    except (Invalid, NotAllowed) as exc:
        flash(f"Nothing was decided: {sentence(str(exc))}", "error")
        return _back_to_table()
    titles = titles_of(db(), this_review(), ids[:SHOWN])
    return render_template(
        "records_bulk.html",
        decision=decision,
        reason=reason,
        note=_text("note"),
        stage=query.stage,
        scope=_text("scope", 8) or "rows",
        ids=ids,
        count=len(ids),
        shown=[(i, titles.get(i)) for i in ids[:SHOWN]],
        filter_args=list(_filter_args().items(multi=True)),
        reasons=[r for r in (this_review().exclusion_reasons or []) if r],
        back=_table_url(),
    )


@review.post("/records/bulk/decide")
@requires("reviewer")
def records_bulk_decide() -> Any:
    """The confirmed bulk decision: every selected record through the one decision rule,
    in one transaction; what was done and what was refused is said."""
    decision = _text("decision", 16)
    query = _query()
    if query.errors or decision not in DECISIONS:
        flash(sentence("; ".join(query.errors) or "choose include, exclude or maybe"), "error")
        return _back_to_table()
    ids = _selected(query)
    confirmed = form_text("count", 12)
    if not confirmed.isdigit() or int(confirmed) != len(ids):
        flash(
            f"The selection changed since you confirmed ({confirmed or 'no'} records then, "
            f"{len(ids):,} now): nothing was decided. Check the records and confirm again.",
            "error",
        )
        return _back_to_table()
    reason = form_text("reason", 500) if decision == "exclude" else ""
    session = db()
    try:
        done = decide_many(
            session,
            this_review(),
            ids,
            me(),
            query.stage,
            decision,
            reason=reason or None,
            note=form_text("note") or None,
        )
    except NotAllowed as exc:
        session.rollback()
        flash(f"Nothing was decided: {exc}.", "error")
        return _back_to_table()
    except (Invalid, NotFound) as exc:
        session.rollback()
        flash(f"Nothing was decided: {sentence(str(exc))}", "error")
        return _back_to_table()
    commit()
    said = {"include": "Included", "exclude": "Excluded", "maybe": "Marked maybe"}[decision]
    stage = query.stage.replace("_", "/").replace("full/text", "full text")
    with_reason = f" (reason: {reason})" if reason else ""
    message = f"{said} {_count(len(done.decided))} at {stage}{with_reason}."
    if done.unchanged:
        message += f" {_count(len(done.unchanged))} had this decision from you already."
    flash(message, "info")
    _flash_refused(done.refused, " (the audit log lists them)")
    return _back_to_table()


def _tag(ids: list[int]) -> Any:
    codes = [c for c in request.form.getlist("question") if c.strip()]
    session = db()
    try:
        tagged, already, refused = tagging.tag_many(session, this_review(), ids, codes, actor())
    except (Invalid, NotFound) as exc:
        session.rollback()
        flash(f"Nothing was tagged: {sentence(str(exc))}", "error")
        return _back_to_table()
    commit()
    message = f"Tagged {_count(len(tagged))} to {', '.join(codes)}."
    if already:
        message += f" {_count(len(already))} were tagged to it already."
    flash(message, "info")
    _flash_refused(refused)
    return _back_to_table()


def _flash_refused(refused: dict[int, str], where_listed: str = "") -> None:
    """The records a bulk action left alone, each with why: the first REFUSED_SHOWN, and
    how many more (``where_listed`` says where those are)."""
    if not refused:
        return
    lines = [f"record {i}: {why}" for i, why in list(refused.items())[:REFUSED_SHOWN]]
    more = len(refused) - len(lines)
    flash(
        f"{_count(len(refused))} refused: "
        + "; ".join(lines)
        + (f"; and {more:,} more{where_listed}" if more > 0 else "")
        + ".",
        "warning",
    )


def _export(ids: list[int]) -> Any:
    fmt = form_text("format", 16)
    session = db()
    try:
        if fmt not in files.FORMATS["records"]:
            raise Invalid(f"choose a format: {', '.join(files.FORMATS['records'])}")
        made = files.chosen_records_file(session, this_review(), fmt, ids)
    except NothingSelected as exc:
        session.rollback()
        flash(f"Records export: {sentence(str(exc))}", "warning")
        return _back_to_table()
    except (Invalid, NotFound) as exc:
        session.rollback()
        flash(f"Records export: {sentence(str(exc))}", "error")
        return _back_to_table()
    return download(made)
