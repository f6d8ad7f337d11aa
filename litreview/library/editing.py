"""Correcting a record's metadata by hand: title, authors, year, venue, DOI, abstract.

What each field accepts is :func:`litreview.library.fields.from_text`'s rule (the one
home of a field's rules); this module applies an edit. An edit never loses what was
there: the audit log keeps each changed field's old and new value ("record.edit"),
and every entry the record was imported from stays as read on its RecordSource rows
(``raw`` and ``data``), which the record page shows beside the edited values. The
match key that deduplication compares is recomputed when title, year or first author
change; the search index follows by itself (the outbox queues any changed Record,
and PostgreSQL's search columns are generated from the row). Domain code: it flushes,
the caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.errors import Invalid
from litreview.ingest.dedup import KEY_FIELDS, record_match_key
from litreview.library.fields import EDITABLE, as_text, from_text, is_empty
from litreview.library.listing import locked_live_record
from litreview.models import AuditEntry, Record, Review

EDIT_ACTION = "record.edit"


class EditedElsewhere(Invalid):
    """The record changed since the form was opened: the edit is refused, not merged."""


def form_values(record: Record) -> dict[str, str]:
    """The editable fields of a record as its edit form shows them."""
    return {name: as_text(name, getattr(record, name)) for name in EDITABLE}


def edit_record(
    session: Session,
    review: Review,
    record_id: int,
    typed: Mapping[str, str],
    actor: str,
    *,
    shown: Mapping[str, str] | None = None,
) -> dict[str, tuple[Any, Any]]:
    """Set the fields in ``typed`` (name -> the text a person typed) on a record and
    return what changed: name -> (old value, new value); nothing changed, nothing
    logged.

    Every field is read (Invalid naming the field) before anything changes. ``shown``:
    the values the person's form showed; when a field they change was changed by
    someone else since, EditedElsewhere, and nothing is written. A record keeps a
    title: clearing it is refused. The record's row is locked first (PostgreSQL), so
    two edits of one record follow each other.
    """
    unknown = [name for name in typed if name not in EDITABLE]
    if unknown:
        raise Invalid(f"field {unknown[0]!r} cannot be edited: edit {', '.join(EDITABLE)}")
    values = {name: from_text(name, text) for name, text in typed.items()}
    if "title" in values and values["title"] is None:
        raise Invalid("title: a record needs a title")
    record = locked_live_record(session, review, record_id, "edit", sqlite_first=True)
    changed: dict[str, tuple[Any, Any]] = {}
    for name, new in values.items():
        old = getattr(record, name)
        if old == new or (is_empty(old) and is_empty(new)):
            continue
        if (
            shown is not None
            and name in shown
            and as_text(name, old) != shown[name].replace("\r\n", "\n").strip()
        ):
            raise EditedElsewhere(
                f"record {record_id}: its {name} was changed by someone else since you "
                "opened the form; reload the page to see it, then edit again"
            )
        changed[name] = (old, new)
    if not changed:
        return {}
    for name, (_old, new) in changed.items():
        setattr(record, name, new)
    if not KEY_FIELDS.isdisjoint(changed):
        record.match_key = record_match_key(record.title, record.year, record.authors or [])
    session.flush()
    audit.log(
        session,
        actor,
        EDIT_ACTION,
        review_id=review.id,
        target_type="record",
        target_id=record.id,
        fields=list(changed),
        before={name: old for name, (old, _new) in changed.items()},
        after={name: new for name, (_old, new) in changed.items()},
    )
    return changed


@dataclass(frozen=True)
class Edit:
    """One edit of a record, as its page lists them."""

    at: datetime
    by: str
    fields: list[str]
    before: dict[str, Any]
    after: dict[str, Any]


def record_edits(session: Session, review: Review, record_id: int) -> list[Edit]:
    """The edits made to a record by hand, oldest first (one query)."""
    rows = session.scalars(
        sa.select(AuditEntry)
        .where(
            AuditEntry.review_id == review.id,
            AuditEntry.action == EDIT_ACTION,
            AuditEntry.target_type == "record",
            AuditEntry.target_id == record_id,
        )
        .order_by(AuditEntry.id)
    )
    return [
        Edit(
            at=row.at,
            by=row.actor,
            fields=list(row.details.get("fields") or []),
            before=dict(row.details.get("before") or {}),
            after=dict(row.details.get("after") or {}),
        )
        for row in rows
    ]


def imported_values(record: Record, names: list[str]) -> list[tuple[str, dict[str, str]]]:
    """What each import read for ``names``, as the edit form would show it: (where it
    came from, name -> text) per source of the record, oldest first. The sources must
    be loaded (:func:`litreview.library.listing.record_with_sources`)."""
    found = []
    for source in record.sources:
        data = source.data or {}
        label = source.batch.source_label or source.batch.file_name
        where = f"{label}, entry {source.entry_key}" if source.entry_key else label
        found.append((where, {name: as_text(name, data.get(name)) for name in names}))
    return found
