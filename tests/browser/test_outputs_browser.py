"""Outputs and the pages a new user stumbled on, in a real headless Chromium: an upload that
is not a bibliography, a report marked not retrievable and the PRISMA diagram it makes,
export warnings and the DOCX's paper, keep-apart undone, questions removed and theme
queries checked, a merged-away record.

Each new or changed page is saved as a PNG 1400 pixels wide, in the folder named by
LITREVIEW_TEST_SCREENSHOTS, else in ``screenshots/`` of the test run's temporary folder.
The tests share one server and one browser and run in file order: the import adds the
records the later tests use.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import docx
import pytest
import sqlalchemy as sa
from docx.shared import Mm

from litreview.evidence import tags as tagging
from litreview.library import duplicates, reviews
from litreview.models import Record, Review, User
from litreview.screening import decide
from tests.browser.pages import sign_in
from tests.pdfmaker import text_pdf
from tests.webapp import ris

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    named = os.environ.get("LITREVIEW_TEST_SCREENSHOTS")
    folder = Path(named) if named else tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shot(page, shots: Path, name: str) -> Path:
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def review_of(session) -> Review:
    return session.scalar(sa.select(Review).where(Review.slug == "ai-sw"))


def user(session, email) -> User:
    return session.scalar(sa.select(User).where(User.email == email))


def record_id(session, title: str) -> int:
    return session.scalar(sa.select(Record.id).where(Record.title == title))


def test_a_pdf_upload_is_named_as_such_and_shown_refused(page, live_site, shots, tmp_path):
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(text_pdf(["A paper, not a bibliography."]))
    entries = [
        {"title": f"Predictive risk models in child welfare {n}", "year": 2018 + n % 6}
        for n in range(1, 7)
    ]
    bib = tmp_path / "scopus.ris"
    bib.write_text(ris(*entries), encoding="utf-8")
    sign_in(page, live_site, "rita@example.org")
    page.goto(f"{live_site.url}/r/ai-sw/import")
    page.set_input_files("#import-files", [str(pdf), str(bib)])
    boxes = page.locator("#file-sources input[name=file_source]")
    assert boxes.count() == 2
    page.fill("input[aria-label='Database or source of scopus.ris']", "Scopus")
    shot(page, shots, "import-form-sources-per-file")
    page.click("button:has-text('Import')")
    page.wait_for_selector("#import-done")
    done = page.inner_text("#import-done")
    assert done == "Import finished, but 1 of 2 files was refused (see below)."
    refused = page.inner_text("tr.file-unreadable")
    assert "refused" in refused and "paper.pdf: a PDF document, not a bibliography file" in refused
    assert "utf-8" not in refused
    assert page.inner_text("tr.file-done td.source") == "Scopus"
    shot(page, shots, "import-job-pdf-refused")


def test_prisma_counts_only_the_report_marked_not_retrievable(page, live_site, shots, tmp_path):
    titles = [f"Predictive risk models in child welfare {n}" for n in (1, 2, 3)]
    with live_site.session() as session:
        review, rita = review_of(session), user(session, "rita@example.org")
        ids = [record_id(session, t) for t in titles]
        for rid in ids:
            decide(session, review, rid, rita, "title_abstract", "include")
        decide(session, review, ids[0], rita, "full_text", "include")
        session.commit()
    sign_in(page, live_site, "rita@example.org")
    page.goto(f"{live_site.url}/r/ai-sw/records/{ids[1]}")
    assert "No full text yet." in page.inner_text("main")
    page.locator("#mark-not-retrievable").scroll_into_view_if_needed()
    shot(page, shots, "record-full-text-mark-form")
    page.fill("#mark-not-retrievable input[name=note]", "Not held by the library; no reply")
    page.click("#mark-not-retrievable button")
    page.wait_for_selector(".flash.info")
    assert "is marked as not retrievable" in page.inner_text(".flash.info")
    assert "Not held by the library; no reply" in page.inner_text("#not-retrievable")
    shot(page, shots, "record-marked-not-retrievable")

    page.goto(f"{live_site.url}/r/ai-sw/exports")
    form = page.locator("#export-prisma form")
    form.locator("select[name=format]").select_option("json")
    with page.expect_download() as info:
        form.locator("button").click()
    numbers = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    # Three reports sought: one read and included, one marked not retrievable, and one
    # simply without a PDF yet, which is awaiting its full text, not "not retrieved".
    assert numbers["sought"] == 3
    assert (numbers["not_retrieved"], numbers["awaiting_retrieval"]) == (1, 1)
    assert (numbers["assessed"], numbers["included"]) == (1, 1)
    assert numbers["identified"] == [{"source": "Scopus", "records": 6}]
    form.locator("select[name=format]").select_option("svg")
    with page.expect_download() as info:
        form.locator("button").click()
    svg = tmp_path / info.value.suggested_filename  # named .svg, so the browser draws it
    info.value.save_as(svg)
    texts = {
        g.get("id"): " ".join(t.text or "" for t in g.iter(f"{SVG}text"))
        for g in ET.parse(svg).getroot().iter(f"{SVG}g")
        if (g.get("id") or "").startswith("box-")
    }
    assert texts["box-not-retrieved"] == "Reports not retrieved (n = 1)"
    assert "Awaiting full text (n = 1)" in texts["box-sought"]
    assert texts["box-excluded-eligibility"] == "Reports excluded (n = 0)"
    # The diagram as a person sees it: the downloaded SVG drawn by the browser.
    drawing = svg.read_text(encoding="utf-8").split("?>", 1)[1]
    diagram = page.context.new_page()
    diagram.set_content(f"<!doctype html><body style='margin:0'>{drawing}</body>")
    shot(diagram, shots, "prisma-diagram")
    diagram.close()


def test_exports_warn_on_an_empty_selection_and_docx_is_a4(page, live_site, shots):
    with live_site.session() as session:
        review = review_of(session)
        reviews.add_question(session, review, "Q1", "Types of AI in use", "setup")
        first = record_id(session, "Predictive risk models in child welfare 1")
        tagging.tag_record(session, review, first, ["Q1"], "rita@example.org")  # no note
        session.commit()
    sign_in(page, live_site, "rita@example.org")
    page.goto(f"{live_site.url}/r/ai-sw/exports")
    form = page.locator("#records-form")
    form.locator("select[name=decision]").select_option("exclude")
    form.locator("button").click()
    page.wait_for_selector(".flash.warning")
    warning = page.inner_text(".flash.warning")
    assert warning == (
        "Records export: No records with decision exclude at full text in review ai-sw: "
        "nothing to export."
    )
    assert page.locator("#records-form select[name=decision]").input_value() == "exclude"
    shot(page, shots, "exports-empty-selection-warning")

    form = page.locator("#records-form")
    form.locator("select[name=decision]").select_option("include")
    form.locator("select[name=stage]").select_option("title_abstract")
    with page.expect_download() as info:
        form.locator("button").click()
    assert info.value.suggested_filename == "ai-sw-include-title-abstract.ris"
    assert Path(info.value.path()).read_text(encoding="utf-8").count("TY  - ") == 3

    page.goto(f"{live_site.url}/r/ai-sw/exports")
    annotated = page.locator("#export-annotated form")
    annotated.locator("select[name=format]").select_option("docx")
    assert annotated.locator("select[name=page_size]").input_value() == "a4"
    with page.expect_download() as info:
        annotated.locator("button").click()
    document = docx.Document(info.value.path())
    section = document.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(0.1)
    assert abs(section.page_height - Mm(297)) < Mm(0.1)
    lines = [p.text for p in document.paragraphs]
    assert any(line.startswith("Tagged to Q1 by Rita, ") for line in lines), lines


def test_keep_apart_is_undone_in_the_browser(page, live_site, shots):
    with live_site.session() as session:
        a = record_id(session, "Predictive risk models in child welfare 4")
        b = record_id(session, "Predictive risk models in child welfare 5")
    sign_in(page, live_site, "rita@example.org")
    page.goto(f"{live_site.url}/r/ai-sw/duplicates")
    pair = page.locator(f"#pair-{a}-{b}")
    assert "titles 97% alike" in pair.locator("h2").inner_text()
    marked = pair.locator("tr.differs").evaluate_all("rows => rows.map(r => r.classList[0])")
    assert marked == ["field-title", "field-authors", "field-year"]
    shot(page, shots, "duplicates-marks")
    pair.locator("button:has-text('Different works: keep apart')").click()
    page.wait_for_selector(f"#apart-{a}-{b}")
    assert page.locator(f"#pair-{a}-{b}").count() == 0
    shot(page, shots, "duplicates-kept-apart")
    page.locator(f"#apart-{a}-{b} button:has-text('Undo keep apart')").click()
    page.wait_for_selector(".flash.info")
    assert "are no longer kept apart" in page.inner_text(".flash.info")
    assert page.locator(f"#pair-{a}-{b}").count() == 1
    assert page.locator(f"#apart-{a}-{b}").count() == 0


def test_a_lead_removes_a_question_and_a_bad_theme_query_is_refused(page, live_site, shots):
    long_query = " OR ".join(f'"automated decision term {n}"' for n in range(10))
    with live_site.session() as session:
        review = review_of(session)
        reviews.add_question(session, review, "Q2", "Risks", "setup", None, long_query)
        reviews.add_question(session, review, "Q3", "Bias", "setup")
        first = record_id(session, "Predictive risk models in child welfare 2")
        tagging.tag_record(session, review, first, ["Q3"], "rita@example.org", note="Bias noted")
        session.commit()
        by_code = {q.code: q.id for q in review.questions}
        q2_id, q3_id = by_code["Q2"], by_code["Q3"]
    sign_in(page, live_site, "lead@example.org")
    page.goto(f"{live_site.url}/r/ai-sw/settings")
    single = page.locator("input[name=screening_mode][value=single]")
    label = page.locator("label:has(input[value=single])")
    box, text = single.bounding_box(), label.bounding_box()
    assert abs((box["y"] + box["height"] / 2) - (text["y"] + text["height"] / 2)) < 6
    query = page.locator(f"#question-{q2_id} textarea[name=query]")
    assert query.input_value() == long_query
    assert query.evaluate("el => el.scrollHeight <= el.clientHeight + 2")  # all of it shows
    shot(page, shots, "settings-questions")

    query.fill('"automated decision OR profiling')
    page.locator(f"#question-{q2_id} button:has-text('Save Q2')").click()
    page.wait_for_selector(".field-error")
    assert page.inner_text(f"#question-{q2_id} .field-error").startswith(
        "The theme query of Q2 does not parse: unbalanced quotes"
    )
    shot(page, shots, "settings-bad-theme-query")

    card = page.locator(f"#question-{q3_id}")
    card.locator("summary").click()
    assert "Its 1 tag and 1 annotation" in card.locator("details form").inner_text()
    shot(page, shots, "settings-remove-question-confirm")
    card.locator("select[name=move_to]").select_option("")
    card.locator("button:has-text('Remove Q3')").click()
    page.wait_for_selector(".flash.info")
    assert page.inner_text(".flash.info") == (
        "Review question Q3 removed; its 1 tag and 1 annotation removed (the audit log keeps them)."
    )
    assert page.locator(f"#question-{q3_id}").count() == 0
    shot(page, shots, "settings-question-removed")


def test_a_merged_away_record_links_to_where_it_went(page, live_site, shots):
    with live_site.session() as session:
        review = review_of(session)
        keep = record_id(session, "Predictive risk models in child welfare 4")
        other = record_id(session, "Predictive risk models in child welfare 5")
        duplicates.merge(session, review, keep, other, "rita@example.org")
        session.commit()
    sign_in(page, live_site, "rita@example.org")
    page.goto(f"{live_site.url}/r/ai-sw/records/{other}")
    banner = page.inner_text("#merged-into")
    assert re.search(rf"This record was merged into record {keep}, .* by rita@example.org", banner)
    assert page.locator("form.tagging").count() == 0
    assert page.locator("input[name=pdf]").count() == 0
    shot(page, shots, "record-merged-away")
    page.click(f"#merged-into a:has-text('record {keep}') >> nth=0")
    page.wait_for_url(f"{live_site.url}/r/ai-sw/records/{keep}")
    assert page.locator(f"#tag-form-{keep}").count() == 1
    icon = page.request.get(f"{live_site.url}/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert page.locator("link[rel=icon]").get_attribute("href") == "/static/favicon.svg"
