"""The app's error page renders after any failed write, and a busy database gives the
designed 503 with a retry hint: real failures of a real database, no stubs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from litreview.library import reviews
from litreview.models import RecordTag
from tests.webapp import make_site

# As in production: an error in a view is the app's error page, not a test exception.
PRODUCTION = {"PROPAGATE_EXCEPTIONS": False}


def _tagging_site(database_url: str):
    site_cm = make_site(database_url, PRODUCTION)
    site = site_cm.__enter__()
    reviews.add_question(site.session, site.review, "Q1", "Types of AI", "setup")
    site.session.commit()
    [record] = site.add_records(1)
    return site_cm, site, record


@pytest.fixture
def tagging(env, database_url):
    site_cm, site, record = _tagging_site(database_url)
    try:
        yield site, record
    finally:
        site_cm.__exit__(None, None, None)


def _tags(site) -> int:
    site.session.expire_all()
    return site.session.scalar(sa.select(sa.func.count(RecordTag.id)))


def test_a_failed_write_shows_the_apps_error_page(tagging, database_url):
    """The database refuses a write (here a trigger on the audit log, as a full disk or a
    constraint would): the person sees the app's page, signed in as before; nothing kept."""
    site, record = tagging
    rita = site.client("rita@example.org")
    engine = sa.create_engine(database_url)
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as connection:
        if sqlite:
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'the audit log refuses writes'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'the audit log refuses writes'; END $$ LANGUAGE plpgsql"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON audit_log "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
    try:
        response = rita.post(f"/r/ai-sw/records/{record}/tags", {"question": "Q1"})
        page = response.get_data(as_text=True)
        assert response.status_code == 500
        assert "<h1>Server error</h1>" in page
        assert "Something went wrong on the server; the error is logged." in page
        assert 'class="who" title="Your account">Rita</a>' in page  # the header, read afresh
        assert "Traceback" not in page and "audit log refuses" not in page
        assert _tags(site) == 0
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TRIGGER refuse" + ("" if sqlite else " ON audit_log"))
            if not sqlite:
                connection.exec_driver_sql("DROP FUNCTION refuse()")
        engine.dispose()
    # The same request works once the database takes writes again.
    assert rita.post(f"/r/ai-sw/records/{record}/tags", {"question": "Q1"}).status_code == 303
    assert _tags(site) == 1


def test_a_locked_sqlite_database_gives_503_with_a_retry_hint(env, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the one-writer lock is SQLite's")
    site_cm, site, record = _tagging_site(database_url)
    try:
        rita = site.client("rita@example.org")
        holder = sqlite3.connect(make_url(database_url).database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process writing, e.g. a long import
        try:
            # Waits the busy timeout (10 s), then gives up.
            response = rita.post(f"/r/ai-sw/records/{record}/tags", {"question": "Q1"})
            page = response.get_data(as_text=True)
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "5"
            assert "<h1>Busy</h1>" in page
            assert (
                "The database is busy (an import may be running); nothing was saved. "
                "Try again in 5 seconds." in page
            )
            assert 'class="who" title="Your account">Rita</a>' in page
            # Reading goes on meanwhile: pages still open.
            assert rita.get(f"/r/ai-sw/records/{record}").status_code == 200
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert _tags(site) == 0
        assert rita.post(f"/r/ai-sw/records/{record}/tags", {"question": "Q1"}).status_code == 303
        assert _tags(site) == 1
    finally:
        site_cm.__exit__(None, None, None)


def test_the_error_page_renders_when_the_database_cannot_be_read(env, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("a SQLite file is easy to take away for real")
    site_cm, site, record = _tagging_site(database_url)
    path = Path(make_url(database_url).database)
    away = path.with_name("away")
    away.mkdir()
    try:
        rita = site.client("rita@example.org")
        assert rita.get(f"/r/ai-sw/records/{record}").status_code == 200
        site.session.close()
        site.app.extensions["litreview.engine"].dispose()
        for file in path.parent.glob(path.name + "*"):
            file.rename(away / file.name)
        path.mkdir()  # where the database was, something that cannot be opened as one
        response = rita.get(f"/r/ai-sw/records/{record}")
        page = response.get_data(as_text=True)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert "<h1>Busy</h1>" in page
        assert "The database cannot be reached just now; nothing was saved." in page
        assert 'class="who"' not in page  # nobody can be named without the database
        as_json = rita.get("/r/ai-sw/import/jobs/" + "0" * 32 + "/status.json")
        assert as_json.status_code == 503
        assert as_json.get_json()["error"].startswith("The database cannot be reached")
    finally:
        site.app.extensions["litreview.engine"].dispose()
        path.rmdir()
        for file in away.iterdir():
            file.rename(path.parent / file.name)
        site_cm.__exit__(None, None, None)
    # Back in place, the same pages open again.
