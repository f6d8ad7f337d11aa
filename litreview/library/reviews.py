"""Reviews and their review questions."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.errors import Invalid, NotFound
from litreview.models import Review, ReviewQuestion

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


def add_question(
    session: Session,
    review: Review,
    code: str,
    title: str,
    actor: str,
    description: str | None = None,
    query: str | None = None,
) -> ReviewQuestion:
    """Add a review question (theme), or update the one with that code."""
    code = code.strip()
    if not code or len(code) > 32:
        raise Invalid("a review question needs a short code such as Q3")
    if not title.strip():
        raise Invalid(f"review question {code} needs a title")
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


def update_settings(session: Session, review: Review, *, actor: str, **fields: object) -> Review:
    """Change a review's screening set-up; only the fields given change.

    Fields: ``title``, ``description``, ``criteria`` (text; "" clears description and
    criteria), ``exclusion_reasons``, ``highlight_include``, ``highlight_exclude`` (lists,
    or text separated by ";" or new lines; blanks and repeats dropped), and
    ``screening_mode`` ("single" or "dual"). Switching the mode keeps every decision;
    outcomes are recomputed under the new mode. ``screening_order``: "relevance" (most
    relevant first) or "id" (in order); see ``screening.queue``. The audit entry names
    each change.
    """
    unknown = sorted(
        set(fields) - {*_LIST_SETTINGS, *_TEXT_SETTINGS, "screening_mode", "screening_order"}
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
        setattr(review, name, change["to"])
    session.flush()
    if "screening_mode" in changes:
        # Imported here: listing a review's records (the CLI's `records`) needs this
        # module but not screening's.
        from litreview.screening import outcomes

        outcomes.refresh(session, review)
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
