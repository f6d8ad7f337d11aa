"""The sample review "AI in social work": six review questions, screening criteria,
exclusion reasons and highlight words (so the screening page's keys work on first try),
and an invented library."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.accounts import users as accounts
from litreview.library import imports, reviews
from litreview.models import Record, Review, User

SAMPLE_DIR = Path(__file__).parent / "sample_data"
SLUG = "ai-sw"
DEMO_EMAIL = "demo@litreview.local"
FILES = (
    ("library.ris", "Sample: database export (RIS)"),
    ("library.bib", "Sample: reference manager export (BibTeX)"),
)


def load(session: Session, actor: str, by: User | None = None) -> dict[str, Any]:
    """Create the sample review and import its files, unless it is already there.

    Creating a review and an account needs an admin (``by``), except on a fresh
    installation: then the demo lead it makes is its first admin, so that `make run`
    gives a person who can sign in and create reviews. Loading it twice needs no one.
    """
    existing = session.scalar(sa.select(Review).where(Review.slug == SLUG))
    demo_missing = session.scalar(sa.select(User.id).where(User.email == DEMO_EMAIL)) is None
    first_account = not accounts.has_accounts(session)
    if (existing is None or demo_missing) and not first_account:
        accounts.require_admin(by, "load the sample review")
    created = existing is None
    if existing is None:
        existing = reviews.create_review(
            session,
            SLUG,
            "AI in social work",
            actor,
            description="Sample review: how is AI used in social work, and what are its risks? "
            "Its records are invented for demonstration.",
        )
        questions = json.loads((SAMPLE_DIR / "questions.json").read_text(encoding="utf-8"))
        for q in questions:
            reviews.add_question(
                session,
                existing,
                q["code"],
                q["title"],
                actor,
                q.get("description"),
                q.get("query"),
            )
        settings = json.loads((SAMPLE_DIR / "settings.json").read_text(encoding="utf-8"))
        reviews.update_settings(session, existing, actor=actor, **settings)
        for name, label in FILES:
            imports.import_file(
                session, existing, SAMPLE_DIR / name, actor=actor, source_label=label
            )
    password = None
    if demo_missing:
        # A lead to sign in as; the password is random and shown once, never a constant.
        password = secrets.token_urlsafe(12)
        user = accounts.create_user(
            session, DEMO_EMAIL, password, name="Demo lead", is_admin=first_account, actor=actor
        )
        accounts.add_member(session, existing, user, "lead", actor=actor)
    count = session.scalar(
        sa.select(sa.func.count(Record.id)).where(
            Record.review_id == existing.id, Record.merged_into_id.is_(None)
        )
    )
    return {
        "slug": SLUG,
        "created": created,
        "records": count,
        "user": DEMO_EMAIL,
        "password": password,
        "admin": first_account,
    }
