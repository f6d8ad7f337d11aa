"""Import a bibliography file into a review: read, normalise, deduplicate, store.

One file is one unit of work: the caller commits after a file, or rolls back for a
dry run or when the file turns out to be unreadable. Each entry is converted once,
into plain rows, written a chunk at a time through SQLAlchemy Core: one executemany
per table and chunk, with the ids handed out beforehand (``import_state.ReservedIds``),
so memory stays bounded on very large exports and no ORM object is built per entry.
What deduplication needs of the review's live records (DOI, PMID, match key, which
fields are empty) is read once, at the start, into plain dictionaries
(``import_state.KnownRecords``) and kept up to date as entries are placed: a
duplicate costs no query. The search outbox is told of every record written or
changed here (its listener does not see Core statements).

Two imports into one review run one after the other: on PostgreSQL the second waits
for the first's commit (a transaction-level advisory lock per review), on SQLite for
its write lock (taken by the batch row, before anything is read). Each then sees the
other's records, so the same paper imported twice at once is merged, and the same
file twice at once is "unchanged" the second time, as one after the other.
"""

from __future__ import annotations

import gc
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.db import insert_many
from litreview.ingest.decoding import READERS, open_bibliography
from litreview.ingest.dedup import KEY_FIELDS, record_match_key
from litreview.ingest.record_data import EntryError, Item, RecordData
from litreview.ingest.text_clean import storable_items
from litreview.library.fields import FILLABLE, NAMES, filled_by, is_empty
from litreview.library.import_state import KnownRecords, ReservedIds
from litreview.models import ImportBatch, Merge, Record, RecordSource, Review, utcnow
from litreview.search.outbox import queue_records

log = logging.getLogger(__name__)

CHUNK = 1000
UNTITLED_SHOWN = 200
# pg_advisory_xact_lock(_LOCKS, review id): one import into a review at a time.
_LOCKS = 0x4C52_494D  # "LRIM"
Progress = Callable[[int], None]  # told the bytes read so far


@dataclass
class FileReport:
    """What an import of one file did (or, for a dry run, would do)."""

    file: str
    format: str = ""
    read: int = 0
    imported: int = 0
    merged_duplicates: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Entries imported with their text cleaned (ingest.text_clean), as errors are listed.
    warnings: list[dict[str, Any]] = field(default_factory=list)
    batch: int | None = None
    # entry key -> record id, filled only when the caller asks to track them
    records: dict[str, int] | None = None
    # The entries whose record has no title once the file is in (a person cannot screen
    # them by it): the first UNTITLED_SHOWN as {"entry", "line", "record"}, in file
    # order, and how many there are in all.
    untitled: list[dict[str, Any]] = field(default_factory=list)
    untitled_count: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "read": self.read,
            "imported": self.imported,
            "merged_duplicates": self.merged_duplicates,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "warnings": self.warnings,
            "batch": self.batch,
            "untitled": self.untitled,
            "untitled_count": self.untitled_count,
        }


def record_fields(data: RecordData) -> dict[str, Any]:
    """The Record columns for an entry as read."""
    return _columns(data.to_json())


def _columns(stored: dict[str, Any]) -> dict[str, Any]:
    """The Record columns from an entry's stored form (``RecordData.to_json``), whose
    lists they share: an entry is converted once, for its record and its source."""
    values = {name: stored[name] for name in NAMES}
    values["match_key"] = record_match_key(values["title"], values["year"], values["authors"])
    return values


def fingerprint(format: str, raw: str) -> str:
    """The same entry, exported again byte for byte (line endings aside), has the same print."""
    text = "\n".join(line.rstrip() for line in raw.strip().splitlines())
    return hashlib.sha1(f"{format}\n{text}".encode()).hexdigest()


def fill_empty(survivor: Record, fields: dict[str, Any]) -> dict[str, Any]:
    """Fill the survivor's empty fields from a duplicate; return what each was before."""
    empties = {name: value for name in FILLABLE if is_empty(value := getattr(survivor, name))}
    filled = filled_by(empties, fields)
    for name in filled:
        setattr(survivor, name, fields[name])
    if not filled.keys().isdisjoint(KEY_FIELDS):
        survivor.match_key = record_match_key(survivor.title, survivor.year, survivor.authors)
    return filled


# ---------------------------------------------------------------- writing rows


class _Importer:
    """One batch's import: places each entry (a new record, or merged into the one it
    certainly duplicates) and writes the rows a chunk at a time."""

    def __init__(self, session: Session, review: Review, batch: ImportBatch, report: FileReport):
        self.session = session
        self.review_id = review.id
        self.batch_id = batch.id
        self.created_by = batch.created_by
        self.report = report
        self.library = KnownRecords(session, review.id)
        self.fingerprints = set(
            session.scalars(
                sa.select(RecordSource.fingerprint).where(RecordSource.review_id == review.id)
            )
        )
        self.record_ids = ReservedIds(session, Record.__table__, CHUNK)
        self.source_ids = ReservedIds(session, RecordSource.__table__, CHUNK)
        # The chunk not yet written; a new record's row stays changeable until then.
        self.records: dict[int, dict[str, Any]] = {}
        self.sources: list[dict[str, Any]] = []
        self.merges: list[dict[str, Any]] = []
        self.updates: dict[int, dict[str, Any]] = {}  # written records' filled columns
        # (entry key, line, record id) of the entries placed on a record without a title
        # at the time; a later duplicate may still give it one (see untitled()).
        self.no_title: list[tuple[str, int | None, int]] = []
        # The time of the chunk's rows (given, so that no row runs the column defaults).
        self.now = utcnow()

    def add(self, data: RecordData) -> None:
        report = self.report
        report.read += 1
        fp = fingerprint(report.format, data.raw)
        if fp in self.fingerprints:
            report.unchanged += 1
            return
        self.fingerprints.add(fp)
        stored = data.to_json()
        columns = _columns(stored)
        source_id = self.source_ids.take()
        match = self.library.index.find(columns["doi"], columns["pmid"], columns["match_key"])
        if match is None:
            record_id = self.record_ids.take()
            self.records[record_id] = {
                "id": record_id,
                "review_id": self.review_id,
                **columns,
                "created_at": self.now,
                "updated_at": self.now,
            }
            self.library.add(record_id, columns)
            report.imported += 1
        else:
            record_id = match.record_id
            filled, changes = self.library.fill(record_id, columns)
            if changes:
                row = self.records.get(record_id)
                (row if row is not None else self.updates.setdefault(record_id, {})).update(changes)
            self.merges.append(
                {
                    "review_id": self.review_id,
                    "record_id": record_id,
                    "rule": match.rule,
                    "score": 1.0,
                    "filled": filled,
                    "source_ids": [source_id],
                    "created_by": self.created_by,
                    "created_at": self.now,
                }
            )
            report.merged_duplicates += 1
        self.sources.append(
            {
                "id": source_id,
                "review_id": self.review_id,
                "record_id": record_id,
                "batch_id": self.batch_id,
                "entry_key": data.entry_key,
                "line": data.line or None,
                "fingerprint": fp,
                "raw": data.raw,
                "data": stored,
            }
        )
        if report.records is not None:
            report.records[data.entry_key] = record_id
        if self.library.untitled(record_id):
            self.no_title.append((data.entry_key, data.line or None, record_id))
        if len(self.sources) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        """Write the chunk: its new records, sources and merges, the filled fields of
        records written before, and the search outbox's rows for all of those."""
        connection = self.session.connection()
        insert_many(connection, Record.__table__, list(self.records.values()))
        insert_many(connection, RecordSource.__table__, self.sources)
        insert_many(connection, Merge.__table__, self.merges)
        # Filled fields of records written before: one executemany per set of columns.
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for record_id, values in self.updates.items():
            groups.setdefault(tuple(sorted(values)), []).append({"record_id": record_id, **values})
        update = sa.update(Record.__table__).where(Record.id == sa.bindparam("record_id"))
        for rows in groups.values():
            connection.execute(update, rows)
        changed = [*self.records, *self.updates]
        if changed:
            queue_records(self.session, self.review_id, changed)
        if self.updates:
            _expire(self.session, self.updates.keys())
        self.records.clear()
        self.sources.clear()
        self.merges.clear()
        self.updates.clear()
        self.now = utcnow()

    def untitled(self) -> list[tuple[str, int | None, int]]:
        """The entries of this file whose record has no title now that all are placed,
        in file order (the order they were read in)."""
        return [entry for entry in self.no_title if self.library.untitled(entry[2])]


def _expire(session: Session, record_ids: Iterable[int]) -> None:
    """Records this session had loaded and a Core UPDATE changed: read them again."""
    ids = set(record_ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Record) and sa.inspect(obj).identity[0] in ids:
            session.expire(obj)


def import_file(
    session: Session,
    review: Review,
    path: Path,
    *,
    actor: str,
    source_label: str | None = None,
    format: str | None = None,
    progress: Progress | None = None,
) -> FileReport:
    """Import one file into a review, flushing but not committing.

    Raises UnreadableFile when the file as a whole cannot be read; the caller then
    rolls back, so nothing of that file is kept. Entries that cannot be read are
    reported in ``errors`` and skipped.
    """
    with open_bibliography(path, format) as (fmt, stream):
        raw_stream = getattr(stream, "buffer", None)
        report = import_items(
            session,
            review,
            READERS[fmt](stream, str(path)),
            file_name=path.name,
            format=fmt,
            actor=actor,
            source_label=source_label,
            sha256=_sha256(path),
            progress=(lambda: progress(raw_stream.tell())) if progress and raw_stream else None,
        )
    report.file = str(path)
    return report


def import_items(
    session: Session,
    review: Review,
    items: Iterable[Item],
    *,
    file_name: str,
    format: str,
    actor: str,
    source_label: str | None = None,
    sha256: str = "",
    progress: Callable[[], None] | None = None,
    track: bool = False,
) -> FileReport:
    """Import entries from any reader (a file, a Zotero library) as one batch.

    With ``track``, the report maps each entry key to the record it landed on
    (new or merged), for callers that link more to it (Zotero keys, PDFs).
    """
    report = FileReport(file=file_name, format=format)
    if track:
        report.records = {}
    # Every reader's entries pass here: text no database can store (NUL) is cleaned, noted.
    items = storable_items(items, report.warnings)
    if session.get_bind().dialect.name == "postgresql":
        lock = sa.func.pg_advisory_xact_lock(_LOCKS, sa.cast(review.id, sa.Integer))
        session.execute(sa.select(lock))
    batch = ImportBatch(
        review_id=review.id,
        file_name=file_name,
        format=format,
        source_label=source_label,
        sha256=sha256,
        created_by=actor,
    )
    session.add(batch)
    session.flush()
    importer = _Importer(session, review, batch, report)
    with _collector_paused():
        for n, item in enumerate(items, start=1):
            if isinstance(item, EntryError):
                report.errors.append(item.to_json())
            else:
                importer.add(item)
            if progress and n % 500 == 0:
                progress()
        importer.flush()
    untitled = importer.untitled()
    report.untitled_count = len(untitled)
    report.untitled = [
        {"entry": key, "line": line, "record": record_id}
        for key, line, record_id in untitled[:UNTITLED_SHOWN]
    ]
    report.batch = batch.id
    batch.read_count = report.read
    batch.imported_count = report.imported
    batch.merged_count = report.merged_duplicates
    batch.unchanged_count = report.unchanged
    batch.error_count = len(report.errors)
    batch.errors = report.errors
    if report.imported == 0 and report.merged_duplicates == 0:
        # Nothing new came of it: leave no trace but the audit entry.
        session.delete(batch)
        report.batch = None
    session.flush()
    audit.log(
        session,
        actor,
        "import.file",
        review_id=review.id,
        target_type="import_batch",
        target_id=report.batch,
        file=file_name,
        format=format,
        source=source_label,
        read=report.read,
        imported=report.imported,
        merged=report.merged_duplicates,
        unchanged=report.unchanged,
        errors=len(report.errors),
    )
    log.info("imported %s: %s", file_name, report.to_json())
    return report


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while entries are placed, back on after.

    An import makes few cycles but keeps many objects alive (the dedup index, the
    fingerprints, the chunk), and each collection walks all of them: about 5% of a
    large import's CPU. The collector is the process's; left off only when someone
    else turned it off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
