"""A review's people as its members page shows them: roles, and how many records each
person decided (the numbers are screening's: ``screening.progress.decided_by_person``).

Each person's split into include, exclude and maybe is shown only to whom the blind rule
(``screening.visibility.sees_others``) shows other reviewers' decisions: everybody in
single mode, the leads in blind dual mode. Everybody sees how many records each
person decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from litreview.accounts import users
from litreview.models import Review, User
from litreview.models.screening import STAGES
from litreview.screening.progress import decided_by_person
from litreview.screening.visibility import sees_others


@dataclass(frozen=True)
class Person:
    """One person of the review, with what they decided in it."""

    user_id: int
    email: str
    name: str | None
    role: str | None  # None: not a member (any more), yet decided records here
    is_admin: bool
    is_active: bool
    decided: dict[str, dict[str, int]] = field(default_factory=dict)  # stage -> counts
    resolved: int = 0
    last: datetime | None = None

    @property
    def records(self) -> int:
        """Records decided at any stage (a record decided at both stages counts twice)."""
        return sum(counts["records"] for counts in self.decided.values())


@dataclass(frozen=True)
class Team:
    """The members (leads, reviewers, viewers), then everyone else who decided records
    in the review (former members, admins acting as leads)."""

    members: list[Person]
    others: list[Person]
    admins: list[str]  # active admins who are not members: they lead every review
    show_split: bool  # whether the viewer may see each person's include/exclude/maybe


def _aware(at: Any) -> datetime | None:
    if at is None:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _person(user: User, role: str | None, counts: dict[str, Any] | None) -> Person:
    counts = counts or {}
    return Person(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=role,
        is_admin=bool(user.is_admin),
        is_active=bool(user.is_active),
        decided={stage: dict(counts.get(stage) or {"records": 0}) for stage in STAGES},
        resolved=counts.get("resolved", 0),
        last=_aware(counts.get("last")),
    )


def team(session: Session, review: Review, viewer: User) -> Team:
    """The review's people and their numbers, as ``viewer`` may see them."""
    counts = decided_by_person(session, review)
    memberships = users.members(session, review)
    members = [_person(m.user, m.role, counts.get(m.user_id)) for m in memberships]
    member_ids = {m.user_id for m in memberships}
    outside = [uid for uid in counts if uid not in member_ids]
    others = sorted(
        (
            _person(user, None, counts[user.id])
            for user in (users.get_user(session, uid) for uid in outside)
        ),
        key=lambda p: p.email,
    )
    admins = [
        u.email
        for u in users.list_users(session)
        if u.is_admin and u.is_active and u.id not in member_ids
    ]
    show_split = sees_others(
        review,
        users.role_of(session, review, viewer),
        decided_myself=False,
        votes=0,
        resolved=False,
    )
    return Team(members, others, admins, show_split)
