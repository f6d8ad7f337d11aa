"""The job queue of a team server: procrastinate on the PostgreSQL every app server shares.

An app server only *defers* (one row in procrastinate's table, and a NOTIFY); a worker
process (``litreview worker``, :func:`run_worker`) takes jobs from the queue and runs
:func:`litreview.jobs.work.run_job`. A queued job carries only the id of our ``job``
row: what to do is in the row's payload, how far it got in its progress.

A worker killed mid-job (kill -9, out of memory, a machine lost) stops sending its
heartbeat. Every worker looks for such jobs when it starts and then every
``stalled_after`` seconds (procrastinate's documented way: ``get_stalled_jobs`` and
``retry_job``): a job is put back in the queue, saying so in its progress, and run
again (a file import skips the files it had finished; the one it was reading was never
committed), up to ``max_attempts`` runs in all; then it is marked failed with a sentence
that says what happened and what was kept.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from litreview.config import Settings
from litreview.jobs import store

log = logging.getLogger(__name__)

TASK = "litreview.run_job"
MAX_ATTEMPTS = 3
GAVE_UP = (
    "The worker running this job stopped before it finished, in each of its {attempts} "
    "run(s) (killed, out of memory or its machine lost?), so it was given up. What it had "
    "finished was kept (each file is imported in one transaction); start it again for "
    "the rest."
)
RETRYING = "The worker running this job stopped before it finished; it is queued again."

# What the worker's task runs with (set by run_worker in the worker process).
_context: Any = None


def conninfo(database_url: str) -> str:
    """libpq's form of a SQLAlchemy PostgreSQL URL (``postgresql+psycopg://`` drops its
    driver)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("the job queue needs PostgreSQL (LITREVIEW_DATABASE_URL)")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def queue_app(database_url: str, pool_size: int = 4):
    """A procrastinate app on the database, with litreview's one task registered."""
    import procrastinate

    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=conninfo(database_url), min_size=1, max_size=pool_size
        )
    )
    app.task(name=TASK, retry=False)(_run)
    return app


def _run(job_id: str) -> None:
    from litreview.jobs.work import run_job

    run_job(_context, job_id)


class Deferrer:
    """Hands jobs to the queue from an app server (its pool opened on first use, so a
    forking server's workers each open their own)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._app = None
        self._lock = threading.Lock()

    def defer(self, job_id: str) -> int:
        with self._lock:
            if self._app is None:
                self._app = queue_app(self.database_url).open()
            app = self._app
        return app.configure_task(TASK).defer(job_id=job_id)

    def close(self) -> None:
        with self._lock:
            if self._app is not None:
                self._app.close()
                self._app = None


async def reap(
    app,
    factory: sessionmaker[Session],
    stalled_after: float,
    max_attempts: int,
    settings: Settings | None = None,
):
    """Put the jobs of dead workers back in the queue, or give them up (and delete what
    their uploads left, when ``settings`` are given); returns what was done, as (job id,
    "retried" or "failed")."""
    from procrastinate.jobs import Status

    done = []
    for queued in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        job_id = str(queued.task_kwargs.get("job_id", ""))
        attempts = await asyncio.to_thread(_attempts, factory, job_id)
        if attempts is not None and attempts < max_attempts:
            await app.job_manager.retry_job(queued)  # raises if another worker did first
            # Our row then, unless the retried job has started already (a new attempt).
            await asyncio.to_thread(_requeue, factory, job_id, attempts)
            done.append((job_id, "retried"))
        else:
            await app.job_manager.finish_job(queued, status=Status.FAILED, delete_job=False)
            if settings is not None:
                from litreview.jobs.work import discard_uploads

                await asyncio.to_thread(discard_uploads, settings, job_id)
            await asyncio.to_thread(
                _settle, factory, job_id, GAVE_UP.format(attempts=attempts or 0)
            )
            done.append((job_id, "failed"))
        log.warning("job %s: its worker stopped mid-job; %s", job_id, done[-1][1])
    return done


def _attempts(factory: sessionmaker[Session], job_id: str) -> int | None:
    """The runs the job has had; None if it is gone (its review deleted)."""
    from litreview.models import Job

    with factory() as session:
        job = session.get(Job, job_id)
        return job.attempts if job is not None else None


def _requeue(factory: sessionmaker[Session], job_id: str, attempts: int) -> None:
    with factory() as session:
        store.requeue(session, job_id, RETRYING, attempts=attempts)
        session.commit()


def _settle(factory: sessionmaker[Session], job_id: str, error: str) -> None:
    with factory() as session:
        store.fail(session, job_id, error)
        session.commit()


def run_worker(
    settings: Settings,
    *,
    concurrency: int = 1,
    stalled_after: float = 30.0,
    heartbeat: float = 10.0,
    max_attempts: int = MAX_ATTEMPTS,
) -> None:
    """Take jobs from the queue until SIGTERM or SIGINT (a job under way is finished
    first); look for the jobs of dead workers at start and every ``stalled_after`` s."""
    global _context
    from litreview.db import make_engine, make_session_factory
    from litreview.jobs.work import Context

    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine, search_outbox=settings.search_outbox)
    _context = Context(factory=factory, settings=settings)
    app = queue_app(settings.database_url, pool_size=concurrency + 3)

    async def reaper() -> None:
        while True:
            try:
                await reap(app, factory, stalled_after, max_attempts, settings)
            except Exception:  # noqa: BLE001 - try again at the next round
                log.exception("looking for stalled jobs failed")
            await asyncio.sleep(stalled_after)

    async def main() -> None:
        async with app.open_async():
            watching = asyncio.create_task(reaper())
            try:
                await app.run_worker_async(
                    name=store.worker_name(),
                    concurrency=concurrency,
                    update_heartbeat_interval=heartbeat,
                    stalled_worker_timeout=stalled_after,
                    # NOTIFY wakes the worker at once; polling is the fallback.
                    fetch_job_polling_interval=5.0,
                    delete_jobs="successful",
                )
            finally:
                watching.cancel()

    try:
        asyncio.run(main())
    finally:
        engine.dispose()
