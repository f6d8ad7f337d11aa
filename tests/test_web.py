"""The pages show imported text as text, unknown things as 404, and the sample review."""

from __future__ import annotations

import sqlalchemy as sa

from litreview.accounts import users as accounts
from litreview.evidence import tags as tagging
from litreview.library import reviews
from litreview.models import Record, ReviewQuestion
from tests.webapp import make_site

XSS = """\
TY  - JOUR
ID  - evil
TI  - <script>alert("title")</script> Risk tools
AU  - <img src=x onerror=alert(1)>, Eve
PY  - 2022
AB  - <b>bold</b> and <script>alert("abstract")</script>
KW  - <svg onload=alert(2)>
UR  - javascript:alert(1)
ER  -
"""


def test_imported_markup_is_shown_as_text_on_every_page(review_cli, database_url, tmp_path):
    path = tmp_path / "xss.ris"
    path.write_text(XSS, encoding="utf-8")
    review_cli("import", "ai-sw", str(path))
    review_cli("question", "add", "ai-sw", "Q1", "<script>alert('q')</script> Types of AI")
    [record] = review_cli.json("records", "ai-sw")
    with make_site(database_url) as site:
        rid = record["id"]
        tagging.tag_record(
            site.session,
            site.review,
            rid,
            ["Q1"],
            "setup",
            note="<script>alert('note')</script>",
            quote="<img src=x onerror=alert(3)>",
        )
        site.session.commit()
        question = site.session.scalar(sa.select(ReviewQuestion.id))
        lead = site.client("lead@example.org")
        pages = [
            "/r/ai-sw/records",
            f"/r/ai-sw/records/{rid}",
            f"/r/ai-sw/screen/title_abstract/{rid}",
            f"/r/ai-sw/questions/{question}",
            "/r/ai-sw/",
            "/r/ai-sw/settings",
        ]
        for url in pages:
            html = lead.page(url)
            assert "<script>alert" not in html, url
            assert "<img src=x" not in html and "<svg onload" not in html, url
            assert 'href="javascript:' not in html, url
        html = lead.page(f"/r/ai-sw/records/{rid}")
        assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt; Risk tools" in html
        assert "&lt;b&gt;bold&lt;/b&gt;" in html
        assert "&lt;script&gt;alert(&#39;note&#39;)&lt;/script&gt;" in html
        assert "&lt;img src=x onerror=alert(3)&gt;" in html
        assert "&lt;svg onload=alert(2)&gt;" in html


def test_unknown_review_and_record_are_404(review_cli, database_url):
    with make_site(database_url) as site:
        lead = site.client("lead@example.org")
        assert lead.get("/r/nope/").status_code == 404
        assert lead.get("/r/ai-sw/records/999999").status_code == 404
        assert lead.get("/r/ai-sw/").status_code == 200
        page = lead.get("/r/ai-sw/records/abc")
        assert page.status_code == 404
        assert "There is nothing here, or nothing you may see." in page.get_data(as_text=True)


def test_sample_review_loads_once_and_shows_its_questions(cli, database_url):
    cli("init")
    first = cli.json("load-sample")
    again = cli.json("load-sample")
    assert first["created"] is True and again["created"] is False
    assert first["records"] == again["records"] >= 40
    records = cli.json("records", "ai-sw")
    assert all("Invented record" in (r["note"] or "") for r in records)
    # The same papers exported by two databases are one record with two sources.
    assert sum(len(r["sources"]) == 2 for r in records) >= 4
    with make_site(database_url) as site:
        html = site.client("lead@example.org").page("/r/ai-sw/")
        for code in ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6"):
            assert f"<td>{code}</td>" in html
        assert "Data protection" in html
        count = site.session.scalar(
            sa.select(sa.func.count(Record.id)).where(Record.merged_into_id.is_(None))
        )
        assert f'<strong id="record-count">{count}</strong> records' in html
        assert reviews.get_review(site.session, "ai-sw").title == "AI in social work"
        # The demo lead's password is shown once, works, and is not shown again.
        assert first["password"] and again["password"] is None
        demo = accounts.authenticate(site.session, first["user"], first["password"])
        assert demo is not None
        review = reviews.get_review(site.session, "ai-sw")
        assert accounts.role_of(site.session, review, demo) == "lead"
