"""job: background jobs and their progress, in the database; procrastinate's queue on PostgreSQL

The job table holds every background job's state and progress, whichever runner runs it,
so every app server shows the same. On PostgreSQL this revision also creates the job
queue's own tables and functions (procrastinate's schema, as the installed procrastinate
ships it; names start with ``procrastinate_``, and the models leave them out, see
``runner.include_object``). A procrastinate upgrade that changes its schema needs a
migration of ours that applies its migration files.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("runner", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("progress", JSON, nullable=False),
        sa.Column("report", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_job_state")
        ),
        sa.ForeignKeyConstraint(
            ["review_id"], ["review.id"], name=op.f("fk_job_review_id_review"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index("ix_job_review_created", ["review_id", "created_at"], unique=False)
        batch_op.create_index("ix_job_state", ["state"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # Sent with (empty) parameters, so a literal % is written %% (as procrastinate's
        # own apply_schema does).
        op.get_bind().exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(
            "DROP TABLE IF EXISTS procrastinate_periodic_defers, procrastinate_events, "
            "procrastinate_jobs, procrastinate_workers CASCADE"
        )
        functions = bind.execute(
            sa.text(
                "SELECT p.oid::regprocedure::text FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE p.proname LIKE 'procrastinate%' AND n.nspname = current_schema()"
            )
        ).scalars()
        for signature in list(functions):
            bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
        bind.exec_driver_sql(
            "DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_status, "
            "procrastinate_job_event_type CASCADE"
        )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_state")
        batch_op.drop_index("ix_job_review_created")
    op.drop_table("job")
