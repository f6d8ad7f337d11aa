"""stage_outcome: each record's outcome per stage, kept with every decision

Revision ID: 0002
Revises: 0001
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here as it stood when the table was made (a migration never imports the app):
# the rule of litreview.screening.outcomes.outcome_of.
_PASSES = ("include", "maybe")
_CODE = {"include": 0, "exclude": 1, "maybe": 2}


def _outcome(votes, resolution, need):
    if resolution is not None:
        decision, reason = resolution
        return decision, reason if decision == "exclude" else None
    if len(votes) < need or not votes:
        return None, None
    decisions = {d for _u, d, _r in votes}
    if len(decisions) > 1:
        return "conflict", None
    [decision] = decisions
    reasons = {r for _u, _d, r in votes if r}
    if decision != "exclude" or not reasons:
        return decision, None
    return decision, reasons.pop() if len(reasons) == 1 else "(reasons differ)"


def _fill() -> None:
    bind = op.get_bind()
    review = sa.table("review", sa.column("id"), sa.column("screening_mode"))
    decision = sa.table(
        "decision",
        *(sa.column(c) for c in ("review_id", "record_id", "user_id", "stage", "decision")),
        sa.column("reason"),
        sa.column("current", sa.Boolean),
    )
    resolution = sa.table(
        "resolution",
        *(sa.column(c) for c in ("id", "review_id", "record_id", "stage", "decision", "reason")),
        sa.column("current", sa.Boolean),
    )
    outcome = sa.table(
        "stage_outcome",
        *(sa.column(c) for c in ("record_id", "stage", "review_id", "outcome", "reason", "votes")),
        sa.column("resolved", sa.Boolean),
        sa.column("pair_a"),
        sa.column("pair_b"),
    )
    for review_id, mode in bind.execute(sa.select(review.c.id, review.c.screening_mode)).all():
        need = 2 if mode == "dual" else 1
        votes = defaultdict(list)
        for record_id, user_id, stage, dec, reason in bind.execute(
            sa.select(
                decision.c.record_id,
                decision.c.user_id,
                decision.c.stage,
                decision.c.decision,
                decision.c.reason,
            ).where(decision.c.review_id == review_id, decision.c.current == sa.true())
        ):
            votes[record_id, stage].append((user_id, dec, reason))
        resolved = {}
        for record_id, stage, dec, reason in bind.execute(
            sa.select(
                resolution.c.record_id,
                resolution.c.stage,
                resolution.c.decision,
                resolution.c.reason,
            )
            .where(resolution.c.review_id == review_id, resolution.c.current == sa.true())
            .order_by(resolution.c.id)
        ):
            resolved[record_id, stage] = (dec, reason)
        rows = []
        for record_id in sorted({r for r, _s in (*votes, *resolved)}):
            for stage in ("title_abstract", "full_text"):
                cast, settled = votes.get((record_id, stage), []), resolved.get((record_id, stage))
                if not cast and settled is None:
                    continue
                if stage == "full_text":
                    before = _outcome(
                        votes.get((record_id, "title_abstract"), []),
                        resolved.get((record_id, "title_abstract")),
                        need,
                    )[0]
                    if before not in _PASSES:
                        continue
                result, reason = _outcome(cast, settled, need)
                pair = sorted(u * 4 + _CODE[d] for u, d, _r in cast) if len(cast) == 2 else None
                rows.append(
                    {
                        "record_id": record_id,
                        "stage": stage,
                        "review_id": review_id,
                        "outcome": result,
                        "reason": reason,
                        "votes": len(cast),
                        "resolved": settled is not None,
                        "pair_a": pair[0] if pair else None,
                        "pair_b": pair[1] if pair else None,
                    }
                )
        if rows:
            bind.execute(sa.insert(outcome), rows)


def upgrade() -> None:
    op.create_table(
        "stage_outcome",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("pair_a", sa.Integer(), nullable=True),
        sa.Column("pair_b", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["record.id"],
            name=op.f("fk_stage_outcome_record_id_record"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["review.id"],
            name=op.f("fk_stage_outcome_review_id_review"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "stage", name=op.f("pk_stage_outcome")),
    )
    with op.batch_alter_table("stage_outcome", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stage_outcome_review_stage_outcome",
            ["review_id", "stage", "outcome"],
            unique=False,
        )
    _fill()


def downgrade() -> None:
    with op.batch_alter_table("stage_outcome", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_outcome_review_stage_outcome")
    op.drop_table("stage_outcome")
