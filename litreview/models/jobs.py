"""Background jobs: what was asked, by whom, how far it got and how it ended.

The one record of a job's state and progress, whichever runner runs it (a thread of the
app server, or a worker taking it from the queue): every app server reads it here, so
each shows the same job and the same progress (see :mod:`litreview.jobs`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from litreview.db import Base, utcnow
from litreview.models.core import JSON, Timestamp

JOB_STATES = ("queued", "running", "done", "failed")


class Job(Base):
    """One piece of background work (an import, a Zotero sync, a reindex, ...).

    ``payload`` is what the job needs to run (saved upload paths, a Zotero target): never
    a secret. ``progress`` is what a page shows while it runs; ``report`` what it did;
    ``error`` a sentence a person can act on when it failed. ``attempts`` counts the runs
    started (a job retried after its worker died has two).
    """

    __tablename__ = "job"
    __table_args__ = (
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state"),
        sa.Index("ix_job_review_created", "review_id", "created_at"),
        sa.Index("ix_job_state", "state"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    review_id: Mapped[int | None] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(sa.String(320))
    runner: Mapped[str] = mapped_column(sa.String(16))  # inprocess or queue
    state: Mapped[str] = mapped_column(sa.String(16), default="queued")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
    worker: Mapped[str | None] = mapped_column(sa.String(200))  # host:pid running it
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)
