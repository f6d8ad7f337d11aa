"""Records in a real headless Chromium: a bulk exclusion with a reason of everything a
filter matches (confirmed first), a record's details edited and seen on its page and in
an export of the selection, and a quote saved once, under the question ticked, and
printed under that question only. Markup in a title stays text on every page here.

Screenshots (1400 px wide) of the records table with a selection, the bulk
confirmation, the edit form and the record page go to the folder named by
LITREVIEW_TEST_SCREENSHOTS, else ``screenshots/`` of the test run's temporary folder.
The tests share one server and one browser and run in file order.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from litreview.evidence import tags as tagging
from litreview.library import reviews
from litreview.models import (
    Annotation,
    AuditEntry,
    Decision,
    ImportBatch,
    Record,
    RecordSource,
    Review,
)
from tests.browser.pages import WIDTH, sign_in
from tests.browser.test_people_browser import no_markup_ran
from tests.pdfmaker import text_pdf

SCRIPT_TITLE = '<script>alert("mower")</script> Robotic lawn mowers <img src=x onerror=alert(2)>'
MOWERS = 57  # more than a page of the table (50)


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    named = os.environ.get("LITREVIEW_TEST_SCREENSHOTS")
    folder = Path(named) if named else tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shot(page, shots: Path, name: str) -> Path:
    assert page.viewport_size["width"] == WIDTH
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="module", autouse=True)
def library(live_site) -> dict[str, int]:
    """Mower papers to exclude (one titled with markup), papers to keep, two questions."""
    with live_site.session() as session:
        review = session.scalar(sa.select(Review).where(Review.slug == "ai-sw"))
        review.exclusion_reasons = ["Not social work", "Not AI"]
        rows = [
            Record(review_id=review.id, title=f"Robotic lawn mowers, trial {n}", year=2015)
            for n in range(MOWERS - 1)
        ]
        rows.append(Record(review_id=review.id, title=SCRIPT_TITLE, year=2016))
        keep = Record(
            review_id=review.id,
            title="Algorithmic risk scores in chlid protection",
            authors=[{"family": "Okafor", "given": "N."}],
            year=2012,
            venue="J. Soc. Wrk",
        )
        quoted = Record(review_id=review.id, title="Case notes and consent", year=2022)
        session.add_all([*rows, keep, quoted])
        session.flush()
        # The record as a Scopus import left it: its entry kept as read.
        batch = ImportBatch(
            review_id=review.id,
            file_name="scopus.ris",
            format="ris",
            source_label="Scopus",
            sha256="0" * 64,
            created_by="lead@example.org",
        )
        session.add(batch)
        session.flush()
        session.add(
            RecordSource(
                review_id=review.id,
                record_id=keep.id,
                batch_id=batch.id,
                entry_key="okafor2012",
                line=1,
                fingerprint="1" * 40,
                raw="TY  - JOUR\nTI  - Algorithmic risk scores in chlid protection\nER  - ",
                data={
                    "title": keep.title,
                    "authors": keep.authors,
                    "year": 2012,
                    "venue": "J. Soc. Wrk",
                    "doi": None,
                },
            )
        )
        reviews.add_question(session, review, "Q3", "Bias and discrimination", "setup")
        reviews.add_question(session, review, "Q4", "Data protection", "setup")
        tagging.tag_record(session, review, quoted.id, ["Q3"], "setup")
        session.commit()
        return {"keep": keep.id, "quoted": quoted.id, "first_mower": rows[0].id}


def test_bulk_exclude_with_a_reason_of_everything_matching_a_filter(page, live_site, shots):
    sign_in(page, live_site, "rita@example.org")
    page.goto(f"{live_site.url}/r/ai-sw/records")
    page.fill("form.filters input[name=q]", "lawn mowers")
    page.select_option("form.filters select[name=sort]", "-id")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/records?*q=lawn+mowers*")
    assert page.inner_text("#total") == str(MOWERS)
    assert "Robotic lawn mowers <img" in page.inner_text("table.records")  # as text
    no_markup_ran(page)
    # Ticking rows counts them; "select the page" ticks all fifty.
    page.locator('table.records input[name="id"]').nth(0).check()
    page.locator('table.records input[name="id"]').nth(2).check()
    assert page.inner_text("#picked-count") == "2"
    page.check("#pick-page")
    assert page.inner_text("#picked-count") == "50"
    page.uncheck("#pick-page")
    page.locator('table.records input[name="id"]').nth(1).check()
    page.locator('table.records input[name="id"]').nth(3).check()
    # ...but here everything the filter matches, on both pages, is meant.
    page.check("#bulk input[name=scope][value=all]")
    assert f"all {MOWERS} records matching the filter, on all 2 pages" in page.inner_text("#bulk")
    page.select_option("#bulk-action", "exclude")
    assert page.is_visible("#bulk .for-exclude") and not page.is_visible("#bulk .for-tag")
    page.select_option("#bulk select[name=reason]", "Not AI")
    shot(page, shots, "records-table-selection")

    page.click("#bulk button[type=submit]")
    page.wait_for_selector("#bulk-confirm")
    assert page.inner_text("h1") == f"Exclude {MOWERS} records at title/abstract?"
    assert f"all {MOWERS} records matching the filter" in page.inner_text("#bulk-confirm")
    assert "Robotic lawn mowers <img" in page.inner_text("ol.bulk-list")
    no_markup_ran(page)
    shot(page, shots, "records-bulk-confirmation")
    with live_site.session() as session:
        assert session.scalar(sa.select(sa.func.count(Decision.id))) == 0  # not before "yes"

    page.click("#bulk-confirm-form button[type=submit]")
    page.wait_for_selector(".flash.info")
    assert page.inner_text(".flash.info") == (
        f"Excluded {MOWERS} records at title/abstract (reason: Not AI)."
    )
    assert "q=lawn+mowers" in page.url
    page.select_option("form.filters select[name=decision]", "exclude")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**decision=exclude*")
    assert page.inner_text("#total") == str(MOWERS)
    with live_site.session() as session:
        decided = session.execute(
            sa.select(Decision.decision, Decision.reason, sa.func.count()).group_by(
                Decision.decision, Decision.reason
            )
        ).all()
        assert decided == [("exclude", "Not AI", MOWERS)]
        assert (
            session.scalar(
                sa.select(sa.func.count()).where(AuditEntry.action == "screen.bulk_decide")
            )
            == 1
        )


def test_edit_a_record_and_see_it_on_its_page_and_in_an_export(page, live_site, shots, library):
    record_id = library["keep"]
    sign_in(page, live_site, "rita@example.org")
    page.goto(f"{live_site.url}/r/ai-sw/records/{record_id}")
    page.click("#edit-record")
    page.wait_for_selector("#record-edit")
    assert page.input_value("#edit-authors") == "Okafor, N."
    page.fill(
        "#edit-title", "Algorithmic risk scores in child protection <script>alert(9)</script>"
    )
    page.fill("#edit-authors", "Okafor, Nkechi\nSmith, Jane")
    page.fill("#edit-year", "2021")
    page.fill("#edit-venue", "Journal of Social Work")
    page.fill("#edit-doi", "https://doi.org/10.1000/JSW.42")
    shot(page, shots, "record-edit-form")
    page.click("#record-edit button[type=submit]")
    page.wait_for_url(f"**/records/{record_id}")
    assert "title, authors, year, venue, doi changed" in page.inner_text(".flash.info")
    assert page.inner_text("h1.record-title") == (
        "Algorithmic risk scores in child protection <script>alert(9)</script> edited"
    )
    assert "Okafor" in page.inner_text("p.authors") and "Smith" in page.inner_text("p.authors")
    page.click("#edited summary")
    assert "Before the first edit" in page.inner_text("#edited")
    originals = page.locator("table.originals tbody tr")
    assert originals.count() == 1
    assert originals.locator("td").nth(0).inner_text() == "Scopus, entry okafor2012"
    assert originals.locator("td.original-title").inner_text() == (
        "Algorithmic risk scores in chlid protection"
    )
    assert originals.locator("td.original-year").inner_text() == "2012"
    assert "10.1000/jsw.42" in page.inner_text("dl.fields")
    no_markup_ran(page)
    shot(page, shots, "record-page-edited")

    # The edited record, exported from the table's selection.
    page.goto(f"{live_site.url}/r/ai-sw/records?q=child+protection")
    page.locator('table.records input[name="id"]').first.check()
    page.select_option("#bulk-action", "export")
    page.select_option("#bulk select[name=format]", "ris")
    with page.expect_download() as info:
        page.click("#bulk button[type=submit]")
    assert info.value.suggested_filename == "ai-sw-selected.ris"
    ris = Path(info.value.path()).read_text(encoding="utf-8")
    assert "TI  - Algorithmic risk scores in child protection <script>alert(9)</script>" in ris
    assert "AU  - Okafor, Nkechi" in ris and "PY  - 2021" in ris and "DO  - 10.1000/jsw.42" in ris


def test_a_quote_is_stored_once_and_printed_under_its_question(page, live_site, shots, library):
    record_id = library["quoted"]
    sign_in(page, live_site, "rita@example.org")
    page.goto(f"{live_site.url}/r/ai-sw/records/{record_id}")
    form = page.locator(f"#tag-form-{record_id}")
    # Tagged to Q3 already, and marked so, but nothing is ticked in advance.
    assert form.locator("input[name=question]:checked").count() == 0
    assert "tagged" in form.locator("label.tagged").inner_text()
    form.scroll_into_view_if_needed()
    shot(page, shots, "record-tag-form-nothing-ticked")
    form.locator("input[name=question][value=Q4]").check()
    form.locator("textarea[name=quote]").fill("case notes were shared without consent")
    form.locator("input[name=page]").fill("12")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.info")
    assert "Tagged to Q4 with an annotation" in page.inner_text(".flash.info")
    with live_site.session() as session:
        rows = session.execute(
            sa.select(Annotation.quote).where(Annotation.record_id == record_id)
        ).all()
        assert rows == [("case notes were shared without consent",)]

    page.goto(f"{live_site.url}/r/ai-sw/exports")
    form = page.locator("#export-annotated form")
    form.locator("select[name=format]").select_option("md")
    with page.expect_download() as info:
        form.locator("button[type=submit]").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    bias, protection = text.split("Q4. Data protection")
    assert "Bias and discrimination" in bias and "Case notes and consent" in bias
    assert "without consent" not in bias
    assert protection.count("case notes were shared without consent") == 1


def test_replace_then_remove_a_full_text(page, live_site, shots, library, tmp_path):
    record_id = library["quoted"]
    draft, final = tmp_path / "draft.pdf", tmp_path / "final.pdf"
    draft.write_bytes(text_pdf(["Safeguarding thresholds, a draft"]))
    final.write_bytes(text_pdf(["Kinship placements, the published version"]))
    sign_in(page, live_site, "rita@example.org")
    page.goto(f"{live_site.url}/r/ai-sw/records/{record_id}")
    page.set_input_files("form.inline-form input[name=pdf]", str(draft))
    page.click("form.inline-form button[type=submit]")
    page.wait_for_selector("table.attachments")
    row = page.locator("table.attachments tbody tr").first
    row.locator("form.replace input[name=pdf]").set_input_files(str(final))
    row.scroll_into_view_if_needed()
    shot(page, shots, "record-attachment-change")
    row.locator("form.replace button").click()
    page.wait_for_selector(".flash.info")
    assert "final.pdf replaced the earlier file" in page.inner_text(".flash.info")
    assert page.locator("table.attachments tbody tr").count() == 1
    assert "final.pdf" in page.inner_text("table.attachments")
    page.locator("table.attachments form.remove button").click()
    page.wait_for_selector(".flash.info")
    assert "final.pdf was removed" in page.inner_text(".flash.info")
    assert page.locator("table.attachments").count() == 0
    with live_site.session() as session:
        actions = list(
            session.scalars(
                sa.select(AuditEntry.action)
                .where(AuditEntry.action.like("attachment.%"))
                .order_by(AuditEntry.id)
            )
        )
    assert actions == ["attachment.add", "attachment.add", "attachment.remove", "attachment.remove"]
