"""Reading a review's records and their imports, as the CLI and the web show them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, defer, load_only, selectinload

from litreview.errors import Invalid, NotFound
from litreview.library.fields import NAMES
from litreview.models import ImportBatch, Record, RecordSource, Review

# What `records --json` prints of a record: its id and every bibliographic field.
FIELDS = ("id", *NAMES)


def list_records(session: Session, review: Review) -> list[Record]:
    """The review's live records (merged duplicates folded into their survivors), by id."""
    return list(
        session.scalars(
            sa.select(Record)
            .where(Record.review_id == review.id, Record.merged_into_id.is_(None))
            .options(
                selectinload(Record.sources).options(
                    load_only(RecordSource.batch_id, RecordSource.entry_key, RecordSource.line),
                    selectinload(RecordSource.batch).load_only(
                        ImportBatch.file_name, ImportBatch.source_label
                    ),
                )
            )
            .order_by(Record.id)
        )
    )


def review_record(session: Session, review: Review, record_id: int) -> Record:
    """The review's record ``record_id``, merged or not (NotFound for any other id)."""
    record = session.get(Record, record_id)
    if record is None or record.review_id != review.id:
        raise NotFound(f"no record {record_id} in review {review.slug}")
    return record


def titles_of(session: Session, review: Review, record_ids: Iterable[int]) -> dict[int, str]:
    """The titles of the review's records among ``record_ids``, by id."""
    return dict(
        session.execute(
            sa.select(Record.id, Record.title).where(
                Record.id.in_(list(record_ids)), Record.review_id == review.id
            )
        ).all()
    )


def live_record(
    session: Session, review: Review, record_id: int, instead: str | None = None
) -> Record:
    """The review's record ``record_id`` unless it was merged away: then Invalid, "record
    N was merged into record M", followed by ``instead`` (``{into}`` names M)."""
    record = review_record(session, review, record_id)
    _refuse_merged(record, instead)
    return record


def _refuse_merged(record: Record, instead: str | None) -> None:
    if record.merged_into_id is not None:
        said = f"record {record.id} was merged into record {record.merged_into_id}"
        raise Invalid(f"{said}: {instead.format(into=record.merged_into_id)}" if instead else said)


def locked_live_record(
    session: Session, review: Review, record_id: int, verb: str, *, sqlite_first: bool = False
) -> Record:
    """The review's record ``record_id``, its row locked until the commit (PostgreSQL),
    unless it was merged away (Invalid: "``verb`` record N instead").

    ``sqlite_first``: on SQLite, which has no row locks and reads outside a transaction,
    take the database's write lock before reading, so that what is read stays as read
    until the commit (for a read-compare-write such as an edit).
    """
    if sqlite_first and session.get_bind().dialect.name == "sqlite":
        table = Record.__table__
        session.execute(sa.update(table).where(table.c.id == record_id).values(id=table.c.id))
    record = session.scalar(
        sa.select(Record)
        .where(Record.id == record_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if record is None or record.review_id != review.id:
        raise NotFound(f"no record {record_id} in review {review.slug}")
    _refuse_merged(record, f"{verb} record {{into}} instead")
    return record


def records_with_sources(
    session: Session, review: Review, record_ids: Iterable[int]
) -> dict[int, Record]:
    """The review's records among ``record_ids`` (merged or not) by id, each with its
    sources and their import batches loaded: three queries however many records."""
    ids = set(record_ids)
    return {
        r.id: r
        for r in session.scalars(
            sa.select(Record)
            .where(Record.id.in_(ids), Record.review_id == review.id)
            .options(selectinload(Record.sources).selectinload(RecordSource.batch))
        )
    }


def record_with_sources(session: Session, review: Review, record_id: int) -> Record:
    """The review's record ``record_id`` (merged or not) with its sources and their import
    batches loaded, in three queries; NotFound for any other id."""
    record = records_with_sources(session, review, [record_id]).get(record_id)
    if record is None:
        raise NotFound(f"no record {record_id} in review {review.slug}")
    return record


def import_batches(session: Session, review: Review) -> list[ImportBatch]:
    """The review's imports (files and libraries), oldest first, in one query; each
    import's list of errors is left unloaded (it can be long, and is read on access)."""
    return list(
        session.scalars(
            sa.select(ImportBatch)
            .where(ImportBatch.review_id == review.id)
            .options(defer(ImportBatch.errors))
            .order_by(ImportBatch.id)
        )
    )


def record_json(record: Record) -> dict[str, Any]:
    """A record as `litreview records --json` prints it."""
    data = {name: getattr(record, name) for name in FIELDS}
    data["sources"] = [
        {
            "batch": s.batch_id,
            "file": s.batch.file_name,
            "source": s.batch.source_label,
            "entry": s.entry_key,
            "line": s.line,
        }
        for s in record.sources
    ]
    return data
