"""Import a bibliography file into a review: read, normalise, deduplicate, store.

One file is one unit of work: the caller commits after a file, or rolls back for a
dry run or when the file turns out to be unreadable. Entries are stored in chunks
and expunged after each flush, so memory stays bounded on very large exports.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.ingest.decoding import READERS, open_bibliography
from litreview.ingest.dedup import CertainIndex, Match, match_key
from litreview.ingest.record_data import EntryError, Item, RecordData
from litreview.ingest.text_clean import storable_items
from litreview.library.fields import FIELDS, NAMES, is_empty
from litreview.models import ImportBatch, Merge, Record, RecordSource, Review

log = logging.getLogger(__name__)

CHUNK = 1000
# The fields a merge may fill on the surviving record when they are empty there.
FILLABLE = tuple(f for f in FIELDS if f.fills)
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
        }


def record_fields(data: RecordData) -> dict[str, Any]:
    """The Record columns for an entry as read."""
    first = data.authors[0].family if data.authors else None
    values: dict[str, Any] = {name: getattr(data, name) for name in NAMES}
    values["authors"] = [{"family": a.family, "given": a.given} for a in data.authors]
    values["keywords"] = list(data.keywords)
    values["match_key"] = match_key(data.title, data.year, first)
    return values


def fingerprint(format: str, raw: str) -> str:
    """The same entry, exported again byte for byte (line endings aside), has the same print."""
    text = "\n".join(line.rstrip() for line in raw.strip().splitlines())
    return hashlib.sha1(f"{format}\n{text}".encode()).hexdigest()


def fill_empty(survivor: Record, fields: dict[str, Any]) -> dict[str, Any]:
    """Fill the survivor's empty fields from a duplicate; return what each was before."""
    filled: dict[str, Any] = {}
    for name in (f.name for f in FILLABLE):
        value = fields.get(name)
        if not is_empty(value) and is_empty(getattr(survivor, name)):
            filled[name] = getattr(survivor, name)
            setattr(survivor, name, value)
    if "title" in filled or "year" in filled or "authors" in filled:
        first = survivor.authors[0]["family"] if survivor.authors else None
        survivor.match_key = match_key(survivor.title, survivor.year, first)
    return filled


def load_certain_index(session: Session, review_id: int) -> CertainIndex:
    """Every live record's DOI, PMID and match key, to match new entries against."""
    index = CertainIndex()
    rows = session.execute(
        sa.select(Record.id, Record.doi, Record.pmid, Record.match_key).where(
            Record.review_id == review_id, Record.merged_into_id.is_(None)
        )
    )
    for row in rows:
        index.add(row.id, row.doi, row.pmid, row.match_key)
    return index


class _Ids:
    """Primary keys handed out before the INSERT, so a chunk goes in one executemany.

    Without them SQLAlchemy must read each new id back, which on SQLite means one
    INSERT per row. PostgreSQL reserves a block from the table's sequence; on SQLite
    the import already holds the write lock (its batch row is flushed), so the next
    free id cannot be taken by anyone else before the commit.
    """

    def __init__(self, session: Session, table: sa.Table, block: int = CHUNK) -> None:
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


class _Importer:
    """State of one file's import: the dedup index and the chunk not yet flushed."""

    def __init__(self, session: Session, review: Review, batch: ImportBatch, report: FileReport):
        self.session = session
        self.review = review
        self.batch = batch
        self.report = report
        self.index = load_certain_index(session, review.id)
        self.fingerprints = set(
            session.scalars(
                sa.select(RecordSource.fingerprint).where(RecordSource.review_id == review.id)
            )
        )
        # This chunk's new records, by their (pre-assigned) id, until it is flushed.
        self.pending: dict[int, Record] = {}
        self.record_ids = _Ids(session, Record.__table__)
        self.source_ids = _Ids(session, RecordSource.__table__)
        self.chunk: list[object] = []
        self.placed: list[tuple[str, Record]] = []

    def add(self, data: RecordData) -> None:
        self.report.read += 1
        fp = fingerprint(self.report.format, data.raw)
        if fp in self.fingerprints:
            self.report.unchanged += 1
            return
        self.fingerprints.add(fp)
        fields = record_fields(data)
        source = RecordSource(
            id=self.source_ids.take(),
            review_id=self.review.id,
            batch_id=self.batch.id,
            entry_key=data.entry_key,
            line=data.line or None,
            fingerprint=fp,
            raw=data.raw,
            data=data.to_json(),
        )
        match = self.index.find(fields["doi"], fields["pmid"], fields["match_key"])
        with self.session.no_autoflush:  # the chunk is flushed whole, below
            placed = self._place(fields, source, match)
        if self.report.records is not None:
            self.placed.append((data.entry_key, placed))
        if len(self.chunk) >= CHUNK:
            self.flush()

    def _place(self, fields: dict[str, Any], source: RecordSource, match: Match | None) -> Record:
        """A new record for the entry, or the entry merged into the one it duplicates."""
        if match is None:
            record = Record(id=self.record_ids.take(), review_id=self.review.id, **fields)
            source.record = record
            self.pending[record.id] = record
            self.index.add(record.id, fields["doi"], fields["pmid"], fields["match_key"])
            self.chunk += (record, source)
            self.report.imported += 1
            return record
        else:
            survivor = self._resolve(match.record_id)
            source.record = survivor
            filled = fill_empty(survivor, fields)
            merge = Merge(
                review_id=self.review.id,
                record=survivor,
                rule=match.rule,
                score=1.0,
                filled=filled,
                source_ids=[source.id],
                created_by=self.batch.created_by,
            )
            self.chunk += (source, merge)
            self.report.merged_duplicates += 1
            return survivor

    def _resolve(self, record_id: int) -> Record:
        if record_id in self.pending:
            return self.pending[record_id]
        record = self.session.get(Record, record_id)
        assert record is not None, f"record {record_id} vanished during import"
        self.chunk.append(record)
        return record

    def flush(self) -> None:
        self.session.add_all(self.chunk)
        self.session.flush()
        if self.report.records is not None:
            self.report.records.update((key, record.id) for key, record in self.placed)
            self.placed.clear()
        for obj in self.chunk:
            if obj in self.session:
                self.session.expunge(obj)
        self.pending.clear()
        self.chunk.clear()


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
    for n, item in enumerate(items, start=1):
        if isinstance(item, EntryError):
            report.errors.append(item.to_json())
        else:
            importer.add(item)
        if progress and n % 500 == 0:
            progress()
    importer.flush()
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
