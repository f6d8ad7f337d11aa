"""A review's records as a CSV table: the bibliographic fields (in the order of
:data:`litreview.library.fields.CSV_FIELDS`), then each stage's decision and reason, the
review questions, the annotations and the notes. Cells a spreadsheet would run as a
formula are made plain text.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.export import csl
from litreview.export.annotated import page_label
from litreview.library.fields import CSV_FIELDS, Field
from litreview.models import Annotation, Record, RecordNote, RecordTag, Review, ReviewQuestion
from litreview.screening.outcomes import FULL_TEXT, TITLE_ABSTRACT
from litreview.screening.outcomes import outcomes_with_reasons as outcomes

# ---------------------------------------------------------------- CSV

CSV_COLUMNS = (
    "id",
    "key",
    *(f.name for f in CSV_FIELDS),
    "title_abstract_decision",
    "title_abstract_reason",
    "full_text_decision",
    "full_text_reason",
    "review_questions",
    "annotations",
    "notes",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(field: Field, value: Any) -> Any:
    if field.kind == "authors":
        return "; ".join(
            f"{a.get('family')}, {a.get('given')}" if a.get("given") else str(a.get("family"))
            for a in value or ()
        )
    if field.kind == "keywords":
        return "; ".join(value or ())
    return value


def _cell(value: object) -> str:
    text = "" if value is None else csl.clean_text(str(value))
    return "'" + text if text.startswith(_FORMULA) else text


def to_csv(
    session: Session, review: Review, records: Sequence[Record], keys: dict[int, str]
) -> str:
    """One row per record with its outcomes, reasons, questions, annotations and notes."""
    ids = [r.id for r in records]
    ta, ft = outcomes(session, review, TITLE_ABSTRACT), outcomes(session, review, FULL_TEXT)
    codes = dict(
        session.execute(
            sa.select(ReviewQuestion.id, ReviewQuestion.code).where(
                ReviewQuestion.review_id == review.id
            )
        ).all()
    )
    wanted = set(ids)
    tags: dict[int, list[str]] = defaultdict(list)
    for record_id, question_id in session.execute(
        sa.select(RecordTag.record_id, RecordTag.question_id)
        .join(ReviewQuestion, ReviewQuestion.id == RecordTag.question_id)
        .where(RecordTag.review_id == review.id)
        .order_by(ReviewQuestion.position)
    ):
        if record_id in wanted:
            tags[record_id].append(codes[question_id])
    notes: dict[int, list[str]] = defaultdict(list)
    for a in session.scalars(
        sa.select(Annotation)
        .where(Annotation.review_id == review.id)
        .order_by(Annotation.created_at, Annotation.id)
    ):
        if a.record_id in wanted:
            parts = [f"{codes[a.question_id]}:" if a.question_id in codes else ""]
            if a.quote:
                parts.append(f"“{a.quote}”" + (f" ({page_label(a.page)})" if a.page else ""))
            if a.note:
                parts.append(a.note)
            parts.append(f"— {a.created_by}")
            notes[a.record_id].append(" ".join(p for p in parts if p))
    record_notes: dict[int, list[str]] = defaultdict(list)
    for n in session.scalars(
        sa.select(RecordNote).where(RecordNote.review_id == review.id).order_by(RecordNote.id)
    ):
        if n.record_id in wanted:
            record_notes[n.record_id].append(n.text)

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        t, f = ta.get(r.id), ft.get(r.id)
        row = [
            r.id,
            keys[r.id],
            *(_csv_value(field, getattr(r, field.name)) for field in CSV_FIELDS),
            t.decision if t else None,
            t.reason if t else None,
            f.decision if f else None,
            f.reason if f else None,
            "; ".join(tags.get(r.id, ())),
            "\n".join(notes.get(r.id, ())),
            "\n".join([*([r.note] if r.note else []), *record_notes.get(r.id, ())]),
        ]
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()
