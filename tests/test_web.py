"""The read-only pages: they show imported text as text, and unknown things as 404."""

from __future__ import annotations

import pytest

from litreview import create_app

XSS = """\
TY  - JOUR
ID  - evil
TI  - <script>alert("title")</script> Risk tools
AU  - <img src=x onerror=alert(1)>, Eve
PY  - 2022
AB  - <b>bold</b> and <script>alert("abstract")</script>
UR  - javascript:alert(1)
ER  -
"""


@pytest.fixture
def app(env):
    app = create_app({"TESTING": True})
    yield app
    app.extensions["litreview.engine"].dispose()


@pytest.fixture
def client(review_cli, app):
    with app.test_client() as client:
        yield client


def test_imported_markup_is_shown_as_text_on_every_page(review_cli, client, tmp_path):
    path = tmp_path / "xss.ris"
    path.write_text(XSS, encoding="utf-8")
    review_cli("import", "ai-sw", str(path))
    [record] = review_cli.json("records", "ai-sw")
    for url in ("/r/ai-sw/records", f"/r/ai-sw/records/{record['id']}"):
        page = client.get(url)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt; Risk tools" in html
        assert "<img src=x" not in html
    html = client.get(f"/r/ai-sw/records/{record['id']}").get_data(as_text=True)
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert 'href="javascript:' not in html


def test_unknown_review_and_record_are_404(review_cli, client):
    assert client.get("/r/nope/").status_code == 404
    assert client.get("/r/ai-sw/records/999999").status_code == 404
    assert client.get("/r/ai-sw/").status_code == 200


def test_sample_review_loads_once_and_shows_its_questions(cli, app):
    cli("init")
    first = cli.json("load-sample")
    again = cli.json("load-sample")
    assert first["created"] is True and again["created"] is False
    assert first["records"] == again["records"] >= 40
    records = cli.json("records", "ai-sw")
    assert all("Invented record" in (r["note"] or "") for r in records)
    # The same papers exported by two databases are one record with two sources.
    assert sum(len(r["sources"]) == 2 for r in records) >= 4
    html = app.test_client().get("/r/ai-sw/").get_data(as_text=True)
    for code in ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6"):
        assert f"<td>{code}</td>" in html
    assert "Data protection" in html
