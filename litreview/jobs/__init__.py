"""Background jobs: imports from the browser, Zotero imports and syncs, PDF text extraction.

The ``job`` table (:class:`litreview.models.Job`) is the one record of every job's
kind, review, actor, state (queued, running, done, failed), progress, report or error,
timestamps and attempts, whoever runs it; pages, the polling endpoint and
``litreview jobs`` read it (:func:`job_status`, :func:`list_jobs`), so any app server
shows any job and its progress. The three functions the rest of litreview uses:

* ``runner.enqueue(kind, ...)`` (:mod:`.runners`): record a job and have it run;
* :func:`report_progress`: a run says how far it got;
* :func:`job_status`: what a page shows of a job.

Who runs a job is a setting, LITREVIEW_JOBS (:mod:`.runners`):

* ``inprocess`` (the default, SQLite or PostgreSQL): a thread of the app server, as
  litreview always did; no other service. A reviewer running litreview on a laptop, or
  one app server on PostgreSQL, gets what they had, and nothing waits for a worker
  nobody started.
* ``queue`` (PostgreSQL only; the README's team set-up): a ``litreview worker``
  process takes jobs from a queue kept in the same PostgreSQL, so a restart of an app
  server loses nothing and a worker killed mid-job has its job retried or failed with a
  clear message (:mod:`.taskqueue`).

The queue: procrastinate, not rq. Measured side by side on this machine
(``bench/bench_jobs.py``, figures in bench/RESULTS.md): enqueueing costs procrastinate
a few ms (a transaction and a NOTIFY; rq under 1 ms), but a job starts sooner (about
15 ms against 50) and trivial jobs go through faster (about 90/s against 17/s with
rq's default forking worker); for jobs that take seconds to minutes neither matters.
What decides is what the issue asks of a team server: app servers share nothing but
PostgreSQL. procrastinate keeps the queue in that PostgreSQL (no Redis to run, secure,
back up and monitor), a job is a row beside the data it works on, and a worker killed
with kill -9 is found by its stale heartbeat within ``stalled_after`` seconds and its
job put back (``get_stalled_jobs``/``retry_job``). With rq the killed job stayed
"started" until its ``job_timeout`` ran out (600 s here, and an import needs a long one),
then went to the failed registry; a kill -9 of ``rq worker`` alone even left its forked
work horse running the job. procrastinate is pinned with a lower bound in
pyproject.toml; its schema is created by migration 0008 (PostgreSQL only).

Ranking retrains (:mod:`litreview.screening.retraining`) stay in a thread of each app
server: a retrain is asked for after every decision and does nothing unless one is
due, the ranking it trains is stored in the database (so every app server serves the
same one), and one lost with a restart is simply trained at the next decision: a
queued job per decision would flood the queue for no gain. Applying the search outbox
stays in-process too (:mod:`litreview.web.indexer`): a tantivy or Whoosh index lives in
one machine's data folder, and on a team server PostgreSQL's search reads the rows
themselves, with nothing to catch up.
"""

from litreview.jobs.store import (
    JOB_ID,
    add_job,
    finish,
    job_status,
    list_jobs,
    report_progress,
)

__all__ = ["JOB_ID", "add_job", "finish", "job_status", "list_jobs", "report_progress"]
