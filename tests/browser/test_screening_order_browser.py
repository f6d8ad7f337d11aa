"""A reviewer's own screening order, in a real headless Chromium: "screen in order
instead" on the screening page holds in another browser after a new sign-in
(screening.orders keeps it on the server). A screenshot at 1400 px goes into the test's
folder."""

from __future__ import annotations

import sqlalchemy as sa

from litreview import screening
from litreview.models import Record, Review, User
from tests.browser.pages import new_page, shoot, sign_in
from tests.test_ranking import OFF_TOPIC, ON_TOPIC

TA = "title_abstract"
SCREEN = "/r/ai-sw/screen/title_abstract/"


def test_the_order_chosen_holds_in_another_browser(browser, live_site, tmp_path):
    with live_site.session() as session:
        review = session.scalar(sa.select(Review).where(Review.slug == "ai-sw"))
        # Off-topic records first by id: in file order the on-topic ones come last.
        rows = [
            Record(review_id=review.id, title=f"Field study {n}", abstract=OFF_TOPIC)
            for n in range(6)
        ] + [
            Record(review_id=review.id, title=f"Study of algorithms {n}", abstract=ON_TOPIC)
            for n in range(3)
        ]
        session.add_all(rows)
        session.flush()
        off, on = [r.id for r in rows[:6]], [r.id for r in rows[6:]]
        rob = session.scalar(sa.select(User).where(User.email == "rob@example.org"))
        screening.decide(session, review, off[0], rob, TA, "exclude")
        screening.decide(session, review, on[0], rob, TA, "include")
        session.commit()
    dialogs: list[str] = []
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "rita@example.org")
        page.goto(f"{live_site.url}{SCREEN}")  # asks for the ranking
        assert live_site.app.extensions["litreview.retrainer"].wait_idle(120)
        page.goto(f"{live_site.url}{SCREEN}")
        assert page.inner_text("#order-in-use") == "most relevant first"
        assert int(page.inner_text("#record-id")) in on[1:]
        with page.expect_navigation():
            page.click("#order-switch")
        assert page.inner_text("#order-in-use") == "in order"
        assert int(page.inner_text("#record-id")) == off[1]
    finally:
        context.close()
    # Another browser, a new sign-in: the order was kept on the server.
    context, page = new_page(browser, dialogs)
    try:
        sign_in(page, live_site, "rita@example.org")
        page.goto(f"{live_site.url}{SCREEN}")
        assert page.inner_text("#order-in-use") == "in order"
        assert int(page.inner_text("#record-id")) == off[1]
        assert page.inner_text("#order-switch") == "screen most relevant first instead"
        shoot(page, tmp_path, "screen-in-order-after-a-new-sign-in")
    finally:
        context.close()
    assert dialogs == []
