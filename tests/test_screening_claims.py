"""Reviewers screening at the same moment in single mode are shown different records: the
record on a reviewer's screen is held for them a while (screening.claims). Real requests
at once against a real server on loopback, on SQLite and PostgreSQL; and where in the
queue reviewers screening together start (screening.claims.spread)."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import screening
from litreview.library import reviews
from litreview.models import Record, Review, ScreeningClaim, User, utcnow
from litreview.screening import queue, skips
from tests.loopback import Browser, at_once, serve_in_thread
from tests.test_screening import TA, make_team
from tests.webapp import make_site

NEXT = "/r/ai-sw/screen/title_abstract/"
SHOWN = re.compile(r'action="/r/ai-sw/screen/title_abstract/(\d+)"')
PEOPLE = [f"reviewer{n}@example.org" for n in range(6)]


def shown(answer) -> int:
    assert answer.status == 200, answer.text
    return int(SHOWN.search(answer.text).group(1))


def test_reviewers_at_once_are_shown_different_records_until_the_hold_runs_out(env, database_url):
    with make_site(database_url, {"PROPAGATE_EXCEPTIONS": False}) as site:
        for email in PEOPLE:
            site.add_user(email, "reviewer")
        site.session.commit()
        records = site.add_records(20)
        with serve_in_thread(site.app) as base:
            browsers = [Browser(base) for _ in PEOPLE]
            for browser, email in zip(browsers, PEOPLE, strict=True):
                assert browser.sign_in(email).status == 302
            first = at_once(len(PEOPLE), lambda n: browsers[n].get(NEXT))
            ids = [shown(a) for a in first]
            assert len(set(ids)) == len(PEOPLE), ids
            assert set(ids) == set(records[: len(PEOPLE)])
            # Asking again keeps one's own record; nobody holds two.
            assert shown(browsers[0].get(NEXT)) == ids[0]
            site.session.expire_all()
            holds = site.session.scalars(sa.select(ScreeningClaim)).all()
            assert sorted(h.record_id for h in holds) == sorted(ids)
            # Reviewer 0 decides: the next record they are shown is one nobody holds.
            decided = browsers[0].post(f"{NEXT}{ids[0]}", {"decision": "include"})
            assert decided.status == 303
            after = shown(browsers[0].get(decided.location))
            assert after not in ids
            # A hold nobody renews runs out: reviewer 1 went for lunch.
            site.session.execute(
                sa.update(ScreeningClaim)
                .where(ScreeningClaim.record_id == ids[1])
                .values(until=utcnow() - timedelta(seconds=1))
            )
            site.session.commit()
            latecomer = Browser(base)
            assert latecomer.sign_in("rita@example.org").status == 302
            assert shown(latecomer.get(NEXT)) == ids[1]


def test_in_dual_mode_every_reviewer_screens_every_record(env, database_url):
    with make_site(database_url, {"PROPAGATE_EXCEPTIONS": False}) as site:
        reviews.update_settings(site.session, site.review, actor="setup", screening_mode="dual")
        site.session.commit()
        records = site.add_records(5)
        with serve_in_thread(site.app) as base:
            browsers = [Browser(base), Browser(base)]
            for browser, email in zip(
                browsers, ("rita@example.org", "rob@example.org"), strict=True
            ):
                assert browser.sign_in(email).status == 302
            both = at_once(2, lambda n: browsers[n].get(NEXT))
            assert [shown(a) for a in both] == [records[0], records[0]]


def test_reviewers_screening_at_once_start_at_different_records_near_the_top(session):
    """Each of N reviewers screening together is offered a different one of the N first
    records nobody holds (screening.claims.spread); a reviewer alone, the first."""
    team = make_team(session, records=12)
    people = [team.lead, team.ann, team.ben, team.cat]
    ids = team.records

    def ask(who, after=None) -> int:
        record, _ = skips.next_to_screen(session, team.review, who, TA, after_id=after, order="id")
        return record.id

    # Alone, Ann is shown the first record.
    assert ask(team.ann) == ids[0]
    session.rollback()
    # Four reviewers start screening one after another: each holds a record.
    held = {}
    for who in people:
        held[who.id] = ask(who)
        session.commit()
    assert len(set(held.values())) == 4
    for who in people:
        screening.decide(session, team.review, held[who.id], who, TA, "include")
    session.commit()
    # Then all four decide and ask at the same moment: what each would be shown, asked
    # before any of the others took a record.
    offered = []
    for who in people:
        with Session(session.get_bind()) as theirs:
            review, reviewer = theirs.get(Review, team.review.id), theirs.get(User, who.id)
            record, _ = skips.next_to_screen(theirs, review, reviewer, TA, order="id")
            offered.append(record.id)
            theirs.rollback()
    left = [i for i in ids if i not in held.values()]
    assert len(set(offered)) == 4, offered
    assert set(offered) == set(left[:4])
    # Once the others' holds run out, a reviewer alone is shown the first record again.
    session.execute(
        sa.update(ScreeningClaim)
        .where(ScreeningClaim.user_id != team.cat.id)
        .values(until=utcnow() - timedelta(seconds=1))
    )
    session.commit()
    assert ask(team.cat) == left[0]


def test_a_record_decided_while_it_was_being_taken_is_not_shown(session, monkeypatch):
    """Ben's queue read a record just before Ann, who had it open, decided it and moved
    on: her hold on it is gone, so his wins, but he is shown another record, not one
    already decided."""
    team = make_team(session, records=4)
    rv, ids = team.review, team.records
    record, _ = skips.next_to_screen(session, rv, team.ann, TA, order="id")
    assert record.id == ids[0]
    screening.decide(session, rv, ids[0], team.ann, TA, "include")
    skips.next_to_screen(session, rv, team.ann, TA, after_id=ids[0], order="id")
    session.commit()
    # What Ben's queue read a moment earlier: ids[0], still undecided then.
    stale = [session.get(Record, ids[0])]
    real_next = queue.next_record

    def read_a_moment_earlier(*args, **kwargs):
        return stale.pop() if stale else real_next(*args, **kwargs)

    monkeypatch.setattr(queue, "next_record", read_a_moment_earlier)
    record, _ = skips.next_to_screen(session, rv, team.ben, TA, order="id")
    assert record.id not in (ids[0], ids[1])  # decided by Ann; held by Ann


def test_when_every_record_tried_is_taken_first_the_reviewer_is_asked_to_try_again(
    env, database_url, monkeypatch
):
    """Other reviewers taking, HOLD_TRIES times in a row, the record this one was about to
    hold (simulated: every hold is lost, HOLD_TRIES made 2): no record someone else has
    open is offered; the page says to try again in a moment (503, Retry-After), and the
    next ask works."""
    from litreview.errors import Busy
    from litreview.screening import claims

    with make_site(database_url, {"PROPAGATE_EXCEPTIONS": False}) as site:
        records = site.add_records(3)
        real_hold = claims.hold
        monkeypatch.setattr(claims, "hold", lambda *args: False)
        monkeypatch.setattr(skips, "HOLD_TRIES", 2)
        rita = site.session.scalar(sa.select(User).where(User.email == "rita@example.org"))
        try:
            skips.next_to_screen(site.session, site.review, rita, TA, order="id")
        except Busy as exc:
            assert "try again" in str(exc)
        else:
            raise AssertionError("a record was offered though every hold was lost")
        site.session.rollback()
        with serve_in_thread(site.app) as base:
            browser = Browser(base)
            assert browser.sign_in("rita@example.org").status == 302
            busy = browser.get(NEXT)
            assert busy.status == 503
            assert busy.headers["Retry-After"] == "5"
            assert "Other reviewers are taking the next records" in busy.text
            monkeypatch.setattr(claims, "hold", real_hold)
            assert shown(browser.get(NEXT)) == records[0]
