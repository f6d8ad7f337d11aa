"""Choosing litreview's job queue: procrastinate (PostgreSQL) against rq (Redis), side by side.

    /work/main/.venv/bin/python bench/bench_jobs.py                 # both, defaults (~2 min)
    /work/main/.venv/bin/python bench/bench_jobs.py --jobs 300 --repeat 3

Needs PostgreSQL (LITREVIEW_BENCH_POSTGRES_URL, default the test server's `test` database;
a database of its own is made and dropped) and Redis (LITREVIEW_BENCH_REDIS_URL, default
redis://127.0.0.1:6379/15, a database flushed first), and both libraries installed
(procrastinate is a litreview dependency; `pip install rq` for the comparison).

Measured, for each queue, with one worker process of the queue's own kind (procrastinate's
worker with concurrency 1; rq's default forking worker, as `rq worker` runs it):

1. enqueue latency: one job enqueued from a fresh client, N times; median wall and CPU
   time of the call;
2. pick-up: time from the enqueue call to the job's first line running in the worker
   (the job writes its start time to a file), median over N jobs enqueued one at a time
   with the worker idle;
3. throughput: N trivial jobs enqueued at once to an idle worker; jobs per second from
   the first enqueue to the last job's end;
4. kill -9: a job that sleeps is started, the worker is killed with SIGKILL mid-job; what
   the queue says of the job then, and what a new worker does with it (procrastinate: the
   job stays "doing"; after the dead worker's heartbeat is older than the stall timeout,
   `get_stalled_jobs` lists it and `retry_job` queues it again; rq: the job stays
   "started" until its worker's heartbeat key expires, then a worker's registry
   clean-up moves it to the failed registry as abandoned).

Report (Markdown) on stdout; progress on stderr. Every number is a median of `--repeat`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PG_ADMIN = os.environ.get(
    "LITREVIEW_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LITREVIEW_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
STAMPS = Path(os.environ.get("BENCH_JOBS_STAMPS", "/tmp/bench-jobs-stamps"))


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# ------------------------------------------------------------------ the jobs (both queues)


def stamp(enqueued_at: float, sleep: float = 0.0) -> None:
    """The job: writes when it started (and how long after its enqueue), then sleeps."""
    started = time.time()
    with open(STAMPS, "a", encoding="ascii") as f:
        f.write(f"start {enqueued_at!r} {started!r}\n")
    if sleep:
        time.sleep(sleep)
    with open(STAMPS, "a", encoding="ascii") as f:
        f.write(f"end {enqueued_at!r} {time.time()!r}\n")


def procrastinate_app(conninfo: str):
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))
    app.task(name="stamp", retry=False)(stamp)
    return app


def lines(kind: str) -> list[tuple[float, float]]:
    if not STAMPS.exists():
        return []
    out = []
    for line in STAMPS.read_text(encoding="ascii").splitlines():
        k, a, b = line.split()
        if k == kind:
            out.append((float(a), float(b)))
    return out


def wait_for(predicate, timeout: float, what: str) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.01)
    return time.monotonic() - start


# ------------------------------------------------------------------ queue adapters


class Procrastinate:
    name = "procrastinate 3 (PostgreSQL)"

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.app = procrastinate_app(conninfo)
        self.app.open()
        self.app.schema_manager.apply_schema()

    def worker(self) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, __file__, "--worker", "procrastinate", "--conninfo", self.conninfo],
            env={**os.environ, "BENCH_JOBS_STAMPS": str(STAMPS)},
            start_new_session=True,
        )

    def enqueue(self, sleep: float = 0.0) -> object:
        return self.app.tasks["stamp"].defer(enqueued_at=time.time(), sleep=sleep)

    def status(self, job: object) -> str:
        return self.app.job_manager.get_job_status(job).value

    def recover(self, job: object, stalled_after: float) -> str:
        app = procrastinate_app(self.conninfo)  # its own: async, opened for this

        async def go() -> str:
            async with app.open_async():
                stalled = await app.job_manager.get_stalled_jobs(
                    seconds_since_heartbeat=stalled_after
                )
                for j in stalled:
                    await app.job_manager.retry_job(j)
                return ",".join(str(j.id) for j in stalled)

        return asyncio.run(go())

    def close(self) -> None:
        self.app.close()


class Rq:
    name = "rq 3 (Redis)"

    def __init__(self) -> None:
        import redis
        from rq import Queue

        self.redis = redis.Redis.from_url(REDIS_URL)
        self.redis.flushdb()
        self.queue = Queue("bench", connection=self.redis)

    def worker(self) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rq.cli",
                "worker",
                "bench",
                "--url",
                REDIS_URL,
                "--quiet",
                "--path",
                str(HERE),
            ],
            env={**os.environ, "BENCH_JOBS_STAMPS": str(STAMPS)},
            start_new_session=True,
        )

    def enqueue(self, sleep: float = 0.0) -> object:
        return self.queue.enqueue("bench_jobs.stamp", time.time(), sleep, job_timeout=600)

    def status(self, job: object) -> str:
        job.refresh()
        return str(job.get_status().value)

    def recover(self, job: object, stalled_after: float) -> str:
        # What a new worker does at start: clean the registries (abandoned jobs of dead
        # workers go to the failed registry).
        from rq.registry import FailedJobRegistry, StartedJobRegistry

        StartedJobRegistry(queue=self.queue).cleanup()
        failed = FailedJobRegistry(queue=self.queue)
        return ",".join(failed.get_job_ids())

    def close(self) -> None:
        self.redis.flushdb()


# ------------------------------------------------------------------ measurements


def measure(queue, n: int) -> dict[str, float]:
    STAMPS.unlink(missing_ok=True)
    # 1. enqueue latency, worker off (nothing competes for the database).
    walls, cpus = [], []
    for _ in range(n):
        w, c = time.perf_counter(), cpu()
        queue.enqueue()
        walls.append(time.perf_counter() - w)
        cpus.append(cpu() - c)
    worker = queue.worker()
    try:
        wait_for(lambda: len(lines("end")) >= n, 120, "the first batch")
        # 2. pick-up: one at a time, idle worker.
        STAMPS.unlink(missing_ok=True)
        pickups = []
        for i in range(min(n, 50)):
            queue.enqueue()
            wait_for(lambda i=i: len(lines("end")) > i, 30, "a pick-up")
            a, b = lines("start")[-1]
            pickups.append(b - a)
        # 3. throughput: n at once.
        STAMPS.unlink(missing_ok=True)
        start = time.time()
        for _ in range(n):
            queue.enqueue()
        wait_for(lambda: len(lines("end")) >= n, 300, "the throughput batch")
        end = max(b for _, b in lines("end"))
        throughput = n / (end - start)
    finally:
        stop(worker)
    return {
        "enqueue_ms": statistics.median(walls) * 1000,
        "enqueue_cpu_ms": statistics.median(cpus) * 1000,
        "pickup_ms": statistics.median(pickups) * 1000,
        "pickup_p95_ms": sorted(pickups)[int(0.95 * (len(pickups) - 1))] * 1000,
        "jobs_per_s": throughput,
    }


def kill_test(queue, stalled_after: float, patience: float) -> dict[str, str]:
    STAMPS.unlink(missing_ok=True)
    worker = queue.worker()
    job = queue.enqueue(sleep=5.0)
    wait_for(lambda: len(lines("start")) >= 1, 30, "the long job to start")
    # The worker and every process under it: rq's job runs in a forked child ("work
    # horse", in a session of its own) that outlives a SIGKILL of its parent alone; a
    # machine or container that dies takes both.
    kill_tree(worker.pid)
    worker.wait()
    killed = time.monotonic()
    after_kill = queue.status(job)
    # What a new worker's clean-up finds, tried every second (procrastinate: stalled
    # jobs, put back in the queue; rq: abandoned jobs, moved to the failed registry).
    found = None
    while time.monotonic() - killed < patience:
        if queue.recover(job, stalled_after):
            found = time.monotonic() - killed
            break
        time.sleep(1.0)
    status_after_recover = queue.status(job)
    worker = queue.worker()
    try:
        try:
            wait_for(lambda: len(lines("end")) >= 1, 30, "the retried job")
            finished = "yes, finished"
        except SystemExit:
            finished = "no"
    finally:
        stop(worker)
    return {
        "status after kill -9": after_kill,
        "found by the clean-up after": f"{found:.0f} s"
        if found is not None
        else f"not within {patience:.0f} s",
        "status then": status_after_recover,
        "run again by a new worker": finished,
    }


def stop(worker: subprocess.Popen) -> None:
    """SIGTERM (a warm stop), then SIGKILL of it and its children after 30 s."""
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        kill_tree(worker.pid)
        worker.wait(10)


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and its descendants (children first found, then killed)."""
    pids = [pid]
    i = 0
    while i < len(pids):
        try:
            children = Path(f"/proc/{pids[i]}/task/{pids[i]}/children").read_text().split()
        except OSError:
            children = []
        pids.extend(int(c) for c in children)
        i += 1
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run_worker(kind: str, conninfo: str) -> None:
    if kind == "procrastinate":
        app = procrastinate_app(conninfo)
        # A short heartbeat so a killed worker is seen as stalled within seconds.
        app.run_worker(concurrency=1, update_heartbeat_interval=1.0, install_signal_handlers=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stalled-after", type=float, default=5.0)
    parser.add_argument(
        "--patience", type=float, default=240.0, help="seconds to wait for a killed job to be found"
    )
    parser.add_argument("--kill-only", action="store_true", help="only the kill -9 test")
    parser.add_argument("--only", choices=["procrastinate", "rq"])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--conninfo", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.worker, args.conninfo)
        return

    import psycopg

    name = f"bench_jobs_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    conninfo = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    results: dict[str, list[dict[str, float]]] = {}
    kills: dict[str, dict[str, str]] = {}
    try:
        queues = []
        if args.only != "rq":
            queues.append(Procrastinate(conninfo))
        if args.only != "procrastinate":
            queues.append(Rq())
        for r in range(0 if args.kill_only else args.repeat):
            for q in queues:  # side by side: one repeat of each in turn
                log(f"{q.name}: repeat {r + 1}")
                results.setdefault(q.name, []).append(measure(q, args.jobs))
        for q in queues:
            log(f"{q.name}: kill -9")
            kills[q.name] = kill_test(q, args.stalled_after, args.patience)
            q.close()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        STAMPS.unlink(missing_ok=True)

    print(
        f"`bench/bench_jobs.py --jobs {args.jobs} --repeat {args.repeat}`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} cores; medians of {args.repeat} repeats, one worker process each\n"
    )
    keys = [
        ("enqueue_ms", "enqueue, wall ms"),
        ("enqueue_cpu_ms", "enqueue, client CPU ms"),
        ("pickup_ms", "enqueue to start, ms (median)"),
        ("pickup_p95_ms", "enqueue to start, ms (p95)"),
        ("jobs_per_s", f"throughput, trivial jobs/s ({args.jobs} at once)"),
    ]
    names = list(kills)
    if results:
        print("| measure | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        for key, label in keys:
            cells = [f"{statistics.median(r[key] for r in results[n]):.1f}" for n in names]
            print(f"| {label} | " + " | ".join(cells) + " |")
        print()
    print(
        f"kill -9 of the worker and its children mid-job (procrastinate's stall timeout "
        f"{args.stalled_after:.0f} s, heartbeat every 1 s; rq's defaults, job_timeout 600 s):\n"
    )
    print("| | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for key in next(iter(kills.values())):
        label = key
        print(f"| {label} | " + " | ".join(kills[n].get(key, "") for n in names) + " |")


if __name__ == "__main__":
    main()
