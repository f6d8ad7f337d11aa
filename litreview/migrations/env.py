"""Alembic environment: batch mode for SQLite, types compared, foreign keys off while migrating."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from litreview import models  # noqa: F401  (registers the tables)
from litreview.db import SQLITE_PAGE_SIZE, Base
from litreview.migrations.runner import include_object

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection: sa.Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(SQLITE_PAGE_SIZE)  # a new database's, as the app's
        # Batch mode copies tables; with foreign keys on, the copy would cascade deletes.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        # The PRAGMA began a transaction; end it so Alembic's own one commits the work.
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
