"""Reading a review's records, as the CLI and the web show them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, load_only, selectinload

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
