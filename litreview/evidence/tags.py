"""Tags of records to review questions, and annotations: who, when, and a trace of all.

A tag says "this record is evidence for Q4"; an annotation adds a note, a quoted
passage and its page; a quote goes only under the questions a person names. Removing
a tag or changing an annotation keeps what it was in the audit log (who tagged it and
when, who removed it), so nothing is lost without a trace. These are domain
operations: they flush, the caller commits.

Long because: tags and annotations are written, read and listed together (the record
page, the question page, the CLI and the exports read them side by side).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.db import insert_unless_present
from litreview.errors import Invalid, NotFound
from litreview.library import listing
from litreview.models import Annotation, Record, RecordTag, Review, ReviewQuestion

MAX_PAGE_LABEL = 32
MAX_TEXT = 20_000
# A quote is evidence for a question (a note may be about the record in general).
QUOTE_NEEDS_QUESTION = "a quote goes under the review question it is evidence for: choose one"


def live_record(session: Session, review: Review, record_id: int) -> Record:
    """The record, if it is in this review and not merged into another."""
    return listing.live_record(session, review, record_id, "tag that one instead")


def question_by_code(session: Session, review: Review, code: str) -> ReviewQuestion:
    """The review question with this code (case ignored); NotFound lists the codes."""
    questions = list(
        session.scalars(
            sa.select(ReviewQuestion)
            .where(ReviewQuestion.review_id == review.id)
            .order_by(ReviewQuestion.position)
        )
    )
    wanted = code.strip().lower()
    for q in questions:
        if q.code.lower() == wanted:
            return q
    known = ", ".join(q.code for q in questions) or "none yet"
    raise NotFound(f"no review question {code!r} in review {review.slug} (its questions: {known})")


def tag_record(
    session: Session,
    review: Review,
    record_id: int,
    codes: Sequence[str],
    actor: str,
    *,
    note: str | None = None,
    quote: str | None = None,
    page: str | int | None = None,
) -> list[RecordTag]:
    """Tag a record to one or more questions (a tag already there stays as it was).

    With a note or a quote, each question also gets an annotation. All codes are
    checked before anything changes. Returns the record's tags to those questions.
    """
    if not codes:
        raise Invalid("name at least one review question, e.g. Q4")
    record = live_record(session, review, record_id)
    questions = [question_by_code(session, review, c) for c in codes]
    if page is not None and not (note or quote):
        raise Invalid("--page goes with a quote (or a note): what is on that page?")
    tags = []
    for q in dict.fromkeys(questions):  # the same code twice tags once
        # Inserted unless already there, in one statement: people tagging the same record
        # at the same moment get one tag and one audit entry, and none of them an error.
        created = insert_unless_present(
            session,
            RecordTag.__table__,
            {
                "review_id": review.id,
                "record_id": record.id,
                "question_id": q.id,
                "created_by": actor,
            },
            unique=("record_id", "question_id"),
        )
        if created:
            audit.log(
                session,
                actor,
                "record.tag",
                review_id=review.id,
                target_type="record",
                target_id=record.id,
                question=q.code,
            )
        tag = session.scalars(
            sa.select(RecordTag)
            .where(RecordTag.record_id == record.id, RecordTag.question_id == q.id)
            .execution_options(populate_existing=True)
        ).one()
        tags.append(tag)
        if note or quote:
            annotate(
                session,
                review,
                record.id,
                actor,
                question=q.code,
                note=note,
                quote=quote,
                page=page,
            )
    return tags


def untag_record(session: Session, review: Review, record_id: int, code: str, actor: str) -> bool:
    """Remove a record's tag to a question; the audit log keeps who had tagged it, when.

    Returns False, and logs nothing, when the record is not tagged to the question
    (any more): people removing the same tag at the same moment leave one audit entry.
    The record's annotations for that question stay: they are notes, not the tag.
    """
    record = live_record(session, review, record_id)
    q = question_by_code(session, review, code)
    # One statement finds and deletes the tag: of concurrent removals, exactly one
    # gets the row back (PostgreSQL makes the others wait, then finds nothing).
    removed = session.execute(
        sa.delete(RecordTag)
        .where(RecordTag.record_id == record.id, RecordTag.question_id == q.id)
        .returning(RecordTag.created_by, RecordTag.created_at)
        .execution_options(synchronize_session=False)
    ).first()
    if removed is None:
        return False
    tagged_by, tagged_at = removed
    audit.log(
        session,
        actor,
        "record.untag",
        review_id=review.id,
        target_type="record",
        target_id=record.id,
        question=q.code,
        tagged_by=tagged_by,
        tagged_at=tagged_at.isoformat() if tagged_at else None,
    )
    return True


def _clean_text(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise Invalid(f"the {what} is {len(value):,} characters long; at most {MAX_TEXT:,}")
    return value or None


def _page_label(page: str | int | None) -> str | None:
    if page is None:
        return None
    label = str(page).strip()
    if not label:
        return None
    if len(label) > MAX_PAGE_LABEL:
        raise Invalid(f"page {label[:40]!r}: at most {MAX_PAGE_LABEL} characters, e.g. 7 or 7-8")
    return label


def annotate(
    session: Session,
    review: Review,
    record_id: int,
    actor: str,
    *,
    question: str | None = None,
    note: str | None = None,
    quote: str | None = None,
    page: str | int | None = None,
) -> Annotation:
    """Add an annotation (a note, a quoted passage and its page) to a record, for a
    question or for the record in general."""
    record = live_record(session, review, record_id)
    q = question_by_code(session, review, question) if question else None
    note, quote = _clean_text(note, "note"), _clean_text(quote, "quote")
    if not (note or quote):
        raise Invalid("an annotation needs a note or a quote")
    label = _page_label(page)
    if quote and q is None:
        raise Invalid(QUOTE_NEEDS_QUESTION)
    annotation = Annotation(
        review_id=review.id,
        record_id=record.id,
        question_id=q.id if q else None,
        note=note,
        quote=quote,
        page=label,
        created_by=actor,
    )
    session.add(annotation)
    session.flush()
    audit.log(
        session,
        actor,
        "annotation.add",
        review_id=review.id,
        target_type="annotation",
        target_id=annotation.id,
        record=record.id,
        question=q.code if q else None,
        note=note,
        quote=quote,
        page=annotation.page,
    )
    return annotation


def _annotation(session: Session, review: Review, annotation_id: int) -> Annotation:
    annotation = session.get(Annotation, annotation_id)
    if annotation is None or annotation.review_id != review.id:
        raise NotFound(f"no annotation {annotation_id} in review {review.slug}")
    return annotation


def edit_annotation(
    session: Session,
    review: Review,
    annotation_id: int,
    actor: str,
    *,
    note: str | None = None,
    quote: str | None = None,
    page: str | int | None = None,
) -> Annotation:
    """Change an annotation's note, quote or page (None leaves a part as it is);
    the audit log keeps what it said before."""
    annotation = _annotation(session, review, annotation_id)
    before = {"note": annotation.note, "quote": annotation.quote, "page": annotation.page}
    if note is not None:
        annotation.note = _clean_text(note, "note")
    if quote is not None:
        annotation.quote = _clean_text(quote, "quote")
    if page is not None:
        annotation.page = _page_label(page)
    if not (annotation.note or annotation.quote):
        raise Invalid("an annotation needs a note or a quote")
    if quote and annotation.question_id is None:
        raise Invalid(QUOTE_NEEDS_QUESTION)
    session.flush()
    audit.log(
        session,
        actor,
        "annotation.edit",
        review_id=review.id,
        target_type="annotation",
        target_id=annotation.id,
        record=annotation.record_id,
        before=before,
    )
    return annotation


def delete_annotation(session: Session, review: Review, annotation_id: int, actor: str) -> None:
    """Remove an annotation; the audit log keeps its whole text, author and date."""
    annotation = _annotation(session, review, annotation_id)
    kept = annotation_json(session, annotation)
    session.delete(annotation)
    session.flush()
    audit.log(
        session,
        actor,
        "annotation.delete",
        review_id=review.id,
        target_type="annotation",
        target_id=annotation_id,
        record=kept["record"],
        annotation=kept,
    )


def annotation_json(session: Session, annotation: Annotation) -> dict[str, Any]:
    """An annotation as the CLI and exports show it."""
    code = None
    if annotation.question_id is not None:
        code = session.scalar(
            sa.select(ReviewQuestion.code).where(ReviewQuestion.id == annotation.question_id)
        )
    return {
        "id": annotation.id,
        "record": annotation.record_id,
        "question": code,
        "note": annotation.note,
        "quote": annotation.quote,
        "page": annotation.page,
        "by": annotation.created_by,
        "at": annotation.created_at.isoformat() if annotation.created_at else None,
    }


def record_tags(session: Session, review: Review, record_id: int) -> list[dict[str, Any]]:
    """A record's tags (question code, who, when), in question order."""
    rows = session.execute(
        sa.select(ReviewQuestion.code, RecordTag.created_by, RecordTag.created_at)
        .join(ReviewQuestion, ReviewQuestion.id == RecordTag.question_id)
        .where(RecordTag.review_id == review.id, RecordTag.record_id == record_id)
        .order_by(ReviewQuestion.position, ReviewQuestion.id)
    )
    return [{"question": c, "by": by, "at": at.isoformat() if at else None} for c, by, at in rows]


def record_annotations(session: Session, review: Review, record_id: int) -> list[Annotation]:
    """A record's annotations, oldest first."""
    return list(
        session.scalars(
            sa.select(Annotation)
            .where(Annotation.review_id == review.id, Annotation.record_id == record_id)
            .order_by(Annotation.id)
        )
    )


def tagged_ids(session: Session, question: ReviewQuestion) -> set[int]:
    """The ids of the records tagged to ``question`` (for filtering a search)."""
    return set(
        session.scalars(sa.select(RecordTag.record_id).where(RecordTag.question_id == question.id))
    )


def tagged_records(
    session: Session, review: Review, question: ReviewQuestion
) -> list[tuple[Record, RecordTag]]:
    """The records tagged to ``question`` (merged or not) with their tag, newest year
    first, then by id: one query."""
    rows = session.execute(
        sa.select(Record, RecordTag)
        .join(RecordTag, RecordTag.record_id == Record.id)
        .where(RecordTag.question_id == question.id, Record.review_id == review.id)
        .order_by(Record.year.desc(), Record.id)
    )
    return [(record, tag) for record, tag in rows]


def question_annotations(
    session: Session, review: Review, question: ReviewQuestion
) -> list[tuple[Annotation, str | None]]:
    """The annotations made for ``question``, each with its record's title, by record
    then oldest first: one query."""
    rows = session.execute(
        sa.select(Annotation, Record.title)
        .join(Record, Record.id == Annotation.record_id)
        .where(Annotation.question_id == question.id, Annotation.review_id == review.id)
        .order_by(Annotation.record_id, Annotation.id)
    )
    return [(annotation, title) for annotation, title in rows]


def tagged_question_ids(
    session: Session, review: Review, record_ids: Sequence[int]
) -> dict[int, set[int]]:
    """Per record of ``record_ids``: the ids of the questions it is tagged to (an empty
    set when none). One query for up to a page of records; none for no records."""
    found: dict[int, set[int]] = {i: set() for i in record_ids}
    if found:
        rows = session.execute(
            sa.select(RecordTag.record_id, RecordTag.question_id).where(
                RecordTag.record_id.in_(list(found)), RecordTag.review_id == review.id
            )
        )
        for record_id, question_id in rows:
            found[record_id].add(question_id)
    return found


def tag_many(
    session: Session, review: Review, record_ids: Sequence[int], codes: Sequence[str], actor: str
) -> tuple[list[int], list[int], dict[int, str]]:
    """Tag each of ``record_ids`` to ``codes`` through :func:`tag_record` (codes checked
    first): (records newly tagged, records tagged so already, refused id -> why)."""
    if not codes:
        raise Invalid("choose a review question to tag the records to")
    question_ids = {question_by_code(session, review, c).id for c in codes}
    ids = sorted(set(record_ids))  # one lock order for concurrent bulk tags
    if not ids:
        raise Invalid("no records selected: tick some rows, or choose everything matching")
    had = tagged_question_ids(session, review, ids)
    tagged: list[int] = []
    already: list[int] = []
    refused: dict[int, str] = {}
    for record_id in ids:
        try:
            tag_record(session, review, record_id, codes, actor)
        except (Invalid, NotFound) as exc:
            refused[record_id] = str(exc)
            continue
        (already if question_ids <= had.get(record_id, set()) else tagged).append(record_id)
    return tagged, already, refused
