"""A reviewer's own screening order is kept on the server (screening.orders): it survives
signing out and another browser, is theirs alone, per review and stage; two tabs choosing
at once leave one row. Real requests against a real server on loopback, on SQLite and
PostgreSQL, and the domain functions on a real database."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from litreview import screening
from litreview.accounts.users import NotAllowed
from litreview.errors import Invalid
from litreview.models import Membership, Review, ScreeningOrderChoice, User
from litreview.screening import orders, queue
from tests.loopback import Browser, at_once, serve_in_thread
from tests.test_ranking import OFF_TOPIC, ON_TOPIC
from tests.test_screening import FT, TA, make_team
from tests.webapp import make_site

NEXT = "/r/ai-sw/screen/title_abstract/"
ORDER = f"{NEXT}order"
SHOWN = re.compile(r'action="/r/ai-sw/screen/title_abstract/(\d+)"')
IN_USE = re.compile(r'<strong id="order-in-use">([^<]+)</strong>')


def shown(answer) -> tuple[int, str]:
    """The record on the screening page and the order it says it screens in."""
    assert answer.status == 200, answer.text
    return int(SHOWN.search(answer.text).group(1)), IN_USE.search(answer.text).group(1)


def rows(site) -> list[tuple[int, str, str]]:
    site.session.expire_all()
    c = ScreeningOrderChoice
    return site.session.execute(sa.select(c.user_id, c.stage, c.chosen).order_by(c.id)).all()


def test_the_order_chosen_stays_after_signing_in_again_in_another_browser(env, database_url):
    with make_site(database_url, {"PROPAGATE_EXCEPTIONS": False}) as site:
        # Off-topic records first by id: in file order the on-topic ones come last.
        off = site.add_records(10, title="Field study", abstract=OFF_TOPIC)
        on = site.add_records(3, title="Study of algorithms", abstract=ON_TOPIC)
        rob = site.users["rob@example.org"]
        screening.decide(site.session, site.review, off[0], rob, TA, "exclude")
        screening.decide(site.session, site.review, on[0], rob, TA, "include")
        site.session.commit()
        with serve_in_thread(site.app) as base:
            first = Browser(base)
            assert first.sign_in("rita@example.org").status == 302
            first.get(NEXT)  # asks for the ranking
            assert site.app.extensions["litreview.retrainer"].wait_idle(120)
            record, order = shown(first.get(NEXT))
            assert record in on[1:] and order == "most relevant first"
            chosen = first.post(ORDER, {"order": "id"})
            assert chosen.status == 303
            assert shown(first.get(chosen.location)) == (off[1], "in order")
            assert first.post("/signout").status == 302
            # Signed in again, in a browser without the old session's cookie.
            second = Browser(base)
            assert second.sign_in("rita@example.org").status == 302
            assert shown(second.get(NEXT)) == (off[1], "in order")
            # Full text is another stage: the review's order there.
            assert "most relevant first" in second.get("/r/ai-sw/screen/full_text/").text
            # Rob's order is the review's still: the choice was Rita's.
            other = Browser(base)
            assert other.sign_in("rob@example.org").status == 302
            record, order = shown(other.get(NEXT))
            assert record in on[1:] and order == "most relevant first"
            # Back to most relevant first, after signing in again too.
            assert second.post(ORDER, {"order": "relevance"}).status == 303
            third = Browser(base)
            assert third.sign_in("rita@example.org").status == 302
            assert shown(third.get(NEXT))[1] == "most relevant first"
            assert second.post(ORDER, {"order": "shuffle"}).status == 400
        rita = site.users["rita@example.org"].id
        assert rows(site) == [(rita, TA, "relevance")]


def test_tabs_choosing_at_once_leave_one_row_and_no_error(env, database_url):
    with make_site(database_url, {"PROPAGATE_EXCEPTIONS": False}) as site:
        site.add_records(3)
        with serve_in_thread(site.app) as base:
            browser = Browser(base)
            assert browser.sign_in("rita@example.org").status == 302
            browser.refresh_token(NEXT)
            tabs = [browser.copy() for _ in range(6)]
            choices = ["id", "relevance"] * 3
            answers = at_once(len(tabs), lambda n: tabs[n].post(ORDER, {"order": choices[n]}))
            assert [a.status for a in answers] == [303] * len(tabs), [a.text for a in answers]
            [(_, stage, order)] = rows(site)
            assert stage == TA and order in choices
            assert shown(browser.get(NEXT))[1] == queue.ORDERS[order]


def test_an_admin_without_a_membership_keeps_their_order(env, database_url):
    with make_site(database_url, {"PROPAGATE_EXCEPTIONS": False}) as site:
        records = site.add_records(3)
        admin = site.add_user("ada@example.org")
        admin.is_admin = True
        site.session.commit()
        with serve_in_thread(site.app) as base:
            browser = Browser(base)
            assert browser.sign_in("ada@example.org").status == 302
            assert browser.post(ORDER, {"order": "id"}).status == 303
            again = Browser(base)
            assert again.sign_in("ada@example.org").status == 302
            assert shown(again.get(NEXT)) == (records[0], "in order")
            # A viewer may not screen, so may not choose an order either.
            viewer = Browser(base)
            assert viewer.sign_in("vera@example.org").status == 302
            assert viewer.post(ORDER, {"order": "id"}).status == 403
        assert rows(site) == [(admin.id, TA, "id")]


def test_choose_keeps_one_row_per_person_review_and_stage(session):
    team = make_team(session)
    review, ann, ben = team.review, team.ann, team.ben
    assert orders.chosen(session, review, ann, TA) is None  # the review's
    orders.choose(session, review, ann, TA, "id")
    orders.choose(session, review, ann, FT, "relevance")
    orders.choose(session, review, ann, TA, "relevance")
    orders.choose(session, review, ann, TA, "id")
    session.commit()
    assert orders.chosen(session, review, ann, TA) == "id"
    assert orders.chosen(session, review, ann, FT) == "relevance"
    assert orders.chosen(session, review, ben, TA) is None
    assert session.scalar(sa.select(sa.func.count(ScreeningOrderChoice.id))) == 2
    with pytest.raises(Invalid, match="choose relevance or id"):
        orders.choose(session, review, ann, TA, "random")
    with pytest.raises(Invalid, match="stage"):
        orders.choose(session, review, ann, "abstract", "id")
    with pytest.raises(NotAllowed):
        orders.choose(session, review, team.vic, TA, "id")
    with pytest.raises(NotAllowed):
        orders.choose(session, review, team.users["out"], TA, "id")
    session.rollback()
    assert orders.chosen(session, review, ann, TA) == "id"


def test_a_reviews_backup_leaves_the_peoples_own_orders_out(review_cli, session, tmp_path):
    review = session.scalar(sa.select(Review).where(Review.slug == "ai-sw"))
    ann = User(email="ann@example.org", password_hash="x")
    session.add(ann)
    session.flush()
    session.add(Membership(review_id=review.id, user_id=ann.id, role="reviewer"))
    orders.choose(session, review, ann, TA, "id")
    session.commit()
    path = tmp_path / "ai-sw.litreview.json"
    review_cli("export", "ai-sw", "backup", "-o", str(path))
    document = json.loads(path.read_text(encoding="utf-8"))
    assert "screening_order_choice" not in document["tables"]
    review_cli("restore", "ai-sw-copy", str(path))
    copy = session.scalar(sa.select(Review).where(Review.slug == "ai-sw-copy"))
    # The copy screens in its own order for everyone; Ann's choice stays on the original.
    assert orders.chosen(session, copy, ann, TA) is None
    assert orders.chosen(session, review, ann, TA) == "id"
