"""Screening that flows: skipped records kept on the server, Previous through one's own
decisions, "12 of 59", a reason required at title/abstract, the conflicts page's blind
rule, and switching single to dual mode without losing settled outcomes. SQLite and
PostgreSQL (the ``session`` fixture)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import screening
from litreview.errors import Invalid
from litreview.library import reviews
from litreview.models import AuditEntry, Decision, Record, ScreeningSkip
from litreview.screening import claims, modes, queue, skips
from litreview.screening.decisions import may_resolve
from litreview.screening.visibility import on_conflicts_page
from tests.test_screening import FT, LEAD, TA, Team, make_team


@pytest.fixture
def team(session) -> Team:
    return make_team(session)


@pytest.fixture
def dual(session) -> Team:
    return make_team(session, mode="dual")


def next_id(session: Session, team: Team, user, stage=TA, after=None):
    record, came_back = skips.next_to_screen(
        session, team.review, user, stage, after_id=after, order="id"
    )
    return (record.id if record else None), came_back


def test_skipped_records_are_kept_per_reviewer_and_come_back_last(session, team):
    ids, rv = team.records, team.review
    skips.skip(session, rv, team.ann, TA, ids[0])
    skips.skip(session, rv, team.ann, TA, ids[1])
    skips.skip(session, rv, team.ann, TA, ids[0])  # again: to the back, still one row
    session.commit()
    assert session.scalar(sa.select(sa.func.count(ScreeningSkip.id))) == 2
    # Another session (a new sign-in) sees the same list; Ben has none.
    with Session(session.get_bind()) as later:
        assert next_id(later, team, team.ann) == (ids[2], False)
        assert skips.waiting_count(later, rv, team.ann, TA) == 2
        assert skips.waiting_count(later, rv, team.ben, TA) == 0
    assert next_id(session, team, team.ben) == (ids[0], False)
    # Ben had ids[0] on his screen, held for him (screening.claims); shown another
    # record, he lets it go.
    assert claims.hold(session, rv, team.ben, TA, ids[3])
    assert skips.waiting_count(session, rv, team.ann, FT) == 0  # per stage
    for record_id in ids[2:]:
        screening.decide(session, rv, record_id, team.ann, TA, "include")
    # Everything else done: the skipped ones come back, the one skipped longest ago first.
    assert next_id(session, team, team.ann, after=ids[-1]) == (ids[1], True)
    skips.skip(session, rv, team.ann, TA, ids[1])  # skipped again: the other comes first
    assert next_id(session, team, team.ann) == (ids[0], True)
    screening.decide(session, rv, ids[0], team.ann, TA, "exclude")
    skips.unskip(session, rv, team.ann, TA, ids[0])
    assert next_id(session, team, team.ann) == (ids[1], True)
    # Settled by someone else (single mode): no longer waiting for Ann.
    screening.decide(session, rv, ids[1], team.ben, TA, "maybe")
    assert skips.waiting_count(session, rv, team.ann, TA) == 0
    assert next_id(session, team, team.ann) == (None, False)


def test_a_viewer_cannot_skip_and_a_record_of_another_review_is_not_found(session, team):
    from litreview.accounts.users import NotAllowed
    from litreview.errors import NotFound

    with pytest.raises(NotAllowed):
        skips.skip(session, team.review, team.vic, TA, team.records[0])
    with pytest.raises(NotFound):
        skips.skip(session, team.review, team.ann, TA, 999_999)


def test_previous_walks_back_through_my_decisions_in_the_order_made(session, team):
    ids, rv = team.records, team.review

    def prev(before):
        found = screening.previous_record(session, rv, team.ann, TA, before_id=before)
        return found.id if found else None

    # Decided out of id order (as most-relevant-first does).
    for record_id in (ids[5], ids[1], ids[3]):
        screening.decide(session, rv, record_id, team.ann, TA, "include")
    screening.decide(session, rv, ids[2], team.ben, TA, "include")  # not Ann's
    assert prev(ids[7]) == ids[3]  # from an undecided record: the one just decided
    assert prev(ids[3]) == ids[1]
    assert prev(ids[1]) == ids[5]
    assert prev(ids[5]) is None
    # Changing a decision from there makes it the latest.
    screening.decide(session, rv, ids[1], team.ann, TA, "exclude")
    assert prev(ids[7]) == ids[1]
    assert prev(ids[1]) == ids[3]
    # A decided record merged away since is stepped over.
    session.get(Record, ids[3]).merged_into_id = ids[6]
    session.flush()
    assert prev(ids[1]) == ids[5]


def test_place_counts_what_is_done_at_the_stage(session, team):
    ids, rv = team.records, team.review
    assert queue.place(session, rv, team.ann, TA, ids[0]) == queue.Place(8, 8, 1)
    screening.decide(session, rv, ids[0], team.ann, TA, "include")
    screening.decide(session, rv, ids[1], team.ben, TA, "exclude")  # settled for Ann too
    place = queue.place(session, rv, team.ann, TA, ids[2])
    assert (place.number, place.total, place.done) == (3, 8, 2)
    assert queue.place(session, rv, team.ann, TA, ids[0]).number is None  # decided
    assert queue.place(session, rv, team.ann, FT, ids[0]) == queue.Place(1, 1, 1)


def test_place_in_dual_mode_is_each_reviewer_s_own(session, dual):
    # Ben's decision does not make the record done for Ann.
    d = dual.records
    screening.decide(session, dual.review, d[0], dual.ben, TA, "include")
    assert queue.place(session, dual.review, dual.ann, TA, d[0]) == queue.Place(8, 8, 1)
    assert queue.place(session, dual.review, dual.ben, TA, d[1]) == queue.Place(8, 7, 2)


def test_place_in_dual_mode_counts_only_records_still_at_the_stage(session, dual):
    # Ann's full-text decision on a record that title/abstract no longer lets through
    # (Ben changed his mind: a conflict now) is not one of the records done there.
    d, rv = dual.records, dual.review
    for record_id in d[:3]:
        for user in (dual.ann, dual.ben):
            screening.decide(session, rv, record_id, user, TA, "include")
    screening.decide(session, rv, d[0], dual.ann, FT, "include")
    screening.decide(session, rv, d[1], dual.ann, FT, "maybe")
    screening.decide(session, rv, d[1], dual.ben, TA, "exclude")
    place = queue.place(session, rv, dual.ann, FT, d[2])
    assert (place.total, place.left, place.number) == (2, 1, 2)
    assert queue.place(session, rv, dual.ben, FT, d[2]) == queue.Place(2, 2, 1)


def test_a_review_may_require_a_reason_at_title_abstract(session, team):
    rv, r = team.review, team.records[0]
    screening.decide(session, rv, r, team.ann, TA, "exclude")  # none needed by default
    reviews.update_settings(
        session,
        rv,
        actor=LEAD,
        reason_required_title_abstract=True,
        exclusion_reasons=["Not about AI", "Not social work"],
    )
    with pytest.raises(Invalid, match="excluding at title/abstract in this review needs a reason"):
        screening.decide(session, rv, team.records[1], team.ann, TA, "exclude")
    row = screening.decide(
        session, rv, team.records[1], team.ann, TA, "exclude", reason="not about ai"
    )
    assert row.reason == "Not about AI"
    with pytest.raises(Invalid, match="expected true or false"):
        reviews.update_settings(session, rv, actor=LEAD, reason_required_title_abstract="yes")


def test_switching_to_dual_keeps_single_mode_outcomes_settled(session, team):
    ids, rv = team.records, team.review
    screening.decide(session, rv, ids[0], team.ann, TA, "include")
    screening.decide(session, rv, ids[1], team.ann, TA, "exclude", reason="off topic")
    screening.decide(session, rv, ids[2], team.ann, TA, "include")
    screening.decide(session, rv, ids[2], team.ben, TA, "exclude")  # a conflict already
    screening.decide(session, rv, ids[0], team.ben, FT, "include")
    session.commit()
    found = modes.preview(session, rv, "dual")
    assert found.lone == {TA: 2, FT: 1} and found.total == 3 and found.asks
    assert not modes.preview(session, rv, "single").asks
    before = screening.outcomes_at(session, rv, TA), screening.outcomes_at(session, rv, FT)
    reviews.update_settings(session, rv, actor=LEAD, screening_mode="dual")
    session.commit()
    assert rv.screening_mode == "dual"
    # Nothing changed: the finished decisions stay settled outcomes.
    assert (
        screening.outcomes_at(session, rv, TA),
        screening.outcomes_at(session, rv, FT),
    ) == before
    assert before[0] == {ids[0]: "include", ids[1]: "exclude", ids[2]: "conflict"}
    # Nobody is asked to screen them again; the records not decided yet need two.
    assert screening.next_record(session, rv, team.cat, TA, order="id").id == ids[3]
    assert screening.next_record(session, rv, team.cat, FT, order="id") is None
    screening.decide(session, rv, ids[3], team.ann, TA, "include")
    assert screening.outcome_at(session, rv, ids[3], TA) is None  # waits for a second
    # Settled, so not blind: Cat may see Ann's decision on it.
    seen = screening.visible_decisions(session, rv, ids[1], team.cat, TA)
    assert [d.user_id for d in seen] == [team.ann.id]
    assert len(screening.history(session, rv, ids[1], for_user=team.cat)) == 1
    # Ann changes her mind on a kept record: still settled, by her new decision.
    screening.decide(session, rv, ids[1], team.ann, TA, "include")
    assert screening.outcome_at(session, rv, ids[1], TA) == "include"
    # The audit entry says what was counted and chosen.
    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "review.settings")
    ).all()[-1]
    change = entry.details["changes"]["screening_mode"]
    assert change["decided_by_one"] == {TA: 2, FT: 1} and change["kept_settled"] is True
    # Rebuilding the kept outcomes from the decisions gives the same (the one rule).
    now = screening.outcomes_at(session, rv, TA)
    from litreview.screening import outcomes

    outcomes.refresh(session, rv)
    assert screening.outcomes_at(session, rv, TA) == now


def test_switching_to_dual_can_send_them_to_a_second_reviewer(session, team):
    ids, rv = team.records, team.review
    screening.decide(session, rv, ids[0], team.ann, TA, "include")
    reviews.update_settings(session, rv, actor=LEAD, screening_mode="dual")  # kept
    reviews.update_settings(session, rv, actor=LEAD, screening_mode="single")
    screening.decide(session, rv, ids[1], team.ann, TA, "exclude")
    reviews.update_settings(session, rv, actor=LEAD, screening_mode="dual", on_switch=modes.SECOND)
    # Both wait for a second reviewer now, the one kept by the earlier switch too.
    assert screening.outcomes_at(session, rv, TA) == {}
    assert not session.scalar(sa.select(sa.func.count()).where(Decision.settled_alone))
    assert screening.next_record(session, rv, team.ben, TA, order="id").id == ids[0]
    screening.decide(session, rv, ids[0], team.ben, TA, "exclude")
    assert screening.outcome_at(session, rv, ids[0], TA) == "conflict"
    with pytest.raises(Invalid, match="choose keep or second"):
        modes.switch(session, rv, "single", choice="maybe")


def test_the_conflicts_page_shows_both_sides_only_to_who_may_resolve(session, dual):
    rv, r = dual.review, dual.records[0]
    screening.decide(session, rv, r, dual.ann, TA, "include", note="about chatbots")
    screening.decide(session, rv, r, dual.ben, TA, "exclude")
    [conflict] = screening.conflicts(session, rv, TA)

    def sees(user, role):
        return sorted(d.user_id for d in on_conflicts_page(rv, role, user.id, conflict.decisions))

    both = sorted([dual.ann.id, dual.ben.id])
    assert sees(dual.lead, "lead") == both
    assert sees(dual.cat, "reviewer") == both  # a third reviewer resolves
    assert sees(dual.ann, "reviewer") == [dual.ann.id]
    assert sees(dual.vic, "viewer") == []
    assert may_resolve("reviewer", dual.cat.id, conflict.decisions)
    assert not may_resolve("reviewer", dual.ann.id, conflict.decisions)
    assert not may_resolve("viewer", dual.vic.id, conflict.decisions)
    # Single mode hides nothing.
    rv.screening_mode = "single"
    assert sees(dual.vic, "viewer") == both


def test_place_agrees_with_the_queue(session, team):
    """Counted from the kept outcomes, the place says what the queue says is left."""
    from litreview.evidence import retrieval

    ids, rv = team.records, team.review
    screening.decide(session, rv, ids[0], team.ann, TA, "include")
    screening.decide(session, rv, ids[1], team.ben, TA, "include")
    screening.decide(session, rv, ids[2], team.ann, TA, "maybe")
    screening.decide(session, rv, ids[2], team.ben, TA, "exclude")
    reviews.update_settings(session, rv, actor=LEAD, screening_mode="dual")
    screening.decide(session, rv, ids[3], team.ann, TA, "include")
    screening.decide(session, rv, ids[4], team.ann, TA, "include")
    screening.decide(session, rv, ids[4], team.cat, TA, "include")
    screening.decide(session, rv, ids[0], team.ben, FT, "include")
    retrieval.mark_not_retrievable(session, rv, ids[1], LEAD, "not held")
    session.get(Record, ids[6]).merged_into_id = ids[7]
    session.flush()
    for user in (team.ann, team.ben, team.cat):
        for stage in (TA, FT):
            waiting = queue.to_screen(rv, user, stage)
            left = session.scalar(sa.select(sa.func.count()).select_from(waiting.subquery()))
            place = queue.place(session, rv, user, stage, ids[7])
            assert place.left == left, (user.email, stage)
    assert queue.place(session, rv, team.ann, FT, ids[4]).total == 2  # ids[1] not retrievable
