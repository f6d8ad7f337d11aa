"""Importing bibliography files from the browser: upload, then watch the import's progress.

Uploads are saved under a generated folder of the attachment store
(``<attachments>/incoming/<job id>/<n>/``, see :func:`litreview.jobs.work.incoming_dir`,
so a worker on another machine reads them) with the file's name made safe, never a path
the user chose, and never served back. The import is a job (:mod:`litreview.jobs`): its
page and the polling endpoint read its state from the database, so any app server
answers. An import stopped mid-way (its server was stopped or restarted) can be run
again from its page by whoever started it or a lead, with the files it kept. The format
is detected from the content by the import pipeline; the size limit is the app's
MAX_CONTENT_LENGTH (a larger upload gets a 413 page saying so).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from flask import (
    Flask,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.utils import secure_filename

from litreview import audit
from litreview.errors import NotFound
from litreview.jobs import job_status, store
from litreview.jobs.runners import InProcessRunner, make_runner
from litreview.jobs.work import can_run_again, files_progress, new_upload_folder, zotero_progress
from litreview.library.imports import READERS
from litreview.library.listing import import_batches
from litreview.models import Job
from litreview.web import db
from litreview.web.access import at_least, requires
from litreview.web.blueprints import review
from litreview.web.helpers import actor, commit, form_text, jobs, role, settings
from litreview.web.helpers import review as this_review

MAX_FILES = 20


def make_jobs(app: Flask) -> InProcessRunner:
    """The app's job runner (LITREVIEW_JOBS); after each commit of a job run here the
    search indexer is nudged."""
    config = app.config["LITREVIEW_SETTINGS"]
    indexer = app.extensions["litreview.indexer"]
    return make_runner(config, app.extensions["litreview.sessions"], indexer.nudge)


def _zotero_link() -> Any:
    """The review's Zotero link, or None."""
    from litreview.zotero import sync as zotero_sync

    try:
        return zotero_sync.get_link(db(), this_review())
    except NotFound:
        return None


# Offered as each file's source, with the labels this review's imports already used.
COMMON_SOURCES = (
    "Scopus",
    "Web of Science",
    "PubMed",
    "MEDLINE (Ovid)",
    "Embase",
    "PsycINFO",
    "CINAHL",
    "ASSIA",
    "Social Care Online",
    "ERIC",
    "IBSS",
    "Google Scholar",
    "Hand search",
    "Citation search",
)


def _form(status: int = 200, **context: object) -> tuple[str, int]:
    context.setdefault("source", "")
    context.setdefault("zotero", {"library_type": "group", "files": "1"})
    used = [b.source_label for b in import_batches(db(), this_review()) if b.source_label]
    known = list(dict.fromkeys([*used, *COMMON_SOURCES]))
    return (
        render_template(
            "import.html",
            formats=sorted(READERS),
            link=_zotero_link(),
            known_sources=known,
            **context,
        ),
        status,
    )


@review.get("/import")
@requires("reviewer")
def import_form() -> tuple[str, int]:
    return _form()


@review.post("/import")
@requires("reviewer")
def import_start() -> object:
    source = form_text("source", 500)
    chosen = request.files.getlist("files")
    # One source per file (the page's script adds a box per chosen file, in order);
    # a file whose box is empty, or a browser without the script, gets the common one.
    per_file = [" ".join(v.split())[:500] for v in request.form.getlist("file_source")]
    if len(per_file) != len(chosen):
        per_file = [""] * len(chosen)
    files = [(f, s or source) for f, s in zip(chosen, per_file, strict=True) if f and f.filename]
    if not files:
        return _form(400, source=source, error="Choose one or more files to import.")
    if len(files) > MAX_FILES:
        return _form(400, source=source, error=f"Import at most {MAX_FILES} files at once.")
    job_id, folder = new_upload_folder(current_app.config["LITREVIEW_SETTINGS"])
    uploads = []
    for n, (storage, label) in enumerate(files, start=1):
        name = secure_filename(storage.filename or "") or f"upload-{n}"
        target = folder / str(n) / name
        target.parent.mkdir()
        storage.save(target)
        uploads.append(
            {
                "path": f"{n}/{name}",
                "name": storage.filename or name,
                "size": target.stat().st_size,
                "source": label or None,
            }
        )
    jobs().enqueue(
        "import.files",
        review_id=this_review().id,
        actor=actor(),
        payload={"uploads": uploads},
        progress=files_progress(uploads, source or None),
        job_id=job_id,
    )
    return redirect(url_for("review.import_job", job_id=job_id), code=303)


_COLLECTION = re.compile(r"^[A-Z0-9]{8}$")


@review.post("/import/zotero")
@requires("reviewer")
def import_zotero() -> object:
    """Import (or sync) the review's Zotero library in the background.

    The API key is used for this one job and never stored, shown or logged.
    """
    from litreview.zotero.client import Target
    from litreview.zotero.sync import target_of

    form = {
        "action": form_text("action", 16) or "import",
        "library_type": form_text("library_type", 16),
        "library_id": form_text("library_id", 32),
        "collection": form_text("collection", 16).upper(),
        "files": form_text("files", 4),
    }
    api_key = (request.form.get("api_key") or "").strip() or None
    link = _zotero_link()
    if form["action"] == "sync":
        if link is None:
            return _form(400, zotero=form, error="This review has no Zotero library to sync yet.")
        target = target_of(link)
    else:
        problem = None
        if form["library_type"] not in ("user", "group"):
            problem = "Choose a user or a group library."
        elif not form["library_id"].isdigit():
            problem = "The library ID is a number (Zotero shows it in the library's URL)."
        elif form["collection"] and not _COLLECTION.match(form["collection"]):
            problem = "A collection key is eight letters and digits, such as ABCD2345."
        if problem:
            return _form(400, zotero=form, error=problem)
        target = Target(form["library_type"], form["library_id"], form["collection"] or None)
    job_id = jobs().enqueue(
        "zotero.sync" if form["action"] == "sync" else "zotero.import",
        review_id=this_review().id,
        actor=actor(),
        payload={"target": asdict(target), "files": bool(form["files"])},
        progress=zotero_progress(target.label, form["action"]),
        # The key reaches the run in memory only: never the job's row, nor the queue.
        secrets={"zotero_api_key": api_key} if api_key else None,
    )
    return redirect(url_for("review.import_job", job_id=job_id), code=303)


def _status_or_404(job_id: str) -> dict:
    try:
        return job_status(db(), job_id, this_review())
    except NotFound:
        abort(404)


def _may_run_again(status: dict) -> bool:
    """Whoever started the import, or a lead of the review, may run it again."""
    return status["actor"] == actor() or at_least(role(), "lead")


@review.get("/import/jobs/<job_id>")
@requires("reviewer")
def import_job(job_id: str) -> str:
    status = _status_or_404(job_id)
    again = _may_run_again(status) and can_run_again(settings(), db().get(Job, job_id))
    return render_template("import_job.html", job=status, run_again=again)


@review.post("/import/jobs/<job_id>/run-again")
@requires("reviewer")
def import_run_again(job_id: str) -> object:
    """Run a stopped or failed import again, with the files it kept; the files it had
    finished are skipped. Of two clicks at once, one runs it; both land on its page."""
    status = _status_or_404(job_id)
    if not _may_run_again(status):
        abort(403)
    session = db()
    job = session.get(Job, job_id)
    if can_run_again(settings(), job) and store.reopen(session, job_id, runner=jobs().name):
        audit.log(
            session,
            actor(),
            "import.run_again",
            review_id=this_review().id,
            target_type="job",
            job=job_id,
            files=[f["name"] for f in status.get("files", [])],
            attempts=status["attempts"],
        )
        commit()
        jobs().run(job_id)
    else:
        session.rollback()
    return redirect(url_for("review.import_job", job_id=job_id), code=303)


@review.get("/import/jobs/<job_id>/status.json")
@requires("reviewer", json=True)
def import_status(job_id: str) -> object:
    status = _status_or_404(job_id)
    if "bytes_total" in status:  # files: bytes read
        done, total = status["bytes_done"], status["bytes_total"]
    else:
        done, total = status.get("done"), status.get("total")
    return jsonify(
        state=status["state"],
        stage=status.get("stage"),
        done=done,
        total=total,
        files=[{"name": f["name"], "state": f["state"]} for f in status.get("files", [])],
        error=status["error"],
        attempts=status["attempts"],
    )
