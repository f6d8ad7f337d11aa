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

The queue: procrastinate, not rq. Measured side by side on this (shared, busy) 2-core
machine (``bench/bench_jobs.py``; figures in bench/RESULTS.md, "Job queue"):
enqueueing costs procrastinate 4-8 ms of wall time (a transaction and a NOTIFY; 0.5 ms
of CPU) against rq's 0.4 ms, but a job starts sooner (median 15-20 ms against 50-65 ms)
and trivial jobs go through faster (55-90 per second against 13-17 with rq's default
forking worker); for jobs that take seconds to minutes none of this matters. What
decides is what a team server must be: app servers that share nothing but PostgreSQL.
procrastinate keeps the queue in that PostgreSQL (no Redis to run, secure, back up and
watch), a job is a row beside the data it works on, and a worker killed with kill -9 is
found by its stale heartbeat within ``stalled_after`` seconds (5 s in the benchmark) and
its job put back in the queue (``get_stalled_jobs``/``retry_job``, procrastinate's
documented way). With rq's defaults the killed job stayed "started" for 90 s, then went
to the failed registry as abandoned, to be run again only with a retry policy; and a
kill -9 of ``rq worker`` alone left its forked work horse running the job. procrastinate
is pinned with a lower bound in pyproject.toml; its schema is created by migration 0008
(PostgreSQL only).

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
