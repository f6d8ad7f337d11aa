"""record indexes on (review_id, withdrawn_at) and (review_id, not_retrievable_at): the
screening page's counts list the few records not screened without reading every record

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.create_index(
            "ix_record_review_withdrawn", ["review_id", "withdrawn_at"], unique=False
        )
        batch_op.create_index(
            "ix_record_review_not_retrievable", ["review_id", "not_retrievable_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_index("ix_record_review_not_retrievable")
        batch_op.drop_index("ix_record_review_withdrawn")
