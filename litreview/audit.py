"""The append-only audit log: who did what, when, to which thing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from litreview.models import AuditEntry


def log(
    session: Session,
    actor: str,
    action: str,
    *,
    review_id: int | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    **details: Any,
) -> None:
    """Append one entry; it is written with the caller's transaction."""
    session.add(
        AuditEntry(
            review_id=review_id,
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details,
        )
    )
