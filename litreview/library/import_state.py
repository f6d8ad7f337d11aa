"""What one import keeps in memory besides the chunk it writes: the review's live records
as deduplication needs them, and the ids it hands out before its INSERTs.

Both are plain data read once at the start of the import, so placing an entry, even a
duplicate of a record stored long ago, costs no query (see :mod:`litreview.library.imports`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.ingest.dedup import KEY_FIELDS, CertainIndex, record_match_key
from litreview.library.fields import FILLABLE, filled_by
from litreview.models import Record

# Which fillable fields of a record are empty, two bits per field: 0 when it has a
# value, else which empty value it holds (a merge's "before", put back by an undo).
_SHIFTS = tuple((2 * n, name) for n, name in enumerate(FILLABLE))
_NONE, _BLANK, _NO_ITEMS = 1, 2, 3
_TITLE_BITS = 3 << next(shift for shift, name in _SHIFTS if name == "title")


def _empty_value(code: int) -> Any:
    return None if code == _NONE else "" if code == _BLANK else []


def empty_mask(columns: dict[str, Any]) -> int:
    """The empty fillable fields of a record's columns (``fields.is_empty``), as bits."""
    mask = 0
    for shift, name in _SHIFTS:
        value = columns[name]
        if value is None:
            mask |= _NONE << shift
        elif value == "":
            mask |= _BLANK << shift
        elif value == []:
            mask |= _NO_ITEMS << shift
    return mask


def _empty_in_sql(name: str) -> sa.ColumnElement[int]:
    """One field's part of :func:`empty_mask`, worked out by the database."""
    column = Record.__table__.c[name]
    if name in ("authors", "keywords"):  # JSON lists: '[]', or a JSON null
        text = sa.cast(column, sa.Text)
        return sa.case((text == "[]", _NO_ITEMS), (text == "null", _NONE), else_=0)
    if name == "year":
        return sa.case((column.is_(None), _NONE), else_=0)
    return sa.case((column.is_(None), _NONE), (column == "", _BLANK), else_=0)


class KnownRecords:
    """A review's live records as deduplication needs them, in plain dictionaries: the
    certain-match index, which fields are empty (what a merge may fill), and, for a
    record without a match key, the title, year and authors its key would be made of."""

    def __init__(self, session: Session, review_id: int) -> None:
        self.index = CertainIndex()
        self.empty: dict[int, int] = {}  # record id -> empty_mask, when not 0
        self.unkeyed: dict[int, tuple[str | None, int | None, list[Any]]] = {}
        live = (Record.review_id == review_id, Record.merged_into_id.is_(None))
        rows = session.execute(
            sa.select(
                Record.id, Record.doi, Record.pmid, Record.match_key, *map(_empty_in_sql, FILLABLE)
            ).where(*live)
        )
        for record_id, doi, pmid, key, *codes in rows:
            self.index.add(record_id, doi, pmid, key)
            mask = sum(code << shift for code, (shift, _) in zip(codes, _SHIFTS, strict=True))
            if mask:
                self.empty[record_id] = mask
        # A key is missing only where a title, year or first author is: few records.
        rows = session.execute(
            sa.select(Record.id, Record.title, Record.year, Record.authors).where(
                *live, Record.match_key.is_(None)
            )
        )
        for record_id, title, year, authors in rows:
            self.unkeyed[record_id] = (title, year, authors)

    def add(self, record_id: int, columns: dict[str, Any]) -> None:
        """A new record, with the columns it is written with."""
        self.index.add(record_id, columns["doi"], columns["pmid"], columns["match_key"])
        mask = empty_mask(columns)
        if mask:
            self.empty[record_id] = mask
            if columns["match_key"] is None:
                self.unkeyed[record_id] = (columns["title"], columns["year"], columns["authors"])

    def untitled(self, record_id: int) -> bool:
        """Whether the record has no title (a person cannot screen it by one)."""
        return bool(self.empty.get(record_id, 0) & _TITLE_BITS)

    def fill(self, record_id: int, columns: dict[str, Any]) -> tuple[dict[str, Any], dict]:
        """A duplicate with these columns merged into a record: what each field it fills
        was before (:func:`fields.filled_by`), and the record's columns that change."""
        mask = self.empty.get(record_id, 0)
        if not mask:
            return {}, {}
        empties = {
            name: _empty_value(code) for shift, name in _SHIFTS if (code := mask >> shift & 3)
        }
        filled = filled_by(empties, columns)
        if not filled:
            return {}, {}
        changes = {name: columns[name] for name in filled}
        for shift, name in _SHIFTS:
            if name in filled:
                mask &= ~(3 << shift)
        if mask:
            self.empty[record_id] = mask
        else:
            del self.empty[record_id]
        if not filled.keys().isdisjoint(KEY_FIELDS):
            title, year, authors = self.unkeyed.pop(record_id, (None, None, []))
            title = changes.get("title", title)
            year = changes.get("year", year)
            authors = changes.get("authors", authors)
            changes["match_key"] = record_match_key(title, year, authors)
            if changes["match_key"] is None:
                self.unkeyed[record_id] = (title, year, authors)
        return filled, changes


class ReservedIds:
    """Primary keys handed out before the INSERT, so a chunk goes in one executemany
    (SQLAlchemy would otherwise read each new id back: one INSERT per row on SQLite).

    PostgreSQL reserves a block from the table's sequence (``nextval``, safe with any
    number of writers; ids left unused are a gap, as after a rollback). On SQLite the
    import already holds the database's write lock (its batch row is written before
    anything is read, and the lock is kept until the commit), so nobody else can take
    the next free ids in the meantime.
    """

    def __init__(self, session: Session, table: sa.Table, block: int) -> None:
        self.session = session
        self.table = table
        self.block = block
        self.free: list[int] = []
        self.next_sqlite: int | None = None

    def take(self) -> int:
        if not self.free:
            self._reserve()
        return self.free.pop()

    def _reserve(self) -> None:
        if self.session.get_bind().dialect.name == "postgresql":
            seq = f"{self.table.name}_id_seq"
            ids = self.session.scalars(
                sa.select(sa.func.nextval(seq)).select_from(sa.func.generate_series(1, self.block))
            ).all()
        else:
            if self.next_sqlite is None:
                top = self.session.scalar(sa.select(sa.func.max(self.table.c.id)))
                self.next_sqlite = (top or 0) + 1
            ids = list(range(self.next_sqlite, self.next_sqlite + self.block))
            self.next_sqlite += self.block
        self.free = sorted(ids, reverse=True)
