"""Importing a Zotero library from the browser, against a real HTTP server on loopback."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from litreview.models import Job, Record
from tests.webapp import make_site
from tests.zotero_server import Library, ZoteroServer, article

API_KEY = "Zt9sEcReTkEy0000wxyz"


@pytest.fixture
def zotero(monkeypatch):
    library = Library(api_key=API_KEY)
    with ZoteroServer(library) as server:
        monkeypatch.setenv("LITREVIEW_ZOTERO_API_URL", server.url)
        yield library


@pytest.fixture
def site(env, database_url, zotero):
    with make_site(database_url) as site:
        yield site


def test_import_a_group_library_then_sync_it_and_the_key_is_never_kept(site, zotero):
    zotero.add_many([article(n) for n in range(3)])
    rita = site.client("rita@example.org")
    assert 'id="zotero-import"' in rita.page("/r/ai-sw/import")
    form = {
        "action": "import",
        "library_type": "group",
        "library_id": "12345",
        "api_key": API_KEY,
        "files": "1",
    }
    response = rita.post("/r/ai-sw/import/zotero", form)
    assert response.status_code == 303
    status = site.wait_for_import(rita, response.location)
    assert status["state"] == "done"
    html = rita.page(response.location)
    assert '<td id="z-items">3</td>' in html and '<td id="z-imported">3</td>' in html
    titles = site.session.scalars(sa.select(Record.title).order_by(Record.id)).all()
    assert titles[0] == "Invented study 0 of machine learning in social work practice"
    # Linked now: the import page offers a sync of what changed.
    page = rita.page("/r/ai-sw/import")
    assert "This review is linked to group library 12345" in page
    zotero.add_many([article(7)])
    synced = rita.post("/r/ai-sw/import/zotero", {"action": "sync", "api_key": API_KEY})
    site.wait_for_import(rita, synced.location)
    assert '<td id="z-imported">1</td>' in rita.page(synced.location)
    assert site.session.scalar(sa.select(sa.func.count(Record.id))) == 4
    # The key is in no job's row (payload, progress, report), nor in the queue's tables.
    site.session.expire_all()
    rows = site.session.execute(sa.select(Job)).scalars().all()
    assert len(rows) == 2
    for job in rows:
        assert API_KEY not in json.dumps([job.payload, job.progress, job.report, job.error])
        assert job.review_id == site.review.id
    if site.session.get_bind().dialect.name == "postgresql":
        queued = site.session.execute(sa.text("SELECT args::text FROM procrastinate_jobs"))
        assert not any(API_KEY in args for (args,) in queued)
    assert API_KEY not in page


def test_a_bad_form_says_what_is_wrong_and_a_wrong_key_leaves_the_review_as_it_was(site, zotero):
    zotero.add_many([article(1)])
    rita = site.client("rita@example.org")
    bad = rita.post(
        "/r/ai-sw/import/zotero",
        {
            "action": "import",
            "library_type": "group",
            "library_id": "my group",
            "api_key": "secret1",
        },
    )
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "The library ID is a number" in html
    assert 'value="my group"' in html and "secret1" not in html
    nothing = rita.post("/r/ai-sw/import/zotero", {"action": "sync"})
    assert "This review has no Zotero library to sync yet." in nothing.get_data(as_text=True)
    wrong = rita.post(
        "/r/ai-sw/import/zotero",
        {"action": "import", "library_type": "group", "library_id": "12345", "api_key": "wrong"},
    )
    site.wait_for_import(rita, wrong.location)
    page = rita.page(wrong.location)
    assert "(the review was left as it was)" in page
    assert site.session.scalar(sa.select(sa.func.count(Record.id))) == 0
