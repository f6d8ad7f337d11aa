"""The fast ways a large import writes rows: what they store must be what the ordinary
ways store (``db.insert_many`` against a Core INSERT, orjson against ``json.dumps``), on
SQLite and PostgreSQL; and what they change of the process or the file is put back or
harmless (the cycle collector, a new database's page size)."""

from __future__ import annotations

import gc
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from litreview.db import (
    insert_many,
    json_dumps,
    json_loads,
    make_engine,
    make_session_factory,
)
from litreview.ingest.record_data import RecordData
from litreview.library import imports
from litreview.models import Record, Review

WHEN = datetime(2026, 12, 5, 11, 30, 15, 123456, tzinfo=UTC)


def _row(record_id: int, review_id: int, **values) -> dict:
    row = {
        "id": record_id,
        "review_id": review_id,
        "type": "article",
        "title": "Risk <script>alert(1)</script> in social work",
        "authors": [{"family": "Müller", "given": "Zoë"}, {"family": "WHO", "given": None}],
        "year": 2021,
        "doi": None,
        "keywords": ["ethics", "données", "伦理"],
        "match_key": None,
        "created_at": WHEN,
        "updated_at": WHEN,
    }
    row.update(values)
    return row


@pytest.fixture
def review_id(engine) -> int:
    with make_session_factory(engine)() as session:
        review = Review(slug="bulk", title="Bulk rows")
        session.add(review)
        session.commit()
        return review.id


def test_insert_many_stores_what_a_core_insert_stores(engine, review_id):
    core = [_row(1, review_id), _row(2, review_id, keywords=[], authors=[], year=None)]
    fast = [_row(11, review_id), _row(12, review_id, keywords=[], authors=[], year=None)]
    with engine.begin() as connection:
        connection.execute(sa.insert(Record.__table__), core)
        insert_many(connection, Record.__table__, fast)
        insert_many(connection, Record.__table__, [])  # nothing to write: no statement
    columns = ("type", "title", "authors", "year", "doi", "keywords", "created_at", "updated_at")
    with make_session_factory(engine)() as session:
        stored = {r.id: r for r in session.scalars(sa.select(Record))}
        assert sorted(stored) == [1, 2, 11, 12]
        for a, b in ((1, 11), (2, 12)):
            assert [getattr(stored[a], c) for c in columns] == [
                getattr(stored[b], c) for c in columns
            ]
        assert stored[11].authors[0] == {"family": "Müller", "given": "Zoë"}
        assert stored[11].keywords == ["ethics", "données", "伦理"]
        assert stored[11].created_at.replace(tzinfo=UTC) == WHEN
        # The database's own reading of the JSON agrees too (an empty list is '[]').
        empty = session.scalar(
            sa.select(sa.func.count()).where(sa.cast(Record.authors, sa.Text) == "[]")
        )
        assert empty == 2


def test_json_values_orjson_refuses_or_writes_its_own_way_are_written_as_before():
    assert json.loads(json_dumps({"a": [1, "é", None]})) == {"a": [1, "é", None]}
    # Beyond orjson: a lone surrogate, an integer over 64 bits, keys that are not text.
    assert json_dumps(["a\ud800"]) == json.dumps(["a\ud800"])
    assert json_dumps([2**70]) == "[1180591620717411303424]"
    assert json_dumps({1: 2}) == '{"1": 2}'
    # What json.dumps refuses, refused as before (orjson would write a date as text).
    with pytest.raises(TypeError):
        json_dumps({"when": WHEN})
    assert json_dumps(float("nan")) == "null"  # NaN is not JSON; json.dumps wrote NaN


def test_json_text_reads_back_as_json_loads_reads_it():
    for text in (
        '{"a": [1, "é", null], "b": {"c": 1.5}}',
        '["a\\ud800"]',  # a lone surrogate, as json.dumps writes it: orjson refuses it
        "[NaN]",  # what json.dumps wrote of a NaN before
        json_dumps({"authors": [{"family": "Müller", "given": None}], "keywords": []}),
    ):
        assert repr(json_loads(text)) == repr(json.loads(text))
        assert repr(json_loads(text.encode())) == repr(json.loads(text))


def test_a_lone_surrogate_in_a_json_column_round_trips_on_sqlite(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    table = sa.Table("t", sa.MetaData(), sa.Column("v", sa.JSON))
    table.create(engine)
    with engine.begin() as connection:
        insert_many(connection, table, [{"v": ["a\ud800", 2**70]}])
    with engine.connect() as connection:
        assert connection.execute(sa.select(table.c.v)).scalar() == ["a\ud800", 2**70]
    engine.dispose()


def test_a_new_sqlite_database_has_16_kib_pages_and_an_old_one_keeps_its_own(tmp_path: Path):
    new = make_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    with new.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x TEXT)")
        assert connection.exec_driver_sql("PRAGMA page_size").scalar() == 16384
    new.dispose()

    old_path = tmp_path / "old.sqlite3"
    with sqlite3.connect(old_path) as old:
        old.execute("CREATE TABLE t (x TEXT)")
        old.execute("INSERT INTO t VALUES ('kept')")
    old.close()
    engine = make_engine(f"sqlite:///{old_path}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA page_size").scalar() == 4096
        assert connection.exec_driver_sql("SELECT x FROM t").scalar() == "kept"
    engine.dispose()


def _import(engine, review_id: int, items) -> imports.FileReport:
    with make_session_factory(engine)() as session:
        review = session.get(Review, review_id)
        report = imports.import_items(
            session, review, items, file_name="x.ris", format="ris", actor="a@example.org"
        )
        session.commit()
        return report


def _entries(n: int):
    for k in range(n):
        yield RecordData(title=f"Paper {k}", year=2020, entry_key=f"k{k}", raw=f"TI  - Paper {k}")


def _broken():
    yield from _entries(3)
    raise RuntimeError("the reader broke")


def test_an_import_leaves_the_cycle_collector_as_it_found_it(engine, review_id):
    assert gc.isenabled()
    assert _import(engine, review_id, _entries(5)).imported == 5
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="the reader broke"):
        _import(engine, review_id, _broken())
    assert gc.isenabled()
    gc.disable()  # someone else's choice: not undone by an import
    try:
        _import(engine, review_id, (RecordData(title="One more", entry_key="k", raw="x"),))
        assert not gc.isenabled()
    finally:
        gc.enable()
