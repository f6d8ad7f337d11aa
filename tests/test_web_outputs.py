"""The pages a new user stumbled on: settings (questions removed, theme queries checked),
duplicates (marks that agree with the figure, keep-apart undone), import (a PDF named as
such, refused files, entries without a title, a source per file), the record page (a
report marked not retrievable; a merged-away record), and the favicon."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from litreview.evidence import tags as tagging
from litreview.library import duplicates, reviews
from litreview.library.comparison import ALIKE, DIFFERS, MISSING, SAME, compare, percent_alike
from litreview.models import (
    Annotation,
    AuditEntry,
    ImportBatch,
    KeepApart,
    Record,
    RecordTag,
    ReviewQuestion,
)
from litreview.screening import decide
from tests.pdfmaker import text_pdf
from tests.webapp import make_site, ris

TA = "title_abstract"


@pytest.fixture
def site(env, database_url):
    with make_site(database_url) as site:
        yield site


def _upload(client, *files, **fields):
    data = {"files": [(io.BytesIO(body), name) for name, body in files], **fields}
    return client.post("/r/ai-sw/import", data, content_type="multipart/form-data")


# ---------------------------------------------------------------- settings


def test_a_lead_removes_a_question_and_its_tags_stay_in_the_audit_log(site):
    review = site.review
    for code, title in (("Q1", "Types of AI"), ("Q2", "Risks"), ("Q3", "Bias")):
        reviews.add_question(site.session, review, code, title, "setup")
    a, b = site.add_records(2)
    tagging.tag_record(site.session, review, a, ["Q2"], "rita@example.org", note="Risk to data")
    tagging.tag_record(site.session, review, b, ["Q2", "Q3"], "rita@example.org")
    site.session.commit()
    lead = site.client("lead@example.org")
    page = lead.page("/r/ai-sw/settings")
    q2 = site.session.scalar(sa.select(ReviewQuestion).where(ReviewQuestion.code == "Q2"))
    card = re.search(
        rf'<div class="question-card" id="question-{q2.id}">(.*?)</details>', page, re.S
    )
    assert "2 tagged records, 1 annotation" in card.group(1)
    # Q2's tags and annotation move to Q3 (record b was tagged to both: one tag remains).
    moved = lead.post(f"/r/ai-sw/settings/questions/{q2.id}/remove", {"move_to": "Q3"})
    assert moved.status_code == 303
    assert "Review question Q2 removed; its 2 tags and 1 annotation moved to Q3." in lead.page(
        moved.location
    )
    site.session.expire_all()
    codes = site.session.scalars(sa.select(ReviewQuestion.code).order_by(ReviewQuestion.position))
    assert list(codes) == ["Q1", "Q3"]
    q3 = site.session.scalar(sa.select(ReviewQuestion).where(ReviewQuestion.code == "Q3"))
    tagged = site.session.scalars(
        sa.select(RecordTag.record_id).where(RecordTag.question_id == q3.id)
    )
    assert sorted(tagged) == [a, b]
    assert site.session.scalar(sa.select(Annotation.question_id)) == q3.id
    # Q3 removed outright: its tags and annotation go, each kept whole in the audit log.
    gone = lead.post(f"/r/ai-sw/settings/questions/{q3.id}/remove", {"move_to": ""})
    assert "its 2 tags and 1 annotation removed (the audit log keeps them)" in lead.page(
        gone.location
    )
    assert site.session.scalar(sa.select(sa.func.count(RecordTag.id))) == 0
    assert site.session.scalar(sa.select(sa.func.count(Annotation.id))) == 0
    entry = site.session.scalar(
        sa.select(AuditEntry)
        .where(AuditEntry.action == "question.remove")
        .order_by(AuditEntry.id.desc())
    )
    assert entry.details["code"] == "Q3"
    assert [t["record"] for t in entry.details["tags"]] == [a, b]
    assert entry.details["annotations"][0]["note"] == "Risk to data"
    # Only leads remove questions.
    q1 = site.session.scalar(sa.select(ReviewQuestion.id).where(ReviewQuestion.code == "Q1"))
    rita = site.client("rita@example.org")
    assert rita.post(f"/r/ai-sw/settings/questions/{q1}/remove").status_code == 403
    assert lead.post("/r/ai-sw/settings/questions/999999/remove").status_code == 404


def test_a_theme_query_that_does_not_parse_is_refused_with_the_parsers_message(site):
    reviews.add_question(site.session, site.review, "Q4", "Data protection", "setup", None, "GDPR")
    site.session.commit()
    lead = site.client("lead@example.org")
    long_query = " OR ".join(f'"data protection term {n}"' for n in range(12))
    saved = lead.post(
        "/r/ai-sw/settings/questions",
        {"code": "Q4", "title": "Data protection", "query": long_query},
    )
    assert saved.status_code == 303
    page = lead.page("/r/ai-sw/settings")
    # The whole query is there to read and edit, in a text area.
    assert re.search(
        r'<textarea name="query" rows="\d+" class="query"[^>]*>'
        + re.escape(long_query.replace('"', "&#34;")),
        page,
    )
    bad = lead.post(
        "/r/ai-sw/settings/questions",
        {"code": "Q4", "title": "Data protection", "query": '"data protection OR GDPR'},
    )
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "The theme query of Q4 does not parse: unbalanced quotes" in html
    assert '<p class="field-error" role="alert">' in html
    assert "&#34;data protection OR GDPR</textarea>" in html  # what was typed, to correct
    site.session.expire_all()
    query = site.session.scalar(sa.select(ReviewQuestion.query).where(ReviewQuestion.code == "Q4"))
    assert query == long_query
    new = lead.post("/r/ai-sw/settings/questions", {"code": "Q5", "title": "X", "query": "a AND"})
    assert new.status_code == 400
    assert "The theme query of Q5 does not parse" in new.get_data(as_text=True)
    assert (
        site.session.scalar(sa.select(ReviewQuestion.id).where(ReviewQuestion.code == "Q5")) is None
    )


def test_the_screening_mode_radio_buttons_sit_in_their_labels(site):
    page = site.client("lead@example.org").page("/r/ai-sw/settings")
    assert re.search(
        r'<label class="inline"><input type="radio" name="screening_mode" value="single" checked> '
        r"One reviewer per record</label>",
        page,
    )


# ---------------------------------------------------------------- duplicates


def test_only_real_differences_are_marked_and_the_figure_agrees(site):
    a, b, c = site.add_records(3)
    rows = {r.id: r for r in site.session.scalars(sa.select(Record))}
    rows[a].title, rows[b].title = (
        "Algorithmic risk assessment in child protection: a review.",
        "Algorithmic Risk Assessment in Child Protection - A Review",
    )
    rows[c].title = "Algorithmic risk assessments in child protection services"
    rows[a].authors = [{"family": "Smith", "given": "John"}, {"family": "Jones", "given": "A."}]
    rows[b].authors = [{"family": "Smith", "given": "J."}, {"family": "Jones", "given": "Anna"}]
    rows[c].authors = [{"family": "Smyth", "given": "J."}]
    rows[a].year, rows[b].year, rows[c].year = 2020, 2021, 2020
    rows[a].venue, rows[b].venue = "Journal of Social Work", "J. Soc. Work"
    rows[a].pages, rows[b].pages = "12-34", "12–34"
    rows[a].doi, rows[b].doi = "10.1000/abc.1", "10.1000/abc.2"
    rows[a].abstract, rows[b].abstract, rows[c].abstract = (
        "We review  tools.",
        "We review tools.",
        None,
    )
    site.session.commit()
    states = {f.name: f.state for f in compare(rows[a], rows[b])}
    assert states == {
        "title": ALIKE,
        "authors": ALIKE,
        "year": DIFFERS,
        "venue": ALIKE,
        "pages": ALIKE,
        "doi": DIFFERS,
        "type": SAME,
        "abstract": SAME,
    }
    assert {f.name: f.state for f in compare(rows[a], rows[c])}["abstract"] == MISSING
    assert percent_alike(1.0) == "100%" and percent_alike(0.996) == "99%"

    html = site.client("rita@example.org").page("/r/ai-sw/duplicates")
    pair = re.search(rf'<section class="pair" id="pair-{a}-{b}">(.*?)</section>', html, re.S)
    text = pair.group(1)
    assert "titles 100% alike" in text
    marked = re.findall(r'<tr class="field-(\w+) differs">', text)
    assert marked == ["year", "doi"]
    other = re.search(rf'<section class="pair" id="pair-{a}-{c}">(.*?)</section>', html, re.S)
    assert re.search(r"titles 9\d% alike", other.group(1))
    assert '<tr class="field-title differs">' in other.group(1)
    assert f'<span class="only-one">only in {a}</span>' in other.group(1)


def test_keep_apart_can_be_undone_in_the_browser(site):
    a, b = site.add_records(2, title="Chatbots for social care assessments in England")
    rita = site.client("rita@example.org")
    rita.post("/r/ai-sw/duplicates/keep-apart", {"a": a, "b": b})
    html = rita.page("/r/ai-sw/duplicates")
    assert "No probable duplicates left to judge." in html
    row = re.search(rf'<tr id="apart-{a}-{b}">(.*?)</tr>', html, re.S).group(1)
    assert "rita@example.org" in row and "Undo keep apart" in row
    assert "Undo keep apart" not in site.client("vera@example.org").page("/r/ai-sw/duplicates")
    undone = rita.post("/r/ai-sw/duplicates/keep-apart/undo", {"a": b, "b": a})
    assert undone.status_code == 303
    html = rita.page(undone.location)
    assert f"Records {b} and {a} are no longer kept apart" in html
    assert f'id="pair-{a}-{b}"' in html
    assert site.session.scalar(sa.select(sa.func.count(KeepApart.id))) == 0
    again = rita.post("/r/ai-sw/duplicates/keep-apart/undo", {"a": a, "b": b})
    assert f"Records {a} and {b} were not kept apart." in rita.page(again.location)
    [entry] = site.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "record.keep_apart_undo")
    ).all()
    assert entry.details["kept_apart_by"] == "rita@example.org"
    assert not duplicates.undo_keep_apart(site.session, site.review, a, b, "x")


# ---------------------------------------------------------------- import


def test_a_pdf_is_named_as_such_and_refused_files_are_shown_as_refused(site):
    rita = site.client("rita@example.org")
    job = _upload(rita, ("paper.pdf", text_pdf(["A paper, not a bibliography."]))).location
    status = site.wait_for_import(rita, job)
    assert [f["state"] for f in status["files"]] == ["unreadable"]
    html = rita.page(job)
    assert "Import finished." not in html
    assert "Nothing was imported: the file was refused (see below)." in html
    row = re.search(r'<tr class="file-unreadable">(.*?)</tr>', html, re.S).group(1)
    assert '<td class="state">refused</td>' in row
    assert "paper.pdf: a PDF document, not a bibliography file" in row
    assert "utf-8" not in row
    mixed = _upload(
        rita,
        ("scopus.ris", ris({"title": "Chatbots in care", "year": 2023}).encode()),
        ("report.docx", b"PK\x03\x04" + b"\x00" * 64),
    ).location
    site.wait_for_import(rita, mixed)
    html = rita.page(mixed)
    assert "Import finished, but 1 of 2 files was refused (see below)." in html
    assert "report.docx: is a zip file" in html


def test_entries_without_a_title_are_reported_and_each_file_has_its_source(site):
    rita = site.client("rita@example.org")
    untitled = "TY  - JOUR\nID  - nt1\nAU  - Nobody, A.\nPY  - 2020\nER  - \n\n"
    good = ris({"title": "Risk tools", "year": 2021}, {"title": "Care bots", "year": 2022})
    page = rita.page("/r/ai-sw/import")
    assert 'id="file-sources"' in page and '<option value="Web of Science">' in page
    response = rita.post(
        "/r/ai-sw/import",
        {
            "files": [
                (io.BytesIO((good + untitled).encode()), "scopus.ris"),
                (io.BytesIO(ris({"title": "Bias audits", "year": 2020}).encode()), "wos.ris"),
            ],
            "file_source": ["Scopus", ""],
            "source": "Web of Science",
        },
        content_type="multipart/form-data",
    )
    job = response.location
    status = site.wait_for_import(rita, job)
    assert [f["state"] for f in status["files"]] == ["done", "done"]
    html = rita.page(job)
    sources = re.findall(r'<td class="source">([^<]*)</td>', html)
    assert sources == ["Scopus", "Web of Science"]
    assert '<td class="untitled-count">1</td>' in html
    third = good.count("\n") + 1  # the untitled entry's first line
    assert f"scopus.ris: line {third}, entry nt1: no title (imported as" in html
    assert "Import finished." in html
    labels = site.session.execute(
        sa.select(ImportBatch.file_name, ImportBatch.source_label).order_by(ImportBatch.id)
    ).all()
    assert [tuple(r) for r in labels] == [("scopus.ris", "Scopus"), ("wos.ris", "Web of Science")]


# ---------------------------------------------------------------- the record page


def test_a_report_is_marked_not_retrievable_on_its_record_page(site):
    review = site.review
    included, excluded = site.add_records(2)
    rita_user = site.users["rita@example.org"]
    decide(site.session, review, included, rita_user, TA, "include")
    decide(site.session, review, excluded, rita_user, TA, "exclude")
    site.session.commit()
    rita = site.client("rita@example.org")
    page = rita.page(f"/r/ai-sw/records/{included}")
    assert 'id="mark-not-retrievable"' in page
    assert 'id="mark-not-retrievable"' not in rita.page(f"/r/ai-sw/records/{excluded}")
    marked = rita.post(
        f"/r/ai-sw/records/{included}/not-retrievable", {"note": "Not held; author silent"}
    )
    assert marked.status_code == 303 and marked.location.endswith("#attachments")
    page = rita.page(f"/r/ai-sw/records/{included}")
    assert f"The report of record {included} is marked as not retrievable." in page
    assert "marked by rita@example.org on" in page and "Not held; author silent" in page
    refused = rita.post(f"/r/ai-sw/records/{excluded}/not-retrievable", {"note": ""})
    assert "is not sought for retrieval" in rita.page(refused.location)
    cleared = rita.post(f"/r/ai-sw/records/{included}/not-retrievable", {"clear": "1"})
    assert "is no longer marked as not retrievable" in rita.page(cleared.location)
    vera = site.client("vera@example.org")
    assert vera.post(f"/r/ai-sw/records/{included}/not-retrievable").status_code == 403


def test_a_merged_away_record_says_where_it_went_and_has_no_tag_form(site):
    reviews.add_question(site.session, site.review, "Q1", "Types of AI", "setup")
    keep, other = site.add_records(2)
    site.session.commit()
    duplicates.merge(site.session, site.review, keep, other, "rita@example.org")
    site.session.commit()
    page = site.client("rita@example.org").page(f"/r/ai-sw/records/{other}")
    banner = re.search(
        r'<div class="flash info merged-away" id="merged-into">(.*?)</div>', page, re.S
    )
    assert f'href="/r/ai-sw/records/{keep}">record {keep}</a>' in banner.group(1)
    assert "by rita@example.org on" in banner.group(1)
    assert f'id="tag-form-{other}"' not in page and "Upload a PDF" not in page
    assert f'id="tag-form-{keep}"' in site.client("rita@example.org").page(
        f"/r/ai-sw/records/{keep}"
    )


def test_the_favicon_is_served_and_linked(site):
    client = site.client()
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data().startswith(b"<svg")
    response.close()
    assert '<link rel="icon" href="/static/favicon.svg"' in client.page("/signin")
