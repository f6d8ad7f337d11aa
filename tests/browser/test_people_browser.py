"""People and accounts in a real headless Chromium: a lead invites, the invited person
signs up with the link and screens a record; a password changed on the account page;
an admin's reset link used once; an account disabled; the members page's numbers; the
audit log's filters; markup in a name or a title stays text. Each page is screenshotted
at 1400 px wide into the test's folder.

The tests share one server and one browser (module fixtures) and run in file order.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from litreview.accounts import invites
from litreview.library import reviews
from litreview.models import Decision, Membership, Record, Review, User
from tests.browser.pages import new_page, shoot, sign_in
from tests.webapp import HASH, PASSWORD

SAM_NAME = "<script>alert(1)</script> Sam <img src=x onerror=alert(2)>"
TITLE = "<script>alert(3)</script> Risk scores in child protection"
NEW_PASSWORD = "a much better passphrase"
SAM_PASSWORD = "sam's own passphrase"


@pytest.fixture(scope="module")
def dialogs():
    """Every alert any page raised: none may (markup in names and titles is text)."""
    return []


@pytest.fixture(scope="module", autouse=True)
def people(live_site):
    """An admin, and records to screen with markup in a title."""
    with live_site.session() as session:
        session.add(User(email="ada@example.org", name="Ada", password_hash=HASH, is_admin=True))
        review = session.scalar(sa.select(Review).where(Review.slug == "ai-sw"))
        session.add_all(
            Record(review_id=review.id, title=title, abstract="An abstract.", year=2020)
            for title in (TITLE, "Chatbots in adult social care", "Case notes by machine")
        )
        session.commit()


def no_markup_ran(page):
    assert page.locator("img[src=x]").count() == 0
    sources = page.eval_on_selector_all("script", "els => els.map(e => e.getAttribute('src'))")
    assert all(src and src.startswith("/static/") for src in sources), sources


def test_invite_sign_up_with_the_link_and_screen(browser, live_site, dialogs, tmp_path):
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "lead@example.org")
        page.goto(f"{live_site.url}/r/ai-sw/")
        page.click("nav.review-nav >> text=Members")
        page.wait_for_url(f"{live_site.url}/r/ai-sw/members")
        form = page.locator("#invite form")
        form.locator("select[name=role]").select_option("reviewer")
        form.locator("input[name=note]").fill("Sam, the new social worker")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("#one-time-link")
        link = page.input_value("#link-url")
        assert re.fullmatch(rf"{re.escape(live_site.url)}/join/[A-Za-z0-9_-]{{43}}", link)
        assert "Sam, the new social worker" in page.inner_text("#invites")
        shoot(page, tmp_path, "members-invitation")
    finally:
        context.close()

    context, page = new_page(browser, dialogs)
    try:
        page.goto(link)
        assert "Lead invites you to take part in this review as a reviewer" in page.inner_text(
            "main"
        )
        page.fill("#sign-up input[name=email]", "sam@example.org")
        page.fill("#sign-up input[name=name]", SAM_NAME)
        page.fill("#sign-up input[name=password]", SAM_PASSWORD)
        page.fill("#sign-up input[name=repeat]", SAM_PASSWORD)
        shoot(page, tmp_path, "join")
        page.click("#sign-up button[type=submit]")
        page.wait_for_url(re.compile(r"/signin\?next=/r/ai-sw/$"))
        assert "Your account is made and joined AI in social work as a reviewer" in (
            page.inner_text(".flash.info")
        )
        page.fill("input[name=email]", "sam@example.org")
        page.fill("input[name=password]", SAM_PASSWORD)
        page.press("input[name=password]", "Enter")
        page.wait_for_url(f"{live_site.url}/r/ai-sw/")
        # The name with markup in the header, as text.
        assert page.inner_text("header .who") == SAM_NAME
        no_markup_ran(page)
        page.click("text=Screen title/abstract")
        page.wait_for_selector("#record-id")
        record = int(page.inner_text("#record-id"))
        page.keyboard.press("i")
        page.wait_for_function(
            "old => { const el = document.getElementById('record-id');"
            " return !el || el.textContent !== old; }",
            arg=str(record),
        )
    finally:
        context.close()
    with live_site.session() as session:
        sam = session.scalar(sa.select(User).where(User.email == "sam@example.org"))
        assert sam.name == SAM_NAME
        role = session.scalar(sa.select(Membership.role).where(Membership.user_id == sam.id))
        assert role == "reviewer"
        decisions = session.execute(
            sa.select(Decision.record_id, Decision.decision).where(Decision.user_id == sam.id)
        ).all()
        assert decisions == [(record, "include")]

    # The link worked once: opened again, it says so.
    context, page = new_page(browser, dialogs)
    try:
        response = page.goto(link)
        assert response.status == 410
        assert "This link has been used already" in page.inner_text("main")
        shoot(page, tmp_path, "link-used")
    finally:
        context.close()
    assert dialogs == []


def test_change_a_password_on_the_account_page(browser, live_site, dialogs, tmp_path):
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "rita@example.org")
        page.click("header >> text=Rita")
        page.wait_for_url(f"{live_site.url}/account")
        assert "reviewer" in page.inner_text("#your-reviews")
        page.fill("input[name=current]", PASSWORD)
        page.fill("input[name=new]", NEW_PASSWORD)
        page.fill("input[name=repeat]", NEW_PASSWORD)
        shoot(page, tmp_path, "account")
        page.click("#password button[type=submit]")
        page.wait_for_url(f"{live_site.url}/signin")
        assert "Your password is changed" in page.inner_text(".flash.info")
        page.fill("input[name=email]", "rita@example.org")
        page.fill("input[name=password]", PASSWORD)
        page.press("input[name=password]", "Enter")
        page.wait_for_selector(".flash.error")
        assert "do not match an account" in page.inner_text(".flash.error")
        page.fill("input[name=password]", NEW_PASSWORD)
        page.press("input[name=password]", "Enter")
        page.wait_for_url(f"{live_site.url}/")
    finally:
        context.close()
    assert dialogs == []


def test_an_admin_reset_link_works_once_and_a_disabled_account_stays_out(
    browser, live_site, dialogs, tmp_path
):
    with live_site.session() as session:
        rob = session.scalar(sa.select(User.id).where(User.email == "rob@example.org"))
        vera = session.scalar(sa.select(User.id).where(User.email == "vera@example.org"))
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "ada@example.org")
        page.click("header >> text=Accounts")
        page.wait_for_url(f"{live_site.url}/admin/accounts")
        page.click(f"#account-{rob} >> text=Password link")
        page.wait_for_selector("#one-time-link")
        link = page.input_value("#link-url")
        assert "Password link for rob@example.org" in page.inner_text("#one-time-link")
        page.click(f"#account-{vera} >> text=Disable")
        page.wait_for_selector(".flash.info")
        assert "vera@example.org is disabled" in page.inner_text(".flash.info")
        assert "disabled" in page.inner_text(f"#account-{vera} .status")
        page.fill("#new-account input[name=email]", "pat@example.org")
        page.fill("#new-account input[name=name]", "Pat")
        page.click("#new-account button[type=submit]")
        page.wait_for_selector("#one-time-link")
        assert "Account made for pat@example.org" in page.inner_text("#one-time-link")
        shoot(page, tmp_path, "admin-accounts")
    finally:
        context.close()

    context, page = new_page(browser, dialogs)
    try:
        page.goto(link)
        assert page.inner_text("#reset-email") == "rob@example.org"
        page.fill("#reset-form input[name=password]", NEW_PASSWORD)
        page.fill("#reset-form input[name=repeat]", NEW_PASSWORD)
        shoot(page, tmp_path, "reset")
        page.click("#reset-form button[type=submit]")
        page.wait_for_url(f"{live_site.url}/signin")
        assert "The password of rob@example.org is set" in page.inner_text(".flash.info")
        sign_in(page, live_site, "rob@example.org", NEW_PASSWORD)
        response = page.goto(link)
        assert response.status == 410
        assert "This link has been used already: ask an admin for a new one." in (
            page.inner_text("main")
        )
        # Vera's account is disabled: her password no longer signs her in.
        page.context.clear_cookies()
        page.goto(f"{live_site.url}/signin")
        page.fill("input[name=email]", "vera@example.org")
        page.fill("input[name=password]", PASSWORD)
        page.press("input[name=password]", "Enter")
        page.wait_for_selector(".flash.error")
        assert "do not match an account" in page.inner_text(".flash.error")
    finally:
        context.close()
    assert dialogs == []


def test_the_members_page_shows_roles_and_numbers(browser, live_site, dialogs, tmp_path):
    with live_site.session() as session:
        review = session.scalar(sa.select(Review).where(Review.slug == "ai-sw"))
        rita = session.scalar(sa.select(User).where(User.email == "rita@example.org"))
        from litreview import screening

        for record in session.scalars(sa.select(Record.id).order_by(Record.id).limit(2)):
            screening.decide(session, review, record, rita, "title_abstract", "exclude")
        session.commit()
        sam = session.scalar(sa.select(User.id).where(User.email == "sam@example.org"))
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "lead@example.org")
        page.goto(f"{live_site.url}/r/ai-sw/members")
        sam_row = page.locator(f"#member-{sam}")
        assert SAM_NAME in sam_row.inner_text()
        assert sam_row.locator(".role").inner_text() == "reviewer"
        assert sam_row.locator(".decided.ta .n").inner_text() == "1"
        assert "1 in" in sam_row.locator(".decided.ta").inner_text()
        rita_row = page.locator("tr", has_text="rita@example.org")
        assert rita_row.locator(".decided.ta .n").inner_text() == "2"
        assert "2 out" in rita_row.inner_text()
        no_markup_ran(page)
        shoot(page, tmp_path, "members")
        # Settings sends leads here for members.
        page.goto(f"{live_site.url}/r/ai-sw/settings")
        page.click("#members a:has-text('Members')")
        page.wait_for_url(f"{live_site.url}/r/ai-sw/members")
        page.goto(f"{live_site.url}/r/ai-sw/settings#members")
        shoot(page, tmp_path, "settings")
    finally:
        context.close()
    assert dialogs == []


def test_the_audit_log_filters_by_person_action_and_record(browser, live_site, dialogs, tmp_path):
    with live_site.session() as session:
        record = session.scalar(sa.select(Record.id).where(Record.title == TITLE))
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "lead@example.org")
        page.goto(f"{live_site.url}/r/ai-sw/")
        page.click("nav.review-nav >> text=Audit log")
        page.wait_for_url(f"{live_site.url}/r/ai-sw/audit")
        page.select_option("select[name=actor]", "sam@example.org")
        page.click("#audit-filters button[type=submit]")
        page.wait_for_url(re.compile(r"actor=sam%40example.org"))
        actions = page.locator("#audit-entries td.action").all_inner_texts()
        # The account itself belongs to no review: its user.create is on the admin page.
        assert actions == ["screen.decide", "invite.accept", "member.add"]
        page.select_option("select[name=action]", "screen.*")
        page.click("#audit-filters button[type=submit]")
        page.wait_for_url(re.compile(r"action=screen"))
        assert page.locator("#audit-entries tbody tr").count() == 1
        assert "1 entry matches" in page.inner_text("#audit-total")
        # A record's history: anyone's decisions on it.
        page.goto(f"{live_site.url}/r/ai-sw/audit?record={record}")
        rows = page.locator("#audit-entries tbody tr")
        assert rows.count() >= 1
        assert all(str(record) in r for r in rows.locator("td.records").all_inner_texts())
        page.goto(f"{live_site.url}/r/ai-sw/audit")
        assert "invite.create" in page.inner_text("#audit-entries")
        no_markup_ran(page)
        shoot(page, tmp_path, "audit-log")
    finally:
        context.close()
    # The audit log is for leads only.
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "rita@example.org", NEW_PASSWORD)
        assert page.goto(f"{live_site.url}/r/ai-sw/audit").status == 403
        page.goto(f"{live_site.url}/r/ai-sw/")
        assert page.locator("nav.review-nav >> text=Audit log").count() == 0
    finally:
        context.close()
    assert dialogs == []


def test_a_title_with_markup_on_an_invitation_stays_text(browser, live_site, dialogs, tmp_path):
    with live_site.session() as session:
        review = reviews.create_review(session, "risk", TITLE, "setup")
        lead = session.scalar(sa.select(User).where(User.email == "lead@example.org"))
        session.add(Membership(review_id=review.id, user_id=lead.id, role="lead"))
        session.flush()
        made = invites.invite(session, review, "viewer", by=lead, email="kim@example.org")
        session.commit()
    context, page = new_page(browser, dialogs)
    try:
        page.goto(live_site.url + made.path)
        assert TITLE in page.inner_text("h1")
        assert page.input_value("#sign-up input[name=email]") == "kim@example.org"
        no_markup_ran(page)
        # Nina has an account: she signs in from the link, and comes back to it ...
        page.click("text=Sign in")
        page.fill("input[name=email]", "nina@example.org")
        page.fill("input[name=password]", PASSWORD)
        page.press("input[name=password]", "Enter")
        page.wait_for_url(live_site.url + made.path)
        # ... but this one is for Kim: the page says so and offers no button.
        assert "This invitation is for kim@example.org" in page.inner_text("#not-for-you")
        assert page.locator("text=Join as").count() == 0
        shoot(page, tmp_path, "join-signed-in")
    finally:
        context.close()
    assert dialogs == []
