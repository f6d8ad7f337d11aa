"""screening_ranking and screening_rank: stored relevance rankings; review.screening_order

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "screening_order", sa.String(length=16), server_default="relevance", nullable=False
            )
        )
    op.create_table(
        "screening_ranking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("learner", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=32), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("labels", sa.Integer(), nullable=False),
        sa.Column("relevant", sa.Integer(), nullable=False),
        sa.Column("ranked", sa.Integer(), nullable=False),
        sa.Column("screened", sa.Integer(), nullable=False),
        sa.Column("decision_mark", sa.Integer(), nullable=False),
        sa.Column("resolution_mark", sa.Integer(), nullable=False),
        sa.Column("current_count", sa.Integer(), nullable=False),
        sa.Column("record_mark", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["review.id"],
            name=op.f("fk_screening_ranking_review_id_review"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_ranking")),
        sa.UniqueConstraint("review_id", "stage", "learner", name="uq_screening_ranking_learner"),
    )
    op.create_table(
        "screening_rank",
        sa.Column("ranking_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ranking_id"],
            ["screening_ranking.id"],
            name=op.f("fk_screening_rank_ranking_id_screening_ranking"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["record.id"],
            name=op.f("fk_screening_rank_record_id_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ranking_id", "record_id", name=op.f("pk_screening_rank")),
    )
    with op.batch_alter_table("screening_rank", schema=None) as batch_op:
        batch_op.create_index(
            "ix_screening_rank_ranking_position", ["ranking_id", "position"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("screening_rank", schema=None) as batch_op:
        batch_op.drop_index("ix_screening_rank_ranking_position")
    op.drop_table("screening_rank")
    op.drop_table("screening_ranking")
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_column("screening_order")
