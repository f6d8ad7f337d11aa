"""A team server as deploy/team_server.py stands it up: two app servers (gunicorn, real
HTTP on loopback) with data folders of their own, sharing only the PostgreSQL database,
the secret key and the attachment folder, show one and the same review.

A person signed in on one app server is signed in on the other (a load balancer may send
each request to either: no sticky sessions), a form posted to the other with the first
one's page's CSRF token is taken, and signing out on either ends the session on both.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from litreview import create_app
from litreview.db import Base
from litreview.library import reviews
from tests.conftest import POSTGRES_ADMIN_URL
from tests.loopback import ROOT, Browser, _free_port, serve_in_thread
from tests.pdfmaker import text_pdf
from tests.webapp import make_site

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("LITREVIEW_TEST_SKIP_POSTGRES")), reason="needs PostgreSQL"
)
SCRIPT = ROOT / "deploy" / "team_server.py"
DASHBOARD = "/r/ai-sw/"


def _run(*args: str, env: dict[str, str] | None = None) -> dict:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def team_db(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The run's PostgreSQL database, emptied, with review ai-sw, its team, Q1, records."""
    engine = sa.create_engine(postgres_url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LITREVIEW_DATABASE_URL", postgres_url)
        patch.setenv("LITREVIEW_DATA_DIR", str(tmp_path_factory.mktemp("setup")))
        with make_site(postgres_url) as site:
            reviews.add_question(site.session, site.review, "Q1", "Consent", "setup")
            site.session.commit()
            site.add_records(3, title="Risk assessment tools in child protection")
            site.add_records(2, title="Consent and data protection in case records")
    return postgres_url


@pytest.fixture(scope="module")
def team(team_db: str, tmp_path_factory: pytest.TempPathFactory):
    """The team server on that database, started once for this module's tests."""
    root = tmp_path_factory.mktemp("team")
    ports = f"{_free_port()},{_free_port()}"
    started = _run(
        "start",
        "--dir",
        str(root),
        "--database-url",
        team_db,
        "--ports",
        ports,
        "--workers",
        "1",
        "--threads",
        "4",
    )
    try:
        yield started
    finally:
        stopped = _run("stop", "--dir", str(root))
        assert {"app1", "app2"} <= set(stopped["stopped"])


def _ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/r/ai-sw/records/(\d+)"', page)]


def test_two_app_servers_with_their_own_data_folders_show_one_review(
    team, team_db, monkeypatch, tmp_path
):
    a, b = team["urls"]
    assert a != b
    folders = [Path(p["log"]).parent for p in team["processes"] if p["name"].startswith("app")]
    assert len(set(folders)) == 2
    ann_a = Browser(a)
    assert ann_a.sign_in("rita@example.org").status == 302

    # The same cookie opens the other app server: one secret key, sessions in the database.
    ann_b = ann_a.copy()
    ann_b.base = b
    for browser in (ann_a, ann_b):
        assert browser.get(DASHBOARD).status == 200

    # The same records, and the same search results from PostgreSQL's full-text search.
    listed = [_ids(browser.get("/r/ai-sw/records").text) for browser in (ann_a, ann_b)]
    assert listed[0] == listed[1] and sorted(listed[0]) == [1, 2, 3, 4, 5]
    found = [_ids(browser.get("/r/ai-sw/search?q=consent").text) for browser in (ann_a, ann_b)]
    assert found[0] == found[1] and sorted(found[0]) == [4, 5]

    # A form from a page of server A, posted to server B (its CSRF token is the session's).
    tagged = ann_b.post("/r/ai-sw/records/4/tags", {"question": "Q1", "note": "On consent"})
    assert tagged.status == 303, tagged.text
    by_question = "/r/ai-sw/search?q=consent&question=Q1"
    assert _ids(ann_a.get(by_question).text) == [4] == _ids(ann_b.get(by_question).text)
    assert "On consent" in ann_a.get("/r/ai-sw/records/4").text

    # An app server with another secret key takes the cookie for a forgery: the key is
    # part of the set-up, the same on every server.
    monkeypatch.setenv("LITREVIEW_DATABASE_URL", team_db)
    monkeypatch.setenv("LITREVIEW_DATA_DIR", str(tmp_path / "other"))
    other_app = create_app({"TESTING": True, "SECRET_KEY": "not the team's key"})
    try:
        with serve_in_thread(other_app) as other:
            stranger = ann_a.copy()
            stranger.base = other
            refused = stranger.get(DASHBOARD)
            assert refused.status == 302 and refused.location.startswith("/signin")
    finally:
        other_app.extensions["litreview.indexer"].stop(10)
        other_app.extensions["litreview.retrainer"].stop(10)
        other_app.extensions["litreview.engine"].dispose()

    # Signing out on B ends the session on A too.
    assert ann_b.post("/signout").status == 302
    answer = ann_a.get(DASHBOARD)
    assert answer.status == 302 and answer.location.startswith("/signin")


def test_an_attachment_stored_by_one_process_is_served_by_every_app_server(team, team_db, tmp_path):
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(text_pdf(["Consent models for case records.", "Page two."]))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LITREVIEW_DATABASE_URL": team_db,
        "LITREVIEW_DATA_DIR": str(tmp_path / "cli"),  # a third data folder
        "LITREVIEW_ATTACHMENTS_DIR": team["attachments_dir"],
    }
    done = subprocess.run(
        [sys.executable, "-m", "litreview.cli.main", "attach", "ai-sw", str(pdf)]
        + ["--record", "4", "--as", "rita@example.org", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    stored = list(Path(team["attachments_dir"]).rglob("*.pdf"))
    assert len(stored) == 1 and not list((tmp_path / "cli").rglob("*.pdf"))
    for url in team["urls"]:
        browser = Browser(url)
        assert browser.sign_in("vera@example.org").status == 302
        page = browser.get("/r/ai-sw/records/4").text
        [link] = set(re.findall(r'href="(/r/ai-sw/records/4/attachments/\d+)"', page))
        request = browser.opener.open(url + link, timeout=30)
        assert request.status == 200 and request.read() == pdf.read_bytes()
        found = browser.get("/r/ai-sw/search?q=%22consent+models%22&fulltext=1").text
        assert _ids(found) == [4] and "page 1:" in found


def test_the_script_makes_its_own_database_and_stop_clean_removes_it(tmp_path):
    name = f"litreview_team_test_{secrets.token_hex(3)}"
    admin = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql", database="postgres")
    root = tmp_path / "team"
    args = ["--dir", str(root), "--admin-url", admin.render_as_string(hide_password=False)]
    started = _run(
        "start",
        *args,
        "--database",
        name,
        "--apps",
        "1",
        "--workers",
        "1",
        "--ports",
        str(_free_port()),
    )
    try:
        assert started["created_database"] and started["database_url"].endswith(f"/{name}")
        [url] = started["urls"]
        assert Browser(url).get("/signin").status == 200
        assert (root / "secret_key").stat().st_mode & 0o777 == 0o600
    finally:
        _run("stop", "--dir", str(root), "--clean")
    assert not root.exists()
    engine = sa.create_engine(POSTGRES_ADMIN_URL)
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        assert found.first() is None
    engine.dispose()
