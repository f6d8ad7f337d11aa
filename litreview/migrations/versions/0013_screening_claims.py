"""screening_claim: in single mode a record shown to a reviewer is held for them a while

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "screening_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["record.id"],
            name=op.f("fk_screening_claim_record_id_record"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["review.id"],
            name=op.f("fk_screening_claim_review_id_review"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_screening_claim_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_claim")),
        sa.UniqueConstraint("record_id", "stage", name="uq_screening_claim_record_stage"),
    )
    with op.batch_alter_table("screening_claim", schema=None) as batch_op:
        batch_op.create_index("ix_screening_claim_user_stage", ["user_id", "stage"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("screening_claim", schema=None) as batch_op:
        batch_op.drop_index("ix_screening_claim_user_stage")
    op.drop_table("screening_claim")
