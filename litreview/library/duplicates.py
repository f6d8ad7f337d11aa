"""Probable duplicates for a person to judge; merging, keeping apart, and undoing a merge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.db import insert_unless_present
from litreview.errors import Invalid, NotFound
from litreview.ingest.dedup import Candidate, Pair, probable_pairs, record_match_key
from litreview.ingest.record_data import Author, RecordData
from litreview.library.fields import FILLABLE
from litreview.library.imports import fill_empty, record_fields
from litreview.library.listing import live_record
from litreview.models import (
    Annotation,
    Attachment,
    Decision,
    KeepApart,
    Merge,
    Record,
    RecordNote,
    RecordSource,
    RecordTag,
    Resolution,
    Review,
    utcnow,
)
from litreview.screening import outcomes


def find_probable(session: Session, review: Review) -> list[Pair]:
    """Pairs of live records that are probably the same work and not yet judged."""
    rows = session.execute(
        sa.select(Record.id, Record.title, Record.year, Record.authors, Record.doi).where(
            Record.review_id == review.id, Record.merged_into_id.is_(None)
        )
    )
    candidates = [
        Candidate(r.id, r.title, r.year, r.authors[0]["family"] if r.authors else None, r.doi)
        for r in rows
    ]
    apart = {
        (a, b)
        for a, b in session.execute(
            sa.select(KeepApart.record_a_id, KeepApart.record_b_id).where(
                KeepApart.review_id == review.id
            )
        )
    }
    return probable_pairs(candidates, apart)


def merge(session: Session, review: Review, keep_id: int, other_id: int, actor: str) -> Merge:
    """Merge record ``other_id`` into ``keep_id``: its sources move, its fields fill gaps."""
    if keep_id == other_id:
        raise Invalid("a record cannot be merged with itself")
    keep = live_record(session, review, keep_id)
    other = live_record(session, review, other_id)
    sources = list(other.sources)
    for source in sources:
        source.record = keep
    filled = fill_empty(keep, {name: getattr(other, name) for name in FILLABLE})
    other.merged_into_id = keep.id
    carried = _carry_over(session, keep, other)
    entry = Merge(
        review_id=review.id,
        record=keep,
        duplicate_id=other.id,
        rule="manual",
        score=1.0,
        filled=filled,
        source_ids=[s.id for s in sources],
        carried=carried,
        created_by=actor,
    )
    session.add(entry)
    session.flush()
    outcomes.refresh(session, review, [keep.id, other.id])
    audit.log(
        session,
        actor,
        "record.merge",
        review_id=review.id,
        target_type="record",
        target_id=keep.id,
        duplicate=other.id,
        merge=entry.id,
        rule="manual",
        filled=sorted(filled),
        **{kind: len(ids) for kind, ids in carried.items() if ids},
    )
    return entry


# What a merge by hand carries from the duplicate to the survivor: the work people did on
# it. Tags and screening go where the survivor has none of its own (a reviewer's decision
# on the survivor stands; theirs on the duplicate stays with it, so an undo gives it back);
# annotations and notes always move, full texts unless the survivor has the same file.
_ALWAYS = {"annotations": Annotation, "notes": RecordNote}


def _carry_over(session: Session, keep: Record, other: Record) -> dict[str, list[int]]:
    moved: dict[str, list[int]] = {}
    tagged = set(
        session.scalars(sa.select(RecordTag.question_id).where(RecordTag.record_id == keep.id))
    )
    moved["tags"] = list(
        session.scalars(
            sa.select(RecordTag.id).where(
                RecordTag.record_id == other.id, RecordTag.question_id.not_in(tagged)
            )
        )
    )
    # A reviewer's decisions at a stage move as one history, and only if the survivor
    # has none of theirs there; a resolution only if the survivor has none at the stage.
    decided = set(
        session.execute(
            sa.select(Decision.user_id, Decision.stage).where(Decision.record_id == keep.id)
        )
    )
    moved["decisions"] = [
        id_
        for id_, user_id, stage in session.execute(
            sa.select(Decision.id, Decision.user_id, Decision.stage).where(
                Decision.record_id == other.id
            )
        )
        if (user_id, stage) not in decided
    ]
    resolved = set(
        session.scalars(sa.select(Resolution.stage).where(Resolution.record_id == keep.id))
    )
    moved["resolutions"] = [
        id_
        for id_, stage in session.execute(
            sa.select(Resolution.id, Resolution.stage).where(Resolution.record_id == other.id)
        )
        if stage not in resolved
    ]
    files = set(
        session.scalars(sa.select(Attachment.sha256).where(Attachment.record_id == keep.id))
    )
    moved["attachments"] = list(
        session.scalars(
            sa.select(Attachment.id).where(
                Attachment.record_id == other.id, Attachment.sha256.not_in(files)
            )
        )
    )
    for kind, model in _ALWAYS.items():
        moved[kind] = list(session.scalars(sa.select(model.id).where(model.record_id == other.id)))
    _move(session, moved, keep.id)
    return moved


_MODELS = {
    "tags": RecordTag,
    "decisions": Decision,
    "resolutions": Resolution,
    "attachments": Attachment,
    **_ALWAYS,
}


def _move(session: Session, carried: dict[str, list[int]], record_id: int) -> None:
    # Through the ORM, row by row, so the search outbox sees the full texts move.
    for kind, ids in carried.items():
        model = _MODELS[kind]
        for row in session.scalars(sa.select(model).where(model.id.in_(ids))):
            row.record_id = record_id
    session.flush()


def keep_apart(session: Session, review: Review, a_id: int, b_id: int, actor: str) -> None:
    """Record that two records are different works, so the pair is not listed again."""
    if a_id == b_id:
        raise Invalid("a record is always the same as itself")
    live_record(session, review, a_id)
    live_record(session, review, b_id)
    low, high = sorted((a_id, b_id))
    # One statement inserts unless the pair is there: two people keeping the same pair
    # apart at the same moment leave one row and one audit entry, and neither an error.
    created = insert_unless_present(
        session,
        KeepApart.__table__,
        {"review_id": review.id, "record_a_id": low, "record_b_id": high, "created_by": actor},
        unique=("record_a_id", "record_b_id"),
    )
    if created:
        audit.log(
            session,
            actor,
            "record.keep_apart",
            review_id=review.id,
            target_type="record",
            target_id=low,
            other=high,
        )


@dataclass(frozen=True)
class MergedInto:
    """Where a merged-away record went: the live record it is now part of, and how."""

    record: Record  # the live record at the end of the chain of merges
    merge: Merge | None  # the merge that took this record away (None: not found)


def merged_into(session: Session, review: Review, record: Record) -> MergedInto | None:
    """Where ``record`` went if it was merged away (None if it is live): the chain of
    merges followed to the record that is live now, and the merge that took it."""
    if record.merged_into_id is None:
        return None
    survivor, seen = record, {record.id}
    while survivor.merged_into_id is not None and survivor.merged_into_id not in seen:
        seen.add(survivor.merged_into_id)
        survivor = session.get(Record, survivor.merged_into_id) or survivor
        if survivor.review_id != review.id:
            return None
    entry = session.scalar(
        sa.select(Merge)
        .where(Merge.duplicate_id == record.id, Merge.undone_at.is_(None))
        .order_by(Merge.id.desc())
        .limit(1)
    )
    return MergedInto(survivor, entry)


def kept_apart(session: Session, review: Review, limit: int | None = None) -> list[KeepApart]:
    """The pairs said to be different works, newest first (at most ``limit``)."""
    query = (
        sa.select(KeepApart).where(KeepApart.review_id == review.id).order_by(KeepApart.id.desc())
    )
    return list(session.scalars(query.limit(limit) if limit else query))


def undo_keep_apart(session: Session, review: Review, a_id: int, b_id: int, actor: str) -> bool:
    """Take back "different works" for a pair, so it is listed again if still alike;
    False when the pair was not kept apart. The audit log keeps who had said so."""
    low, high = sorted((a_id, b_id))
    for record_id in (low, high):
        record = session.get(Record, record_id)
        if record is None or record.review_id != review.id:
            raise NotFound(f"no record {record_id} in review {review.slug}")
    row = session.scalar(
        sa.select(KeepApart).where(
            KeepApart.review_id == review.id,
            KeepApart.record_a_id == low,
            KeepApart.record_b_id == high,
        )
    )
    if row is None:
        return False
    said_by, said_at = row.created_by, row.created_at
    deleted = session.execute(
        sa.delete(KeepApart)
        .where(KeepApart.id == row.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.expunge(row)
    if not deleted:  # someone took it back at the same moment
        return False
    audit.log(
        session,
        actor,
        "record.keep_apart_undo",
        review_id=review.id,
        target_type="record",
        target_id=low,
        other=high,
        kept_apart_by=said_by,
        kept_apart_at=said_at.isoformat() if said_at else None,
    )
    session.flush()
    return True


def list_merges(session: Session, review: Review) -> list[Merge]:
    return list(
        session.scalars(sa.select(Merge).where(Merge.review_id == review.id).order_by(Merge.id))
    )


def recent_merges(session: Session, review: Review, limit: int = 20) -> list[Merge]:
    """The review's last ``limit`` merges of one record into another made by a person
    (not entries merged on arrival at import), newest first, undone ones included:
    one query."""
    return list(
        session.scalars(
            sa.select(Merge)
            .where(Merge.review_id == review.id, Merge.duplicate_id.is_not(None))
            .order_by(Merge.id.desc())
            .limit(limit)
        )
    )


def undo_merge(session: Session, review: Review, merge_id: int, actor: str) -> Record:
    """Split a merge apart again; returns the record that comes back."""
    entry = session.get(Merge, merge_id)
    if entry is None or entry.review_id != review.id:
        raise NotFound(f"no merge {merge_id} in review {review.slug}")
    if entry.undone_at is not None:
        raise Invalid(f"merge {merge_id} was already undone")
    keep = entry.record
    for name, before in entry.filled.items():
        setattr(keep, name, before)
    keep.match_key = record_match_key(keep.title, keep.year, keep.authors)
    sources = list(
        session.scalars(sa.select(RecordSource).where(RecordSource.id.in_(entry.source_ids)))
    )
    if entry.duplicate_id is not None:
        restored = session.get(Record, entry.duplicate_id)
        assert restored is not None
        restored.merged_into_id = None
    else:
        restored = Record(review_id=review.id, **record_fields(data_of(sources[0].data)))
        session.add(restored)
    for source in sources:
        source.record = restored
    session.flush()
    _move(session, entry.carried or {}, restored.id)
    entry.undone_at = utcnow()
    entry.undone_by = actor
    session.flush()
    outcomes.refresh(session, review, [keep.id, restored.id])
    audit.log(
        session,
        actor,
        "record.unmerge",
        review_id=review.id,
        target_type="record",
        target_id=keep.id,
        merge=entry.id,
        restored=restored.id,
    )
    return restored


def data_of(stored: dict[str, Any]) -> RecordData:
    """A RecordData back from its stored JSON form."""
    fields = dict(stored)
    fields["authors"] = [Author(a["family"], a.get("given")) for a in fields.get("authors", [])]
    known = RecordData.__dataclass_fields__
    return RecordData(**{k: v for k, v in fields.items() if k in known})
