"""Screening: decisions and their history, blind dual mode, conflicts, agreement, progress."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from litreview import audit, screening
from litreview.accounts.users import NotAllowed
from litreview.errors import Invalid, NotFound
from litreview.library import reviews
from litreview.models import (
    AuditEntry,
    Decision,
    Membership,
    Record,
    Resolution,
    Review,
    StageOutcome,
    User,
    utcnow,
)
from litreview.screening import progress as screening_stats

TA, FT = "title_abstract", "full_text"
DECISIONS = ("include", "exclude", "maybe")
LEAD = "lead@example.org"
# One hash for every test user: hashing is the slow part and is tested in test_accounts.
HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("long enough")
ROLES = {"lead": "lead", "ann": "reviewer", "ben": "reviewer", "cat": "reviewer", "vic": "viewer"}


@dataclass
class Team:
    review: Review
    users: dict[str, User]
    records: list[int]

    def __getattr__(self, name: str) -> User:
        return self.users[name]


def add_records(session: Session, review: Review, count: int, start: int = 1) -> list[int]:
    rows = [Record(review_id=review.id, title=f"Paper {n}") for n in range(start, start + count)]
    session.add_all(rows)
    session.flush()
    return [r.id for r in rows]


def make_team(session: Session, records: int = 8, mode: str = "single") -> Team:
    review = reviews.create_review(session, "ai-sw", "AI in social work", LEAD)
    review.screening_mode = mode
    users = {}
    for name in (*ROLES, "out"):
        users[name] = User(email=f"{name}@example.org", password_hash=HASH)
    session.add_all(users.values())
    session.flush()
    session.add_all(
        Membership(review_id=review.id, user_id=users[name].id, role=role)
        for name, role in ROLES.items()
    )
    ids = add_records(session, review, records)
    session.commit()
    return Team(review, users, ids)


@pytest.fixture
def team(session) -> Team:
    return make_team(session)


@pytest.fixture
def dual(session) -> Team:
    return make_team(session, mode="dual")


def rows_of(session, record_id, stage=TA):
    return session.execute(
        sa.select(Decision.user_id, Decision.decision, Decision.reason, Decision.current)
        .where(Decision.record_id == record_id, Decision.stage == stage)
        .order_by(Decision.id)
    ).all()


# ------------------------------------------------------------------ decisions


def test_changing_a_decision_adds_a_row_and_keeps_the_history(session, team):
    r1 = team.records[0]
    first = screening.decide(session, team.review, r1, team.ann, TA, "include", note="AI triage")
    again = screening.decide(session, team.review, r1, team.ann, TA, "include", note="AI triage")
    assert again is first  # a double click adds nothing
    changed = screening.decide(
        session, team.review, r1, team.ann, TA, "exclude", reason="not relevant"
    )
    session.commit()
    assert rows_of(session, r1) == [
        (team.ann.id, "include", None, False),
        (team.ann.id, "exclude", "not relevant", True),
    ]
    assert [
        (type(h).__name__, h.decision, h.current)
        for h in screening.history(session, team.review, r1)
    ] == [("Decision", "include", False), ("Decision", "exclude", True)]
    entries = session.execute(
        sa.select(AuditEntry.actor, AuditEntry.target_id, AuditEntry.details)
        .where(AuditEntry.action == "screen.decide")
        .order_by(AuditEntry.id)
    ).all()
    assert [(a, t, d["decision"], d["previous"]) for a, t, d in entries] == [
        ("ann@example.org", first.id, "include", None),
        ("ann@example.org", changed.id, "exclude", first.id),
    ]
    assert screening.outcome_at(session, team.review, r1, TA) == "exclude"


def test_only_leads_and_reviewers_decide(session, team):
    r1 = team.records[0]
    with pytest.raises(NotAllowed, match="vic@example.org is a viewer of ai-sw"):
        screening.decide(session, team.review, r1, team.vic, TA, "include")
    with pytest.raises(NotAllowed, match="out@example.org is not a member of ai-sw"):
        screening.decide(session, team.review, r1, team.out, TA, "include")
    screening.decide(session, team.review, r1, team.lead, TA, "include")
    with pytest.raises(NotFound, match="no record 9999 in review ai-sw"):
        screening.decide(session, team.review, 9999, team.ann, TA, "include")
    with pytest.raises(Invalid, match="decision 'yes': choose include, exclude, maybe"):
        screening.decide(session, team.review, r1, team.ann, TA, "yes")
    with pytest.raises(Invalid, match="stage 'abstract': choose title_abstract or full_text"):
        screening.decide(session, team.review, r1, team.ann, "abstract", "include")


def test_reasons_required_at_full_text_and_taken_from_the_review_list(session, team):
    r1, r2 = team.records[:2]
    # Free text while the review has no list; none needed at title/abstract.
    screening.decide(session, team.review, r1, team.ann, TA, "exclude", reason="Opinion piece")
    screening.decide(session, team.review, r2, team.ann, TA, "exclude")
    with pytest.raises(Invalid, match="a reason goes only with exclude, not with include"):
        screening.decide(session, team.review, r1, team.ann, TA, "include", reason="Opinion")
    reviews.update_settings(
        session, team.review, actor=LEAD, exclusion_reasons="Not about AI; Not social work"
    )
    with pytest.raises(
        Invalid,
        match="reason 'Opinion piece' is not one of this review's: Not about AI; Not social work",
    ):
        screening.decide(session, team.review, r1, team.ann, TA, "exclude", reason="Opinion piece")
    row = screening.decide(session, team.review, r1, team.ann, TA, "exclude", reason="not about ai")
    assert row.reason == "Not about AI"

    screening.decide(session, team.review, r2, team.ann, TA, "include")
    with pytest.raises(
        Invalid,
        match="^excluding at full text needs a reason: one of Not about AI; Not social work$",
    ):
        screening.decide(session, team.review, r2, team.ann, FT, "exclude")
    with pytest.raises(Invalid, match="excluding at full text needs a reason"):
        screening.decide(session, team.review, r2, team.ann, FT, "exclude", reason="  ")
    row = screening.decide(
        session, team.review, r2, team.ann, FT, "exclude", reason="Not social work"
    )
    assert (row.stage, row.reason) == (FT, "Not social work")


def test_full_text_only_for_records_included_or_maybe_at_title_abstract(session, team):
    r1, r2, r3, r4 = team.records[:4]
    screening.decide(session, team.review, r1, team.ann, TA, "include")
    screening.decide(session, team.review, r2, team.ann, TA, "maybe")
    screening.decide(session, team.review, r3, team.ann, TA, "exclude")
    screening.decide(session, team.review, r1, team.ann, FT, "include")
    screening.decide(session, team.review, r2, team.ann, FT, "include")
    with pytest.raises(
        Invalid, match="record 3 is not in full-text screening: at title/abstract it is excluded"
    ):
        screening.decide(session, team.review, r3, team.ann, FT, "include")
    with pytest.raises(Invalid, match="at title/abstract it is not decided yet"):
        screening.decide(session, team.review, r4, team.ann, FT, "include")


def test_merged_and_withdrawn_records_are_not_screened(session, team):
    r1, r2, r3 = team.records[:3]
    session.get(Record, r2).merged_into_id = r1
    session.get(Record, r3).withdrawn_at = utcnow()
    session.flush()
    with pytest.raises(Invalid, match="record 2 was merged into record 1: screen record 1 instead"):
        screening.decide(session, team.review, r2, team.ann, TA, "include")
    with pytest.raises(Invalid, match="record 3 was withdrawn"):
        screening.decide(session, team.review, r3, team.ann, TA, "include")
    assert screening.next_record(session, team.review, team.ann, TA, after_id=r1).id == 4


def test_undo_walks_back_through_the_decisions_in_reverse_order(session, team):
    r1, r2 = team.records[:2]
    d1 = screening.decide(session, team.review, r1, team.ann, TA, "include")
    d2 = screening.decide(session, team.review, r2, team.ann, TA, "maybe")
    d3 = screening.decide(session, team.review, r1, team.ann, TA, "exclude")
    screening.decide(session, team.review, r1, team.ben, TA, "include")  # not ann's to undo
    assert screening.undo_last(session, team.review, team.ann, TA) is d3
    assert rows_of(session, r1)[:3] == [
        (team.ann.id, "include", None, True),  # what d3 replaced is current again
        (team.ann.id, "exclude", None, False),
        (team.ben.id, "include", None, True),
    ]
    assert screening.undo_last(session, team.review, team.ann, TA) is d2
    assert screening.next_record(session, team.review, team.ann, TA, after_id=r1).id == r2
    # A new decision after an undo, then undo it: the withdrawn d3 never comes back.
    d4 = screening.decide(session, team.review, r1, team.ann, TA, "maybe")
    assert screening.undo_last(session, team.review, team.ann, TA) is d4
    assert [c for *_, c in rows_of(session, r1)] == [True, False, True, False]
    assert screening.undo_last(session, team.review, team.ann, TA) is d1
    assert screening.undo_last(session, team.review, team.ann, TA) is None
    assert screening.outcome_at(session, team.review, r1, TA) == "include"  # ben's
    session.commit()
    undone = session.scalars(
        sa.select(AuditEntry.target_id)
        .where(AuditEntry.action == "screen.undo")
        .order_by(AuditEntry.id)
    ).all()
    assert undone == [d3.id, d2.id, d4.id, d1.id]
    assert len(screening.history(session, team.review, r1)) == 4


def test_operations_flush_but_never_commit(session, dual):
    r1 = dual.records[0]
    screening.decide(session, dual.review, r1, dual.ann, TA, "include")
    screening.decide(session, dual.review, r1, dual.ann, TA, "exclude")
    screening.undo_last(session, dual.review, dual.ann, TA)
    screening.decide(session, dual.review, r1, dual.ben, TA, "exclude")
    screening.resolve(session, dual.review, r1, dual.lead, TA, "include")
    reviews.update_settings(session, dual.review, actor=LEAD, criteria="AI")
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(Decision.id))) == 0
    assert session.scalar(sa.select(sa.func.count(Resolution.id))) == 0
    assert session.scalar(sa.select(Review.criteria)) is None


# ------------------------------------------------------------------ outcomes, blind mode


def test_effective_decisions_single_and_dual(session, team):
    r1, r2, r3, r4 = team.records[:4]
    screening.decide(session, team.review, r1, team.ann, TA, "include")
    screening.decide(session, team.review, r2, team.ann, TA, "exclude")
    screening.decide(session, team.review, r3, team.ann, TA, "include")
    screening.decide(session, team.review, r3, team.ben, TA, "include")
    screening.decide(session, team.review, r4, team.ann, TA, "include")
    screening.decide(session, team.review, r4, team.ben, TA, "maybe")
    assert screening.outcomes_at(session, team.review, TA) == {
        r1: "include",
        r2: "exclude",
        r3: "include",
        r4: "conflict",  # even in single mode, two people who disagree are a conflict
    }
    # Sent to a second reviewer (the lead's choice; by default they stay settled, see
    # test_screening_flow): the one-reviewer records wait for a second decision.
    reviews.update_settings(
        session, team.review, actor=LEAD, screening_mode="dual", on_switch="second"
    )
    assert screening.outcomes_at(session, team.review, TA) == {
        r3: "include",
        r4: "conflict",
    }
    assert screening.outcome_at(session, team.review, r1, TA) is None
    assert screening.outcomes_at(session, team.review, FT) == {}


def test_blind_dual_reviewers_see_only_their_own_until_both_decided(session, dual):
    r1 = dual.records[0]
    screening.decide(session, dual.review, r1, dual.ann, TA, "include", note="ann's note")

    def seen(user):
        return [
            (d.user.email, d.decision)
            for d in screening.visible_decisions(session, dual.review, r1, user, TA)
        ]

    assert seen(dual.ann) == [("ann@example.org", "include")]
    assert seen(dual.ben) == []
    assert seen(dual.vic) == []
    assert seen(dual.lead) == [("ann@example.org", "include")]  # leads see all
    assert [
        h.user.email for h in screening.history(session, dual.review, r1, for_user=dual.ben)
    ] == []
    assert len(screening.history(session, dual.review, r1, for_user=dual.lead)) == 1

    screening.decide(session, dual.review, r1, dual.ben, TA, "exclude")
    both = [("ann@example.org", "include"), ("ben@example.org", "exclude")]
    assert seen(dual.ann) == both
    assert seen(dual.ben) == both
    assert seen(dual.vic) == both
    assert len(screening.history(session, dual.review, r1, for_user=dual.ann)) == 2
    # Ben takes his back: blind again for Ann.
    screening.undo_last(session, dual.review, dual.ben, TA)
    assert seen(dual.ann) == [("ann@example.org", "include")]
    assert seen(dual.ben) == []


def test_conflicts_and_resolutions_are_kept_apart_from_the_decisions(session, dual):
    r1, r2, r3 = dual.records[:3]
    reviews.update_settings(session, dual.review, actor=LEAD, exclusion_reasons=["Not about AI"])
    screening.decide(session, dual.review, r1, dual.ann, TA, "include")
    screening.decide(session, dual.review, r1, dual.ben, TA, "exclude", reason="Not about AI")
    screening.decide(session, dual.review, r2, dual.ann, TA, "maybe")
    screening.decide(session, dual.review, r2, dual.ben, TA, "maybe")
    screening.decide(session, dual.review, r3, dual.ann, TA, "exclude")
    [conflict] = screening.conflicts(session, dual.review, TA)
    assert conflict.record.id == r1
    assert [(d.user.email, d.decision, d.reason) for d in conflict.decisions] == [
        ("ann@example.org", "include", None),
        ("ben@example.org", "exclude", "Not about AI"),
    ]
    with pytest.raises(
        Invalid,
        match="record 1 is not in full-text screening: at title/abstract"
        " it is in conflict, waiting for a resolution",
    ):
        screening.decide(session, dual.review, r1, dual.ann, FT, "include")
    with pytest.raises(NotAllowed, match="ben@example.org decided record 1 at title_abstract"):
        screening.resolve(session, dual.review, r1, dual.ben, TA, "exclude", reason="Not about AI")
    with pytest.raises(NotAllowed, match="vic@example.org is a viewer"):
        screening.resolve(session, dual.review, r1, dual.vic, TA, "include")
    with pytest.raises(
        Invalid,
        match=r"record 2 has no conflict at title_abstract to resolve \(its decision is maybe\)",
    ):
        screening.resolve(session, dual.review, r2, dual.lead, TA, "include")
    with pytest.raises(
        Invalid, match=r"record 3 has no conflict .* \(its decision is not made yet\)"
    ):
        screening.resolve(session, dual.review, r3, dual.lead, TA, "include")

    # A third reviewer resolves; then the lead changes the resolution.
    first = screening.resolve(
        session, dual.review, r1, dual.cat, TA, "include", note="AI in triage"
    )
    second = screening.resolve(
        session, dual.review, r1, dual.lead, TA, "exclude", reason="not about AI"
    )
    session.commit()
    assert screening.conflicts(session, dual.review, TA) == []
    assert screening.outcome_at(session, dual.review, r1, TA) == "exclude"
    assert rows_of(session, r1) == [
        (dual.ann.id, "include", None, True),
        (dual.ben.id, "exclude", "Not about AI", True),
    ]
    assert session.execute(
        sa.select(
            Resolution.user_id, Resolution.decision, Resolution.reason, Resolution.current
        ).order_by(Resolution.id)
    ).all() == [
        (dual.cat.id, "include", None, False),
        (dual.lead.id, "exclude", "Not about AI", True),
    ]
    kinds = [(type(h).__name__, h.decision) for h in screening.history(session, dual.review, r1)]
    assert kinds == [
        ("Decision", "include"),
        ("Decision", "exclude"),
        ("Resolution", "include"),
        ("Resolution", "exclude"),
    ]
    assert (first.current, second.current) == (False, True)
    # Once resolved, the record is done for everyone, and not blind any more.
    assert screening.next_record(session, dual.review, dual.cat, TA).id == r3
    assert len(screening.visible_decisions(session, dual.review, r1, dual.vic, TA)) == 2


# ------------------------------------------------------------------ next record


def test_next_record_in_id_order_after_and_skipping(session, team):
    ids = team.records
    nxt = screening.next_record
    assert nxt(session, team.review, team.ann, TA).id == ids[0]
    screening.decide(session, team.review, ids[0], team.ann, TA, "include")
    screening.decide(session, team.review, ids[2], team.ben, TA, "include")  # done: single mode
    assert nxt(session, team.review, team.ann, TA).id == ids[1]
    assert nxt(session, team.review, team.ann, TA, skip_ids={ids[1]}).id == ids[3]
    assert nxt(session, team.review, team.ann, TA, after_id=ids[3], skip_ids=[ids[4]]).id == ids[5]
    assert nxt(session, team.review, team.ann, TA, after_id=ids[-1]) is None
    assert (
        screening.previous_record(session, team.review, team.ann, TA, before_id=ids[5]).id == ids[0]
    )
    assert screening.previous_record(session, team.review, team.ann, TA, before_id=ids[0]) is None
    # Going back steps over a decided record merged away since.
    screening.decide(session, team.review, ids[3], team.ann, TA, "exclude")
    session.get(Record, ids[3]).merged_into_id = ids[7]
    back = screening.previous_record(session, team.review, team.ann, TA, before_id=ids[5])
    assert back.id == ids[0]
    # Full text: only what passed title/abstract.
    assert nxt(session, team.review, team.ann, FT).id == ids[0]
    screening.decide(session, team.review, ids[0], team.ann, FT, "include")
    assert nxt(session, team.review, team.ann, FT).id == ids[2]
    assert nxt(session, team.review, team.ben, FT).id == ids[2]


def test_next_record_in_dual_mode_is_done_after_two_reviewers(session, dual):
    r1, r2 = dual.records[:2]
    screening.decide(session, dual.review, r1, dual.ann, TA, "include")
    assert screening.next_record(session, dual.review, dual.ann, TA).id == r2
    assert screening.next_record(session, dual.review, dual.ben, TA).id == r1
    screening.decide(session, dual.review, r1, dual.ben, TA, "exclude")
    assert screening.next_record(session, dual.review, dual.cat, TA).id == r2
    # Full text waits for the conflict's resolution.
    assert screening.next_record(session, dual.review, dual.ann, FT) is None
    screening.resolve(session, dual.review, r1, dual.lead, TA, "maybe")
    assert screening.next_record(session, dual.review, dual.ann, FT).id == r1


def count_queries(engine):
    statements: list[str] = []

    def before(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    return statements, lambda: sa.event.remove(engine, "before_cursor_execute", before)


@pytest.mark.parametrize("mode", ["single", "dual"])
def test_next_record_and_stats_make_the_same_few_queries_at_any_size(session, engine, mode):
    team = make_team(session, records=4, mode=mode)
    counts = []
    for extra in (0, 60):
        new = add_records(session, team.review, extra, start=100)
        # The records came in as an import brings them, with its audit entry.
        audit.log(session, LEAD, "import.file", review_id=team.review.id)
        for n, record_id in enumerate(team.records + new):
            # Ann decides every record; Ben every other one, agreeing on half of those.
            screening.decide(session, team.review, record_id, team.ann, TA, DECISIONS[n % 3])
            if n % 2:
                screening.decide(
                    session, team.review, record_id, team.ben, TA, DECISIONS[(n + n % 4) % 3]
                )
        session.commit()
        statements, stop = count_queries(engine)
        try:
            screening.next_record(session, team.review, team.cat, TA)
            screening.next_record(session, team.review, team.cat, FT)
            after_next = len(statements)
            cold = screening.stats(session, team.review)
            after_stats = len(statements)
            assert screening.stats(session, team.review) == cold  # nothing changed: cached
            after_cached = len(statements)
            screening.outcomes_at(session, team.review, FT)
            screening.conflicts(session, team.review, TA)
            after_conflicts = len(statements)
            # A decision moves screening's numbers, not the library's: those are kept.
            screening.decide(session, team.review, team.records[0], team.cat, TA, "maybe")
            session.commit()
            after_decision = len(statements)
            screening.stats(session, team.review)
        finally:
            stop()
        counts.append(
            (
                after_next,
                after_stats - after_next,
                after_cached - after_stats,
                after_conflicts - after_cached,
                len(statements) - after_decision,
            )
        )
        # Next round: undo everything so the same decisions can be made again on more records.
        session.execute(sa.delete(Decision))
        session.execute(sa.delete(StageOutcome))
        session.commit()
    # next_record: two queries each (the stored ranking, none here, then the record);
    # stats: eight, then one while nothing changes, four after a decision; outcomes_at
    # one, conflicts three.
    assert counts[0] == counts[1] == (4, 8, 1, 4, 4)


# ------------------------------------------------------------------ agreement and stats


def test_cohen_kappa_of_a_textbook_two_by_two_table():
    # 50 items; agree on 20 yes + 15 no: po = 35/50 = 0.7.
    # Rater A: 25 yes, 25 no; rater B: 30 yes, 20 no.
    # pe = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    observed, expected, kappa = screening.cohen_kappa([[20, 5], [10, 15]])
    assert (observed, expected) == (0.7, 0.5)
    assert kappa == pytest.approx(0.4)
    assert screening.cohen_kappa([[0, 0], [0, 0]]) == (None, None, None)
    assert screening.cohen_kappa([[5, 0], [0, 0]]) == (1.0, 1.0, None)  # undefined


def test_kappa_per_pair_matches_a_table_computed_by_hand(session, dual):
    # Ann (rows) and Ben (columns) on ten records, include / exclude / maybe:
    #              Ben: inc exc may
    #   Ann inc          3   1   0     row 4  -> 0.4
    #   Ann exc          0   4   1     row 5  -> 0.5
    #   Ann may          1   0   0     row 1  -> 0.1
    #   columns          4   5   1  -> 0.4, 0.5, 0.1
    # po = (3 + 4 + 0) / 10 = 0.7; pe = 0.4*0.4 + 0.5*0.5 + 0.1*0.1 = 0.42
    # kappa = (0.7 - 0.42) / (1 - 0.42) = 0.28 / 0.58 = 0.4828 (4 places)
    pairs = [("include", "include")] * 3 + [("include", "exclude")]
    pairs += [("exclude", "exclude")] * 4 + [("exclude", "maybe"), ("maybe", "include")]
    ids = dual.records + add_records(session, dual.review, 2, start=9)
    for record_id, (a, b) in zip(ids, pairs, strict=True):
        screening.decide(session, dual.review, record_id, dual.ann, TA, a)
        screening.decide(session, dual.review, record_id, dual.ben, TA, b)
    # Cat agrees with Ann and Ben on one record and not on another: pairs of their own.
    screening.decide(session, dual.review, ids[0], dual.cat, TA, "include")
    screening.decide(session, dual.review, ids[1], dual.cat, TA, "maybe")
    session.commit()

    agreement = screening.stats(session, dual.review)["agreement"]
    assert agreement[FT] == []
    ann_ben, ann_cat, ben_cat = agreement[TA]
    assert ann_ben["reviewers"] == ["ann@example.org", "ben@example.org"]
    assert ann_ben["table"] == [[3, 1, 0], [0, 4, 1], [1, 0, 0]]
    assert (ann_ben["records"], ann_ben["agreed"]) == (10, 7)
    assert (ann_ben["observed"], ann_ben["expected"], ann_ben["kappa"]) == (0.7, 0.42, 0.4828)
    # Ann/Cat: (include, include), (include, maybe): po = 0.5, pe = 1*0.5 = 0.5, kappa 0.
    assert ann_cat["reviewers"] == ["ann@example.org", "cat@example.org"]
    assert (ann_cat["table"], ann_cat["kappa"]) == ([[1, 0, 1], [0, 0, 0], [0, 0, 0]], 0.0)
    assert (ben_cat["table"], ben_cat["kappa"]) == ([[1, 0, 1], [0, 0, 0], [0, 0, 0]], 0.0)

    csv_text = screening.kappa_csv(screening.stats(session, dual.review))
    lines = csv_text.splitlines()
    assert lines[0].startswith("stage,reviewer_a,reviewer_b,records,agreed,observed_agreement,")
    assert lines[0].endswith(",a_maybe_b_include,a_maybe_b_exclude,a_maybe_b_maybe")
    assert (
        lines[1]
        == "title_abstract,ann@example.org,ben@example.org,10,7,0.7,0.42,0.4828,3,1,0,0,4,1,1,0,0"
    )
    assert lines[3].split(",")[:8] == [
        TA,
        "ben@example.org",
        "cat@example.org",
        "2",
        "1",
        "0.5",
        "0.5",
        "0.0",
    ]
    assert len(lines) == 4


def test_stats_counts_add_up(session, team, monkeypatch):
    r = team.records  # eight live records
    merged, withdrawn = add_records(session, team.review, 2, start=9)
    # Decided, then merged away or withdrawn: they count no more.
    screening.decide(session, team.review, merged, team.ann, TA, "include")
    screening.decide(session, team.review, withdrawn, team.ben, TA, "exclude")
    session.get(Record, merged).merged_into_id = r[0]
    session.get(Record, withdrawn).withdrawn_at = utcnow()
    reviews.update_settings(
        session, team.review, actor=LEAD, exclusion_reasons=["Not about AI", "Not social work"]
    )
    decide = screening.decide
    decide(session, team.review, r[0], team.ann, TA, "include")
    decide(session, team.review, r[1], team.ann, TA, "include")
    decide(session, team.review, r[2], team.ann, TA, "exclude", reason="Not about AI")
    decide(session, team.review, r[3], team.ann, TA, "exclude", reason="Not about AI")
    decide(session, team.review, r[4], team.ann, TA, "maybe")
    decide(session, team.review, r[5], team.ann, TA, "exclude", reason="Not social work")
    decide(session, team.review, r[6], team.ben, TA, "include")
    decide(session, team.review, r[0], team.ann, FT, "include")
    decide(session, team.review, r[1], team.ann, FT, "exclude", reason="Not about AI")
    decide(session, team.review, r[4], team.ben, FT, "exclude", reason="Not social work")
    session.commit()

    s = screening.stats(session, team.review)
    assert (s["records"], s["mode"], s["duplicates_merged"], s["sources"]) == (8, "single", 0, [])
    ta, ft = s["stages"][TA], s["stages"][FT]
    assert ta == {
        "eligible": 8,
        "screened": 7,
        "remaining": 1,
        "in_progress": 0,
        "included": 3,
        "excluded": 3,
        "maybe": 1,
        "conflicts": 0,
        "resolved": 0,
        "excluded_by_reason": {"Not about AI": 2, "Not social work": 1},
    }
    assert ft == {
        "eligible": 4,
        "screened": 3,
        "remaining": 1,
        "in_progress": 0,
        "included": 1,
        "excluded": 2,
        "maybe": 0,
        "conflicts": 0,
        "resolved": 0,
        "excluded_by_reason": {"Not about AI": 1, "Not social work": 1},
        "not_retrieved": 0,
    }
    # Cat disagrees with Ben on record 7: a conflict, and it leaves full text.
    decide(session, team.review, r[6], team.cat, TA, "exclude", reason="Not about AI")
    s = screening.stats(session, team.review)
    ta, ft = s["stages"][TA], s["stages"][FT]
    assert (ta["included"], ta["conflicts"], ta["screened"], ft["eligible"]) == (2, 1, 7, 3)
    for stage in (ta, ft):
        outcomes = stage["included"] + stage["excluded"] + stage["maybe"] + stage["conflicts"]
        assert outcomes == stage["screened"]
        assert stage["screened"] + stage["remaining"] == stage["eligible"]
        assert sum(stage["excluded_by_reason"].values()) == stage["excluded"]
    assert s["agreement"][TA][0]["reviewers"] == ["ben@example.org", "cat@example.org"]
    assert merged not in screening.outcomes_at(session, team.review, TA)
    # Many records merged away: they are left out by a subquery instead of a list.
    monkeypatch.setattr(screening_stats, "MAX_LISTED", 0)
    assert screening.stats(session, team.review, fresh=True) == s


def test_dual_mode_stats_in_progress_and_resolved(session, dual):
    r1, r2, r3 = dual.records[:3]
    screening.decide(session, dual.review, r1, dual.ann, TA, "include")
    screening.decide(session, dual.review, r1, dual.ben, TA, "exclude", reason="off topic")
    screening.decide(session, dual.review, r2, dual.ann, TA, "exclude", reason="off topic")
    screening.decide(session, dual.review, r2, dual.ben, TA, "exclude", reason="no AI")
    screening.decide(session, dual.review, r3, dual.ann, TA, "include")
    ta = screening.stats(session, dual.review)["stages"][TA]
    assert (ta["screened"], ta["in_progress"], ta["remaining"], ta["conflicts"]) == (2, 1, 6, 1)
    assert ta["excluded_by_reason"] == {"no AI; off topic": 1}  # both reasons, not hidden
    screening.resolve(session, dual.review, r1, dual.lead, TA, "exclude", reason="off topic")
    ta = screening.stats(session, dual.review)["stages"][TA]
    assert (ta["conflicts"], ta["resolved"], ta["excluded"]) == (0, 1, 2)
    assert ta["excluded_by_reason"] == {"no AI; off topic": 1, "off topic": 1}


def test_a_resolution_stands_when_the_reviewers_take_their_decisions_back(session, dual):
    r1 = dual.records[0]
    screening.decide(session, dual.review, r1, dual.ann, TA, "include")
    screening.decide(session, dual.review, r1, dual.ben, TA, "exclude")
    screening.resolve(session, dual.review, r1, dual.lead, TA, "maybe")
    screening.undo_last(session, dual.review, dual.ann, TA)
    screening.undo_last(session, dual.review, dual.ben, TA)
    assert screening.outcome_at(session, dual.review, r1, TA) == "maybe"
    assert screening.outcomes_at(session, dual.review, TA) == {r1: "maybe"}
    ta, ft = (screening.stats(session, dual.review)["stages"][s] for s in (TA, FT))
    assert (ta["screened"], ta["maybe"], ta["resolved"], ta["remaining"]) == (1, 1, 1, 7)
    assert (ft["eligible"], ft["remaining"]) == (1, 1)
    assert screening.next_record(session, dual.review, dual.ann, TA).id == dual.records[1]
    assert screening.next_record(session, dual.review, dual.ann, FT).id == r1


def test_stats_follow_every_change_and_are_reused_only_while_nothing_changed(session, dual):
    r1, r2 = dual.records[:2]
    screening.decide(session, dual.review, r1, dual.ann, TA, "include")
    screening.decide(session, dual.review, r1, dual.ben, TA, "include")
    first = screening.stats(session, dual.review)
    assert first["stages"][TA]["included"] == 1
    first["stages"][TA]["included"] = 99  # the caller's copy; the next call is unharmed
    assert screening.stats(session, dual.review)["stages"][TA]["included"] == 1
    screening.undo_last(session, dual.review, dual.ben, TA)
    after_undo = screening.stats(session, dual.review)["stages"][TA]
    assert (after_undo["included"], after_undo["in_progress"]) == (0, 1)
    reviews.update_settings(session, dual.review, actor=LEAD, screening_mode="single")
    assert screening.stats(session, dual.review)["stages"][TA]["included"] == 1
    screening.decide(session, dual.review, r2, dual.cat, TA, "exclude")
    session.commit()
    assert screening.stats(session, dual.review) == screening.stats(
        session, dual.review, fresh=True
    )
    assert screening.stats(session, dual.review)["stages"][TA]["excluded"] == 1


# ------------------------------------------------------------------ concurrency


def _decide_in_own_session(engine, review_id, record_id, user_id, decision, done):
    with Session(engine, expire_on_commit=False) as s:
        row = screening.decide(
            s, s.get(Review, review_id), record_id, s.get(User, user_id), TA, decision
        )
        s.commit()
        done.append((time.monotonic(), row.id))


def test_two_reviewers_deciding_the_same_record_at_once_lose_nothing(engine, team):
    r1 = team.records[0]
    done: list = []
    barrier = threading.Barrier(2)

    def work(user_id, decision):
        barrier.wait()
        _decide_in_own_session(engine, team.review.id, r1, user_id, decision, done)

    threads = [
        threading.Thread(target=work, args=(team.ann.id, "include")),
        threading.Thread(target=work, args=(team.ben.id, "exclude")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(done) == 2
    with Session(engine) as s:
        assert sorted(rows_of(s, r1)) == sorted(
            [(team.ann.id, "include", None, True), (team.ben.id, "exclude", None, True)]
        )


def test_the_same_reviewer_deciding_twice_at_once_keeps_both_rows(engine, team, caplog):
    caplog.set_level(logging.INFO, logger="litreview.screening.decisions")
    r1 = team.records[0]
    done: list = []
    with Session(engine, expire_on_commit=False) as first:
        screening.decide(
            first,
            first.get(Review, team.review.id),
            r1,
            first.get(User, team.ann.id),
            TA,
            "include",
        )
        # The first request has written but not committed; the second must wait for it.
        second = threading.Thread(
            target=_decide_in_own_session,
            args=(engine, team.review.id, r1, team.ann.id, "exclude", done),
        )
        second.start()
        time.sleep(0.5)
        assert done == []
        committed_at = time.monotonic()
        first.commit()
    second.join(30)
    [(finished_at, _row)] = done
    assert finished_at > committed_at
    with Session(engine) as s:
        assert rows_of(s, r1) == [
            (team.ann.id, "include", None, False),
            (team.ann.id, "exclude", None, True),
        ]
    # No retry: the second waited for the record's lock (PostgreSQL) or the write lock
    # (SQLite), then replaced the first's committed row.
    assert "raced" not in caplog.text


# ------------------------------------------------------------------ settings


def test_review_settings_are_cleaned_checked_and_logged(session, team):
    reviews.update_settings(
        session,
        team.review,
        actor=LEAD,
        criteria="  Include: AI used in social work practice.  ",
        exclusion_reasons="Not about AI;\n not about AI ; Not social work;;",
        highlight_include=["machine learning", " algorithm ", ""],
        screening_mode="dual",
    )
    review = team.review
    assert review.criteria == "Include: AI used in social work practice."
    assert review.exclusion_reasons == ["Not about AI", "Not social work"]
    assert review.highlight_include == ["machine learning", "algorithm"]
    assert review.screening_mode == "dual"
    with pytest.raises(Invalid, match="screening mode 'triple': choose single or dual"):
        reviews.update_settings(session, review, actor=LEAD, screening_mode="triple")
    with pytest.raises(Invalid, match="unknown review setting\\(s\\): colour"):
        reviews.update_settings(session, review, actor=LEAD, colour="red")
    with pytest.raises(Invalid, match="a review needs a title"):
        reviews.update_settings(session, review, actor=LEAD, title=" ")
    reviews.update_settings(session, review, actor=LEAD, screening_mode="dual")  # no change
    session.commit()
    [entry] = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "review.settings"))
    assert entry.actor == LEAD
    assert sorted(entry.details["changes"]) == [
        "criteria",
        "exclusion_reasons",
        "highlight_include",
        "screening_mode",
    ]
    assert entry.details["changes"]["screening_mode"] == {"from": "single", "to": "dual"}


# ------------------------------------------------------------------ the CLI

RIS = """\
TY  - JOUR
ID  - s1
TI  - Chatbots for social care triage
AU  - Okafor, Chidi
PY  - 2022
DO  - 10.5555/screen.1
ER  -

TY  - JOUR
ID  - s2
TI  - Machine learning in child protection
AU  - Lindqvist, Åsa
PY  - 2021
ER  -

TY  - JOUR
ID  - s3
TI  - <script>alert(1)</script> School timetables
AU  - Quist, Ingrid
PY  - 2020
ER  -

TY  - JOUR
ID  - s1-again
TI  - Chatbots for social care triage
AU  - Okafor, Chidi
PY  - 2022
DO  - 10.5555/SCREEN.1
ER  -
"""


def make_user(cli, email, role=None):
    from litreview.cli.main import cli as litreview_cli

    result = cli.runner.invoke(
        litreview_cli, ["user", "create", email, "--password-stdin"], input="long enough\n"
    )
    assert result.exit_code == 0, result.output
    if role:
        cli("member", "add", "ai-sw", email, "--role", role)


def test_a_dual_screening_pilot_from_the_cli(review_cli, tmp_path: Path):
    cli = review_cli
    path = tmp_path / "search.ris"
    path.write_text(RIS, encoding="utf-8")
    cli("import", "ai-sw", str(path), "--source", "Scopus")
    ids = [r["id"] for r in cli.json("records", "ai-sw")]
    assert len(ids) == 3
    for email, role in [
        (LEAD, "lead"),
        ("ann@example.org", "reviewer"),
        ("ben@example.org", "reviewer"),
    ]:
        make_user(cli, email, role)
    make_user(cli, "vic@example.org", "viewer")
    settings = cli.json(
        "review",
        "set",
        "ai-sw",
        "--mode",
        "dual",
        "--criteria",
        "AI in social work practice",
        "--reasons",
        "Not about AI;Not social work",
        "--highlight-include",
        "AI;machine learning",
        "--highlight-exclude",
        "school",
    )
    assert settings["mode"] == "dual"
    assert settings["reasons"] == ["Not about AI", "Not social work"]
    assert (settings["highlight_include"], settings["highlight_exclude"]) == (
        ["AI", "machine learning"],
        ["school"],
    )

    a = cli.json(
        "screen", "ai-sw", str(ids[0]), "include", "--as", "ann@example.org", "--note", "triage"
    )
    assert (a["by"], a["decision"], a["note"], a["current"]) == (
        "ann@example.org",
        "include",
        "triage",
        True,
    )
    cli(
        "screen",
        "ai-sw",
        str(ids[0]),
        "exclude",
        "--as",
        "ben@example.org",
        "--reason",
        "not about ai",
    )
    for who in ("ann@example.org", "ben@example.org"):
        cli("screen", "ai-sw", str(ids[1]), "include", "--as", who)
        cli("screen", "ai-sw", str(ids[2]), "exclude", "--as", who, "--reason", "Not social work")

    conflicts = cli.json("conflicts", "ai-sw")
    assert [
        (c["record"], [(d["by"], d["decision"], d["reason"]) for d in c["decisions"]])
        for c in conflicts["conflicts"]
    ] == [
        (
            ids[0],
            [("ann@example.org", "include", None), ("ben@example.org", "exclude", "Not about AI")],
        )
    ]
    resolved = cli.json(
        "resolve", "ai-sw", str(ids[0]), "include", "--as", LEAD, "--note", "it is AI"
    )
    assert (resolved["kind"], resolved["by"], resolved["decision"]) == (
        "resolution",
        LEAD,
        "include",
    )
    assert cli.json("conflicts", "ai-sw")["conflicts"] == []

    cli(
        "screen", "ai-sw", str(ids[0]), "include", "--stage", "full_text", "--as", "ann@example.org"
    )
    no_reason = cli(
        "screen",
        "ai-sw",
        str(ids[1]),
        "exclude",
        "--stage",
        "full_text",
        "--as",
        "ann@example.org",
        ok=False,
    )
    assert no_reason.exit_code == 1
    assert (
        no_reason.stderr
        == "Error: excluding at full text needs a reason: one of Not about AI; Not social work\n"
    )
    not_passed = cli(
        "screen",
        "ai-sw",
        str(ids[2]),
        "include",
        "--stage",
        "full_text",
        "--as",
        "ann@example.org",
        ok=False,
    )
    assert "at title/abstract it is excluded" in not_passed.stderr
    viewer = cli("screen", "ai-sw", str(ids[1]), "include", "--as", "vic@example.org", ok=False)
    assert (
        viewer.stderr.strip()
        == "Error: vic@example.org is a viewer of ai-sw; this needs a lead or reviewer"
    )
    stranger = cli("screen", "ai-sw", str(ids[1]), "include", "--as", "zed@example.org", ok=False)
    assert "no user with email 'zed@example.org'" in stranger.stderr
    assert "Traceback" not in stranger.output

    stats = cli.json("stats", "ai-sw")
    assert (stats["records"], stats["duplicates_merged"], stats["mode"]) == (3, 1, "dual")
    [source] = stats["sources"]
    assert (source["source"], source["file"], source["entries"], source["records"]) == (
        "Scopus",
        "search.ris",
        4,
        3,
    )
    ta, ft = stats["stages"]["title_abstract"], stats["stages"]["full_text"]
    assert (ta["eligible"], ta["screened"], ta["included"], ta["excluded"], ta["resolved"]) == (
        3,
        3,
        2,
        1,
        1,
    )
    assert ta["excluded_by_reason"] == {"Not social work": 1}
    assert (ft["eligible"], ft["screened"], ft["included"], ft["remaining"], ft["in_progress"]) == (
        2,
        0,
        0,
        2,
        1,
    )
    [pair] = stats["agreement"]["title_abstract"]
    assert pair["table"] == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]
    # po = 2/3; rows (ann) 2/3 include, 1/3 exclude; columns (ben) 1/3, 2/3:
    # pe = 2/9 + 2/9 = 4/9; kappa = (6/9 - 4/9) / (5/9) = 0.4
    assert pair["kappa"] == 0.4
    csv_out = cli("stats", "ai-sw", "--kappa-csv").stdout
    assert (
        csv_out.splitlines()[1]
        == "title_abstract,ann@example.org,ben@example.org,3,2,0.6667,0.4444,0.4,1,1,0,0,1,0,0,0,0"
    )
    text = cli("stats", "ai-sw").stdout
    assert "title_abstract: 3 of 3 screened, 0 remaining; included 2, excluded 1" in text

    history = cli.json("history", "ai-sw", str(ids[0]))
    assert [(h["kind"], h["stage"], h["by"], h["decision"]) for h in history] == [
        ("decision", "title_abstract", "ann@example.org", "include"),
        ("decision", "title_abstract", "ben@example.org", "exclude"),
        ("resolution", "title_abstract", LEAD, "include"),
        ("decision", "full_text", "ann@example.org", "include"),
    ]
    bad = cli("review", "set", "ai-sw", "--mode", "triple", ok=False)
    assert bad.exit_code == 2 and "'triple' is not one of 'single', 'dual'" in bad.output


def test_storing_a_decision_takes_a_handful_of_statements(session, engine, dual):
    """The record is locked and read once, the role once; the outcome is rewritten
    in the same transaction (no recomputation when a page asks)."""
    r1, r2 = dual.records[:2]
    screening.decide(session, dual.review, r2, dual.ann, TA, "include")  # warm caches
    session.commit()
    statements, stop = count_queries(engine)
    try:
        screening.decide(session, dual.review, r1, dual.ann, TA, "include")
        session.commit()
        first = [s.split()[0] for s in statements]
        statements.clear()
        screening.decide(session, dual.review, r1, dual.ben, TA, "exclude", reason="Not AI")
        session.commit()
        second = [s.split()[0] for s in statements]
    finally:
        stop()
    for made in (first, second):
        work = [s for s in made if s not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")]
        assert len(work) <= 8, made
    assert screening.outcome_at(session, dual.review, r1, TA) == "conflict"
