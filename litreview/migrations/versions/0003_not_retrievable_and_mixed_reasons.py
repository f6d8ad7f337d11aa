"""reports marked not retrievable; reviewers' differing exclusion reasons kept, not hidden

Two changes for the outputs a commissioner reads:

* ``record.not_retrievable_at`` / ``_by`` / ``_note``: a report sought at full text that
  could not be obtained, marked by a person (PRISMA 2020's "reports not retrieved");
* ``stage_outcome.reason``: where two reviewers excluded a record for different
  reasons, the kept reason was ``(reasons differ)``; it is now each reason, in
  alphabetical order, joined by "; " (the rule of ``screening.outcomes.joined_reasons``,
  frozen here as migrations never import the app).

Revision ID: 0003
Revises: 0002
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "(reasons differ)"


def _joined(reasons):
    distinct = sorted({r for r in reasons if r}, key=lambda r: (r.casefold(), r))
    return "; ".join(distinct) or None


def _tables():
    outcome = sa.table(
        "stage_outcome",
        *(sa.column(c) for c in ("record_id", "stage", "outcome", "reason")),
        sa.column("resolved", sa.Boolean),
    )
    decision = sa.table(
        "decision",
        *(sa.column(c) for c in ("record_id", "stage", "decision", "reason")),
        sa.column("current", sa.Boolean),
    )
    return outcome, decision


def _mixed_rows(bind, outcome, decision, reason_is):
    """(record_id, stage) -> the current exclusion reasons, of the unresolved exclusions
    whose kept reason matches ``reason_is``."""
    keys = {
        (record_id, stage)
        for record_id, stage in bind.execute(
            sa.select(outcome.c.record_id, outcome.c.stage).where(
                outcome.c.outcome == "exclude",
                outcome.c.resolved == sa.false(),
                reason_is(outcome.c.reason),
            )
        )
    }
    reasons = defaultdict(list)
    if keys:
        for record_id, stage, reason in bind.execute(
            sa.select(decision.c.record_id, decision.c.stage, decision.c.reason).where(
                decision.c.current == sa.true(),
                decision.c.decision == "exclude",
                decision.c.record_id.in_(sorted({r for r, _s in keys})),
            )
        ):
            if (record_id, stage) in keys:
                reasons[record_id, stage].append(reason)
    return reasons


def _rewrite(bind, outcome, found, value) -> None:
    for (record_id, stage), reasons in found.items():
        bind.execute(
            sa.update(outcome)
            .where(outcome.c.record_id == record_id, outcome.c.stage == stage)
            .values(reason=value(reasons))
        )


def upgrade() -> None:
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("not_retrievable_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("not_retrievable_by", sa.Text()))
        batch_op.add_column(sa.Column("not_retrievable_note", sa.Text()))
    bind = op.get_bind()
    outcome, decision = _tables()
    found = _mixed_rows(bind, outcome, decision, lambda c: c == _OLD)
    _rewrite(bind, outcome, found, _joined)


def downgrade() -> None:
    bind = op.get_bind()
    outcome, decision = _tables()
    found = _mixed_rows(bind, outcome, decision, lambda c: c.like("%; %"))
    _rewrite(
        bind,
        outcome,
        found,
        lambda reasons: _OLD if len({r for r in reasons if r}) > 1 else _joined(reasons),
    )
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_column("not_retrievable_note")
        batch_op.drop_column("not_retrievable_by")
        batch_op.drop_column("not_retrievable_at")
