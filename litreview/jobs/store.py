"""The job table's rules: a job's state, its progress, and what a page shows of it.

Every app server and every worker reads and writes a job here, so each shows the same
job and the same progress. Writes of progress run in a short transaction of their own,
never in the transaction of the work they describe (an import's records commit, or
roll back, on their own).
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import threading
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from litreview.errors import NotFound
from litreview.models import Job, Review, utcnow

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
# A job run by an app server's thread whose progress has not changed for this long is
# taken as stopped (the server was stopped or restarted mid-job): generous, as the last
# flush and commit of a very large file write nothing for a while. One run by a process
# of this machine that is gone is taken as stopped at once (see _worker_gone). Jobs in the queue
# are watched by the worker instead (a dead worker's jobs are retried, then failed).
STALE_AFTER = timedelta(seconds=600)
STOPPED = (
    "This job stopped without finishing: the server running it was stopped or restarted. "
    "What it had finished was kept (each file is imported in one transaction); "
    "start it again for the rest."
)
# The progress of jobs running in this process, when the database cannot take a write
# while the work itself holds SQLite's one write lock (see report_progress).
_live: dict[str, dict[str, Any]] = {}
_live_lock = threading.Lock()


def new_job_id() -> str:
    return secrets.token_hex(16)


def worker_name() -> str:
    """Who runs a job: host and process id (shown on the job list)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def add_job(
    session: Session,
    kind: str,
    *,
    review_id: int | None,
    actor: str,
    runner: str,
    payload: dict[str, Any] | None = None,
    progress: dict[str, Any] | None = None,
    job_id: str | None = None,
) -> Job:
    """A new queued job (flushed, not committed). ``payload`` must hold no secret."""
    job = Job(
        id=job_id or new_job_id(),
        kind=kind,
        review_id=review_id,
        actor=actor,
        runner=runner,
        state="queued",
        payload=payload or {},
        progress=progress or {},
        attempts=0,
    )
    session.add(job)
    session.flush()
    return job


def _update(factory: sessionmaker[Session], job_id: str, **values: Any) -> None:
    with factory() as session:
        session.execute(
            sa.update(Job).where(Job.id == job_id).values(updated_at=utcnow(), **values)
        )
        session.commit()


def start_attempt(factory: sessionmaker[Session], job_id: str) -> Job | None:
    """Mark the job running (one more attempt, by this process); None if it is unknown or
    has ended already (a job retried after it was settled runs no more)."""
    with factory() as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or job.state in ("done", "failed"):
            session.rollback()
            return None
        job.state = "running"
        job.attempts += 1
        job.worker = worker_name()
        job.started_at = job.started_at or utcnow()
        job.updated_at = utcnow()
        session.commit()
        session.expunge(job)
        return job


def report_progress(
    factory: sessionmaker[Session], job_id: str, progress: dict[str, Any], *, durable: bool = True
) -> None:
    """Record how far the job got (the whole progress document, replaced).

    ``durable`` False: the work holds a write transaction open; on SQLite (one writer at
    a time) the progress is kept in this process's memory until the next durable report,
    as waiting for the write lock would stall the job; other databases write it at once.
    """
    snapshot = _copy(progress)
    if not durable and _dialect(factory) == "sqlite":
        with _live_lock:
            _live[job_id] = snapshot
        return
    _update(factory, job_id, progress=snapshot)
    with _live_lock:
        _live.pop(job_id, None)


def finish(
    factory: sessionmaker[Session],
    job_id: str,
    progress: dict[str, Any],
    *,
    report: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """End the job: done (with its report), or failed with ``error``, a sentence a person
    can act on."""
    _update(
        factory,
        job_id,
        state="failed" if error else "done",
        progress=_copy(progress),
        report=report,
        error=error,
        finished_at=utcnow(),
    )
    with _live_lock:
        _live.pop(job_id, None)


def requeue(session: Session, job_id: str, note: str, *, attempts: int) -> None:
    """Show a job whose runner died as queued again, saying why (flush only); nothing if
    it has started another attempt than ``attempts`` since, or ended."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is not None and job.state == "running" and job.attempts == attempts:
        job.state = "queued"
        job.progress = {**job.progress, "note": note}
        job.updated_at = utcnow()
        session.flush()


def fail(session: Session, job_id: str, error: str) -> None:
    """Mark a job failed with ``error`` (flush only)."""
    job = session.get(Job, job_id)
    if job is not None and job.state not in ("done", "failed"):
        job.state = "failed"
        job.error = error
        job.finished_at = job.updated_at = utcnow()
        session.flush()


def reopen(session: Session, job_id: str, *, runner: str) -> bool:
    """Queue again a job that is shown as stopped or failed (:func:`as_status`), to be run
    by ``runner`` (flush only); whether this call did it.

    The row is changed only if it is still as it was read (state, attempts, last
    change), in one UPDATE: of two people asking at once, or one asking twice, exactly
    one gets True and one run; the other sees the job under way.
    """
    job = session.get(Job, job_id) if JOB_ID.match(job_id) else None
    if job is None:
        return False
    session.refresh(job)
    if as_status(job)["state"] != "failed":
        return False
    changed = session.execute(
        sa.update(Job)
        .where(
            Job.id == job.id,
            Job.state == job.state,
            Job.attempts == job.attempts,
            Job.updated_at == job.updated_at,
        )
        .values(
            state="queued",
            runner=runner,
            error=None,
            finished_at=None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    session.expire(job)
    return changed.rowcount == 1


def _dialect(factory: sessionmaker[Session]) -> str:
    with factory() as session:
        return session.get_bind().dialect.name


def _copy(progress: dict[str, Any]) -> dict[str, Any]:
    import copy

    return copy.deepcopy(progress)


def _stale(job: Job, now: datetime) -> bool:
    """Whether an in-process job that is not over has stopped: its progress has not
    changed for ``STALE_AFTER``, or it is running in a process of this machine that is
    gone (:func:`_worker_gone`)."""
    if job.runner != "inprocess" or job.state not in ("queued", "running"):
        return False
    updated = job.updated_at
    if updated.tzinfo is None:  # SQLite gives naive UTC datetimes back
        updated = updated.replace(tzinfo=now.tzinfo)
    return now - updated > STALE_AFTER or (job.state == "running" and _worker_gone(job.worker))


def _worker_gone(worker: str | None) -> bool:
    """Whether ``worker`` (host:pid, see :func:`worker_name`) names a process of this
    machine that no longer runs: then its job has stopped, and is shown so at once.

    Only a process of this host name can be asked (``os.kill(pid, 0)``); a job run by
    another machine keeps the ``STALE_AFTER`` rule. What it cannot tell: a pid is
    reused, so one the system has given to another process since looks alive, and that
    job is shown as stopped only after ``STALE_AFTER``, as before; a process of another
    user (PermissionError) also counts as alive. Both err on the side of "running". One
    set-up errs the other way: app servers in containers that share a host name but not
    their process ids (host networking) would show each other's running jobs as
    stopped; run those with LITREVIEW_JOBS=queue.
    """
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) <= 0:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: it runs, as another user
        return False
    return False


def as_status(job: Job) -> dict[str, Any]:
    """What a page or a command shows of a job: its progress document with its state,
    report and error (a stale in-process job shows as failed, saying why)."""
    progress = job.progress or {}
    with _live_lock:
        progress = _live.get(job.id, progress)
    state, error = job.state, job.error
    if job.id not in _live and _stale(job, utcnow()):  # in _live: running here, now
        state, error = "failed", STOPPED
    return {
        **progress,
        "id": job.id,
        "kind": job.kind,
        "review_id": job.review_id,
        "actor": job.actor,
        "runner": job.runner,
        "state": state,
        "report": job.report if job.report is not None else progress.get("report"),
        "error": error,
        "attempts": job.attempts,
        "worker": job.worker,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
    }


def job_status(session: Session, job_id: str, review: Review | None = None) -> dict[str, Any]:
    """The job's status; NotFound for an unknown or malformed id, or one of another review
    than ``review`` (when given)."""
    job = session.get(Job, job_id) if JOB_ID.match(job_id) else None
    if job is None or (review is not None and job.review_id != review.id):
        raise NotFound(f"no job {job_id}")
    session.refresh(job)  # another process may have written it since this session read it
    return as_status(job)


def list_jobs(
    session: Session, review: Review | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest jobs first (of one review, or of all)."""
    query = sa.select(Job).order_by(Job.created_at.desc(), Job.id).limit(limit)
    if review is not None:
        query = query.where(Job.review_id == review.id)
    return [as_status(job) for job in session.scalars(query)]


def record_pdf_jobs(
    session: Session, review: Review, record_id: int, within: timedelta = timedelta(days=1)
) -> list[dict[str, Any]]:
    """PDFs uploaded for a record in the last ``within`` that are not attached (yet): on
    their way, or refused by a worker, with why; newest first. (A PDF read in the app
    server is refused on the page that uploaded it.)"""
    since = utcnow() - within
    query = (
        sa.select(Job)
        .where(Job.review_id == review.id, Job.kind == "attach.pdfs", Job.created_at >= since)
        .order_by(Job.created_at.desc())
        .limit(200)
    )
    found = []
    for job in session.scalars(query):
        status = as_status(job)
        if status.get("record_id") != record_id:
            continue
        if status["state"] in ("done", "failed") and job.runner != "queue":
            continue
        files = [f for f in status.get("files", []) if f["state"] != "done"]
        if files:
            found.append({**status, "files": files})
    return found
