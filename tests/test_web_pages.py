"""The review's pages: creating a review, settings and members, dashboard, import,
duplicates, records table and record page, PDFs, search, review questions, tagging."""

from __future__ import annotations

import io
import re
import threading

import pytest
import sqlalchemy as sa

from litreview import screening
from litreview.accounts import users as accounts
from litreview.evidence import tags as tagging
from litreview.jobs.work import incoming_dir
from litreview.library import reviews
from litreview.models import (
    Annotation,
    Attachment,
    AuditEntry,
    KeepApart,
    Membership,
    Record,
    RecordTag,
    Review,
)
from litreview.web.indexer import Indexer
from tests.pdfmaker import text_pdf
from tests.webapp import make_site, ris

TA = "title_abstract"


@pytest.fixture
def site(env, database_url):
    with make_site(database_url) as site:
        yield site


def upload(client, url, *files, **fields):
    data = {"files": [(io.BytesIO(body.encode()), name) for name, body in files], **fields}
    return client.post(url, data, content_type="multipart/form-data")


def index_now(site):
    """What the web app does after a commit (nudge its indexer), then wait for it."""
    indexer = site.app.extensions["litreview.indexer"]
    indexer.nudge()
    assert indexer.wait_idle(60)


def test_an_admin_creates_a_review_and_others_may_not(site):
    nina = site.client("nina@example.org")
    assert "You are not a member of any review yet." in nina.page("/")
    refused = nina.post("/reviews/new", {"slug": "lonely", "title": "Loneliness"})
    assert refused.status_code == 403
    assert site.session.scalar(sa.select(Review).where(Review.slug == "lonely")) is None
    user = site.users["nina@example.org"]
    user.is_admin = True
    site.session.commit()
    bad = nina.post(
        "/reviews/new", {"slug": "Bad Slug!", "title": "Loneliness", "description": "why"}
    )
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "Review name &#39;Bad Slug!&#39;: use lower-case letters, digits and dashes" in html
    assert (
        'value="Bad Slug!"' in html and 'value="Loneliness"' in html and ">why</textarea>" in html
    )
    taken = nina.post("/reviews/new", {"slug": "ai-sw", "title": "Again"})
    assert "A review named &#39;ai-sw&#39; already exists." in taken.get_data(as_text=True)
    made = nina.post("/reviews/new", {"slug": "lonely", "title": "Loneliness"})
    assert made.status_code == 303 and made.location == "/r/lonely/settings"
    review = site.session.scalar(sa.select(Review).where(Review.slug == "lonely"))
    assert accounts.role_of(site.session, review, user) == "lead"
    assert 'href="/r/lonely/">Loneliness</a>' in nina.page("/")
    # Members of other reviews see nothing of it.
    assert site.client("lead@example.org").get("/r/lonely/").status_code == 404


def test_a_lead_sets_up_screening_questions_and_members(site):
    lead = site.client("lead@example.org")
    bad = lead.post(
        "/r/ai-sw/settings",
        {
            "title": "AI in social work",
            "criteria": "Adults only",
            "exclusion_reasons": "Wrong population",
            "screening_mode": "triple",
        },
    )
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "Screening mode &#39;triple&#39;: choose single or dual." in html
    assert ">Adults only</textarea>" in html and ">Wrong population</textarea>" in html
    saved = lead.post(
        "/r/ai-sw/settings",
        {
            "title": "AI in social work",
            "criteria": "Include: AI used in social work.",
            "exclusion_reasons": "Not about AI\nNot social work\nnot about ai",
            "highlight_include": "algorithm*\nrisk model",
            "highlight_exclude": "sport",
            "screening_mode": "dual",
        },
    )
    assert saved.status_code == 303
    review = site.review
    site.session.refresh(review)
    assert review.exclusion_reasons == ["Not about AI", "Not social work"]
    assert review.highlight_include == ["algorithm*", "risk model"]
    assert review.screening_mode == "dual"
    assert review.criteria == "Include: AI used in social work."
    assert "Settings saved." in lead.page("/r/ai-sw/settings")

    missing = lead.post("/r/ai-sw/settings/questions", {"code": "Q1", "title": "", "query": "GDPR"})
    assert missing.status_code == 400
    assert "Review question Q1 needs a title." in missing.get_data(as_text=True)
    assert ">GDPR</textarea>" in missing.get_data(as_text=True)
    assert (
        lead.post(
            "/r/ai-sw/settings/questions",
            {"code": "Q4", "title": "Data protection", "query": "GDPR"},
        ).status_code
        == 303
    )
    assert (
        lead.post(
            "/r/ai-sw/settings/questions", {"code": "Q4", "title": "Data protection and consent"}
        ).status_code
        == 303
    )
    site.session.refresh(review)
    assert [(q.code, q.title) for q in review.questions] == [("Q4", "Data protection and consent")]

    unknown = lead.post("/r/ai-sw/members", {"email": "who@example.org", "role": "reviewer"})
    assert unknown.status_code == 400
    text = unknown.get_data(as_text=True)
    assert "No account with the email who@example.org: invite them instead" in text
    assert 'value="who@example.org"' in text
    assert (
        lead.post("/r/ai-sw/members", {"email": "Nina@Example.org", "role": "viewer"}).status_code
        == 303
    )
    nina = site.users["nina@example.org"]
    assert accounts.role_of(site.session, review, nina) == "viewer"
    assert (
        lead.post("/r/ai-sw/members", {"email": "nina@example.org", "role": "reviewer"}).status_code
        == 303
    )
    assert accounts.role_of(site.session, review, nina) == "reviewer"
    last = lead.post(f"/r/ai-sw/members/{site.users['lead@example.org'].id}/remove")
    assert last.status_code == 400
    assert "is the only lead of ai-sw" in last.get_data(as_text=True)
    assert lead.post(f"/r/ai-sw/members/{nina.id}/remove").status_code == 303
    assert accounts.role_of(site.session, review, nina) is None
    actions = site.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.actor == "lead@example.org")
    ).all()
    assert {
        "review.settings",
        "question.add",
        "question.update",
        "member.add",
        "member.role",
        "member.remove",
    } <= set(actions)


def test_import_in_the_background_with_a_report_per_file(site):
    rita = site.client("rita@example.org")
    good = ris(
        {"title": "Algorithmic risk tools in child protection", "year": 2021, "doi": "10.5555/a1"},
        {"title": "Chatbots for social workers", "year": 2023},
    )
    response = upload(
        rita,
        "/r/ai-sw/import",
        ("scopus.ris", good),
        ("notes.txt", "just some words, not a bibliography\n"),
        source="Scopus 2025-03-01",
    )
    assert response.status_code == 303
    job = response.location
    assert re.fullmatch(r"/r/ai-sw/import/jobs/[0-9a-f]{32}", job)
    status = site.wait_for_import(rita, job)
    assert status["state"] == "done"
    assert [f["state"] for f in status["files"]] == ["done", "unreadable"]
    html = rita.page(job)
    assert "Import finished, but 1 of 2 files was refused (see below)." in html
    row = re.search(r'<tr class="file-done">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r"<td>(\d+)</td>", row) == ["2", "2", "0", "0", "0"]
    assert '<td class="untitled-count">0</td>' in row
    failed = re.search(r'<tr class="file-unreadable">(.*?)</tr>', html, re.S).group(1)
    assert "notes.txt" in failed and "uploads" not in failed
    records = site.session.scalars(sa.select(Record.title).order_by(Record.id)).all()
    assert records == ["Algorithmic risk tools in child protection", "Chatbots for social workers"]
    batch_label = site.session.scalar(sa.text("select source_label from import_batch"))
    assert batch_label == "Scopus 2025-03-01"
    # The uploaded files are gone once imported; nothing of them is served.
    uploads = incoming_dir(site.app.config["LITREVIEW_SETTINGS"])
    assert not any(uploads.rglob("*.ris"))
    # Importing the same file again adds nothing, and says so.
    again_job = upload(rita, "/r/ai-sw/import", ("scopus.ris", good)).location
    again = site.wait_for_import(rita, again_job)
    assert again["files"][0]["state"] == "done"
    assert "Import finished." in rita.page(again_job)
    assert site.session.scalar(sa.select(sa.func.count(Record.id))) == 2


def test_an_import_form_without_files_says_so_and_viewers_cannot_import(site):
    rita = site.client("rita@example.org")
    response = rita.post(
        "/r/ai-sw/import", {"source": "Scopus"}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose one or more files to import." in html and 'value="Scopus"' in html
    assert site.client("vera@example.org").get("/r/ai-sw/import").status_code == 403


def test_an_upload_over_the_size_limit_is_refused_with_the_limit(env, database_url):
    # Under 500 KB, so the test client keeps the body in memory.
    with make_site(database_url, {"MAX_CONTENT_LENGTH": 256 * 1024}) as site:
        rita = site.client("rita@example.org")
        big = "x" * (300 * 1024)
        response = upload(rita, "/r/ai-sw/import", ("big.ris", big))
        assert response.status_code == 413
        assert "The upload is larger than the limit of 0.25 MB." in response.get_data(as_text=True)


def test_entry_errors_are_listed_with_their_line(site):
    rita = site.client("rita@example.org")
    bib = "@article{good, title={A good paper}, year={2020}}\n\n@article{bad, title={Broken\n"
    job = upload(rita, "/r/ai-sw/import", ("refs.bib", bib)).location
    status = site.wait_for_import(rita, job)
    [entry] = status["files"]
    html = rita.page(job)
    if entry["state"] == "done":
        assert "refs.bib: line" in html
    else:
        assert "refs.bib" in html


def test_duplicates_side_by_side_merge_keep_apart_and_undo(site):
    a, b, c, d = site.add_records(4)
    rows = site.session.scalars(sa.select(Record).where(Record.id.in_([a, b, c, d]))).all()
    by_id = {r.id: r for r in rows}
    by_id[a].title = "Predictive risk models in child welfare services"
    by_id[b].title = "Predictive risk models in child welfare service"
    by_id[b].venue = "Child Abuse Review"
    by_id[a].year = by_id[b].year = 2020
    by_id[c].title = "Chatbots for social care assessments in England"
    by_id[d].title = "Chatbots for social care assessment in England"
    by_id[c].year = by_id[d].year = 2021
    site.session.commit()
    rita = site.client("rita@example.org")
    html = rita.page("/r/ai-sw/duplicates")
    assert "Probable duplicates <small>(2)</small>" in html
    pair = re.search(rf'<section class="pair" id="pair-{a}-{b}">(.*?)</section>', html, re.S)
    assert pair, html
    assert '<tr class="field-title differs"><th>Title' in pair.group(1)
    # A venue on one record only is not a difference: the merge fills it in.
    assert f'<tr class="field-venue missing"><th>Venue <span class="only-one">only in {b}' in (
        pair.group(1)
    )
    assert '<tr class="field-year same"><th>Year</th>' in pair.group(1)
    merged = rita.post("/r/ai-sw/duplicates/merge", {"keep": a, "other": b})
    assert merged.status_code == 303
    html = rita.page(merged.location)
    assert f"Record {b} was merged into record {a}" in html
    site.session.expire_all()
    assert site.session.get(Record, b).merged_into_id == a
    kept = rita.post("/r/ai-sw/duplicates/keep-apart", {"a": d, "b": c})
    assert kept.status_code == 303
    assert site.session.scalar(sa.select(KeepApart.record_a_id)) == c
    html = rita.page("/r/ai-sw/duplicates")
    assert "No probable duplicates left to judge." in html
    merge_id = int(re.search(r"/duplicates/merges/(\d+)/undo", html).group(1))
    undone = rita.post(f"/r/ai-sw/duplicates/merges/{merge_id}/undo")
    assert f"Merge {merge_id} undone: record {b} is back." in rita.page(undone.location)
    site.session.expire_all()
    assert site.session.get(Record, b).merged_into_id is None
    again = rita.post(f"/r/ai-sw/duplicates/merges/{merge_id}/undo")
    assert f"Merge {merge_id} was already undone." in rita.page(again.location)
    assert rita.post("/r/ai-sw/duplicates/merge", {"keep": a, "other": "x"}).status_code == 400
    vera = site.client("vera@example.org")
    assert "Same work: keep" not in vera.page("/r/ai-sw/duplicates")


def test_records_table_filters_sorts_and_pages(site):
    review = site.review
    reviews.add_question(site.session, review, "Q1", "Types of AI", "setup")
    site.session.commit()
    ids = site.add_records(120)
    rows = {r.id: r for r in site.session.scalars(sa.select(Record))}
    rows[ids[5]].title = "Consent and GDPR in casework"
    rows[ids[5]].year = 1999
    site.session.commit()
    rita_user = site.users["rita@example.org"]
    for n, record in enumerate(ids[:30]):
        screening.decide(
            site.session, review, record, rita_user, TA, ["include", "exclude", "maybe"][n % 3]
        )
    tagging.tag_record(site.session, review, ids[7], ["Q1"], "setup")
    site.session.commit()
    vera = site.client("vera@example.org")
    html = vera.page("/r/ai-sw/records")
    assert '<span id="total">120</span>' in html and "page 1 of 3" in html
    html = vera.page("/r/ai-sw/records?page=3")
    assert len(re.findall(r"<tr><td>\d+</td>", html)) == 20
    html = vera.page("/r/ai-sw/records?decision=include")
    assert '<span id="total">10</span>' in html
    html = vera.page("/r/ai-sw/records?decision=undecided")
    assert '<span id="total">90</span>' in html
    html = vera.page(f"/r/ai-sw/records?reviewer={rita_user.id}&decision=exclude")
    assert '<span id="total">10</span>' in html and "Their decision" in html
    html = vera.page(f"/r/ai-sw/records?reviewer={rita_user.id}")
    assert '<span id="total">30</span>' in html
    html = vera.page(f"/r/ai-sw/records?reviewer={rita_user.id}&decision=undecided")
    assert '<span id="total">90</span>' in html
    # At full text: the 20 records included or "maybe" at title/abstract, none decided yet.
    html = vera.page("/r/ai-sw/records?stage=full_text")
    assert '<span id="total">20</span>' in html
    html = vera.page("/r/ai-sw/records?stage=full_text&decision=undecided")
    assert '<span id="total">20</span>' in html
    question = review.questions[0].id
    html = vera.page(f"/r/ai-sw/records?question={question}")
    assert '<span id="total">1</span>' in html and f"<td>{ids[7]}</td>" in html
    html = vera.page("/r/ai-sw/records?q=gdpr")
    assert '<span id="total">1</span>' in html and "Consent and GDPR in casework" in html
    html = vera.page("/r/ai-sw/records?q=100%25")
    assert '<span id="total">0</span>' in html
    html = vera.page("/r/ai-sw/records?year_from=1990&year_to=2000")
    assert '<span id="total">1</span>' in html
    html = vera.page("/r/ai-sw/records?sort=year")
    first = re.search(r"<tr><td>(\d+)</td><td>(\d*)</td>", html)
    assert first.group(1) == str(ids[5]) and first.group(2) == "1999"
    html = vera.page("/r/ai-sw/records?sort=-id")
    assert re.search(r"<tr><td>(\d+)</td>", html).group(1) == str(ids[-1])
    html = vera.page("/r/ai-sw/records?pdf=yes")
    assert '<span id="total">0</span>' in html
    html = vera.page("/r/ai-sw/records?year_from=twenty&decision=include&sort=colour&pdf=maybe")
    assert "year from: &#39;twenty&#39; is not a number" in html
    assert "sort &#39;colour&#39;: sort by id, year, title, venue" in html
    assert "has PDF &#39;maybe&#39;: choose yes or no" in html
    assert 'name="year_from" value="twenty"' in html
    assert '<span id="total">10</span>' in html  # the good filter still applies
    # Rob is not picked out by Vera's link: only members who screen can be chosen.
    html = vera.page("/r/ai-sw/records?reviewer=999999")
    assert "reviewer: there is no such reviewer to choose in this review" in html


def test_in_blind_dual_mode_a_reviewer_can_filter_by_no_one_else(site):
    reviews.update_settings(site.session, site.review, actor="setup", screening_mode="dual")
    site.session.commit()
    rita = site.client("rita@example.org")
    rob = site.users["rob@example.org"]
    html = rita.page(f"/r/ai-sw/records?reviewer={rob.id}")
    assert "there is no such reviewer to choose" in html
    assert "rob@example.org" not in html
    assert "rob@example.org" in site.client("lead@example.org").page("/r/ai-sw/records")


def test_record_page_tags_annotations_and_pdf_upload(site, tmp_path):
    review = site.review
    reviews.add_question(site.session, review, "Q1", "Types of AI", "setup")
    reviews.add_question(site.session, review, "Q4", "Data protection", "setup")
    [record] = site.add_records(1, title="Consent in casework")
    site.session.commit()
    rita = site.client("rita@example.org")
    url = f"/r/ai-sw/records/{record}"
    html = rita.page(url)
    assert "Not tagged to any review question." in html
    tagged = rita.post(
        f"{url}/tags",
        {
            "question": ["Q1", "Q4"],
            "quote": "consent matters",
            "page": "7",
            "note": "key passage",
            "next": url,
        },
    )
    assert tagged.status_code == 303 and tagged.location == url
    html = rita.page(url)
    assert "Tagged to Q1, Q4 with an annotation" in html
    assert html.count("<blockquote>consent matters</blockquote>") == 2
    assert '<span class="page-ref">p. 7</span>' in html
    assert {t["question"] for t in tagging.record_tags(site.session, review, record)} == {
        "Q1",
        "Q4",
    }
    nothing = rita.post(f"{url}/tags", {"next": url})
    assert "Tick a review question, or write a note or a quote." in rita.page(nothing.location)
    off_site = rita.post(f"{url}/tags", {"question": "Q1", "next": "https://evil.example/"})
    assert off_site.location == url
    q1 = review.questions[0].id
    assert rita.post(f"{url}/tags/{q1}/remove", {"next": url}).status_code == 303
    assert {t["question"] for t in tagging.record_tags(site.session, review, record)} == {"Q4"}
    annotation = site.session.scalar(sa.select(Annotation.id).order_by(Annotation.id))
    assert rita.post(f"{url}/annotations/{annotation}/delete", {"next": url}).status_code == 303
    assert site.session.scalar(sa.select(sa.func.count(Annotation.id))) == 1
    # A file that is not a PDF is refused with a message; a PDF is attached with its text.
    bad = rita.post(
        f"{url}/attachments",
        {"pdf": (io.BytesIO(b"hello"), "notes.pdf")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400
    assert "notes.pdf: not a PDF (it does not start with %PDF-)." in bad.get_data(as_text=True)
    pdf = text_pdf(["First page about consent", "Second page"])
    good = rita.post(
        f"{url}/attachments",
        {"pdf": (io.BytesIO(pdf), "../../etc/Paper One.pdf")},
        content_type="multipart/form-data",
    )
    assert good.status_code == 303
    html = rita.page(url)
    assert "etc_Paper_One.pdf attached: ok, 2 page(s) of text." in html
    attachment = site.session.scalar(sa.select(Attachment))
    assert attachment.path == f"files/{attachment.sha256[:2]}/{attachment.sha256}.pdf"
    with rita.get(f"{url}/attachments/{attachment.id}") as served:
        assert served.get_data() == pdf
        assert served.headers["Content-Disposition"] == "inline; filename=etc_Paper_One.pdf"
    assert not any(incoming_dir(site.app.config["LITREVIEW_SETTINGS"]).rglob("*.pdf"))
    assert (
        site.session.scalar(
            sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "record.untag")
        )
        == 1
    )


def test_search_page_snippets_tagging_and_quoting(site):
    review = site.review
    reviews.add_question(
        site.session, review, "Q4", "Data protection", "setup", query='"data protection"'
    )
    [a, b] = site.add_records(2)
    rows = {r.id: r for r in site.session.scalars(sa.select(Record))}
    rows[a].title = "Data protection in <b>social</b> work"
    rows[a].abstract = "Workers weigh data protection against <script>alert(1)</script> duty."
    rows[b].title = "Loneliness in later life"
    site.session.commit()
    index_now(site)
    rita = site.client("rita@example.org")
    html = rita.page("/r/ai-sw/search?q=%22data+protection%22")
    assert '<strong id="hit-count">1</strong> record found' in html
    assert "<script>alert" not in html and "<b>social</b>" not in html
    assert "<mark>" in html
    assert "&lt;script&gt;" in html or "alert(1)" not in html
    bad = rita.get("/r/ai-sw/search?q=%22data+protection")
    assert bad.status_code == 400
    assert "Unbalanced quotes" in bad.get_data(as_text=True)
    assert 'value="&#34;data protection"' in bad.get_data(as_text=True)
    unknown = rita.get("/r/ai-sw/search?q=data&question=Q9")
    assert unknown.status_code == 400
    assert "No review question &#39;Q9&#39; in review ai-sw" in unknown.get_data(as_text=True)
    # Quote a passage into an annotation of Q4 in one step.
    quote = re.search(r'name="quote" rows="1">([^<]*)</textarea>', html).group(1)
    assert "data protection" in quote.lower()
    done = rita.post(
        f"/r/ai-sw/records/{a}/tags",
        {"question": "Q4", "quote": quote, "next": "/r/ai-sw/search?q=data"},
    )
    assert done.status_code == 303 and done.location == "/r/ai-sw/search?q=data"
    tag = site.session.scalar(sa.select(RecordTag))
    assert tag.record_id == a
    # The question's page lists it, and the theme query suggests nothing untagged now.
    question = review.questions[0].id
    index_now(site)
    html = rita.page(f"/r/ai-sw/questions/{question}")
    assert f'<a href="/r/ai-sw/records/{a}">{a}</a>' in html
    assert "No untagged records match the theme query." in html
    assert "Data protection in &lt;b&gt;social&lt;/b&gt; work" in html


def test_questions_page_suggests_and_tags_in_one_click(site):
    review = site.review
    reviews.add_question(site.session, review, "Q3", "Bias", "setup", query="bias")
    [a] = site.add_records(1, title="Bias in algorithms")
    site.session.commit()
    index_now(site)
    rita = site.client("rita@example.org")
    question = review.questions[0].id
    html = rita.page(f"/r/ai-sw/questions/{question}")
    assert "tag to Q3" in html
    rita.post(
        f"/r/ai-sw/records/{a}/tags", {"question": "Q3", "next": f"/r/ai-sw/questions/{question}"}
    )
    index_now(site)
    html = rita.page(f"/r/ai-sw/questions/{question}")
    assert "Tagged records <small>(1)</small>" in html


def test_dashboard_counts_records_sources_and_merges(site):
    rita = site.client("rita@example.org")
    first = ris(
        {"title": "One", "year": 2020, "doi": "10.5555/1"},
        {"title": "Two", "year": 2021, "doi": "10.5555/2"},
    )
    second = ris({"title": "One again", "year": 2020, "doi": "10.5555/1"})
    site.wait_for_import(
        rita, upload(rita, "/r/ai-sw/import", ("a.ris", first), source="Scopus").location
    )
    site.wait_for_import(
        rita, upload(rita, "/r/ai-sw/import", ("b.ris", second), source="WoS").location
    )
    html = site.client("vera@example.org").page("/r/ai-sw/")
    assert '<strong id="record-count">2</strong> records' in html
    sources = re.search(r'<table class="sources">(.*?)</table>', html, re.S).group(1)
    assert "<td>a.ris</td><td>Scopus</td><td>ris</td><td>2</td><td>2</td>" in sources
    assert "<td>b.ris</td><td>WoS</td><td>ris</td><td>1</td><td>1</td>" in sources
    numbers = screening.stats(site.session, site.review)
    assert f'<strong id="merged-count">{numbers["duplicates_merged"]}</strong>' in html
    assert "No two reviewers have decided the same record yet." in html
    assert site.session.scalar(sa.select(sa.func.count(Membership.id))) == 4


def test_the_indexer_folds_nudges_into_passes_and_survives_failures(caplog):
    calls = []
    started, release = threading.Event(), threading.Event()

    def apply():
        calls.append(threading.current_thread().name)
        started.set()
        release.wait(5)
        if len(calls) == 1:
            raise RuntimeError("index locked by a crashed process")

    indexer = Indexer(apply)
    indexer.nudge()
    assert started.wait(5)
    for _ in range(5):  # while the first pass runs: folded into one more pass
        indexer.nudge()
    release.set()
    assert indexer.wait_idle(10)
    indexer.stop(10)
    assert calls == ["litreview-indexer", "litreview-indexer"]
    assert "search index not updated" in caplog.text
    indexer.nudge()  # after stop: nothing runs, nothing hangs
    assert calls == ["litreview-indexer", "litreview-indexer"]
