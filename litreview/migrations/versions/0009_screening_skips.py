"""screening_skip: skipped records kept on the server; decision.settled_alone (single-mode
decisions kept as settled on a switch to dual mode); review.reason_required_title_abstract

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "screening_skip",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["record.id"],
            name=op.f("fk_screening_skip_record_id_record"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["review.id"],
            name=op.f("fk_screening_skip_review_id_review"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_screening_skip_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_skip")),
        sa.UniqueConstraint("user_id", "stage", "record_id", name="uq_screening_skip_user"),
    )
    with op.batch_alter_table("screening_skip", schema=None) as batch_op:
        batch_op.create_index(
            "ix_screening_skip_review_user_stage", ["review_id", "user_id", "stage"], unique=False
        )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("settled_alone", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reason_required_title_abstract",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_column("reason_required_title_abstract")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_column("settled_alone")
    with op.batch_alter_table("screening_skip", schema=None) as batch_op:
        batch_op.drop_index("ix_screening_skip_review_user_stage")
    op.drop_table("screening_skip")
