"""The app in a real headless Chromium: sign in, import, screen with the keyboard only,
resolve a conflict in blind dual mode, tag with an annotation, untrusted text as text.

The tests share one server and one browser (module fixtures) and run in file order:
the import adds the records the screening tests screen.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from litreview.library import reviews
from litreview.models import Annotation, Decision, Record, Resolution, Review
from tests.browser.pages import new_page, sign_in
from tests.webapp import PASSWORD, ris

XSS_TITLE = "<script>alert(1)</script> Risk tools <img src=x onerror=alert(2)>"


@pytest.fixture
def dialogs():
    return []


def review_of(session) -> Review:
    return session.scalar(sa.select(Review).where(Review.slug == "ai-sw"))


def test_sign_in_and_see_only_ones_reviews(browser, live_site, dialogs):
    context, page = new_page(browser, dialogs)
    try:
        page.goto(f"{live_site.url}/r/ai-sw/")
        page.wait_for_url(re.compile(r"/signin\?next="))
        page.fill("input[name=email]", "rita@example.org")
        page.fill("input[name=password]", "not my password")
        page.press("input[name=password]", "Enter")
        assert "do not match an account" in page.inner_text(".flash.error")
        assert page.input_value("input[name=email]") == "rita@example.org"
        page.fill("input[name=password]", PASSWORD)
        page.press("input[name=password]", "Enter")
        page.wait_for_url(f"{live_site.url}/r/ai-sw/")
        assert page.inner_text("h1") == "AI in social work"
        page.click("text=Sign out")
        page.wait_for_url(f"{live_site.url}/signin")
        assert "You are signed out." in page.inner_text("main")
    finally:
        context.close()


def test_import_a_file_and_watch_it_finish(browser, live_site, dialogs, tmp_path):
    entries = [
        {
            "title": f"Machine learning in social work practice {n}",
            "year": 2015 + n % 8,
            "abstract": f"Study {n} of algorithms in casework.",
            "doi": f"10.5555/lit.{n}",
        }
        for n in range(1, 13)
    ]
    entries.append({"title": XSS_TITLE, "year": 2022, "abstract": "<b>bold</b> claims"})
    path = tmp_path / "scopus.ris"
    path.write_text(ris(*entries), encoding="utf-8")
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "rita@example.org")
        page.goto(f"{live_site.url}/r/ai-sw/import")
        page.set_input_files("input[name=files]", str(path))
        page.fill("input[name=source]", "Scopus 2025-03-01")
        page.click("button:has-text('Import')")
        page.wait_for_selector("#import-done")
        row = page.inner_text("tr.file-done")
        assert row.split("\t")[:4] == ["scopus.ris", "done", "13", "13"]
        page.click("text=Dashboard")
        assert page.inner_text("#record-count") == "13"
    finally:
        context.close()
    assert dialogs == []


def test_screen_ten_records_with_the_keyboard_only(browser, live_site, dialogs):
    context, page = new_page(browser, dialogs)
    keys = ["i", "e", "m", "i", "i", "e", "m", "i", "e", "i"]
    try:
        sign_in(page, live_site, "rita@example.org")
        page.goto(f"{live_site.url}/r/ai-sw/screen/title_abstract/")
        page.keyboard.press("?")
        assert page.is_visible("#help")
        page.keyboard.press("?")
        assert not page.is_visible("#help")
        seen = []
        for key in keys:
            record = page.inner_text("#record-id")
            seen.append(int(record))
            page.keyboard.press(key)
            page.wait_for_function(
                "old => { const el = document.getElementById('record-id');"
                " return !el || el.textContent !== old; }",
                arg=record,
            )
        assert len(set(seen)) == 10
        # Undo from the keyboard brings back the last record with its decision.
        last = page.inner_text("#record-id")
        page.keyboard.press("u")
        page.wait_for_function(
            "old => document.getElementById('record-id').textContent !== old", arg=last
        )
        assert int(page.inner_text("#record-id")) == seen[-1]
        page.keyboard.press("i")
        page.wait_for_function(
            "old => document.getElementById('record-id').textContent !== old",
            arg=str(seen[-1]),
        )
    finally:
        context.close()
    with live_site.session() as session:
        rows = session.execute(
            sa.select(Decision.record_id, Decision.decision)
            .where(Decision.current, Decision.stage == "title_abstract")
            .order_by(Decision.record_id)
        ).all()
    assert [r.record_id for r in rows] == sorted(seen)
    names = {"i": "include", "e": "exclude", "m": "maybe"}
    expected = [names[key] for _, key in sorted(zip(seen, keys, strict=True))]
    assert [r.decision for r in rows] == expected


def test_resolve_a_conflict_in_blind_dual_mode(browser, live_site, dialogs):
    with live_site.session() as session:
        review = review_of(session)
        reviews.update_settings(session, review, actor="setup", screening_mode="dual")
        session.commit()
        record = session.scalar(
            sa.select(Record.id).where(
                Record.title == "Machine learning in social work practice 12"
            )
        )
    screen = f"{live_site.url}/r/ai-sw/screen/title_abstract/{record}"
    for email, key in (("rita@example.org", "i"), ("rob@example.org", "e")):
        context, page = new_page(browser, dialogs)
        try:
            sign_in(page, live_site, email)
            page.goto(screen)
            assert "Blind screening" in page.inner_text(".decide")
            assert "rita@example.org" not in page.inner_text("main")
            page.keyboard.press(key)
            page.wait_for_url(re.compile(r"after="))
        finally:
            context.close()
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "lead@example.org")
        page.goto(f"{live_site.url}/r/ai-sw/conflicts")
        conflict = page.locator(f"#conflict-title_abstract-{record}")
        sides = conflict.locator(".decision-side").all_inner_texts()
        assert "rita@example.org" in sides[0] and "Include" in sides[0]
        assert "rob@example.org" in sides[1] and "Exclude" in sides[1]
        conflict.locator("input[name=note]").fill("About social work after all")
        conflict.locator("button:has-text('Include')").click()
        page.wait_for_selector(".flash.info")
        assert f"Record {record} resolved: include." in page.inner_text(".flash.info")
        assert page.locator(f"#conflict-title_abstract-{record}").count() == 0
    finally:
        context.close()
    with live_site.session() as session:
        [resolution] = session.scalars(sa.select(Resolution)).all()
        assert (resolution.record_id, resolution.decision, resolution.note) == (
            record,
            "include",
            "About social work after all",
        )
        review = review_of(session)
        reviews.update_settings(session, review, actor="setup", screening_mode="single")
        session.commit()


def test_tag_a_record_with_an_annotation(browser, live_site, dialogs):
    with live_site.session() as session:
        review = review_of(session)
        reviews.add_question(session, review, "Q4", "Data protection", "setup")
        session.commit()
        record = session.scalar(sa.select(Record.id).order_by(Record.id).limit(1))
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "rita@example.org")
        page.goto(f"{live_site.url}/r/ai-sw/records/{record}")
        form = page.locator(f"#tag-form-{record}")
        form.locator("input[value=Q4]").check()
        form.locator("textarea[name=quote]").fill("Consent is sought before data is shared.")
        form.locator("input[name=page]").fill("12")
        form.locator("textarea[name=note]").fill("Key passage for Q4")
        form.locator("button[type=submit]").click()
        page.wait_for_selector(".flash.info")
        assert "Tagged to Q4 with an annotation" in page.inner_text(".flash.info")
        annotation = page.inner_text("li.annotation")
        assert "Consent is sought before data is shared." in annotation
        assert "p. 12" in annotation and "Key passage for Q4" in annotation
        assert "Q4" in page.inner_text("ul.tags")
    finally:
        context.close()
    with live_site.session() as session:
        [row] = session.scalars(sa.select(Annotation)).all()
        assert (row.record_id, row.page, row.created_by) == (record, "12", "rita@example.org")


def test_untrusted_markup_renders_as_text(browser, live_site, dialogs):
    with live_site.session() as session:
        record = session.scalar(sa.select(Record.id).where(Record.title == XSS_TITLE))
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "lead@example.org")
        for url in (
            f"/r/ai-sw/records/{record}",
            f"/r/ai-sw/screen/title_abstract/{record}",
            "/r/ai-sw/records?q=Risk+tools",
        ):
            page.goto(live_site.url + url)
            text = page.inner_text("main")
            assert "<script>alert(1)</script> Risk tools <img src=x onerror=alert(2)>" in text
            assert page.locator("img[src=x]").count() == 0
            scripts = page.eval_on_selector_all(
                "script", "els => els.map(e => e.getAttribute('src'))"
            )
            assert all(src and src.startswith("/static/") for src in scripts), scripts
        page.goto(f"{live_site.url}/r/ai-sw/records/{record}")
        assert "<b>bold</b> claims" in page.inner_text(".abstract")
    finally:
        context.close()
    assert dialogs == []
