"""Create or upgrade the schema with Alembic: the same migrations on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent

# What migration 0003 keeps on PostgreSQL only, and the models therefore do not declare:
# the search columns generated from the text, and their GIN indexes
# (litreview.search.postgres_backend reads them).
POSTGRES_SEARCH_COLUMNS = frozenset(
    [
        *(
            ("record", f"search_{field}{kind}")
            for field in ("title", "keywords", "abstract", "author", "venue")
            for kind in ("", "_words")
        ),
        ("attachment_page", "search_text"),
        ("attachment_page", "search_words"),
    ]
)
POSTGRES_SEARCH_INDEXES = frozenset(
    f"ix_{table}_{column}" for table, column in POSTGRES_SEARCH_COLUMNS
)


def include_object(obj, name: str | None, type_: str, reflected: bool, compare_to) -> bool:
    """Alembic's filter for comparing the models with a database: leaves out the search
    columns and indexes that exist on PostgreSQL only, and the job queue's tables (so
    autogenerate never drops them)."""
    if not reflected or compare_to is not None:
        return True
    if type_ == "table":
        # The job queue's own tables (procrastinate, PostgreSQL only: migration 0008).
        return not (name or "").startswith("procrastinate_")
    if type_ == "column":
        return (obj.table.name, name) not in POSTGRES_SEARCH_COLUMNS
    if type_ == "index":
        return name not in POSTGRES_SEARCH_INDEXES
    return True


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's config is an INI file: a literal % must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default the newest)."""
    command.upgrade(alembic_config(database_url), revision)


def current_revision(engine: sa.Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
