"""The records table (filters, sorting, pages) and a record's page: every field and
source, decisions and their history, tags and annotations, attachments (PDF upload
here; a PDF is served only to the review's members, from its generated path)."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from werkzeug.utils import secure_filename

from litreview import screening
from litreview.errors import Invalid, NotFound
from litreview.evidence import attachments, retrieval
from litreview.evidence import tags as tagging
from litreview.export.record_files import FORMATS as RECORD_FORMATS
from litreview.jobs import job_status
from litreview.jobs.store import record_pdf_jobs
from litreview.jobs.work import files_progress, new_upload_folder
from litreview.library import duplicates, editing
from litreview.library.fields import as_text
from litreview.library.listing import import_batches, record_with_sources
from litreview.library.record_table import DECISION_FILTERS, SORTS, fetch, parse
from litreview.models import Resolution
from litreview.models.screening import STAGES
from litreview.web import db
from litreview.web.access import requires
from litreview.web.blueprints import review
from litreview.web.evidence_pages import tagging_panel
from litreview.web.helpers import (
    actor,
    commit,
    form_text,
    jobs,
    me,
    record_or_404,
    sentence,
    settings,
)
from litreview.web.helpers import review as this_review
from litreview.web.template_filters import STAGE_NAMES

EXPORT_NAMES = {"ris": "RIS", "bibtex": "BibTeX", "csv": "CSV", "csljson": "CSL-JSON"}


def filter_choices() -> dict[str, Any]:
    """What the filters offer: reviewers, questions, sources (ids and labels)."""
    rv = this_review()
    session = db()
    members = screening.reviewers_to_filter_by(session, rv, me())
    batches = import_batches(session, rv)
    return {
        "reviewers": [(m.user_id, m.user.email) for m in members],
        "questions": [(q.id, f"{q.code}: {q.title}") for q in rv.questions],
        "question_codes": [(q.code, f"{q.code}: {q.title}") for q in rv.questions],
        "sources": [(b.id, b.source_label or b.file_name) for b in batches],
    }


@review.get("/records")
@requires("viewer")
def records() -> str:
    choices = filter_choices()
    allowed = {
        name: {value for value, _ in choices[f"{name}s"]}
        for name in ("reviewer", "question", "source")
    }
    query = parse(request.args, allowed)
    table = fetch(db(), this_review(), query)
    args = {k: v for k, v in request.args.items() if v and k != "page"}
    return render_template(
        "records.html",
        query=query,
        table=table,
        args=args,
        choices=choices,
        stage_options=[(s, STAGE_NAMES[s]) for s in STAGES],
        decision_options=[(d, d) for d in DECISION_FILTERS],
        sort_options=[
            (f"{sign}{key}", f"{key} {'descending' if sign else 'ascending'}")
            for key in SORTS
            for sign in ("", "-")
        ],
        form=request.args,
        bulk=g.role in ("reviewer", "lead"),
        reasons=[r for r in (this_review().exclusion_reasons or []) if r],
        export_formats=[(f, EXPORT_NAMES.get(f, f)) for f in RECORD_FORMATS],
    )


@review.get("/records/<int:record_id>")
@requires("viewer")
def record(record_id: int) -> str:
    return _record_page(record_id)


def _record_page(record_id: int, status: int = 200, **extra: Any) -> Any:
    rv = this_review()
    session = db()
    try:
        rec = record_with_sources(session, rv, record_id)
    except NotFound:
        abort(404)
    files = attachments.record_attachments(session, rv, rec.id)
    pdf_jobs = record_pdf_jobs(session, rv, rec.id)
    history = [
        (row, isinstance(row, Resolution))
        for row in screening.history(session, rv, rec.id, for_user=me())
    ]
    outcomes = {stage: screening.outcome_at(session, rv, rec.id, stage) for stage in STAGES}
    tags = tagging.record_tags(session, rv, rec.id)
    annotations = tagging.record_annotations(session, rv, rec.id)
    went = duplicates.merged_into(session, rv, rec)
    edits = editing.record_edits(session, rv, rec.id)
    edited_fields = list(dict.fromkeys(name for e in edits for name in e.fields))
    first_values: dict[str, str] = {}
    for e in edits:
        for name in e.fields:
            first_values.setdefault(name, as_text(name, e.before.get(name)))
    live = rec.merged_into_id is None
    page = render_template(
        "record.html",
        record=rec,
        merged_into=went,
        retrieval=retrieval.mark_of(rec),
        why_not_retrievable=retrieval.can_mark(session, rv, rec) if live else None,
        attachments=files,
        pdf_jobs=pdf_jobs,
        history=history,
        outcomes=outcomes,
        tags=tags,
        annotations=annotations,
        questions={q.id: q for q in rv.questions},
        tagging=tagging_panel(rec) if live else None,
        here=url_for("review.record", record_id=rec.id),
        edits=edits,
        edited_fields=edited_fields,
        first_values=first_values,
        originals=editing.imported_values(rec, edited_fields) if edits else [],
        **extra,
    )
    return page, status


@contextmanager
def _uploaded_pdf() -> Iterator[tuple[Path, str] | None]:
    """The PDF of the form's ``pdf`` field saved in a private folder of its own (removed
    afterwards), with the name it was sent under; None when no file was chosen."""
    upload = request.files.get("pdf")
    if upload is None or not upload.filename:
        yield None
        return
    folder = settings().data_dir / "uploads" / secrets.token_hex(16)
    folder.mkdir(parents=True, mode=0o700)
    try:
        path = folder / (secure_filename(upload.filename) or "upload.pdf")
        upload.save(path)
        yield path, upload.filename
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@review.post("/records/<int:record_id>/attachments")
@requires("reviewer")
def attachment_upload(record_id: int) -> Any:
    """Attach a PDF: a job (its text is read page by page). Run in this process (the
    embedded default), it is waited for and the page says what it did; in the queue, a
    worker reads it and the record shows it when done."""
    record_or_404(record_id)
    upload = request.files.get("pdf")
    if upload is None or not upload.filename:
        return _record_page(record_id, 400, error="Choose a PDF file to upload.")
    job_id, folder = new_upload_folder(settings())
    name = secure_filename(upload.filename) or "upload.pdf"
    saved = folder / "1" / name
    saved.parent.mkdir()
    upload.save(saved)
    files = [{"path": f"1/{name}", "name": upload.filename, "size": saved.stat().st_size}]
    jobs().enqueue(
        "attach.pdfs",
        review_id=this_review().id,
        actor=actor(),
        payload={"record_id": record_id, "uploads": files},
        progress={**files_progress(files, None), "record_id": record_id},
        job_id=job_id,
    )
    jobs().wait(job_id, 120)  # returns at once for a job in the queue
    status = job_status(db(), job_id)
    [entry] = status["files"]
    if entry["state"] == "unreadable":
        return _record_page(record_id, 400, error=sentence(entry["error"]))
    if entry["state"] == "done":
        a = entry["report"]
        if a["already_attached"]:
            flash(f"{a['file']} was attached to this record already.", "info")
        else:
            flash(
                f"{a['file']} attached: {a['status']}, {a['text_pages']} page(s) of text.", "info"
            )
    elif status["state"] == "failed":
        flash(f"{name} was not attached: {status['error'] or entry['error']}.", "error")
    else:
        flash(f"{name} is being read in the background; it shows here once attached.", "info")
    return redirect(url_for("review.record", record_id=record_id), code=303)


def _to_attachments(record_id: int) -> Any:
    return redirect(url_for("review.record", record_id=record_id) + "#attachments", code=303)


@review.post("/records/<int:record_id>/attachments/<int:attachment_id>/remove")
@requires("reviewer")
def attachment_remove(record_id: int, attachment_id: int) -> Any:
    """Take a full text off the record (audited; its text leaves the search index)."""
    record_or_404(record_id)
    session = db()
    try:
        removed = attachments.remove_attachment(
            session, this_review(), record_id, attachment_id, actor()
        )
    except NotFound:
        session.rollback()
        abort(404)
    except Invalid as exc:
        session.rollback()
        flash(sentence(str(exc)), "error")
        return _to_attachments(record_id)
    commit()
    name = removed.filename or removed.kind
    flash(f"{name} was removed from record {record_id} (the audit log keeps which file).", "info")
    return _to_attachments(record_id)


@review.post("/records/<int:record_id>/attachments/<int:attachment_id>/replace")
@requires("reviewer")
def attachment_replace(record_id: int, attachment_id: int) -> Any:
    """Put another PDF in place of a full text: the new one is read, the old one removed."""
    record_or_404(record_id)
    if attachments.record_attachment(db(), this_review(), record_id, attachment_id) is None:
        abort(404)
    with _uploaded_pdf() as uploaded:
        if uploaded is None:
            return _record_page(record_id, 400, error="Choose the PDF to put in its place.")
        path, sent_as = uploaded
        session = db()
        try:
            attached = attachments.replace_attachment(
                session, settings(), this_review(), record_id, attachment_id, path, actor()
            )
        except NotFound:
            session.rollback()
            abort(404)
        except Invalid as exc:
            session.rollback()
            message = sentence(str(exc).replace(str(path), sent_as))
            return _record_page(record_id, 400, error=message)
        commit()
    a = attached.attachment
    if attached.created:
        flash(
            f"{a.filename} replaced the earlier file: {a.status}, {len(a.pages)} page(s) of text.",
            "info",
        )
    else:
        flash(f"{a.filename} is the file attached already: nothing changed.", "info")
    return _to_attachments(record_id)


@review.get("/records/<int:record_id>/attachments/<int:attachment_id>")
@requires("viewer")
def attachment_file(record_id: int, attachment_id: int) -> Any:
    """The PDF, inline, only to members; from the path the app generated, checked to be
    inside the attachment store."""
    attachment = attachments.record_attachment(db(), this_review(), record_id, attachment_id)
    if attachment is None or attachment.kind != "pdf" or not attachment.path:
        abort(404)
    root = settings().attachments_dir.resolve()
    path = settings().attachment_file(attachment.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        abort(404)
    name = secure_filename(attachment.filename or "") or f"record-{record_id}.pdf"
    if not name.lower().endswith(".pdf"):
        name += ".pdf"
    response = send_file(
        Path(path),
        mimetype="application/pdf",
        as_attachment=False,
        download_name=name,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@review.post("/records/<int:record_id>/not-retrievable")
@requires("reviewer")
def record_not_retrievable(record_id: int) -> Any:
    """Mark the record's report as not retrievable (``clear`` set: take the mark back)."""
    record_or_404(record_id)
    session = db()
    clearing = bool(request.form.get("clear"))
    try:
        if clearing:
            changed = retrieval.clear_not_retrievable(session, this_review(), record_id, actor())
        else:
            note = form_text("note", retrieval.MAX_NOTE + 1)
            changed = retrieval.mark_not_retrievable(
                session, this_review(), record_id, actor(), note
            )
    except Invalid as exc:
        session.rollback()
        flash(sentence(str(exc)), "error")
        return redirect(url_for("review.record", record_id=record_id) + "#attachments", code=303)
    commit()
    if clearing:
        said = "is no longer marked as not retrievable" if changed else "was not marked"
    else:
        said = "is marked as not retrievable" if changed else "was marked already"
    flash(f"The report of record {record_id} {said}.", "info")
    return redirect(url_for("review.record", record_id=record_id) + "#attachments", code=303)
