"""Engine, sessions and the declarative base (SQLAlchemy 2.x)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while an import writes; busy_timeout makes a second
    # writer wait instead of failing at once.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> sa.Engine:
    """An engine for the app's connections (foreign keys on for SQLite)."""
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class AppSession(Session):
    """The class of the sessions :func:`make_session_factory` makes.

    The outbox's listeners are installed on this class once, for good. Listening on
    each sessionmaker instead is not reliable: SQLAlchemy's event registry keys its
    targets by id(), so a factory made after another was garbage collected can be
    taken for one that already listens, and its sessions then queue nothing.
    """


def make_session_factory(engine: sa.Engine, *, search_outbox: bool = True) -> sessionmaker[Session]:
    """The sessions every face uses (web app, CLI, scripts, tests): each queues what it
    changes for the search index in the same transaction (see
    :mod:`litreview.search.outbox`), and the next command, search or web start applies
    the queue after the commit. A script that imports and commits through a session of
    this factory has its records found by the next search.

    ``search_outbox`` False (``Settings.search_outbox``: LITREVIEW_SEARCH=postgres)
    queues nothing: PostgreSQL's search reads the rows themselves.
    """
    # Imported here: the outbox knows the models, which import this module.
    from litreview.search.outbox import QUEUES, install

    install(AppSession)
    return sessionmaker(
        engine, class_=AppSession, expire_on_commit=False, info={QUEUES: search_outbox}
    )


def insert_unless_present(
    session: Session, table: sa.Table, values: dict[str, object], unique: Sequence[str]
) -> bool:
    """INSERT one row unless a row with the same ``unique`` columns exists; True if inserted.

    Safe under races: two sessions inserting the same row at once leave one row, and the
    second is told False instead of failing with an IntegrityError (PostgreSQL makes it
    wait for the first one's commit; SQLite lets one writer at a time). Column defaults
    of ``table`` apply as for any INSERT.
    """
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=unique)
            .returning(sa.literal(1))
        )
        # A row comes back only if one was inserted (rowcount is not reliable here: with
        # RETURNING, psycopg reports -1).
        return session.execute(statement).first() is not None
    # Other databases: a savepoint, so the failed INSERT leaves the transaction usable.
    try:
        with session.begin_nested():
            session.execute(sa.insert(table).values(**values))
    except sa.exc.IntegrityError:
        return False
    return True


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit if the block ends normally, roll back otherwise."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
