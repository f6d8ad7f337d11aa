"""The exports page: downloads made by the exports feature, sent so that nothing runs."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from litreview import screening
from litreview.evidence import tags as tagging
from litreview.library import reviews
from tests.webapp import make_site

TA, FT = "title_abstract", "full_text"


@pytest.fixture
def site(env, database_url):
    with make_site(database_url) as site:
        review = site.review
        reviews.add_question(site.session, review, "Q1", "Types of AI", "setup")
        ids = site.add_records(3)
        rita = site.users["rita@example.org"]
        for record in ids[:2]:
            screening.decide(site.session, review, record, rita, TA, "include")
            screening.decide(site.session, review, record, rita, FT, "include")
        screening.decide(site.session, review, ids[2], rita, TA, "exclude")
        tagging.tag_record(
            site.session, review, ids[0], ["Q1"], "setup", quote="<script>x</script>", page="2"
        )
        site.session.commit()
        yield site


def test_downloads_of_records_prisma_and_the_annotated_bibliography(site):
    rita = site.client("rita@example.org")
    page = rita.page("/r/ai-sw/exports")
    assert 'id="export-annotated"' in page and 'id="export-backup"' not in page
    records = rita.get("/r/ai-sw/exports/records?format=ris&decision=include")
    assert records.status_code == 200
    assert (
        records.headers["Content-Disposition"]
        == 'attachment; filename="ai-sw-include-full-text.ris"'
    )
    assert records.get_data(as_text=True).count("TY  - ") == 2
    prisma = rita.get("/r/ai-sw/exports/prisma?format=json")
    assert prisma.status_code == 200
    assert json.loads(prisma.get_data(as_text=True))
    annotated = rita.get("/r/ai-sw/exports/annotated?format=html&style=apa")
    assert annotated.status_code == 200
    assert annotated.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert annotated.headers["Content-Disposition"].startswith("attachment;")
    assert "<script>x</script>" not in annotated.get_data(as_text=True)
    bad = rita.get("/r/ai-sw/exports/records?format=xls")
    assert bad.status_code == 400
    assert "Records export: Choose a format: ris, bibtex, csv, csljson." in bad.get_data(
        as_text=True
    )
    unknown = rita.get("/r/ai-sw/exports/annotated?format=md&style=mla")
    assert unknown.status_code == 400
    assert "Annotated export:" in unknown.get_data(as_text=True)


def test_a_backup_is_for_leads(site):
    assert site.client("rita@example.org").get("/r/ai-sw/exports/backup").status_code == 403
    lead = site.client("lead@example.org")
    assert 'id="export-backup"' in lead.page("/r/ai-sw/exports")
    response = lead.get("/r/ai-sw/exports/backup")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        assert archive.namelist()
    tmp = site.app.config["LITREVIEW_SETTINGS"].data_dir / "tmp"
    assert not any(tmp.iterdir())
