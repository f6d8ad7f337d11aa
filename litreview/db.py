"""Engine, sessions and the declarative base (SQLAlchemy 2.x)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import orjson
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


# The page size of a new SQLite database (SQLite ignores it once the file has tables).
# An imported entry's source row (its text as read and its fields, about 4 KB) shares a
# 16 KiB page with others instead of spilling into an overflow page of its own at 4 KiB:
# a large import writes a tenth less and costs SQLite about a quarter less CPU.
SQLITE_PAGE_SIZE = "PRAGMA page_size=16384"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(SQLITE_PAGE_SIZE)  # before WAL, which fixes it
    # WAL lets readers go on while an import writes; busy_timeout makes a second
    # writer wait instead of failing at once.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# orjson for the plain values (dicts, lists, text, numbers) every JSON column holds;
# anything else it would write its own way (dataclasses, datetimes, subclasses) is
# handed to the standard library, which writes it, or refuses it, as before.
_ORJSON_PLAIN = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
_ORJSON_PLAIN |= orjson.OPT_PASSTHROUGH_SUBCLASS


def json_dumps(value: object) -> str:
    """A JSON column's text: compact UTF-8 JSON by orjson, which writes a large import's
    rows several times faster than the standard library. What orjson refuses (a lone
    surrogate, an integer over 64 bits, a key that is not text) and what it would write
    differently goes to ``json.dumps`` as before; NaN, which is not JSON, becomes null."""
    try:
        return orjson.dumps(value, option=_ORJSON_PLAIN).decode()
    except TypeError:  # orjson.JSONEncodeError included
        return json.dumps(value)


def json_loads(text: str | bytes) -> Any:
    """A JSON column's value: read by orjson (several times faster: the search index
    reads every record's authors and keywords), by ``json.loads`` when orjson refuses
    the text (what ``json.dumps`` wrote of a lone surrogate or a NaN). An integer over
    64 bits, which nothing here stores, would come back as a float."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def make_engine(url: str) -> sa.Engine:
    """An engine for the app's connections (foreign keys on for SQLite)."""
    engine = sa.create_engine(url, json_serializer=json_dumps, json_deserializer=json_loads)
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


_UNSET = object()


def insert_many(connection: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dictionaries with the same keys: every column they set) in one
    executemany, as ``connection.execute(sa.insert(table), rows)`` would, column defaults
    aside: a column a row leaves out gets the database's default, not SQLAlchemy's.

    On SQLite the rows go to the driver as tuples (``exec_driver_sql``), each value
    through its column type's bind processor (JSON, timestamps) and nothing else:
    SQLAlchemy's own handling of an executemany costs more than SQLite's work on rows of
    a few columns, a third of a 50,000-record import. Elsewhere (PostgreSQL, whose
    driver sends an executemany as a pipeline) the Core statement.
    """
    if not rows:
        return
    dialect = connection.dialect
    if dialect.name != "sqlite":
        connection.execute(sa.insert(table), list(rows))
        return
    names = list(rows[0])
    quote = dialect.identifier_preparer.quote
    processors = [
        (n, process)
        for n, name in enumerate(names)
        if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    values = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    if processors:
        # The last value of each column and what it became: a chunk's rows share their
        # timestamps (the same object), processed once.
        last: list[Any] = [_UNSET] * len(processors)
        done: list[Any] = [None] * len(processors)
        params: list[Any] = []
        for row in rows:
            row_values = list(values(row))
            for k, (n, process) in enumerate(processors):
                value = row_values[n]
                if value is not last[k]:
                    last[k] = value
                    done[k] = process(value)
                row_values[n] = done[k]
            params.append(tuple(row_values))
    else:
        params = [values(row) for row in rows]
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, names))}) "
        f"VALUES ({', '.join('?' * len(names))})"
    )
    connection.exec_driver_sql(sql, params)


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
