"""Two runners behind one interface: ``enqueue`` a job, and it runs somewhere.

* :class:`InProcessRunner` (LITREVIEW_JOBS=inprocess, the default): a thread of the app
  server runs the job, as before; no other service. The job's state and progress are
  in the database all the same, so on PostgreSQL every app server shows them; a server
  stopped mid-job leaves the job to be shown as stopped: at once when its process was
  on the machine that shows it, else after ``store.STALE_AFTER``. A stopped file import
  can then be run again from its page (``store.reopen``, then :meth:`run`), with the
  files it kept.
* :class:`QueueRunner` (LITREVIEW_JOBS=queue, PostgreSQL only): the job goes to the
  queue in the database and a ``litreview worker`` runs it (see :mod:`.taskqueue`).
  One kind of job still runs in the app server that asked: a Zotero job given an API
  key in the form (the key stays in that process's memory, never in the database the
  queue lives in; a worker given LITREVIEW_ZOTERO_API_KEY runs the others).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from litreview.config import Settings
from litreview.jobs import store
from litreview.jobs.work import Context, run_job

log = logging.getLogger(__name__)

NOT_QUEUED = "the job could not be queued ({error}); nothing was done: try again"


class InProcessRunner:
    """Runs each job in a daemon thread of this process."""

    name = "inprocess"

    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session],
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.after_commit = after_commit
        self.threads: dict[str, threading.Thread] = {}

    def enqueue(
        self,
        kind: str,
        *,
        review_id: int | None,
        actor: str,
        payload: dict[str, Any] | None = None,
        progress: dict[str, Any] | None = None,
        job_id: str | None = None,
        secrets: dict[str, str] | None = None,
    ) -> str:
        """Record the job and start it; returns its id. ``secrets`` reach the run in
        memory only."""
        # A job with secrets is run by this process, a QueueRunner's too: nobody else has them.
        runner = "inprocess" if secrets else self.name
        job_id = _add(self.factory, kind, review_id, actor, runner, payload, progress, job_id)
        self._start(job_id, secrets)
        return job_id

    def run(self, job_id: str) -> None:
        """Run a job already recorded as queued: one queued again by ``store.reopen``,
        once that is committed. The run skips what an earlier attempt finished."""
        self._start(job_id, None)

    def _start(self, job_id: str, secrets: dict[str, str] | None) -> None:
        context = Context(self.factory, self.settings, self.after_commit, dict(secrets or {}))
        thread = threading.Thread(
            target=run_job, args=(context, job_id), name=f"job-{job_id[:8]}", daemon=True
        )
        self.threads[job_id] = thread
        thread.start()

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Wait for a job this process runs (tests, shutdown); nothing for others."""
        thread = self.threads.get(job_id)
        if thread is not None:
            thread.join(timeout)

    def wait_all(self, timeout: float | None = None) -> None:
        for job_id in list(self.threads):
            self.wait(job_id, timeout)

    def close(self) -> None:
        pass


class QueueRunner(InProcessRunner):
    """Hands jobs to the queue in PostgreSQL, for ``litreview worker`` to run."""

    name = "queue"

    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session],
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        from litreview.jobs.taskqueue import Deferrer

        super().__init__(settings, factory, after_commit)
        self.deferrer = Deferrer(settings.database_url)

    def _start(self, job_id: str, secrets: dict[str, str] | None) -> None:
        if secrets:  # kept in this process's memory: run here
            super()._start(job_id, secrets)
            return
        try:
            self.deferrer.defer(job_id)
        except Exception as exc:  # noqa: BLE001 - the job must not wait for nothing
            log.exception("job %s could not be queued", job_id)
            with self.factory() as session:
                store.fail(session, job_id, NOT_QUEUED.format(error=type(exc).__name__))
                session.commit()

    def close(self) -> None:
        self.deferrer.close()


def _add(
    factory: sessionmaker[Session],
    kind: str,
    review_id: int | None,
    actor: str,
    runner: str,
    payload: dict[str, Any] | None,
    progress: dict[str, Any] | None,
    job_id: str | None,
) -> str:
    with factory() as session:
        job = store.add_job(
            session,
            kind,
            review_id=review_id,
            actor=actor,
            runner=runner,
            payload=payload,
            progress=progress,
            job_id=job_id,
        )
        session.commit()
        return job.id


def make_runner(
    settings: Settings,
    factory: sessionmaker[Session],
    after_commit: Callable[[], None] | None = None,
) -> InProcessRunner:
    """The runner ``settings.jobs`` names (LITREVIEW_JOBS)."""
    if settings.jobs == "queue":
        return QueueRunner(settings, factory, after_commit)
    return InProcessRunner(settings, factory, after_commit)
