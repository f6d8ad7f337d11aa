"""Screening decisions and conflict resolutions; a change adds a row, the old one stays."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from litreview.db import Base, utcnow
from litreview.models.accounts import User
from litreview.models.core import Timestamp

STAGES = ("title_abstract", "full_text")
DECISIONS = ("include", "exclude", "maybe")


class Decision(Base):
    """One reviewer's decision on one record at one stage.

    Changing it adds a new row and clears ``current`` on the old one, so the
    history stays; at most one current row per record, stage and reviewer.
    """

    __tablename__ = "decision"
    __table_args__ = (
        sa.Index("ix_decision_review_stage_current", "review_id", "stage", "current"),
        sa.Index("ix_decision_record_stage", "record_id", "stage"),
        sa.Index(
            "uq_decision_current",
            "record_id",
            "stage",
            "user_id",
            unique=True,
            sqlite_where=sa.text("current"),
            postgresql_where=sa.text("current"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("record.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    stage: Mapped[str] = mapped_column(sa.String(16))
    decision: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    note: Mapped[str | None] = mapped_column(sa.Text)
    current: Mapped[bool] = mapped_column(default=True)
    # Settles the record at its stage on its own although the review needs two
    # reviewers: a decision made in single mode and kept as settled when the review
    # switched to blind dual mode (``screening.modes``); a change of it by the same
    # reviewer keeps the mark. See ``screening.outcomes.outcome_of``.
    settled_alone: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    user: Mapped[User] = relationship()


class Resolution(Base):
    """How a conflict between two reviewers was settled, kept apart from their decisions."""

    __tablename__ = "resolution"
    __table_args__ = (sa.Index("ix_resolution_record_stage", "record_id", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("record.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    stage: Mapped[str] = mapped_column(sa.String(16))
    decision: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    note: Mapped[str | None] = mapped_column(sa.Text)
    current: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    user: Mapped[User] = relationship()


class StageOutcome(Base):
    """A record's outcome at a stage, kept up to date by ``screening.outcomes.refresh``.

    Derived from the current decisions and resolution (the rule is
    ``screening.outcomes.outcome_of``), so pages and exports read one row instead of
    recomputing it. A row exists once someone decided or resolved the record at the
    stage (at full text, once title/abstract let it through); ``outcome`` is None while
    fewer reviewers than the mode needs have decided. ``pair_a``/``pair_b``: with exactly
    two reviewers, who decided what (``user_id * 4 + decision code``), for Cohen's kappa.
    """

    __tablename__ = "stage_outcome"
    __table_args__ = (
        sa.Index("ix_stage_outcome_review_stage_outcome", "review_id", "stage", "outcome"),
    )

    record_id: Mapped[int] = mapped_column(
        sa.ForeignKey("record.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    outcome: Mapped[str | None] = mapped_column(sa.String(16))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    votes: Mapped[int] = mapped_column(default=0)
    resolved: Mapped[bool] = mapped_column(default=False)
    pair_a: Mapped[int | None]
    pair_b: Mapped[int | None]


class Ranking(Base):
    """A stored screening order: one per review, stage and learner.

    ``learner`` is 0 for a stage's shared ranking (single mode) or the id of the
    reviewer whose own ranking it is (blind dual mode). Written only by
    ``screening.relevance.retrain``, in the background; the screening queue reads the
    last one stored. The marks say what it was trained on, so that the next retrain
    knows how much changed since: the newest decision and resolution ids at the stage,
    the number of current ones, and the newest record id.
    """

    __tablename__ = "screening_ranking"
    __table_args__ = (
        sa.UniqueConstraint("review_id", "stage", "learner", name="uq_screening_ranking_learner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(sa.String(16))
    learner: Mapped[int] = mapped_column(default=0)
    model: Mapped[str] = mapped_column(sa.String(32))
    trained_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    seconds: Mapped[float] = mapped_column(default=0.0)
    # What it learned from: decisions (relevant among them); and what it ranked.
    labels: Mapped[int] = mapped_column(default=0)
    relevant: Mapped[int] = mapped_column(default=0)
    ranked: Mapped[int] = mapped_column(default=0)
    # How many records the learner had screened when it was trained (for the stopping
    # test's population: screened then + ranked).
    screened: Mapped[int] = mapped_column(default=0)
    decision_mark: Mapped[int] = mapped_column(default=0)
    resolution_mark: Mapped[int] = mapped_column(default=0)
    current_count: Mapped[int] = mapped_column(default=0)
    record_mark: Mapped[int] = mapped_column(default=0)


class RankedRecord(Base):
    """A record's place in a stored ranking (0 = most likely relevant) and its score.

    Only the records the learner still had to screen when it was trained are ranked.
    """

    __tablename__ = "screening_rank"
    __table_args__ = (sa.Index("ix_screening_rank_ranking_position", "ranking_id", "position"),)

    ranking_id: Mapped[int] = mapped_column(
        sa.ForeignKey("screening_ranking.id", ondelete="CASCADE"), primary_key=True
    )
    record_id: Mapped[int] = mapped_column(
        sa.ForeignKey("record.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int]
    score: Mapped[float]


class ScreeningSkip(Base):
    """A record a reviewer put off at a stage ("skip"): it comes back to them once
    everything else at that stage is done. Kept per reviewer, review and stage on the
    server, so it survives signing out and another browser (``screening.skips``)."""

    __tablename__ = "screening_skip"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "stage", "record_id", name="uq_screening_skip_user"),
        sa.Index("ix_screening_skip_review_user_stage", "review_id", "user_id", "stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("record.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class ScreeningOrderChoice(Base):
    """The screening order a person chose for themselves at a stage of a review ("relevance"
    or "id"; without a row, the review's). Kept on the server, so it survives signing out,
    another browser and another app server (``screening.orders``). Keyed by user rather
    than membership: an admin screens without a membership row."""

    __tablename__ = "screening_order_choice"
    __table_args__ = (
        sa.UniqueConstraint(
            "review_id", "user_id", "stage", name="uq_screening_order_choice_review_user_stage"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(sa.String(16))
    chosen: Mapped[str] = mapped_column(sa.String(16))
    chosen_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class ScreeningClaim(Base):
    """A record shown to a reviewer in single mode, held for them until ``until`` so that
    reviewers screening at the same moment are offered different records
    (``screening.claims``). One per record and stage; a reviewer holds one per stage."""

    __tablename__ = "screening_claim"
    __table_args__ = (
        sa.UniqueConstraint("record_id", "stage", name="uq_screening_claim_record_stage"),
        sa.Index("ix_screening_claim_user_stage", "user_id", "stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("record.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(sa.String(16))
    until: Mapped[datetime] = mapped_column(Timestamp)
