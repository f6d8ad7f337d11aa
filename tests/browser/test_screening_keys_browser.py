"""Screening that flows by keyboard, in a real headless Chromium: full-text exclusion with
a reason by keys alone; a skipped record kept on the server across a new sign-in;
Previous to the record just decided, and changing it; the switch to dual mode that asks
first; conflicts resolved by keys; a reason required at title/abstract. Screenshots at
1400 px wide go into each test's folder.

The tests share one server and one browser (module fixtures) and run in file order:
each builds on the decisions of the ones before.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from litreview import screening
from litreview.library import reviews
from litreview.models import Decision, Record, Resolution, Review, User
from litreview.screening import modes
from tests.browser.pages import new_page, shoot, sign_in

TA, FT = "title_abstract", "full_text"
REASONS = [
    "Not about AI",
    "Not social work or social care",
    "No study or analysis",
    "Not in English",
]
TITLES = [
    "Generative AI for drafting case notes in children's social work",
    "Predictive risk models in child protection: a scoping review",
    "Chatbots signposting adult social care support: a feasibility study",
    "Speech recognition errors in social work interview transcripts",
    "Practitioner attitudes towards AI in social work",
    "Deep learning detection of pulmonary nodules in radiology",
    "Data protection impact assessments for predictive analytics",
    "Employer support for AI adoption in social work teams",
    "Precision agriculture with drone imagery",
    "Fairness metrics for social care algorithms",
]


@pytest.fixture(scope="module")
def dialogs():
    return []


@pytest.fixture(scope="module", autouse=True)
def ids(live_site):
    """Ten records; Rob included the first four at title/abstract (single mode), so
    they wait at full text."""
    with live_site.session() as session:
        review = session.scalar(sa.select(Review).where(Review.slug == "ai-sw"))
        reviews.update_settings(
            session,
            review,
            actor="setup",
            exclusion_reasons=REASONS,
            criteria="Include: AI used in social work or social care.",
            highlight_include=["social work*", "social care"],
            highlight_exclude=["radiolog*", "agricultur*"],
            screening_order="id",
        )
        rows = [
            Record(
                review_id=review.id,
                title=title,
                abstract=f"An abstract about {title.lower()}.",
                year=2020 + n % 5,
                authors=[{"family": "Okafor", "given": "Ada"}],
            )
            for n, title in enumerate(TITLES)
        ]
        session.add_all(rows)
        session.flush()
        rob = session.scalar(sa.select(User).where(User.email == "rob@example.org"))
        for row in rows[:4]:
            screening.decide(session, review, row.id, rob, TA, "include")
        session.commit()
        return [r.id for r in rows]


def shown(page) -> int:
    return int(page.inner_text("#record-id"))


def press_and_wait(page, key):
    """Press a key that decides or moves on, and wait for another record's page."""
    old = page.inner_text("#record-id")
    page.keyboard.press(key)
    page.wait_for_function(
        "old => { const el = document.getElementById('record-id');"
        " return !el || el.textContent !== old; }",
        arg=old,
    )


def focused(page) -> str:
    return page.evaluate(
        "() => { const a = document.activeElement;"
        " return a ? (a.id || a.name || a.tagName) + ':' + (a.value || '') : ''; }"
    )


def mine(live_site, email, stage):
    with live_site.session() as session:
        user = session.scalar(sa.select(User).where(User.email == email))
        rows = session.execute(
            sa.select(Decision.record_id, Decision.decision, Decision.reason, Decision.note)
            .where(Decision.user_id == user.id, Decision.stage == stage, Decision.current)
            .order_by(Decision.id)
        ).all()
    return [tuple(r) for r in rows]


def test_full_text_exclusion_with_a_reason_by_keyboard_only(
    browser, live_site, dialogs, ids, tmp_path
):
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "rita@example.org")
        page.goto(f"{live_site.url}/r/ai-sw/screen/full_text/")
        assert shown(page) == ids[0]
        assert page.inner_text("#place") == "1 of 4"
        assert "0 of 4 settled" in page.inner_text("#stage-progress")
        legend = page.inner_text("#key-legend")
        assert "e exclude" in legend and "1–9 reason" in legend
        assert page.is_visible("#stopping-counts")  # the ranking's progress stays
        shoot(page, tmp_path, "screen-full-text")
        # e with no reason chosen moves to the reasons; arrows and Enter pick and decide.
        page.keyboard.press("e")
        assert focused(page) == f"reason-1:{REASONS[0]}"
        assert page.is_visible("#reason-needed")
        shoot(page, tmp_path, "screen-full-text-reasons")
        page.keyboard.press("ArrowDown")
        press_and_wait(page, "Enter")
        assert shown(page) == ids[1]
        assert page.inner_text("#place") == "2 of 4"
        # Esc goes back; a number key in the reasons picks and decides.
        page.keyboard.press("e")
        page.keyboard.press("Escape")
        assert focused(page) == "BODY:"
        assert not page.is_visible("#reason-needed")
        page.keyboard.press("e")
        press_and_wait(page, "3")
        assert shown(page) == ids[2]
        # The note is free text: letters typed there are text, not keys; Esc leaves it.
        page.keyboard.press("t")
        page.keyboard.type("read twice; see methods")
        page.keyboard.press("Escape")
        page.keyboard.press("4")  # outside the reasons: picks reason 4 only
        assert shown(page) == ids[2]
        press_and_wait(page, "e")
        assert shown(page) == ids[3]
    finally:
        context.close()
    assert mine(live_site, "rita@example.org", FT) == [
        (ids[0], "exclude", REASONS[1], None),
        (ids[1], "exclude", REASONS[2], None),
        (ids[2], "exclude", REASONS[3], "read twice; see methods"),
    ]
    assert dialogs == []


def test_mark_not_retrievable_from_the_full_text_page(browser, live_site, dialogs, ids, tmp_path):
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "rita@example.org")
        page.goto(f"{live_site.url}/r/ai-sw/screen/full_text/{ids[3]}")
        page.fill("#mark-not-retrievable input[name=note]", "not held by the library")
        page.click("#not-retrievable-button")
        page.wait_for_selector(".flash.info")
        assert f"The report of record {ids[3]} is marked as not retrievable." in page.inner_text(
            ".flash.info"
        )
        # Nothing else waits at full text for Rita.
        assert "Nothing left to screen" in page.inner_text("main")
        page.goto(f"{live_site.url}/r/ai-sw/screen/full_text/{ids[3]}")
        assert "not held by the library" in page.inner_text("#not-retrievable")
        assert page.locator("#not-retrievable-button").count() == 0
    finally:
        context.close()
    with live_site.session() as session:
        record = session.get(Record, ids[3])
        assert (record.not_retrievable_by, record.not_retrievable_note) == (
            "rita@example.org",
            "not held by the library",
        )


def test_skip_survives_a_new_sign_in_and_previous_changes_a_decision(
    browser, live_site, dialogs, ids, tmp_path
):
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "rita@example.org")
        page.goto(f"{live_site.url}/r/ai-sw/screen/title_abstract/")
        assert shown(page) == ids[4]
        assert page.inner_text("#place") == "5 of 10"  # Rob settled four
        press_and_wait(page, "s")
        assert shown(page) == ids[5]
        assert page.inner_text("#skipped-count") == "1 skipped for later"
    finally:
        context.close()
    # Another browser, a new sign-in: the skip was kept on the server.
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "rita@example.org")
        page.goto(f"{live_site.url}/r/ai-sw/screen/title_abstract/")
        assert shown(page) == ids[5]
        assert page.inner_text("#skipped-count") == "1 skipped for later"
        shoot(page, tmp_path, "screen-title-abstract")
        for expected, key in zip(ids[5:], "iemie", strict=True):
            assert shown(page) == expected
            press_and_wait(page, key)
        # Everything else done: the skipped record comes back.
        assert shown(page) == ids[4]
        assert "Back to the 1 record(s) you skipped." in page.inner_text("#came-back")
        # Previous: the record just decided, with its decision; change it by key.
        press_and_wait(page, "p")
        assert shown(page) == ids[9]
        assert "Your decision: Exclude" in page.inner_text(".decide")
        assert "10 of 10 done" not in page.inner_text("#place")
        press_and_wait(page, "p")
        assert shown(page) == ids[8]
        assert "Your decision: Include" in page.inner_text(".decide")
        press_and_wait(page, "m")  # changed to maybe; on to what is left
        assert shown(page) == ids[4]
        press_and_wait(page, "e")
        assert "Nothing left to screen" in page.inner_text("main")
        page.keyboard.press("p")  # back to the record decided last
        page.wait_for_selector("#record-id")
        assert shown(page) == ids[4]
        assert "Your decision: Exclude" in page.inner_text(".decide")
    finally:
        context.close()
    decided = {r[0]: r[1] for r in mine(live_site, "rita@example.org", TA)}
    assert decided == {
        ids[4]: "exclude",
        ids[5]: "include",
        ids[6]: "exclude",
        ids[7]: "maybe",
        ids[8]: "maybe",
        ids[9]: "exclude",
    }
    with live_site.session() as session:
        history = session.scalars(
            sa.select(Decision.decision).where(Decision.record_id == ids[8]).order_by(Decision.id)
        ).all()
    assert history == ["include", "maybe"]


def test_switching_to_dual_mode_asks_first_and_keeps_outcomes(
    browser, live_site, dialogs, ids, tmp_path
):
    with live_site.session() as session:
        review = session.scalar(sa.select(Review).where(Review.slug == "ai-sw"))
        before = screening.outcomes_at(session, review, TA)
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "lead@example.org")
        page.goto(f"{live_site.url}/r/ai-sw/settings")
        page.check("input[name=screening_mode][value=dual]")
        page.click("#screening-settings button[type=submit]")
        page.wait_for_selector("#mode-switch")
        said = page.inner_text("#switch-count")
        # Rob's four and Rita's six at title/abstract, Rita's three at full text.
        assert said.startswith("13 records have a decision by one reviewer")
        assert "(10 at title/abstract, 3 at full text)" in said
        assert page.is_checked("#on-switch-keep")
        shoot(page, tmp_path, "settings-switch-to-dual")
        page.click("#switch-confirm")
        page.wait_for_selector(".flash.info")
        assert "records one reviewer decided before stay settled" in page.inner_text(".flash.info")
    finally:
        context.close()
    with live_site.session() as session:
        review = session.scalar(sa.select(Review).where(Review.slug == "ai-sw"))
        assert review.screening_mode == "dual"
        assert review.exclusion_reasons == REASONS  # the rest of the form kept
        assert screening.outcomes_at(session, review, TA) == before


@pytest.fixture
def conflicts(live_site):
    """Three new records Rita and Rob decided differently (dual mode), with reasons and
    notes."""
    with live_site.session() as session:
        review = session.scalar(sa.select(Review).where(Review.slug == "ai-sw"))
        rita, rob = (
            session.scalar(sa.select(User).where(User.email == e))
            for e in ("rita@example.org", "rob@example.org")
        )
        rows = [
            Record(review_id=review.id, title=t, abstract=a, year=2024)
            for t, a in (
                ("AI triage in social work referrals", "Referral triage by a model."),
                ("<script>alert(1)</script> Risk tools", "An abstract with markup."),
                ("Machine learning in a hospital laundry", "Social care is not discussed."),
            )
        ]
        if review.screening_mode != "dual":  # when this test runs on its own
            modes.switch(session, review, "dual")
        session.add_all(rows)
        session.flush()
        for row in rows:
            screening.decide(session, review, row.id, rita, TA, "include", note="fits Q1")
            screening.decide(
                session, review, row.id, rob, TA, "exclude", reason=REASONS[1], note="no SW"
            )
        session.commit()
        return [r.id for r in rows]


def test_conflicts_side_by_side_resolved_by_keyboard(
    browser, live_site, dialogs, conflicts, tmp_path
):
    first, second, third = conflicts
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "rita@example.org")
        page.goto(f"{live_site.url}/r/ai-sw/conflicts")
        mine_only = page.inner_text(f"#conflict-title_abstract-{first}")
        assert "fits Q1" in mine_only and "rob@example.org" not in mine_only
        assert "The other reviewer decided differently." in mine_only
    finally:
        context.close()
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "lead@example.org")
        page.goto(f"{live_site.url}/r/ai-sw/conflicts")
        article = page.locator(f"#conflict-title_abstract-{first}")
        sides = article.locator(".decision-side").all_inner_texts()
        assert len(sides) == 2
        assert "rita@example.org" in sides[0] and "Include" in sides[0] and "fits Q1" in sides[0]
        assert "rob@example.org" in sides[1] and f"Exclude: {REASONS[1]}" in sides[1]
        assert "no SW" in sides[1]
        assert "Referral triage by a model." in article.inner_text()
        assert "current" in article.get_attribute("class")
        shoot(page, tmp_path, "conflicts")
        # n moves to the next; a number picks the reason, e excludes with it.
        page.keyboard.press("n")
        assert "current" in page.locator(f"#conflict-title_abstract-{second}").get_attribute(
            "class"
        )
        page.keyboard.press("2")
        page.keyboard.press("e")
        page.wait_for_selector(".flash.info")
        assert f"Record {second} resolved: exclude." in page.inner_text(".flash.info")
        # Back at the first one still waiting: i includes it.
        assert "current" in page.locator(f"#conflict-title_abstract-{first}").get_attribute("class")
        page.keyboard.press("i")
        page.wait_for_function(
            "id => !document.getElementById('conflict-title_abstract-' + id)", arg=first
        )
        page.keyboard.press("m")
        page.wait_for_selector("text=No conflicts waiting.")
    finally:
        context.close()
    with live_site.session() as session:
        rows = session.execute(
            sa.select(Resolution.record_id, Resolution.decision, Resolution.reason)
            .where(Resolution.record_id.in_(conflicts))
            .order_by(Resolution.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        (second, "exclude", REASONS[1]),
        (first, "include", None),
        (third, "maybe", None),
    ]
    assert dialogs == []


def test_a_reason_required_at_title_abstract_by_keyboard(
    browser, live_site, dialogs, ids, tmp_path
):
    with live_site.session() as session:
        review = session.scalar(sa.select(Review).where(Review.slug == "ai-sw"))
        record = Record(review_id=review.id, title="Robotic lawn mowers", abstract="Grass.")
        session.add(record)
        session.commit()
        record_id = record.id
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "lead@example.org")
        page.goto(f"{live_site.url}/r/ai-sw/settings")
        page.check("#reason-required-ta")
        page.click("#screening-settings button[type=submit]")
        page.wait_for_selector(".flash.info")
        assert page.is_checked("#reason-required-ta")
    finally:
        context.close()
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "rob@example.org")
        page.goto(f"{live_site.url}/r/ai-sw/screen/title_abstract/{record_id}")
        page.keyboard.press("e")
        assert focused(page) == f"reason-1:{REASONS[0]}"
        assert "(required to exclude)" in page.inner_text("#reasons")
        shoot(page, tmp_path, "screen-title-abstract-reasons")
        page.keyboard.press("1")
        page.wait_for_url(re.compile(r"after="))
    finally:
        context.close()
    assert (record_id, "exclude", REASONS[0], None) in mine(live_site, "rob@example.org", TA)
