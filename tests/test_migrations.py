"""Migrations build the schema on both databases, and models and migrations never drift."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.orm import Session

from litreview.db import Base
from litreview.migrations import runner as schema
from litreview.models import Decision, Record, Resolution, Review, StageOutcome, User
from litreview.screening import outcomes


def test_upgrade_head_leaves_no_autogenerate_difference(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        assert context.get_current_revision() == "0004"


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
        # Core inserts: the Review model has columns that later migrations add.
        single, dual = (
            session.get(
                Review,
                session.execute(
                    sa.insert(Review).values(slug=slug, title=slug.upper(), screening_mode=mode)
                ).inserted_primary_key[0],
                options=[sa.orm.load_only(Review.id, Review.slug, Review.screening_mode)],
            )
            for slug, mode in (("s", "single"), ("d", "dual"))
        )
        session.flush()
        records = {
            rv.slug: [Record(review_id=rv.id, title=f"T{n}") for n in range(5)]
            for rv in (single, dual)
        }
        session.add_all([r for rs in records.values() for r in rs])
        session.flush()

        def vote(rv, n, user, decision, stage="title_abstract", reason=None):
            session.add(
                Decision(
                    review_id=rv.id,
                    record_id=records[rv.slug][n].id,
                    user_id=users[user].id,
                    stage=stage,
                    decision=decision,
                    reason=reason,
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
        assert [dual_ta[r.id] for r in records["s"][:4]] == [
            "include",
            "exclude",
            "include",
            "maybe",
        ]
        session.rollback()
