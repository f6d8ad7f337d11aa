"""Migrations build the schema on both databases, and models and migrations never drift."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from litreview.db import Base
from litreview.migrations import runner as schema


def test_upgrade_head_leaves_no_autogenerate_difference(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        assert context.get_current_revision() == "0001"


def test_downgrade_to_base_and_up_again(database_url, engine):
    schema.downgrade(database_url, "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    schema.upgrade(database_url)
    tables = set(sa.inspect(engine).get_table_names())
    assert {"review", "record", "record_source", "import_batch", "merge", "audit_log"} <= tables
