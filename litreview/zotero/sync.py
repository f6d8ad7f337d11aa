"""Import a Zotero library or collection into a review, and keep it in sync.

A review links to one Zotero library, or one collection of it (a ZoteroLink row: the
library, the collection, the tag prefix, how far the last sync got; never the API
key). Import reads every item; sync reads only what changed since the library
version the last import or sync reached. Both then:

- bring new top-level items in through the import pipeline (``imports.import_items``),
  so a paper that is also in a Scopus export becomes one record with both sources;
- update the records of items that changed in Zotero: a field changes on the record
  only when it changed in Zotero (so what another source filled in stays), and the
  audit log keeps what it was;
- mark the records of items deleted or trashed in Zotero as withdrawn (never
  deleted: their screening decisions stay), and bring them back when restored;
- keep child notes as RecordNote rows (plain text); PDFs and Zotero's full text are
  brought in by :mod:`litreview.zotero.downloads`.

Nothing is committed here: the caller commits once, after everything worked, so a
failure leaves the review (and the stored library version) as it was, and the next
sync starts again from there. Files written to the data folder before a failure stay
there; they are named by their content, so the next run finds them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.config import Settings
from litreview.errors import Invalid, NotFound
from litreview.ingest.dedup import match_key
from litreview.ingest.record_data import EntryError, Item
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
from litreview.zotero.client import Target, ZoteroClient, ZoteroError, key_hint
from litreview.zotero.downloads import ZoteroFiles

__all__ = [
    "FORMAT",
    "RQ_PREFIX",
    "SyncReport",
    "ZoteroError",
    "get_link",
    "import_library",
    "is_own_tag",
    "key_hint",
    "link_library",
    "sync_library",
    "target_of",
]

log = logging.getLogger(__name__)

FORMAT = "zotero"  # ImportBatch.format of Zotero imports
RQ_PREFIX = "RQ:"  # tags for review questions: "RQ:Q3 Bias and discrimination"
DEFAULT_PREFIX = "litreview:"
_CHUNK = 500  # ids per IN (...) list

Progress = Callable[[str, int, int | None], None]  # stage, done, total


def is_own_tag(tag: dict[str, Any], prefix: str) -> bool:
    """A tag litreview wrote: automatic (type 1) and in one of our namespaces.

    Tags a person adds by hand are type 0 (or have no type), so they are never ours,
    even when they look like ours.
    """
    text = tag.get("tag")
    return (
        tag.get("type") == 1
        and isinstance(text, str)
        and (text.startswith(prefix) or text.startswith(RQ_PREFIX))
    )


@dataclass
class SyncReport:
    """What an import or a sync did."""

    library: str
    collection: str | None
    api_key: str | None
    since: int | None
    library_version: int | None = None
    read: int = 0  # objects read: items, notes, attachments
    items: int = 0  # top-level items among them
    imported: int = 0
    merged_duplicates: int = 0
    unchanged: int = 0
    updated: int = 0
    withdrawn: int = 0
    restored: int = 0
    skipped: int = 0  # trashed before ever imported; notes and files of unknown items
    notes: int = 0
    notes_removed: int = 0
    pdfs: int = 0
    fulltexts: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# ---------------------------------------------------------------- links


def target_of(link: ZoteroLink) -> Target:
    """The library (or collection) a link points at."""
    return Target(link.library_type, link.library_id, link.collection_key, link.local)


def get_link(session: Session, review: Review) -> ZoteroLink:
    """The review's Zotero link; NotFound when the review has none yet."""
    link = session.scalar(sa.select(ZoteroLink).where(ZoteroLink.review_id == review.id))
    if link is None:
        raise NotFound(
            f"review {review.slug} has no Zotero library yet: run `litreview zotero import` first"
        )
    return link


def link_library(
    session: Session,
    review: Review,
    target: Target,
    *,
    actor: str,
    api_key_hint: str | None = None,
    tag_prefix: str | None = None,
) -> ZoteroLink:
    """The review's link to ``target``, made on first use.

    A review links to one library or collection: Zotero keys name items within one
    library, and the records keep one key each. Linking another raises Invalid.
    """
    if target.library_type not in ("user", "group"):
        raise Invalid(f"library type {target.library_type!r}: use user or group")
    if not target.library_id.isdigit():
        raise Invalid(f"library id {target.library_id!r}: Zotero library ids are numbers")
    if tag_prefix is not None and (not tag_prefix.strip() or tag_prefix != tag_prefix.strip()):
        raise Invalid(f"tag prefix {tag_prefix!r}: give one without spaces around it")
    link = session.scalar(sa.select(ZoteroLink).where(ZoteroLink.review_id == review.id))
    if link is not None:
        if target_of(link) != target:
            raise Invalid(
                f"review {review.slug} is linked to {_describe(target_of(link))}; "
                f"it cannot also take {_describe(target)}"
            )
        link.api_key_hint = api_key_hint or link.api_key_hint
        if tag_prefix is not None and tag_prefix != link.tag_prefix:
            audit.log(
                session,
                actor,
                "zotero.tag_prefix",
                review_id=review.id,
                target_type="zotero_link",
                target_id=link.id,
                before=link.tag_prefix,
                after=tag_prefix,
            )
            link.tag_prefix = tag_prefix
        return link
    link = ZoteroLink(
        review_id=review.id,
        library_type=target.library_type,
        library_id=target.library_id,
        collection_key=target.collection_key,
        local=target.local,
        api_key_hint=api_key_hint,
        tag_prefix=tag_prefix or DEFAULT_PREFIX,
    )
    session.add(link)
    session.flush()
    audit.log(
        session,
        actor,
        "zotero.link",
        review_id=review.id,
        target_type="zotero_link",
        target_id=link.id,
        library=_describe(target),
        tag_prefix=link.tag_prefix,
    )
    return link


def _describe(target: Target) -> str:
    if target.collection_key:
        return f"collection {target.collection_key} of {target.label}"
    return target.label


def _file_name(target: Target) -> str:
    base = "zotero:local" if target.local else f"zotero:{target.library_type}s/{target.library_id}"
    return f"{base}/collections/{target.collection_key}" if target.collection_key else base


# ---------------------------------------------------------------- import and sync


def import_library(
    session: Session,
    review: Review,
    client: ZoteroClient,
    *,
    actor: str,
    settings: Settings,
    tag_prefix: str | None = None,
    files: bool = True,
    progress: Progress | None = None,
) -> SyncReport:
    """Read every item of the client's library (or collection) into the review.

    Links the review to it on first use. Run again, it reads everything again and
    changes only what changed (and withdraws what was deleted since the last run).
    Flushes, never commits.
    """
    link = link_library(
        session,
        review,
        client.target,
        actor=actor,
        api_key_hint=client.hint,
        tag_prefix=tag_prefix,
    )
    return _run(session, review, link, client, "import", None, actor, settings, files, progress)


def sync_library(
    session: Session,
    review: Review,
    client: ZoteroClient,
    *,
    actor: str,
    settings: Settings,
    files: bool = True,
    progress: Progress | None = None,
) -> SyncReport:
    """Bring in what changed in the linked library since the last import or sync.

    Asks Zotero only for items changed, items deleted and full texts indexed since the
    stored library version; with nothing changed, that is three requests. The stored
    version advances with the caller's commit, so a sync that fails is run again from
    where it was. Flushes, never commits.
    """
    link = get_link(session, review)
    if client.target != target_of(link):
        raise Invalid(f"review {review.slug} is linked to {_describe(target_of(link))}")
    if client.hint:
        link.api_key_hint = client.hint
    since = link.library_version
    return _run(session, review, link, client, "sync", since, actor, settings, files, progress)


def _run(
    session: Session,
    review: Review,
    link: ZoteroLink,
    client: ZoteroClient,
    action: str,
    since: int | None,
    actor: str,
    settings: Settings,
    files: bool,
    progress: Progress | None,
) -> SyncReport:
    started = time.perf_counter()
    requests_before, http_before = client.requests, client.seconds
    target = target_of(link)
    report = SyncReport(
        library=target.label,
        collection=target.collection_key,
        api_key=link.api_key_hint,
        since=since,
    )
    page = client.items(
        since=since,
        progress=(lambda done, total: progress("items", done, total)) if progress else None,
    )
    # On a re-import, deletions since the last run are caught up too.
    deleted_since = link.library_version
    deleted = client.deleted(deleted_since) if deleted_since is not None else []
    fulltext_versions = client.fulltext_versions(since or 0) if files else {}
    report.read = len(page.items)

    applier = _Apply(session, review, link, client, report, actor, settings, progress)
    applier.run(page.items, deleted, fulltext_versions, files, seen_version=deleted_since)

    if page.version is not None:
        link.library_version = page.version
    link.last_synced_at = utcnow()
    report.library_version = link.library_version
    report.requests = client.requests - requests_before
    total = time.perf_counter() - started
    http = client.seconds - http_before
    report.seconds = {
        "total": round(total, 3),
        "http": round(http, 3),
        "mapping": round(applier.mapping, 3),
        "files": round(applier.files.writing, 3),
        "database": round(max(0.0, total - http - applier.mapping - applier.files.writing), 3),
    }
    summary = report.to_json()
    for name in ("errors", "problems", "seconds", "api_key", "library", "collection"):
        summary.pop(name)
    audit.log(
        session,
        actor,
        f"zotero.{action}",
        review_id=review.id,
        target_type="zotero_link",
        target_id=link.id,
        errors=len(report.errors),
        problems=len(report.problems),
        **summary,
    )
    session.flush()
    log.info("zotero %s of %s: %s", action, target.label, summary)
    return report


class _Apply:
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
        item = self._map(data)
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
            file_name=_file_name(target),
            format=FORMAT,
            actor=self.actor,
            source_label=label,
            track=True,
        )
        self.report.imported += found.imported
        self.report.merged_duplicates += found.merged_duplicates
        self.report.unchanged += found.unchanged
        self.report.errors += found.errors
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
            text = note_text(data.get("note") if isinstance(data.get("note"), str) else None)
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
