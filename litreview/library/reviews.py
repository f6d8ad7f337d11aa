"""Reviews and their review questions: added, changed, removed (with what was tagged to
them kept in the audit log), and each review's screening settings."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.errors import Invalid, NotFound
from litreview.models import Annotation, RecordTag, Review, ReviewQuestion

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def create_review(
    session: Session, slug: str, title: str, actor: str, description: str | None = None
) -> Review:
    """A new, empty review; the slug is its short name in URLs and commands."""
    if not _SLUG.match(slug):
        raise Invalid(
            f"review name {slug!r}: use lower-case letters, digits and dashes (at most 64)"
        )
    if not title.strip():
        raise Invalid("a review needs a title")
    if session.scalar(sa.select(Review.id).where(Review.slug == slug)) is not None:
        raise Invalid(f"a review named {slug!r} already exists")
    review = Review(slug=slug, title=title.strip(), description=description)
    session.add(review)
    session.flush()
    audit.log(session, actor, "review.create", review_id=review.id, slug=slug, title=title)
    return review


def get_review(session: Session, slug: str) -> Review:
    review = session.scalar(sa.select(Review).where(Review.slug == slug))
    if review is None:
        raise NotFound(f"no review named {slug!r}")
    return review


def list_reviews(session: Session) -> list[Review]:
    return list(session.scalars(sa.select(Review).order_by(Review.slug)))


def check_theme_query(code: str, query: str) -> None:
    """Invalid, with the query language's own message, unless ``query`` parses.

    The language has one home, :func:`litreview.search.query.parse`. Imported here,
    when a question with a query is saved: listing reviews does not load it.
    """
    from litreview.search.query import parse

    try:
        parse(query)
    except Invalid as exc:
        raise Invalid(f"the theme query of {code} does not parse: {exc}") from None


def add_question(
    session: Session,
    review: Review,
    code: str,
    title: str,
    actor: str,
    description: str | None = None,
    query: str | None = None,
) -> ReviewQuestion:
    """Add a review question (theme), or update the one with that code. A theme query
    that does not parse is refused, with the parser's message."""
    code = code.strip()
    if not code or len(code) > 32:
        raise Invalid("a review question needs a short code such as Q3")
    if not title.strip():
        raise Invalid(f"review question {code} needs a title")
    query = (query or "").strip() or None
    description = (description or "").strip() or None
    if query:
        check_theme_query(code, query)
    question = session.scalar(
        sa.select(ReviewQuestion).where(
            ReviewQuestion.review_id == review.id, ReviewQuestion.code == code
        )
    )
    action = "question.update"
    if question is None:
        action = "question.add"
        position = len(review.questions)
        question = ReviewQuestion(review=review, code=code, position=position)
        session.add(question)
    question.title = title.strip()
    question.description = description
    question.query = query
    session.flush()
    audit.log(
        session,
        actor,
        action,
        review_id=review.id,
        target_type="question",
        target_id=question.id,
        code=code,
        title=title,
        query=query,
    )
    return question


def question_usage(session: Session, review: Review) -> dict[int, tuple[int, int]]:
    """Per question id of the review: how many records are tagged to it, and how many
    annotations are written for it (two queries)."""
    found = {q.id: (0, 0) for q in review.questions}
    for model, slot in ((RecordTag, 0), (Annotation, 1)):
        rows = session.execute(
            sa.select(model.question_id, sa.func.count(model.id))
            .where(model.review_id == review.id, model.question_id.is_not(None))
            .group_by(model.question_id)
        )
        for question_id, count in rows:
            if question_id in found:
                pair = list(found[question_id])
                pair[slot] = count
                found[question_id] = (pair[0], pair[1])
    return found


def _question(session: Session, review: Review, code: str) -> ReviewQuestion:
    wanted = code.strip().lower()
    for q in review.questions:
        if q.code.lower() == wanted:
            return q
    known = ", ".join(q.code for q in review.questions) or "none yet"
    raise NotFound(f"no review question {code!r} in review {review.slug} (its questions: {known})")


def remove_question(
    session: Session, review: Review, code: str, actor: str, move_to: str | None = None
) -> dict[str, int]:
    """Remove review question ``code``. Its tags and annotations go with it, each kept
    whole in the audit entry (who tagged which record when; every annotation's text),
    or, with ``move_to``, they move to that question (a record tagged to both keeps
    the one tag it has there). Returns how many tags and annotations were removed or
    moved."""
    question = _question(session, review, code)
    target = _question(session, review, move_to) if move_to else None
    if target is not None and target.id == question.id:
        raise Invalid(f"{question.code} cannot move its tags to itself: choose another question")
    tags = list(
        session.scalars(
            sa.select(RecordTag).where(RecordTag.question_id == question.id).order_by(RecordTag.id)
        )
    )
    notes = list(
        session.scalars(
            sa.select(Annotation)
            .where(Annotation.question_id == question.id)
            .order_by(Annotation.id)
        )
    )
    kept_tags = [
        {"record": t.record_id, "by": t.created_by, "at": t.created_at.isoformat()} for t in tags
    ]
    kept_notes = [
        {
            "id": a.id,
            "record": a.record_id,
            "note": a.note,
            "quote": a.quote,
            "page": a.page,
            "by": a.created_by,
            "at": a.created_at.isoformat(),
        }
        for a in notes
    ]
    if target is None:
        for row in (*tags, *notes):
            session.delete(row)
    else:
        already = set(
            session.scalars(
                sa.select(RecordTag.record_id).where(RecordTag.question_id == target.id)
            )
        )
        for tag in tags:
            if tag.record_id in already:
                session.delete(tag)
            else:
                tag.question_id = target.id
        for annotation in notes:
            annotation.question_id = target.id
    session.flush()
    review.questions.remove(question)  # delete-orphan: the row goes at the flush
    for position, q in enumerate(review.questions):
        q.position = position
    session.flush()
    audit.log(
        session,
        actor,
        "question.remove",
        review_id=review.id,
        target_type="question",
        target_id=question.id,
        code=question.code,
        title=question.title,
        description=question.description,
        query=question.query,
        moved_to=target.code if target else None,
        tags=kept_tags,
        annotations=kept_notes,
    )
    return {"tags": len(tags), "annotations": len(notes)}


SCREENING_MODES = ("single", "dual")
_LIST_SETTINGS = ("exclusion_reasons", "highlight_include", "highlight_exclude")
_TEXT_SETTINGS = ("title", "description", "criteria")


def _as_list(name: str, value: object) -> list[str]:
    """A list of short phrases from a list, or from text separated by ";" or new lines."""
    if value is None:
        return []
    if isinstance(value, str):
        value = re.split(r"[;\n]", value)
    if not isinstance(value, list | tuple):
        raise Invalid(f"{name}: expected a list of words or phrases")
    seen: set[str] = set()
    cleaned: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise Invalid(f"{name}: expected a list of words or phrases")
        item = " ".join(item.split())
        if len(item) > 200:
            raise Invalid(f"{name}: {item[:40]!r}... is longer than 200 characters")
        if item and item.casefold() not in seen:
            seen.add(item.casefold())
            cleaned.append(item)
    return cleaned


def update_settings(
    session: Session,
    review: Review,
    *,
    actor: str,
    on_switch: str = "keep",
    **fields: object,
) -> Review:
    """Change a review's screening set-up; only the fields given change.

    Fields: ``title``, ``description``, ``criteria`` (text; "" clears description and
    criteria), ``exclusion_reasons``, ``highlight_include``, ``highlight_exclude`` (lists,
    or text separated by ";" or new lines; blanks and repeats dropped), and
    ``screening_mode`` ("single" or "dual"). Switching the mode keeps every decision;
    outcomes are recomputed under the new mode, and ``on_switch`` ("keep" or "second")
    says what becomes of records one reviewer decided in single mode when the review
    goes dual (``screening.modes``: kept as settled outcomes, or sent to a second
    reviewer). ``screening_order``: "relevance" (most relevant first) or "id" (in
    order); see ``screening.queue``. ``reason_required_title_abstract`` (bool): an
    exclusion at title/abstract needs a reason too. The audit entry names each change,
    and for a switch of mode how many records one reviewer had decided and the choice.
    """
    unknown = sorted(
        set(fields)
        - {
            *_LIST_SETTINGS,
            *_TEXT_SETTINGS,
            "screening_mode",
            "screening_order",
            "reason_required_title_abstract",
        }
    )
    if unknown:
        raise Invalid(f"unknown review setting(s): {', '.join(unknown)}")
    values: dict[str, object] = {}
    for name, value in fields.items():
        if name in _LIST_SETTINGS:
            values[name] = _as_list(name, value)
        elif name == "screening_mode":
            if value not in SCREENING_MODES:
                raise Invalid(f"screening mode {value!r}: choose single or dual")
            values[name] = value
        elif name == "screening_order":
            from litreview.screening.queue import check_order

            check_order(value)
            values[name] = value
        elif name == "reason_required_title_abstract":
            if not isinstance(value, bool):
                raise Invalid(f"{name}: expected true or false")
            values[name] = value
        elif name == "title":
            if not isinstance(value, str) or not value.strip():
                raise Invalid("a review needs a title")
            values[name] = value.strip()
        else:
            if value is not None and not isinstance(value, str):
                raise Invalid(f"{name}: expected text")
            values[name] = (value or "").strip() or None
    changes = {
        name: {"from": getattr(review, name), "to": value}
        for name, value in values.items()
        if getattr(review, name) != value
    }
    for name, change in changes.items():
        if name != "screening_mode":
            setattr(review, name, change["to"])
    session.flush()
    if "screening_mode" in changes:
        # Imported here: listing a review's records (the CLI's `records`) needs this
        # module but not screening's.
        from litreview.screening import modes

        found = modes.switch(session, review, changes["screening_mode"]["to"], choice=on_switch)
        if found.total:
            changes["screening_mode"]["decided_by_one"] = found.lone
        if found.asks:
            changes["screening_mode"]["kept_settled"] = on_switch == modes.KEEP
    if changes:
        audit.log(
            session,
            actor,
            "review.settings",
            review_id=review.id,
            target_type="review",
            target_id=review.id,
            changes=changes,
        )
    return review
