"""What one import or sync does to the review, from the objects read from Zotero.

- new top-level items go through the import pipeline (``imports.import_items``), so a
  paper that is also in a Scopus export becomes one record with both sources;
- records of items that changed in Zotero are updated: a field changes on the record
  only when it changed in Zotero (so what another source filled in stays), and the
  audit log keeps what it was;
- records of items deleted or trashed in Zotero are marked withdrawn (never deleted:
  their screening decisions stay), and brought back when restored;
- child notes are kept as RecordNote rows (plain text); PDFs and Zotero's full text
  are brought in by :mod:`litreview.zotero.downloads`.

Long because: one class whose steps share the state of one run (the maps of keys to
records, the report); split, they would pass it all back and forth.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.config import Settings
from litreview.ingest.dedup import match_key
from litreview.ingest.record_data import EntryError, Item
from litreview.ingest.text_clean import storable, storable_items
from litreview.ingest.zotero_items import CHILD_TYPES, note_text, raw_json, read_item
from litreview.library.duplicates import data_of
from litreview.library.imports import fingerprint, import_items, record_fields
from litreview.models import (
    AuditEntry,
    ImportBatch,
    Record,
    RecordNote,
    RecordSource,
    Review,
    ZoteroLink,
    utcnow,
)
from litreview.zotero.client import ZoteroClient
from litreview.zotero.downloads import ZoteroFiles
from litreview.zotero.links import FORMAT, is_own_tag, source_name, target_of
from litreview.zotero.report import Progress, SyncReport

_CHUNK = 500  # ids per IN (...) list


class ApplyChanges:
    """What one import or sync does to the review, from the objects read."""

    def __init__(
        self,
        session: Session,
        review: Review,
        link: ZoteroLink,
        client: ZoteroClient,
        report: SyncReport,
        actor: str,
        settings: Settings,
        progress: Progress | None,
    ) -> None:
        self.session = session
        self.review = review
        self.link = link
        self.client = client
        self.report = report
        self.actor = actor
        self.settings = settings
        self.progress = progress
        prefix = link.tag_prefix
        self.own = lambda tag: is_own_tag(tag, prefix)
        self.mapping = 0.0  # seconds spent mapping items and notes
        # zotero key -> (source id, record id, fingerprint), for items already imported
        self.sources: dict[str, tuple[int, int, str]] = {}
        self.known: dict[str, int] = {}  # zotero key -> live record, for those
        # zotero key -> the live record it is on (new or known)
        self.placed: dict[str, int] = {}
        self.files = ZoteroFiles(
            session, review, client, settings, actor, report, self._parent, self._step
        )

    # ------------------------------------------------------------ the whole

    def run(
        self,
        objects: list[dict[str, Any]],
        deleted: list[str],
        fulltext_versions: dict[str, int],
        files: bool,
        seen_version: int | None,
    ) -> None:
        tops: dict[str, dict[str, Any]] = {}
        notes: dict[str, dict[str, Any]] = {}
        attachments: dict[str, dict[str, Any]] = {}
        for obj in objects:
            data = obj["data"]
            key = data.get("key")
            if not isinstance(key, str) or not key:
                self.report.errors.append(
                    {"line": None, "entry": None, "message": "a Zotero item without a key"}
                )
                continue
            kind = data.get("itemType")
            if kind not in CHILD_TYPES:
                tops[key] = data
            elif kind == "note" and data.get("parentItem"):
                notes[key] = data
            elif kind == "attachment" and data.get("parentItem"):
                attachments[key] = data
            elif kind != "annotation":
                self.report.skipped += 1  # standalone notes and files are not records
        self.report.items = len(tops)

        self._load_known()
        new = self._classify(tops)
        self._withdraw(
            [k for k, d in tops.items() if d.get("deleted") and k in self.sources] + deleted
        )
        self._import_new(new)
        self._notes(notes, deleted)
        if files:
            self.files.attachments(attachments)
            self.files.fulltexts(fulltext_versions, attachments, seen_version)
        self.session.flush()

    def _step(self, stage: str, done: int, total: int | None) -> None:
        if self.progress:
            self.progress(stage, done, total)

    def _map(self, data: dict[str, Any]) -> Item:
        started = time.perf_counter()
        try:
            return read_item(data, own_tag=self.own)
        finally:
            self.mapping += time.perf_counter() - started

    # ------------------------------------------------------------ records

    def _load_known(self) -> None:
        rows = self.session.execute(
            sa.select(
                RecordSource.entry_key,
                RecordSource.id,
                RecordSource.record_id,
                RecordSource.fingerprint,
            )
            .join(ImportBatch, RecordSource.batch_id == ImportBatch.id)
            .where(RecordSource.review_id == self.review.id, ImportBatch.format == FORMAT)
            .order_by(RecordSource.id)
        )
        self.sources = {key: (sid, rid, fp) for key, sid, rid, fp in rows}
        if not self.sources:
            return
        merged = dict(
            self.session.execute(
                sa.select(Record.id, Record.merged_into_id).where(
                    Record.review_id == self.review.id, Record.merged_into_id.is_not(None)
                )
            ).all()
        )
        self.known = {key: _survivor(rid, merged) for key, (_, rid, _) in self.sources.items()}

    def _classify(self, tops: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """Split the items read into new ones, changed known ones and unchanged ones."""
        new: list[dict[str, Any]] = []
        restore: list[str] = []
        for key, data in tops.items():
            trashed = bool(data.get("deleted"))
            if key not in self.sources:
                if trashed:
                    self.report.skipped += 1  # in the trash before we ever saw it
                else:
                    new.append(data)
                continue
            if trashed:
                continue  # withdrawn below
            self.placed[key] = self.known[key]
            restore.append(key)
            started = time.perf_counter()
            print_now = fingerprint(FORMAT, raw_json(data))
            self.mapping += time.perf_counter() - started
            if print_now == self.sources[key][2]:
                self.report.unchanged += 1
            else:
                self._update(key, data)
        self._restore(restore)
        return new

    def _update(self, key: str, data: dict[str, Any]) -> None:
        """A known item changed in Zotero: change on the record what changed there."""
        [item] = storable_items([self._map(data)], self.report.warnings)
        if isinstance(item, EntryError):
            self.report.errors.append(item.to_json())
            return
        source_id, _, _ = self.sources[key]
        source = self.session.get(RecordSource, source_id)
        record = self.session.get(Record, self.known[key])
        assert source is not None and record is not None
        before = record_fields(data_of(source.data))
        after = record_fields(item)
        changes: dict[str, dict[str, Any]] = {}
        for name, value in after.items():
            if name == "match_key" or before.get(name) == value:
                continue
            if getattr(record, name) != value:
                changes[name] = {"from": getattr(record, name), "to": value}
                setattr(record, name, value)
        if changes.keys() & {"title", "year", "authors"}:
            first = record.authors[0]["family"] if record.authors else None
            record.match_key = match_key(record.title, record.year, first)
        # The source holds the item as it stands in Zotero now, to compare with next time;
        # what it said before is in the audit entry below.
        source.raw = item.raw
        source.data = item.to_json()
        source.fingerprint = fingerprint(FORMAT, item.raw)
        if record.zotero_key in (None, key):
            record.zotero_key = key
            record.zotero_version = _version(data)
        if not changes:
            self.report.unchanged += 1
            return
        self.report.updated += 1
        audit.log(
            self.session,
            self.actor,
            "zotero.update",
            review_id=self.review.id,
            target_type="record",
            target_id=record.id,
            item=key,
            version=_version(data),
            changes=changes,
        )

    def _restore(self, keys: list[str]) -> None:
        """Records withdrawn because their item was deleted come back when it is restored."""
        ids = {self.known[k]: k for k in keys}
        for chunk in _chunks(sorted(ids)):
            withdrawn = self.session.scalars(
                sa.select(Record).where(Record.id.in_(chunk), Record.withdrawn_at.is_not(None))
            ).all()
            for record in withdrawn:
                by_zotero = self.session.scalar(
                    sa.select(AuditEntry.id)
                    .where(
                        AuditEntry.action == "zotero.withdraw",
                        AuditEntry.target_type == "record",
                        AuditEntry.target_id == record.id,
                    )
                    .limit(1)
                )
                if by_zotero is None:
                    continue  # withdrawn for another reason: not ours to undo
                record.withdrawn_at = None
                self.report.restored += 1
                audit.log(
                    self.session,
                    self.actor,
                    "zotero.restore",
                    review_id=self.review.id,
                    target_type="record",
                    target_id=record.id,
                    item=ids[record.id],
                )

    def _withdraw(self, keys: Iterable[str]) -> None:
        """Items deleted or trashed in Zotero: their records are withdrawn, never deleted."""
        for key in dict.fromkeys(keys):
            record_id = self.known.get(key)
            if record_id is None:
                continue
            record = self.session.get(Record, record_id)
            if record is None or record.withdrawn_at is not None:
                continue
            record.withdrawn_at = utcnow()
            self.report.withdrawn += 1
            audit.log(
                self.session,
                self.actor,
                "zotero.withdraw",
                review_id=self.review.id,
                target_type="record",
                target_id=record.id,
                item=key,
                reason="deleted or trashed in Zotero",
            )

    def _import_new(self, new: list[dict[str, Any]]) -> None:
        """New items go through the import pipeline, with its deduplication."""
        if not new:
            return
        target = target_of(self.link)
        if target.collection_key:
            label = self.client.collection_name(target.collection_key)
        elif target.local:
            label = "Zotero desktop library"
        else:
            label = f"Zotero {target.label}"

        def entries() -> Iterator[Item]:
            for n, data in enumerate(new, start=1):
                yield self._map(data)
                if n % 500 == 0:
                    self._step("records", n, len(new))

        found = import_items(
            self.session,
            self.review,
            entries(),
            file_name=source_name(target),
            format=FORMAT,
            actor=self.actor,
            source_label=label,
            track=True,
        )
        self.report.imported += found.imported
        self.report.merged_duplicates += found.merged_duplicates
        self.report.unchanged += found.unchanged
        self.report.errors += found.errors
        self.report.warnings += found.warnings
        placed = found.records or {}
        self.placed.update(placed)
        versions = {data["key"]: _version(data) for data in new}
        keyed: dict[int, str | None] = {}
        for chunk in _chunks(sorted(set(placed.values()))):
            keyed.update(
                self.session.execute(
                    sa.select(Record.id, Record.zotero_key).where(Record.id.in_(chunk))
                ).all()
            )
        rows = []
        for key, record_id in placed.items():
            # Two Zotero items merged into one record: the record keeps the first key.
            if keyed.get(record_id) is None:
                keyed[record_id] = key
                rows.append({"id": record_id, "zotero_key": key, "zotero_version": versions[key]})
        if rows:
            self.session.execute(sa.update(Record), rows)

    # ------------------------------------------------------------ notes

    def _parent(self, data: dict[str, Any]) -> int | None:
        parent = data.get("parentItem")
        if not isinstance(parent, str):
            return None
        if parent in self.placed:
            return self.placed[parent]
        return self.known.get(parent)

    def _notes(self, notes: dict[str, dict[str, Any]], deleted: list[str]) -> None:
        """Child notes as plain-text RecordNotes, kept in step with Zotero."""
        existing = {
            note.external_key: note
            for note in self.session.scalars(
                sa.select(RecordNote).where(
                    RecordNote.review_id == self.review.id, RecordNote.origin == FORMAT
                )
            )
        }
        rows = []
        for key, data in notes.items():
            current = existing.get(key)
            parent = self._parent(data)
            if data.get("deleted") or parent is None:
                if current is not None:
                    self.session.delete(current)
                    self.report.notes_removed += 1
                elif parent is None:
                    self.report.skipped += 1
                continue
            started = time.perf_counter()
            text = storable(
                note_text(data.get("note") if isinstance(data.get("note"), str) else None)
            )
            self.mapping += time.perf_counter() - started
            if not text:
                continue
            if current is None:
                rows.append(
                    {
                        "review_id": self.review.id,
                        "record_id": parent,
                        "origin": FORMAT,
                        "external_key": key,
                        "text": text,
                    }
                )
            elif current.text != text or current.record_id != parent:
                current.text, current.record_id = text, parent
            else:
                continue
            self.report.notes += 1
        for key in deleted:
            if key in existing and key not in notes:
                self.session.delete(existing[key])
                self.report.notes_removed += 1
        if rows:
            self.session.execute(sa.insert(RecordNote), rows)


def _survivor(record_id: int, merged: dict[int, int]) -> int:
    seen = set()
    while record_id in merged and record_id not in seen:
        seen.add(record_id)
        record_id = merged[record_id]
    return record_id


def _version(data: dict[str, Any]) -> int | None:
    version = data.get("version")
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def _chunks(values: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
