"""A job's page in a real headless Chromium: waiting for a worker, then failed, read from
the database by the page's polling (whoever changed the job's row: here the test, as a
worker on another machine would).

Pages are saved as PNGs 1400 pixels wide, in the folder named by
LITREVIEW_TEST_SCREENSHOTS, else in ``screenshots/`` of the test run's temporary folder.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import sqlalchemy as sa

from litreview.jobs import store
from litreview.jobs.taskqueue import GAVE_UP, RETRYING
from litreview.jobs.work import files_progress, incoming_dir
from litreview.models import Job, Record, Review
from tests.browser.pages import sign_in
from tests.test_jobs import dead_pid, ris


@pytest.fixture
def shots(tmp_path_factory) -> Path:
    named = os.environ.get("LITREVIEW_TEST_SCREENSHOTS")
    folder = Path(named) if named else tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _import_job(live_site, uploads, progress, *, runner, job_id=None, **columns) -> str:
    """A file import of Rita's in the ai-sw review, as the upload page records it; its
    row's other ``columns`` set as given (a worker's doing). Returns its id."""
    with live_site.session() as session:
        review = session.scalar(sa.select(Review).where(Review.slug == "ai-sw"))
        job = store.add_job(
            session,
            "import.files",
            review_id=review.id,
            actor="rita@example.org",
            runner=runner,
            payload={"uploads": uploads},
            progress=progress,
            job_id=job_id,
        )
        for name, value in columns.items():
            setattr(job, name, value)
        session.commit()
        return job.id


def test_a_queued_import_waits_for_a_worker_then_shows_why_it_failed(page, live_site, shots):
    uploads = [
        {"path": "1/first.ris", "name": "first.ris", "size": 300},
        {"path": "2/<b>large</b>.ris", "name": "<b>large</b>.ris", "size": 3_000_000},
    ]
    progress = files_progress(uploads, "Scopus")
    job_id = _import_job(live_site, uploads, progress, runner="queue")
    sign_in(page, live_site, "rita@example.org")
    page.goto(f"{live_site.url}/r/ai-sw/import/jobs/{job_id}")
    assert "Waiting for a worker to start this import" in page.inner_text(".import-state")
    assert page.inner_text("table.import-files").count("waiting") == 2
    page.screenshot(path=str(shots / "job-waiting-for-a-worker.png"), full_page=True)

    # A worker took it, was killed mid-way, and the job was queued again: the page,
    # polling, shows the progress and the note.
    progress["files"][0].update(state="done")
    progress["files"][1].update(state="importing")
    progress["bytes_done"] = 1_200_300
    progress["note"] = RETRYING
    factory = sa.orm.sessionmaker(live_site.app.extensions["litreview.engine"])
    store.report_progress(factory, job_id, progress)
    with factory() as session:
        session.execute(sa.update(Job).where(Job.id == job_id).values(state="running"))
        session.commit()
    page.reload()
    assert page.inner_text("#job-note") == RETRYING
    assert page.get_attribute("#import-progress", "value") == "1200300"
    page.screenshot(path=str(shots / "job-retried.png"), full_page=True)

    # It failed for good: the page reloads itself and says why, in words.
    with factory() as session:
        store.fail(session, job_id, GAVE_UP.format(attempts=3))
        session.commit()
    page.wait_for_selector("#import-done")
    assert page.inner_text("#import-done") == GAVE_UP.format(attempts=3)
    assert page.inner_text("tr.file-done td:first-child") == "first.ris"
    unfinished = page.inner_text("tr.file-importing")
    assert "<b>large</b>.ris" in unfinished and "not imported" in unfinished  # text, not markup
    page.screenshot(path=str(shots / "job-failed.png"), full_page=True)


def test_a_record_lists_pdfs_on_their_way_and_why_one_was_refused(page, live_site, shots):
    with live_site.session() as session:
        review = session.scalar(sa.select(Review).where(Review.slug == "ai-sw"))
        record = Record(review_id=review.id, title="Consent in case records", authors=[])
        session.add(record)
        session.flush()
        for name, state, error in (
            ("paper.pdf", "waiting", None),
            ("<i>notes</i>.pdf", "unreadable", "<i>notes</i>.pdf: not a PDF"),
        ):
            uploads = [{"path": "1/x.pdf", "name": name, "size": 5}]
            progress = {**files_progress(uploads, None), "record_id": record.id}
            progress["files"][0].update(state=state, error=error)
            job = store.add_job(
                session,
                "attach.pdfs",
                review_id=review.id,
                actor="rita@example.org",
                runner="queue",
                payload={"record_id": record.id, "uploads": uploads},
                progress=progress,
            )
            if error:
                job.state = "done"
        session.commit()
        record_id = record.id
    sign_in(page, live_site, "rita@example.org")
    page.goto(f"{live_site.url}/r/ai-sw/records/{record_id}")
    listed = page.inner_text("#pdf-jobs").splitlines()
    assert listed == [
        "Not attached: <i>notes</i>.pdf: not a PDF",
        "paper.pdf: being read in the background (reload the page to see it attached)",
    ]
    page.locator("#attachments").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "record-pdfs-on-their-way.png"), full_page=True)


def test_an_import_stopped_by_a_restart_is_run_again_from_its_page(page, live_site, shots):
    """Its server was killed (the process named in the job is gone): the page says it
    stopped, at once; "Run again" reads the file it had not finished."""
    job_id = store.new_job_id()
    folder = incoming_dir(live_site.app.config["LITREVIEW_SETTINGS"]) / job_id
    uploads = []
    for n, (name, body) in enumerate((("scopus.ris", ris(3, "s")), ("wos.ris", ris(4, "w")))):
        (folder / str(n)).mkdir(parents=True)
        (folder / str(n) / name).write_text(body, encoding="utf-8")
        uploads.append({"path": f"{n}/{name}", "name": name, "size": len(body), "source": None})
    progress = files_progress(uploads, "Scopus")
    progress["files"][0].update(
        state="done",
        report={
            "read": 3,
            "imported": 3,
            "merged_duplicates": 0,
            "unchanged": 0,
            "error_count": 0,
            "errors": [],
            "warnings": [],
            "warning_count": 0,
        },
    )
    progress["files"][1]["state"] = "importing"
    progress["bytes_done"] = uploads[0]["size"] + 100
    worker = f"{socket.gethostname()}:{dead_pid()}"
    _import_job(
        live_site,
        uploads,
        progress,
        runner="inprocess",
        job_id=job_id,
        state="running",
        attempts=1,
        worker=worker,
    )
    sign_in(page, live_site, "rita@example.org")
    page.goto(f"{live_site.url}/r/ai-sw/import/jobs/{job_id}")
    assert page.inner_text("#import-done") == store.STOPPED
    assert "not imported" in page.inner_text("tr.file-importing")
    assert "the 1 file it finished is not read again" in page.inner_text("form.run-again")
    page.screenshot(path=str(shots / "job-stopped-run-again.png"), full_page=True)

    page.click("form.run-again button")
    page.wait_for_selector("#import-done.import-ok")
    assert page.inner_text("#import-done") == "Import finished."
    assert page.locator("form.run-again").count() == 0
    rows = page.inner_text("table.import-files tbody").splitlines()
    assert rows[0].split("\t")[:4] == ["scopus.ris", "done", "3", "3"]
    assert rows[1].split("\t")[:4] == ["wos.ris", "done", "4", "4"]
    page.screenshot(path=str(shots / "job-run-again-finished.png"), full_page=True)
