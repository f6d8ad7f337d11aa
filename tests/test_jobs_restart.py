"""An in-process import stopped by a restart: shown as stopped at once, and run again.

A real app server (``litreview serve``, a process of its own) is killed with SIGKILL in
the middle of a large file and started again on the same database and data folder: the
job's page says at once that it stopped, "Run again" (clicked twice at once) runs it
once, and every record is there once. The rest runs in the test's own app: a file
whose import was committed just before the stop is "unchanged" when run again, and
jobs of a live process, or of another machine, are not taken as stopped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.test import encode_multipart

from litreview.db import make_engine
from litreview.jobs import store
from litreview.jobs.work import files_progress, incoming_dir
from litreview.library import imports
from litreview.models import AuditEntry, Job, Record
from tests.loopback import ROOT, Browser, _free_port, at_once
from tests.test_jobs import dead_pid, ris, running_job, upload
from tests.webapp import make_site


class AppServer:
    """``litreview serve`` in a process of its own on ``env``'s database and data folder."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "litreview.cli.main", "serve", "--port", str(port)],
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, f"the server exited: see {log}"
            try:
                urllib.request.urlopen(self.url + "/signin", timeout=5).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.1)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def post_files(browser: Browser, path: str, *files: tuple[str, str]) -> str:
    """Post files to the import form as a browser does; the job page's path."""
    import io

    from werkzeug.datastructures import FileStorage

    values = {
        "csrf_token": browser.token,
        "files": [FileStorage(io.BytesIO(body.encode()), filename=name) for name, body in files],
    }
    boundary, body = encode_multipart(values)
    request = urllib.request.Request(
        browser.base + path,
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    try:
        browser.opener.open(request, timeout=120)
    except urllib.error.HTTPError as answer:  # the 303, not followed
        assert answer.code == 303, answer.read().decode()
        return answer.headers["Location"].removeprefix(browser.base)
    raise AssertionError("the upload was not redirected to its job")


def status_of(browser: Browser, job: str) -> dict:
    import json

    answer = browser.get(job + "/status.json")
    assert answer.status == 200, answer.text
    return json.loads(answer.text)


def poll(browser: Browser, job: str, until, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = status_of(browser, job)
        if until(status):
            return status
        assert time.monotonic() < deadline, f"gave up waiting: {status}"
        time.sleep(0.05)


def test_an_import_killed_with_its_server_is_shown_stopped_at_once_and_run_again_once(
    database_url, tmp_path, monkeypatch
):
    env = {"LITREVIEW_DATABASE_URL": database_url, "LITREVIEW_DATA_DIR": str(tmp_path / "data")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with make_site(database_url):
        pass  # the review and its team
    server = AppServer(env, tmp_path / "server.log")
    try:
        rita = Browser(server.url)
        assert rita.sign_in("rita@example.org").status == 302
        job = post_files(
            rita,
            "/r/ai-sw/import",
            ("first.ris", ris(3, "first")),
            ("large.ris", ris(6000, "large")),
            ("last.ris", ris(2, "last")),
        )
        first_size = len(ris(3, "first").encode())
        poll(
            rita,
            job,
            lambda s: s["files"][1]["state"] == "importing" and s["done"] > first_size + 20_000,
        )
        server.kill()
    finally:
        server.stop()

    server = AppServer(env, tmp_path / "server.log")
    try:
        rita = Browser(server.url)
        rita.sign_in("rita@example.org")
        # Said at once, not after store.STALE_AFTER: the process running it is gone.
        status = status_of(rita, job)
        assert status["state"] == "failed" and status["error"] == store.STOPPED
        assert [f["state"] for f in status["files"]] == ["done", "importing", "waiting"]
        page = rita.get(job).text
        assert "the server running it was stopped or restarted" in page
        assert "Run again</button>" in page and "the 1 file it finished is not read" in page

        # Another reviewer sees the job but may not run it again; a lead may.
        rob = Browser(server.url)
        rob.sign_in("rob@example.org")
        assert "Run again" not in rob.get(job).text
        assert rob.post(job + "/run-again").status == 403
        lead = Browser(server.url)
        lead.sign_in("lead@example.org")
        assert "Run again</button>" in lead.get(job).text

        # Two clicks at once: one run, both back on the job's page.
        rita.refresh_token(job)
        answers = at_once(2, lambda n: rita.copy().post(job + "/run-again"))
        assert [a.status for a in answers] == [303, 303]
        assert all(a.location.endswith(job) for a in answers)
        done = poll(rita, job, lambda s: s["state"] not in ("queued", "running"))
        assert done["state"] == "done" and done["attempts"] == 2
        assert [f["state"] for f in done["files"]] == ["done", "done", "done"]
        page = rita.get(job).text
        assert "Import finished." in page and "Run again" not in page
    finally:
        server.stop()

    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count(Record.id))) == 3 + 6000 + 2
        row = conn.execute(sa.select(Job.progress).where(Job.id == job.rsplit("/", 1)[1])).one()
        again = conn.scalars(
            sa.select(AuditEntry.actor).where(AuditEntry.action == "import.run_again")
        ).all()
    engine.dispose()
    reports = [f["report"] for f in row.progress["files"]]
    assert [(r["imported"], r["unchanged"]) for r in reports] == [(3, 0), (6000, 0), (2, 0)]
    assert again == ["rita@example.org"]
    assert not (incoming_dir_of(tmp_path) / job.rsplit("/", 1)[1]).exists()


def incoming_dir_of(tmp_path: Path) -> Path:
    from litreview.config import load_settings

    return incoming_dir(load_settings({"LITREVIEW_DATA_DIR": str(tmp_path / "data")}))


@pytest.fixture
def site_env(env, database_url):
    with make_site(database_url) as site:
        yield site, site.client("rita@example.org")


def test_a_job_of_a_live_process_or_of_another_machine_is_not_taken_as_stopped(site_env, cli):
    site, rita = site_env
    host = socket.gethostname()
    here = running_job(site, f"{host}:{os.getpid()}")
    elsewhere = running_job(site, f"not-{host}:{dead_pid()}")
    gone = running_job(site, f"{host}:{dead_pid()}")
    states = {
        job_id: rita.get(f"/r/ai-sw/import/jobs/{job_id}/status.json").get_json()["state"]
        for job_id in (here, elsewhere, gone)
    }
    assert states == {here: "running", elsewhere: "running", gone: "failed"}
    listed = {j["id"]: j["state"] for j in cli.json("jobs", "ai-sw")}
    assert listed == states
    # A job of another machine still stops showing as running after STALE_AFTER.
    site.session.execute(
        sa.update(Job)
        .where(Job.id == elsewhere)
        .values(updated_at=store.utcnow() - store.STALE_AFTER - timedelta(seconds=5))
    )
    site.session.commit()
    assert rita.get(f"/r/ai-sw/import/jobs/{elsewhere}/status.json").get_json()["state"] == (
        "failed"
    )


def test_a_file_imported_just_before_the_stop_is_unchanged_when_run_again(site_env, tmp_path):
    """The stop came after the file's commit and before its progress said so."""
    site, rita = site_env
    settings = site.app.config["LITREVIEW_SETTINGS"]
    job_id = store.new_job_id()
    saved = incoming_dir(settings) / job_id / "1" / "one.ris"
    saved.parent.mkdir(parents=True)
    saved.write_text(ris(5, "one"), encoding="utf-8")
    imports.import_file(site.session, site.review, saved, actor="rita@example.org")
    site.session.commit()
    uploads = [{"path": "1/one.ris", "name": "one.ris", "size": saved.stat().st_size}]
    progress = files_progress(uploads, None)
    progress["files"][0]["state"] = "importing"
    running_job(
        site,
        f"{socket.gethostname()}:{dead_pid()}",
        job_id,
        payload={"uploads": uploads},
        progress=progress,
    )
    job = f"/r/ai-sw/import/jobs/{job_id}"
    assert "Run again</button>" in rita.page(job)
    assert rita.post(job + "/run-again").status_code == 303
    status = site.wait_for_import(rita, job)
    assert status["state"] == "done"
    site.session.expire_all()
    report = site.session.get(Job, job_id).progress["files"][0]["report"]
    assert (report["imported"], report["unchanged"]) == (0, 5)
    assert site.session.scalar(sa.select(sa.func.count(Record.id))) == 5
    assert "<td>0</td><td>0</td><td>5</td>" in rita.page(job)


def test_an_import_that_ended_cannot_be_run_again(site_env):
    site, rita = site_env
    job = upload(rita, ("one.ris", ris(2, "one"))).location
    assert site.wait_for_import(rita, job)["state"] == "done"
    assert "Run again" not in rita.page(job)
    assert rita.post(job + "/run-again").status_code == 303
    site.session.expire_all()
    row = site.session.get(Job, job.rsplit("/", 1)[1])
    assert (row.state, row.attempts) == ("done", 1)
