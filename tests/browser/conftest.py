"""A real server and a real headless Chromium, started once per module.

The server is the app under werkzeug's threaded server on 127.0.0.1 and a free port,
backed by a SQLite file (browser tests run on SQLite only); the browser is Debian's
chromium driven by Playwright's sync API (never Playwright's own browser download).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, make_server

from litreview import create_app
from litreview.db import make_engine, make_session_factory
from litreview.library import reviews
from tests.browser.pages import new_page
from tests.webapp import HASH, TEAM

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class LiveSite:
    app: Flask
    url: str
    database_url: str

    def session(self) -> Session:
        return Session(self.app.extensions["litreview.engine"], expire_on_commit=False)


@pytest.fixture(scope="module")
def live_site(tmp_path_factory, sqlite_template) -> Iterator[LiveSite]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make browser installs it)")
    folder = tmp_path_factory.mktemp("live")
    db_path = folder / "litreview.sqlite3"
    shutil.copy(sqlite_template, db_path)
    database_url = f"sqlite:///{db_path}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LITREVIEW_DATABASE_URL", database_url)
        mp.setenv("LITREVIEW_DATA_DIR", str(folder / "data"))
        app = create_app({"TESTING": True})
    engine = make_engine(database_url)
    from litreview.models import Membership, User

    with make_session_factory(engine)() as session:
        review = reviews.create_review(session, "ai-sw", "AI in social work", "setup")
        for email, role in TEAM.items():
            user = User(email=email, name=email.split("@")[0].title(), password_hash=HASH)
            session.add(user)
            session.flush()
            if role:
                session.add(Membership(review_id=review.id, user_id=user.id, role=role))
        session.commit()
    engine.dispose()
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveSite(app, f"http://127.0.0.1:{server.server_port}", database_url)
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
        app.extensions["litreview.jobs"].wait_all(60)
        app.extensions["litreview.indexer"].stop(60)
        app.extensions["litreview.retrainer"].stop(60)
        app.extensions["litreview.engine"].dispose()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser, live_site):
    """A page at 1400 px that may download; a test that meets a dialog fails."""
    dialogs: list[str] = []
    context, page = new_page(browser, dialogs, accept_downloads=True)
    yield page
    context.close()
    assert dialogs == []
