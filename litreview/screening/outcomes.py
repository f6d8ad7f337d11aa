"""A record's outcome at a stage: the one rule, and the table that keeps it up to date.

The rule (:func:`outcome_of`), in this order:

1. the current resolution, if a lead or a third reviewer resolved the record;
2. otherwise, once enough reviewers have decided (one in single mode, two in blind dual
   mode), their decision if they all agree, or ``conflict`` if they do not; in dual
   mode a lone decision marked ``settled_alone`` counts as enough (one made in single
   mode and kept as settled when the review switched, :mod:`.modes`);
3. otherwise none yet: the record is pending (or in progress, when some have decided).

At full text only records whose title/abstract outcome is include or maybe have one.
The exclusion reason that goes with an outcome is the resolution's, else the
reviewers' when they agree on it (one who gave none does not count against it), else
each reviewer's reason, in alphabetical order, joined by "; " (:func:`joined_reasons`).

Every page, command, export and search asks this module, and this module alone, what
a record's outcome is. So that asking is cheap at any size, the outcome of every
record someone has decided is kept in ``stage_outcome`` (one row per record and
stage), rewritten by :func:`refresh` in the same transaction as each decision, undo,
resolution, change of screening mode and restore. Nothing else writes that table, and
:func:`refresh` without record ids rebuilds a review's rows from the decisions, so the
table can always be checked against, or rebuilt from, the rows it is derived from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from litreview.errors import Invalid
from litreview.models import Decision, Record, Resolution, Review, StageOutcome
from litreview.models.screening import DECISIONS, STAGES

TITLE_ABSTRACT, FULL_TEXT = STAGES
# The title/abstract outcomes that send a record on to full-text screening.
PASSES = ("include", "maybe")
CONFLICT = "conflict"
PENDING = "pending"
# Every outcome a record can have at a stage, "pending" being none yet.
OUTCOMES = (*DECISIONS, CONFLICT, PENDING)
REASON_SEPARATOR = "; "
# Decisions as small integers: user_id * 4 + code says "who decided what" in one value.
CODE = {decision: n for n, decision in enumerate(DECISIONS)}
_CHUNK = 500


def check_stage(stage: str) -> None:
    """Raise Invalid unless ``stage`` is one of STAGES."""
    if stage not in STAGES:
        raise Invalid(f"stage {stage!r}: choose {' or '.join(STAGES)}")


def needed(review: Review) -> int:
    """How many reviewers must decide a record: one, or two in blind dual mode."""
    return 2 if review.screening_mode == "dual" else 1


@dataclass(frozen=True)
class Vote:
    """One reviewer's current decision at a stage."""

    user_id: int
    decision: str
    reason: str | None
    alone: bool = False  # settles the record by itself (``Decision.settled_alone``)


@dataclass(frozen=True)
class StageState:
    """What a record's outcome at a stage is made of, and the outcome itself."""

    outcome: str | None  # include / exclude / maybe / conflict; None: not yet
    reason: str | None
    votes: int  # reviewers' current decisions
    resolved: bool
    pair: tuple[int, int] | None  # with exactly two votes: (a, b) as user_id * 4 + code


def outcome_of(
    votes: Sequence[Vote], resolution: tuple[str, str | None] | None, need: int
) -> tuple[str | None, str | None]:
    """(outcome, exclusion reason) from the current decisions and resolution: the rule."""
    if resolution is not None:
        decision, reason = resolution
        return decision, reason if decision == "exclude" else None
    if not votes or (len(votes) < need and not (len(votes) == 1 and votes[0].alone)):
        return None, None
    decisions = {v.decision for v in votes}
    if len(decisions) > 1:
        return CONFLICT, None
    [decision] = decisions
    if decision != "exclude":
        return decision, None
    return decision, joined_reasons(v.reason for v in votes)


def joined_reasons(reasons: Iterable[str | None]) -> str | None:
    """The exclusion reason of reviewers who all excluded: theirs when they agree, else
    each one (alphabetical, case aside, so the same two reasons always read alike)
    joined by "; "; None when none gave one."""
    distinct = sorted({r for r in reasons if r}, key=lambda r: (r.casefold(), r))
    return REASON_SEPARATOR.join(distinct) or None


def _state(votes: Sequence[Vote], resolution: tuple[str, str | None] | None, need: int):
    outcome, reason = outcome_of(votes, resolution, need)
    pair = None
    if len(votes) == 2:
        a, b = sorted(v.user_id * 4 + CODE[v.decision] for v in votes)
        pair = (a, b)
    return StageState(outcome, reason, len(votes), resolution is not None, pair)


def states_of(
    review: Review,
    votes: dict[str, list[Vote]],
    resolutions: dict[str, tuple[str, str | None]],
) -> dict[str, StageState]:
    """A record's state at each stage that has one, from its current rows by stage.

    Full text only once title/abstract let the record through.
    """
    need = needed(review)
    found: dict[str, StageState] = {}
    for stage in STAGES:
        if stage == FULL_TEXT:
            passed = found.get(TITLE_ABSTRACT)
            if passed is None or passed.outcome not in PASSES:
                break
        if votes.get(stage) or stage in resolutions:
            found[stage] = _state(votes.get(stage, []), resolutions.get(stage), need)
    return found


# ------------------------------------------------------------------ keeping the table


def _current_rows(session: Session, review: Review, record_ids: list[int] | None):
    """Per record: its current votes and resolutions by stage (one query per chunk)."""
    votes: dict[int, dict[str, list[Vote]]] = defaultdict(lambda: defaultdict(list))
    resolutions: dict[int, dict[str, tuple[str, str | None]]] = defaultdict(dict)
    chunks: Iterable[list[int] | None] = (
        [None]
        if record_ids is None
        else [record_ids[i : i + _CHUNK] for i in range(0, len(record_ids), _CHUNK)]
    )
    d, r = Decision, Resolution
    for chunk in chunks:
        parts = []
        for model, kind in ((d, 0), (r, 1)):
            where = [model.review_id == review.id, model.current.is_(True)]
            if chunk is not None:
                where.append(model.record_id.in_(chunk))
            parts.append(
                sa.select(
                    model.record_id,
                    model.stage,
                    model.user_id,
                    model.decision,
                    model.reason,
                    (model.settled_alone if model is d else sa.false()).label("alone"),
                    sa.literal(kind).label("kind"),
                    model.id,
                ).where(*where)
            )
        rows = session.execute(sa.union_all(*parts).order_by("kind", "id"))
        for record_id, stage, user_id, decision, reason, alone, kind, _id in rows:
            if kind == 0:
                votes[record_id][stage].append(Vote(user_id, decision, reason, bool(alone)))
            else:
                resolutions[record_id][stage] = (decision, reason)  # the newest wins
    return votes, resolutions


def refresh(session: Session, review: Review, record_ids: Iterable[int] | None = None) -> None:
    """Rewrite the kept outcomes of these records (None: every record of the review)
    from their current decisions and resolutions. Flushes; the caller commits."""
    session.flush()
    ids = None if record_ids is None else sorted(set(record_ids))
    if ids == []:
        return
    votes, resolutions = _current_rows(session, review, ids)
    rows = []
    for record_id in sorted(set(votes) | set(resolutions)):
        for stage, state in states_of(review, votes[record_id], resolutions[record_id]).items():
            rows.append(
                {
                    "record_id": record_id,
                    "stage": stage,
                    "review_id": review.id,
                    "outcome": state.outcome,
                    "reason": state.reason,
                    "votes": state.votes,
                    "resolved": state.resolved,
                    "pair_a": state.pair[0] if state.pair else None,
                    "pair_b": state.pair[1] if state.pair else None,
                }
            )
    table = StageOutcome.__table__
    if ids is None:
        session.execute(sa.delete(table).where(table.c.review_id == review.id))
    else:
        for start in range(0, len(ids), _CHUNK):
            session.execute(
                sa.delete(table).where(table.c.record_id.in_(ids[start : start + _CHUNK]))
            )
    if rows:
        session.execute(sa.insert(table), rows)


# ------------------------------------------------------------------ asking it


def live(review: Review) -> list[sa.ColumnElement[bool]]:
    """Conditions on ``Record``: the review's records that are screened, exported and
    counted (not merged away, not withdrawn); :func:`not_screened` is the rest."""
    return [
        Record.review_id == review.id,
        Record.merged_into_id.is_(None),
        Record.withdrawn_at.is_(None),
    ]


def unscreened(review: Review) -> sa.Select:
    """SELECT of the review's records that are not screened: merged away or withdrawn."""
    return sa.select(Record.id).where(
        Record.review_id == review.id,
        sa.or_(Record.merged_into_id.is_not(None), Record.withdrawn_at.is_not(None)),
    )


def outcome_at(session: Session, review: Review, record_id: int, stage: str) -> str | None:
    """One record's outcome at ``stage`` (None: none yet). One query."""
    check_stage(stage)
    o = StageOutcome
    return session.scalar(sa.select(o.outcome).where(o.record_id == record_id, o.stage == stage))


@dataclass(frozen=True)
class Outcome:
    """A record's outcome at a stage with the exclusion reason that goes with it."""

    decision: str  # include / exclude / maybe / conflict
    reason: str | None


def _decided_rows(session: Session, review: Review, stage: str):
    check_stage(stage)
    o = StageOutcome
    return session.execute(
        sa.select(o.record_id, o.outcome, o.reason)
        .join(Record, Record.id == o.record_id)
        .where(o.review_id == review.id, o.stage == stage, o.outcome.is_not(None), *live(review))
    )


def outcomes_at(session: Session, review: Review, stage: str) -> dict[int, str]:
    """Every live record's outcome at ``stage``; records without one are left out."""
    return {
        record_id: outcome for record_id, outcome, _reason in _decided_rows(session, review, stage)
    }


def not_screened(review: Review, *also: sa.ColumnElement) -> sa.CompoundSelect:
    """SELECT of the ids of the review's records merged away or withdrawn (and where the
    columns ``also`` are set), each part read from an index on (review_id, column), never
    from the records themselves: few ids, cheap to leave out with NOT IN."""
    columns = (Record.merged_into_id, Record.withdrawn_at, *also)
    return sa.union_all(
        *(
            sa.select(Record.id).where(Record.review_id == review.id, c.is_not(None))
            for c in columns
        )
    )


def outcome_counts(session: Session, review: Review, stage: str) -> dict[str, int]:
    """How many live records have each outcome at ``stage`` (one GROUP BY over the kept
    outcomes' index, the few records not screened left out by id)."""
    check_stage(stage)
    o = StageOutcome
    rows = session.execute(
        sa.select(o.outcome, sa.func.count())
        .where(
            o.review_id == review.id,
            o.stage == stage,
            o.outcome.is_not(None),
            o.record_id.not_in(not_screened(review)),
        )
        .group_by(o.outcome)
    )
    return {outcome: count for outcome, count in rows}


def outcomes_with_reasons(session: Session, review: Review, stage: str) -> dict[int, Outcome]:
    """As :func:`outcomes_at`, each with its exclusion reason (for exports)."""
    return {
        record_id: Outcome(outcome, reason)
        for record_id, outcome, reason in _decided_rows(session, review, stage)
    }


def latest_outcomes(session: Session, review: Review, record_ids: Iterable[int]) -> dict[int, str]:
    """Per record: its outcome at the furthest stage that has one, else ``pending``."""
    ids = sorted(set(record_ids))
    found = dict.fromkeys(ids, PENDING)
    o = StageOutcome
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            sa.select(o.record_id, o.stage, o.outcome).where(
                o.record_id.in_(ids[start : start + _CHUNK]), o.outcome.is_not(None)
            )
        )
        for record_id, _stage, outcome in sorted(rows, key=lambda r: STAGES.index(r[1])):
            found[record_id] = outcome
    return found


def went_on_to_full_text(review: Review) -> sa.Select:
    """SELECT of the records whose title/abstract outcome sends them on to full text."""
    o = StageOutcome
    return sa.select(o.record_id).where(
        o.review_id == review.id, o.stage == TITLE_ABSTRACT, o.outcome.in_(PASSES)
    )


def ids_with_outcome(review: Review, outcome: str, stage: str | None = None) -> sa.Select:
    """SELECT of the live records whose outcome is ``outcome`` (``pending``: none yet).

    At ``stage``, or with no stage at the furthest stage that has one (a record
    included at title/abstract and excluded at full text counts as excluded). Pending
    at full text: records that went on to full text and have no outcome there yet (a
    report marked not retrievable is not pending: it will not be screened).
    """
    o, later = StageOutcome, aliased(StageOutcome, name="later")
    ours = o.review_id == review.id
    if outcome == PENDING:
        if stage == FULL_TEXT:
            went_on = went_on_to_full_text(review)
            done = sa.select(later.record_id).where(
                later.review_id == review.id, later.stage == FULL_TEXT, later.outcome.is_not(None)
            )
            return sa.select(Record.id).where(
                *live(review),
                Record.not_retrievable_at.is_(None),
                Record.id.in_(went_on),
                Record.id.not_in(done),
            )
        done = sa.select(o.record_id).where(ours, o.outcome.is_not(None))
        if stage is not None:
            done = done.where(o.stage == stage)
        return sa.select(Record.id).where(*live(review), Record.id.not_in(done))
    if stage is not None:
        chosen = sa.select(o.record_id).where(ours, o.stage == stage, o.outcome == outcome)
    else:
        at_full_text = sa.select(o.record_id).where(
            ours, o.stage == FULL_TEXT, o.outcome == outcome
        )
        only_title_abstract = sa.select(o.record_id).where(
            ours,
            o.stage == TITLE_ABSTRACT,
            o.outcome == outcome,
            ~sa.exists().where(
                later.record_id == o.record_id,
                later.stage == FULL_TEXT,
                later.outcome.is_not(None),
            ),
        )
        chosen = sa.union(at_full_text, only_title_abstract)
    return sa.select(Record.id).where(*live(review), Record.id.in_(chosen))


def record_ids_with(
    session: Session, review: Review, outcome: str, stage: str | None = None
) -> set[int]:
    """The ids of :func:`ids_with_outcome`, as a set (for filtering a search)."""
    return set(session.scalars(ids_with_outcome(review, outcome, stage)))


def record_ids_decided(session: Session, review: Review, stage: str) -> set[int]:
    """The ids of the live records that have an outcome at ``stage``."""
    o = StageOutcome
    chosen = sa.select(o.record_id).where(
        o.review_id == review.id, o.stage == stage, o.outcome.is_not(None)
    )
    return set(session.scalars(sa.select(Record.id).where(*live(review), Record.id.in_(chosen))))
