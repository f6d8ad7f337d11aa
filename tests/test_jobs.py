"""Background jobs: state and progress in the database, the queue's worker, kill -9.

The queue tests run on the test PostgreSQL with real `litreview worker` processes
(started as a person would, killed with SIGKILL) and two app instances with different
data folders: what one app server starts, the other shows, with the same progress.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from litreview import create_app
from litreview.db import make_engine
from litreview.jobs import store
from litreview.jobs.taskqueue import GAVE_UP
from litreview.models import ImportBatch, Job, Record
from tests.webapp import Site, make_site

ROOT = Path(__file__).resolve().parents[1]


def ris(count: int, prefix: str) -> str:
    """``count`` distinct RIS records (titles, authors, DOIs made from ``prefix``)."""
    return "".join(
        f"TY  - JOUR\nTI  - {prefix} study {n} of algorithmic risk in social work\n"
        f"AU  - {prefix}family{n}, Ann\nPY  - {2000 + n % 25}\nDO  - 10.9999/{prefix}.{n}\n"
        f"AB  - Abstract {n} on casework, safeguarding and data protection.\nER  - \n\n"
        for n in range(count)
    )


def upload(client, *files):
    """Post files to the import form, the body encoded in memory: the test client's own
    encoder spools a large body to a temporary file it never closes."""
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    if client.token is None:
        client.refresh_token()
    values = {
        "csrf_token": client.token,
        "files": [FileStorage(io.BytesIO(body.encode()), filename=name) for name, body in files],
    }
    boundary, body = encode_multipart(values)
    return client.http.post(
        "/r/ai-sw/import",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        environ_base=client.environ,
    )


def poll(client, job_url: str, until, timeout: float = 120.0, every: float = 0.05) -> dict:
    """The job's status.json, polled until ``until(status)`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(job_url + "/status.json").get_json()
        if until(status):
            return status
        assert time.monotonic() < deadline, f"gave up waiting: {status}"
        time.sleep(every)


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    """The run's PostgreSQL, emptied: our tables and the queue's."""
    from litreview.db import Base

    engine = sa.create_engine(postgres_url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        conn.exec_driver_sql(
            "TRUNCATE procrastinate_jobs, procrastinate_events, procrastinate_workers, "
            "procrastinate_periodic_defers RESTART IDENTITY CASCADE"
        )
    engine.dispose()
    return postgres_url


@pytest.fixture
def two_servers(pg_url, tmp_path, monkeypatch):
    """Two app instances on one PostgreSQL, each with its own data folder, jobs queued."""
    monkeypatch.setenv("LITREVIEW_DATABASE_URL", pg_url)
    monkeypatch.setenv("LITREVIEW_JOBS", "queue")
    monkeypatch.setenv("LITREVIEW_DATA_DIR", str(tmp_path / "a"))
    with make_site(pg_url) as a:
        monkeypatch.setenv("LITREVIEW_DATA_DIR", str(tmp_path / "b"))
        app = create_app({"TESTING": True})  # the same review and team as A: one database
        try:
            yield a, Site(app, a.session)
        finally:
            app.extensions["litreview.jobs"].close()
            app.extensions["litreview.indexer"].stop(60)
            app.extensions["litreview.retrainer"].stop(60)
            app.extensions["litreview.engine"].dispose()


class Worker:
    """`litreview worker` in a process of its own, on app server A's data folder (where
    A saved the uploads: the attachment store every machine of a team shares)."""

    def __init__(
        self, data_dir: Path, database_url: str, *args: str, env: dict[str, str] | None = None
    ) -> None:
        env = {
            **os.environ,
            **(env or {}),
            "LITREVIEW_DATABASE_URL": database_url,
            "LITREVIEW_DATA_DIR": str(data_dir),
            "LITREVIEW_JOBS": "queue",
            "PYTHONPATH": str(ROOT),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "litreview.cli.main", "worker", "--stalled-after", "3", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
def workers():
    started: list[Worker] = []

    def start(*args, **kwargs) -> Worker:
        worker = Worker(*args, **kwargs)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def counts(database_url: str) -> tuple[int, int]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        records = conn.scalar(sa.select(sa.func.count(Record.id)))
        batches = conn.scalar(sa.select(sa.func.count(ImportBatch.id)))
    engine.dispose()
    return records, batches


def start_big_import(a, b, workers, pg_url, tmp_path, *worker_args):
    """Upload three files on server A (the middle one large), start a worker, and wait,
    watching server B, until the worker is well into the large file."""
    rita_a = a.client("rita@example.org")
    rita_b = b.client("rita@example.org")
    job = upload(
        rita_a,
        ("first.ris", ris(3, "first")),
        ("large.ris", ris(6000, "large")),
        ("last.ris", ris(2, "last")),
    ).location
    # Queued, and no worker yet: both servers say so.
    for client in (rita_a, rita_b):
        assert client.get(job + "/status.json").get_json()["state"] == "queued"
        assert "Waiting for a worker to start this import" in client.page(job)
    worker = workers(tmp_path / "a", pg_url, *worker_args)
    first_size = len(ris(3, "first").encode())
    seen = poll(
        rita_b,
        job,
        lambda s: (
            s["state"] == "running"
            and s["files"][1]["state"] == "importing"
            and s["done"] > first_size + 20_000
        ),
    )
    return rita_a, rita_b, job, worker, seen


def test_two_app_servers_show_one_job_and_a_killed_worker_s_job_is_retried(
    two_servers, workers, pg_url, tmp_path
):
    a, b = two_servers
    rita_a, rita_b, job, worker, seen = start_big_import(a, b, workers, pg_url, tmp_path)
    # Server B, which never saw the upload, shows the worker's progress as it goes.
    assert [f["state"] for f in seen["files"]] == ["done", "importing", "waiting"]
    later = poll(rita_b, job, lambda s: s["done"] > seen["done"])
    assert later["total"] == seen["total"]
    on_a = rita_a.get(job + "/status.json").get_json()
    assert on_a["state"] == "running" and on_a["done"] >= later["done"]

    worker.kill()
    # Nothing half-written: the first file's records are in, none of the large one's.
    assert counts(pg_url) == (3, 1)
    status = rita_b.get(job + "/status.json").get_json()
    assert status["state"] == "running" and status["attempts"] == 1

    # A new worker sees the dead one's job once its heartbeat is 3 s old, queues it again
    # and runs it: the finished file is not imported twice.
    workers(tmp_path / "a", pg_url)
    done = poll(rita_b, job, lambda s: s["state"] not in ("queued", "running"), timeout=240)
    assert done["state"] == "done", done
    assert done["attempts"] == 2
    assert [f["state"] for f in done["files"]] == ["done", "done", "done"]
    assert counts(pg_url) == (3 + 6000 + 2, 3)
    for client in (rita_a, rita_b):
        html = client.page(job)
        assert "Import finished." in html
        assert html.count('<tr class="file-done">') == 3
    # The uploads were deleted from the attachment store once imported.
    assert not any((tmp_path / "a" / "files" / "incoming").rglob("*.ris"))


def test_a_job_whose_workers_keep_dying_is_reported_failed(two_servers, workers, pg_url, tmp_path):
    a, b = two_servers
    rita_a, rita_b, job, worker, _ = start_big_import(
        a, b, workers, pg_url, tmp_path, "--max-attempts", "1"
    )
    worker.kill()
    workers(tmp_path / "a", pg_url, "--max-attempts", "1")
    failed = poll(rita_a, job, lambda s: s["state"] not in ("queued", "running"), timeout=60)
    assert failed["state"] == "failed"
    assert failed["error"] == GAVE_UP.format(attempts=1)
    assert counts(pg_url) == (3, 1)  # the first file, nothing of the large one
    assert not any((tmp_path / "a" / "files" / "incoming").rglob("*.ris"))  # uploads gone
    html = rita_b.page(job)
    assert "The worker running this job stopped before it finished, in each of its 1" in html
    # The queue's own record of it is settled too: no worker takes it up again.
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        states = conn.execute(sa.text("SELECT status::text FROM procrastinate_jobs")).scalars()
        assert list(states) == ["failed"]
    engine.dispose()


def test_a_pdf_uploaded_on_one_server_is_read_by_the_worker_and_shown_on_the_other(
    two_servers, workers, pg_url, tmp_path
):
    from tests.pdfmaker import text_pdf

    a, b = two_servers
    [record_id] = a.add_records(1)
    rita_a, rita_b = a.client("rita@example.org"), b.client("rita@example.org")
    url = f"/r/ai-sw/records/{record_id}"
    posted = rita_a.post(
        f"{url}/attachments",
        {"pdf": (io.BytesIO(text_pdf(["Consent and data protection", "Page two"])), "p.pdf")},
        content_type="multipart/form-data",
    )
    assert posted.status_code == 303
    assert "p.pdf is being read in the background" in rita_a.page(posted.location)
    refused = rita_a.post(
        f"{url}/attachments",
        {"pdf": (io.BytesIO(b"hello"), "<i>notes</i>.pdf")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 303
    waiting = rita_b.page(url)  # server B lists both as on their way
    assert waiting.count("being read in the background (reload the page") == 2
    workers(tmp_path / "a", pg_url)
    deadline = time.monotonic() + 60
    while "p.pdf" not in rita_b.page(url):
        assert time.monotonic() < deadline, "the worker did not attach the PDF"
        time.sleep(0.2)
    # The file that is not a PDF: server B says why it was not attached (as text).
    deadline = time.monotonic() + 60
    while "Not attached" not in (html := rita_b.page(url)):
        assert time.monotonic() < deadline, "the refusal was never shown"
        time.sleep(0.2)
    assert "Not attached: &lt;i&gt;notes&lt;/i&gt;.pdf: not a PDF" in html
    assert "being read in the background" not in html
    a.session.expire_all()
    jobs = a.session.scalars(sa.select(Job).where(Job.kind == "attach.pdfs")).all()
    assert [(j.state, j.runner, j.attempts) for j in jobs] == [("done", "queue", 1)] * 2
    reports = [j.progress["files"][0].get("report") for j in jobs]
    assert sorted(r["text_pages"] for r in reports if r) == [2]


def test_zotero_in_queue_mode_a_typed_key_stays_in_the_app_server_the_worker_uses_its_own(
    two_servers, workers, pg_url, tmp_path, monkeypatch
):
    from tests.test_web_zotero import API_KEY
    from tests.zotero_server import Library, ZoteroServer, article

    a, b = two_servers
    library = Library(api_key=API_KEY)
    library.add_many([article(n) for n in range(3)])
    with ZoteroServer(library) as server:
        monkeypatch.setenv("LITREVIEW_ZOTERO_API_URL", server.url)
        rita_a, rita_b = a.client("rita@example.org"), b.client("rita@example.org")
        form = {"action": "import", "library_type": "group", "library_id": "12345"}
        typed = rita_a.post("/r/ai-sw/import/zotero", {**form, "api_key": API_KEY}).location
        # No worker runs: the job with the typed key runs in app server A, and B shows it.
        done = poll(rita_b, typed, lambda s: s["state"] not in ("queued", "running"))
        assert done["state"] == "done", done
        assert '<td id="z-imported">3</td>' in rita_b.page(typed)
        # A sync without a key typed goes to the queue; the worker has a key of its own.
        library.add_many([article(7)])
        synced = rita_b.post("/r/ai-sw/import/zotero", {"action": "sync"}).location
        assert poll(rita_a, synced, lambda s: True)["state"] == "queued"
        workers(tmp_path / "a", pg_url, env={"LITREVIEW_ZOTERO_API_KEY": API_KEY})
        done = poll(rita_a, synced, lambda s: s["state"] not in ("queued", "running"))
        assert done["state"] == "done", done
        assert '<td id="z-imported">1</td>' in rita_a.page(synced)
    a.session.expire_all()
    runs = a.session.execute(sa.select(Job.kind, Job.runner).order_by(Job.created_at)).all()
    assert runs == [("zotero.import", "inprocess"), ("zotero.sync", "queue")]
    for job in a.session.scalars(sa.select(Job)):
        assert API_KEY not in json.dumps([job.payload, job.progress, job.report, job.error])
    queued = a.session.execute(sa.text("SELECT args::text FROM procrastinate_jobs")).scalars()
    assert not any(API_KEY in args for args in queued)


def test_in_process_jobs_are_in_the_database_and_listed(site_env, cli):
    site, rita = site_env
    job = upload(rita, ("one.ris", ris(4, "one"))).location
    status = site.wait_for_import(rita, job)
    assert status["state"] == "done"
    row = site.session.get(Job, job.rsplit("/", 1)[1])
    site.session.refresh(row)
    assert (row.kind, row.runner, row.state, row.attempts) == (
        "import.files",
        "inprocess",
        "done",
        1,
    )
    assert row.actor == "rita@example.org" and row.finished_at is not None
    assert row.progress["files"][0]["report"]["imported"] == 4
    listed = cli.json("jobs", "ai-sw")
    assert [(j["id"], j["kind"], j["state"]) for j in listed] == [(row.id, "import.files", "done")]
    text = cli("jobs").stdout
    assert row.id in text and "import.files\tdone\t1/1 files" in text


def test_an_in_process_import_shows_its_progress_while_it_reads(site_env):
    """On SQLite the import holds the one write lock: its progress is kept in the app's
    memory meanwhile; on PostgreSQL it is written to the job's row as it goes."""
    site, rita = site_env
    job = upload(rita, ("big.ris", ris(3000, "big"))).location
    seen = poll(
        rita,
        job,
        lambda s: (
            s["state"] in ("done", "failed")
            or (s["state"] == "running" and 0 < s["done"] < s["total"])
        ),
    )
    assert seen["state"] == "running", "no progress was seen before the import ended"
    assert seen["files"][0]["state"] == "importing"
    done = site.wait_for_import(rita, job)
    assert done["state"] == "done" and done["done"] == done["total"]


def test_an_in_process_job_whose_server_stopped_shows_as_stopped(site_env):
    site, rita = site_env
    stale = store.utcnow() - store.STALE_AFTER - timedelta(seconds=5)
    job_id = running_job(site, None, updated_at=stale)
    url = f"/r/ai-sw/import/jobs/{job_id}"
    assert rita.get(url + "/status.json").get_json()["state"] == "failed"
    assert "the server running it was stopped or restarted" in rita.page(url)


@pytest.fixture
def site_env(env, database_url):
    with make_site(database_url) as site:
        yield site, site.client("rita@example.org")


def test_the_queue_needs_postgresql(tmp_path):
    from litreview.config import load_settings

    with pytest.raises(ValueError, match="LITREVIEW_JOBS=queue needs a PostgreSQL database"):
        load_settings({"LITREVIEW_DATA_DIR": str(tmp_path), "LITREVIEW_JOBS": "queue"})
    with pytest.raises(ValueError, match="LITREVIEW_JOBS='celery': one of inprocess, queue"):
        load_settings({"LITREVIEW_DATA_DIR": str(tmp_path), "LITREVIEW_JOBS": "celery"})


def test_the_worker_on_sqlite_says_what_to_do(tmp_path, monkeypatch):
    from tests.conftest import Cli

    monkeypatch.setenv("LITREVIEW_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LITREVIEW_DATABASE_URL", raising=False)
    result = Cli()("worker", ok=False)
    assert result.exit_code == 1
    assert "the job queue lives in PostgreSQL" in result.output


def dead_pid() -> int:
    """The id of a process that has ended (and been waited for)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(30)
    return process.pid


def running_job(site, worker: str | None, job_id: str | None = None, **values) -> str:
    """An in-process file import of Rita's, recorded as running in ``worker`` (host:pid,
    None: not said), its other columns as given; returns its id."""
    job_id = job_id or store.new_job_id()
    site.session.add(
        Job(
            id=job_id,
            kind="import.files",
            review_id=site.review.id,
            actor="rita@example.org",
            runner="inprocess",
            state="running",
            attempts=1,
            worker=worker,
            payload=values.pop("payload", {}),
            progress=values.pop("progress", {"files": [], "bytes_done": 10, "bytes_total": 100}),
            **values,
        )
    )
    site.session.commit()
    return job_id
