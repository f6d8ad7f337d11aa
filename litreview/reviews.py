"""Reviews and their review questions."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import audit
from .errors import Invalid, NotFound
from .models import Review, ReviewQuestion

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
