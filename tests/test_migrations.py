"""Migrations build the schema on both databases, and models and migrations never drift."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.orm import Session

from litreview.db import Base
from litreview.migrations import runner as schema
from litreview.models import Record, Resolution, Review, StageOutcome, User
from litreview.screening import outcomes

decision_0001 = sa.table(
    "decision",
    *(
        sa.column(name)
        for name in (
            "review_id",
            "record_id",
            "user_id",
            "stage",
            "decision",
            "reason",
            "current",
            "created_at",
        )
    ),
)


class _Row:
    def __init__(self, id_: int) -> None:
        self.id = id_


def test_upgrade_head_leaves_no_autogenerate_difference(database_url, engine):
    from alembic.script import ScriptDirectory

    # One line of migrations (no two heads), and the database is at its end.
    [head] = ScriptDirectory.from_config(schema.alembic_config(database_url)).get_heads()
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": schema.include_object}
        )
        assert compare_metadata(context, Base.metadata) == []
        assert context.get_current_revision() == head


def test_downgrade_to_base_and_up_again(database_url, engine):
    schema.downgrade(database_url, "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    schema.upgrade(database_url)
    tables = set(sa.inspect(engine).get_table_names())
    assert {"review", "record", "record_source", "import_batch", "merge", "audit_log"} <= tables


def test_0002_keeps_the_outcomes_the_rule_gives(database_url, engine):
    """Decisions made before the outcome table existed get the same kept outcomes as
    screening's rule computes now (single and dual, conflicts, resolutions, reasons)."""
    schema.downgrade(database_url, "0001")
    with Session(engine, expire_on_commit=False) as session:
        users = [User(email=f"u{n}@example.org") for n in range(3)]
        session.add_all(users)
        session.flush()
        # Reviews too with the columns schema 0001 has.
        reviews_table = Review.__table__
        single, dual = (
            _Row(
                session.scalar(
                    sa.insert(reviews_table)
                    .values(slug=slug, title=slug.upper(), screening_mode=mode)
                    .returning(reviews_table.c.id)
                )
            )
            for slug, mode in (("s", "single"), ("d", "dual"))
        )
        single.slug, dual.slug = "s", "d"
        # Records inserted with the columns schema 0001 has (the model has more now).
        table = Record.__table__
        records = {
            rv.slug: [
                _Row(
                    session.scalar(
                        sa.insert(table)
                        .values(
                            review_id=rv.id, title=f"T{n}", type="other", authors=[], keywords=[]
                        )
                        .returning(table.c.id)
                    )
                )
                for n in range(5)
            ]
            for rv in (single, dual)
        }

        def vote(rv, n, user, decision, stage="title_abstract", reason=None):
            # With the columns schema 0001 has (the model has more now).
            session.execute(
                sa.insert(decision_0001).values(
                    review_id=rv.id,
                    record_id=records[rv.slug][n].id,
                    user_id=users[user].id,
                    stage=stage,
                    decision=decision,
                    reason=reason,
                    current=True,
                    created_at=datetime.now(UTC),
                )
            )

        for rv in (single, dual):
            vote(rv, 0, 0, "include")
            vote(rv, 1, 0, "exclude", reason="Not AI")
            vote(rv, 1, 1, "exclude", reason="Not social work")
            vote(rv, 2, 0, "include")
            vote(rv, 2, 1, "exclude")
            vote(rv, 3, 0, "maybe")
            vote(rv, 3, 1, "maybe")
            vote(rv, 3, 0, "include", stage="full_text")
            session.add(
                Resolution(
                    review_id=rv.id,
                    record_id=records[rv.slug][2].id,
                    user_id=users[2].id,
                    stage="title_abstract",
                    decision="include",
                )
            )
        session.commit()
    schema.upgrade(database_url)
    with Session(engine) as session:
        columns = [
            getattr(StageOutcome, c)
            for c in (
                "record_id",
                "stage",
                "outcome",
                "reason",
                "votes",
                "resolved",
                "pair_a",
                "pair_b",
            )
        ]
        migrated = set(session.execute(sa.select(*columns)).all())
        assert len(migrated) == 2 * 5  # four records with decisions, one at full text too
        for slug in ("s", "d"):
            outcomes.refresh(session, session.scalar(sa.select(Review).where(Review.slug == slug)))
        assert set(session.execute(sa.select(*columns)).all()) == migrated
        dual_ta = {
            r.record_id: r.outcome
            for r in session.scalars(
                sa.select(StageOutcome).where(StageOutcome.stage == "title_abstract")
            )
        }
        assert [dual_ta[r.id] for r in records["d"][:4]] == [None, "exclude", "include", "maybe"]
        # 0003: the two reviewers' different reasons are kept, not "(reasons differ)".
        reasons = dict(
            session.execute(
                sa.select(StageOutcome.record_id, StageOutcome.reason).where(
                    StageOutcome.stage == "title_abstract"
                )
            ).all()
        )
        assert reasons[records["d"][1].id] == "Not AI; Not social work"
        assert [dual_ta[r.id] for r in records["s"][:4]] == [
            "include",
            "exclude",
            "include",
            "maybe",
        ]
        session.rollback()
    # Down again: the reasons are hidden as they were before 0003.
    schema.downgrade(database_url, "0002")
    with engine.connect() as connection:
        outcome = StageOutcome.__table__
        kept = connection.scalar(
            sa.select(outcome.c.reason).where(
                outcome.c.record_id == records["d"][1].id, outcome.c.stage == "title_abstract"
            )
        )
    assert kept == "(reasons differ)"
    schema.upgrade(database_url)
