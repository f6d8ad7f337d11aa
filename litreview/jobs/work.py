"""What each kind of job does, the same whichever runner runs it.

* ``import.files``: bibliography files uploaded from the browser, saved under
  :func:`incoming_dir` (in the attachment store, which every app server and worker
  shares, never a data folder of one machine). Each file is one transaction, as
  ``litreview import`` does: a job stopped mid-way (the worker killed) keeps the files
  it finished and nothing of the one it was reading; run again (by the queue, or by
  "Run again" on its page: :func:`can_run_again`), it skips the finished ones, and a
  file whose import was committed just before the stop, with its progress not yet
  saying so, is read again and found "unchanged" (fingerprints). The saved files are
  deleted when the job ends.
* ``zotero.import`` / ``zotero.sync``: a Zotero library or collection, one transaction
  for it all (as ``litreview zotero import`` does). An API key is a secret: it is
  handed to the run in memory only (``secrets``), or read by the worker from its own
  LITREVIEW_ZOTERO_API_KEY; never written to the job.
* ``attach.pdfs``: PDFs uploaded for one record, their text extracted page by page,
  one transaction per file.

Not jobs: applying the search outbox and rebuilding an index (the index they write
belongs to one machine's data folder; see :mod:`litreview.jobs`), and ranking retrains.

Every run starts with :func:`litreview.jobs.store.start_attempt` and ends with
:func:`litreview.jobs.store.finish`; what it writes on the way is its progress.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from litreview.config import Settings
from litreview.errors import LitreviewError
from litreview.jobs import store
from litreview.models import Job, Review

log = logging.getLogger(__name__)

MAX_ERRORS_SHOWN = 200
WRITE_EVERY = 0.3  # seconds between progress writes while a file is being read
UNEXPECTED = "the job stopped on an unexpected error (it is logged)"


@dataclass
class Context:
    """What a run needs besides the job: the database, the settings, what to call after
    each commit (the search indexer's nudge), and secrets held in memory only."""

    factory: sessionmaker[Session]
    settings: Settings
    after_commit: Callable[[], None] | None = None
    secrets: dict[str, str] = field(default_factory=dict)


def incoming_dir(settings: Settings) -> Path:
    """Where uploads wait for their job: in the attachment store, shared by app servers
    and workers (``<attachments>/incoming/<job id>/``)."""
    return settings.attachments_dir / "incoming"


def new_upload_folder(settings: Settings) -> tuple[str, Path]:
    """A fresh job id and the private folder its uploads go into."""
    job_id = store.new_job_id()
    folder = incoming_dir(settings) / job_id
    folder.mkdir(parents=True, mode=0o700)
    return job_id, folder


def run_job(ctx: Context, job_id: str) -> None:
    """Run the job (one attempt); it always ends done or failed, unless the process dies."""
    job = store.start_attempt(ctx.factory, job_id)
    if job is None:
        return
    progress = dict(job.progress or {})
    try:
        KINDS[job.kind](ctx, job, progress)
    except Exception:  # noqa: BLE001 - a job always leaves a final state
        log.exception("job %s (%s) failed", job_id, job.kind)
        discard_uploads(ctx.settings, job_id)
        store.finish(ctx.factory, job_id, progress, error=UNEXPECTED)


def discard_uploads(settings: Settings, job_id: str) -> None:
    """Delete what the job's uploads left in the attachment store (it has ended)."""
    if store.JOB_ID.match(job_id):
        shutil.rmtree(incoming_dir(settings) / job_id, ignore_errors=True)


FINISHED = ("done", "unreadable", "failed")  # a file's states once an attempt is through it


def can_run_again(settings: Settings, job: Job) -> bool:
    """Whether a file import can be run again: it is shown as stopped or failed
    (:func:`litreview.jobs.store.as_status`) and every file it has not finished is still
    kept. A stopped job keeps its uploads (only its process could delete them); a job
    that ended deletes them, so one that failed on an unexpected error, or in the queue
    after its last attempt, cannot be run again: the files must be uploaded again."""
    if job.kind != "import.files" or store.as_status(job)["state"] != "failed":
        return False
    folder = incoming_dir(settings) / job.id
    entries = (job.progress or {}).get("files", [])
    uploads = job.payload.get("uploads", [])
    return len(entries) == len(uploads) and all(
        (folder / upload["path"]).is_file()
        for upload, entry in zip(uploads, entries, strict=True)
        if entry["state"] not in FINISHED
    )


def _stop_noting(job: Job, progress: dict[str, Any]) -> None:
    if job.attempts > 1:
        progress["note"] = (
            f"Attempt {job.attempts}: the worker running this job stopped before it "
            "finished; it was started again."
        )


# ------------------------------------------------------------------ files


def files_progress(uploads: list[dict[str, Any]], source: str | None) -> dict[str, Any]:
    """The first progress of a file import: each file waiting."""
    return {
        "source": source,
        "bytes_total": sum(u["size"] for u in uploads),
        "bytes_done": 0,
        "files": [
            {
                "name": u["name"],
                "size": u["size"],
                "source": u.get("source") or source,
                "state": "waiting",
                "report": None,
                "error": None,
            }
            for u in uploads
        ],
    }


def _import_files(ctx: Context, job: Job, progress: dict[str, Any]) -> None:
    from litreview.ingest.record_data import UnreadableFile
    from litreview.library import imports

    _stop_noting(job, progress)
    uploads = job.payload["uploads"]
    folder = incoming_dir(ctx.settings) / job.id
    done_before = 0
    with ctx.factory() as session:
        review = session.get(Review, job.review_id)
        if review is None:
            store.finish(ctx.factory, job.id, progress, error="the review was deleted")
            return
        for upload, entry in zip(uploads, progress["files"], strict=True):
            if entry["state"] in FINISHED:
                done_before += upload["size"]  # finished by an earlier attempt
                continue
            entry["state"] = "importing"
            progress["bytes_done"] = done_before
            store.report_progress(ctx.factory, job.id, progress)
            path = folder / upload["path"]
            last_write = 0.0

            def report(position: int, before: int = done_before, size: int = upload["size"]):
                nonlocal last_write
                progress["bytes_done"] = before + min(position, size)
                now = time.monotonic()
                if now - last_write >= WRITE_EVERY:
                    last_write = now
                    store.report_progress(ctx.factory, job.id, progress, durable=False)

            try:
                result = imports.import_file(
                    session,
                    review,
                    path,
                    actor=job.actor,
                    source_label=upload.get("source") or progress.get("source"),
                    progress=report,
                )
            except UnreadableFile as exc:
                session.rollback()
                entry["state"] = "unreadable"
                entry["error"] = _as_uploaded(str(exc), path, upload["name"])
            except Exception:
                session.rollback()
                log.exception("import of %s failed", upload["name"])
                entry["state"] = "failed"
                entry["error"] = (
                    "the import of this file stopped on an unexpected error (it is logged)"
                )
            else:
                session.commit()
                if ctx.after_commit is not None:
                    ctx.after_commit()
                data = result.to_json()
                data["file"] = upload["name"]
                cap_lists(data)
                entry["state"] = "done"
                entry["report"] = data
            done_before += upload["size"]
            progress["bytes_done"] = done_before
            store.report_progress(ctx.factory, job.id, progress)
    shutil.rmtree(folder, ignore_errors=True)  # first: once done, nothing is left over
    store.finish(ctx.factory, job.id, progress)


# ------------------------------------------------------------------ Zotero


def zotero_progress(label: str, action: str) -> dict[str, Any]:
    return {"source": label, "action": action, "stage": None, "done": 0, "total": None}


def _zotero(ctx: Context, job: Job, progress: dict[str, Any]) -> None:
    from litreview.zotero import sync as zotero_sync
    from litreview.zotero.client import ZoteroClient, api_url
    from litreview.zotero.target import Target

    _stop_noting(job, progress)
    target = Target(**job.payload["target"])
    api_key = ctx.secrets.get("zotero_api_key") or os.environ.get("LITREVIEW_ZOTERO_API_KEY")
    last_write = 0.0

    def report(stage: str, done: int, total: int | None) -> None:
        nonlocal last_write
        progress.update(stage=stage, done=done, total=total)
        now = time.monotonic()
        if now - last_write >= WRITE_EVERY:
            last_write = now
            store.report_progress(ctx.factory, job.id, progress, durable=False)

    with ctx.factory() as session:
        review = session.get(Review, job.review_id)
        if review is None:
            store.finish(ctx.factory, job.id, progress, error="the review was deleted")
            return
        run = zotero_sync.sync_library if job.kind == "zotero.sync" else zotero_sync.import_library
        try:
            with ZoteroClient(target, api_key or None, base_url=api_url(target.local)) as client:
                result = run(
                    session,
                    review,
                    client,
                    actor=job.actor,
                    settings=ctx.settings,
                    files=bool(job.payload.get("files", True)),
                    progress=report,
                )
        except LitreviewError as exc:
            session.rollback()
            store.finish(
                ctx.factory, job.id, progress, error=f"{exc} (the review was left as it was)"
            )
            return
        session.commit()
    if ctx.after_commit is not None:
        ctx.after_commit()
    data = result.to_json()
    cap_lists(data)
    store.finish(ctx.factory, job.id, progress, report=data)


# ------------------------------------------------------------------ PDFs


def _attach_pdfs(ctx: Context, job: Job, progress: dict[str, Any]) -> None:
    from litreview.errors import Invalid, NotFound
    from litreview.evidence import attachments

    _stop_noting(job, progress)
    folder = incoming_dir(ctx.settings) / job.id
    with ctx.factory() as session:
        review = session.get(Review, job.review_id)
        if review is None:
            store.finish(ctx.factory, job.id, progress, error="the review was deleted")
            return
        for upload, entry in zip(job.payload["uploads"], progress["files"], strict=True):
            if entry["state"] != "waiting" and entry["state"] != "importing":
                continue
            entry["state"] = "importing"
            store.report_progress(ctx.factory, job.id, progress)
            path = folder / upload["path"]
            try:
                attached = attachments.attach_pdf(
                    session, ctx.settings, review, job.payload["record_id"], path, job.actor
                )
            except (Invalid, NotFound) as exc:
                session.rollback()
                entry["state"] = "unreadable"
                entry["error"] = _as_uploaded(str(exc), path, upload["name"])
            else:
                session.commit()
                if ctx.after_commit is not None:
                    ctx.after_commit()
                entry["state"] = "done"
                # With the pages that have text: what the record page says of it.
                entry["report"] = {
                    **attached.to_json(),
                    "text_pages": len(attached.attachment.pages),
                }
            store.report_progress(ctx.factory, job.id, progress)
    shutil.rmtree(folder, ignore_errors=True)  # first: once done, nothing is left over
    store.finish(ctx.factory, job.id, progress)


KINDS: dict[str, Callable[[Context, Job, dict[str, Any]], None]] = {
    "import.files": _import_files,
    "zotero.import": _zotero,
    "zotero.sync": _zotero,
    "attach.pdfs": _attach_pdfs,
}


def _as_uploaded(message: str, path: Path, name: str) -> str:
    """A message that names the saved file (its path, or its made-safe name), naming it as
    the person knows it instead."""
    if str(path) in message:
        return message.replace(str(path), name)
    return message.replace(path.name, name, 1)


def cap_lists(report: dict[str, Any]) -> None:
    """Entry errors and warnings: their counts, and the first ``MAX_ERRORS_SHOWN`` of each."""
    for name, count in (("errors", "error_count"), ("warnings", "warning_count")):
        report[count] = len(report.get(name, []))
        report[name] = report.get(name, [])[:MAX_ERRORS_SHOWN]
