"""Screening progress and agreement: counts per stage, per source, Cohen's kappa per pair.

Everything comes from a fixed handful of GROUP BY queries whatever the number of
records: the kept outcomes (:mod:`litreview.screening.outcomes`) grouped by what
matters (stage, outcome, reason, who decided what), so the dashboard of a
50,000-record review reads a few hundred rows, not one per record.

The result is kept per review in this process and reused while the review's audit log
has not moved: every change that moves these numbers (a decision, an undo, a
resolution, an import, a merge, a setting) appends an audit entry in the same
transaction, so the newest entry's id and time say whether anything changed.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.models import (
    AuditEntry,
    Decision,
    ImportBatch,
    Merge,
    Record,
    RecordSource,
    Resolution,
    Review,
    StageOutcome,
    User,
)
from litreview.models.screening import DECISIONS, STAGES
from litreview.screening.agreement import agreement, crowded_pairs
from litreview.screening.outcomes import (
    CONFLICT,
    FULL_TEXT,
    PASSES,
    TITLE_ABSTRACT,
    unscreened,
    went_on_to_full_text,
)
from litreview.screening.sql import current

NO_REASON = "(no reason given)"
# Up to this many merged/withdrawn records are left out by listing their ids.
MAX_LISTED = 5000
_cache: dict[tuple[str, int], tuple[tuple[Any, ...], dict[str, Any]]] = {}
_library_cache: dict[tuple[str, int], tuple[tuple[Any, ...], _Library]] = {}
# The audit actions that move screening's numbers only (see ``_library_numbers``).
SCREENING_ACTIONS = ("screen.decide", "screen.imported", "screen.undo", "screen.resolve")
_cache_lock = threading.Lock()


def decided_count(session: Session, review: Review, user: User, stage: str) -> int:
    """How many records ``user`` has a current decision on at ``stage`` (undone and
    replaced decisions not counted): one query."""
    return session.scalar(
        sa.select(sa.func.count(Decision.id)).where(
            Decision.review_id == review.id,
            Decision.stage == stage,
            Decision.user_id == user.id,
            current(Decision),
        )
    )


def decided_by_person(session: Session, review: Review) -> dict[int, dict[str, Any]]:
    """What each person decided in the review, by user id: per stage, how many records
    they have a current decision on (undone and replaced ones not counted, nor records
    merged away or withdrawn, as on the dashboard) in all and per decision; how many
    conflicts they resolved; when they last decided or resolved. Two queries.

    ``{user_id: {"title_abstract": {"records": 12, "include": 7, "exclude": 4,
    "maybe": 1}, "full_text": {...}, "resolved": 2, "last": datetime}}``
    """
    live = (Record.merged_into_id.is_(None), Record.withdrawn_at.is_(None))
    people: dict[int, dict[str, Any]] = {}

    def person(user_id: int) -> dict[str, Any]:
        if user_id not in people:
            people[user_id] = {
                **{stage: dict.fromkeys(("records", *DECISIONS), 0) for stage in STAGES},
                "resolved": 0,
                "last": None,
            }
        return people[user_id]

    def later(found: dict[str, Any], at: Any) -> None:
        if at is not None and (found["last"] is None or at > found["last"]):
            found["last"] = at

    decided = session.execute(
        sa.select(
            Decision.user_id,
            Decision.stage,
            Decision.decision,
            sa.func.count(Decision.id),
            sa.func.max(Decision.created_at),
        )
        .join(Record, sa.and_(Record.id == Decision.record_id, *live))
        .where(Decision.review_id == review.id, current(Decision))
        .group_by(Decision.user_id, Decision.stage, Decision.decision)
    )
    for user_id, stage, decision, records, last in decided:
        found = person(user_id)
        found[stage][decision] += records
        found[stage]["records"] += records
        later(found, last)
    resolved = session.execute(
        sa.select(
            Resolution.user_id, sa.func.count(Resolution.id), sa.func.max(Resolution.created_at)
        )
        .join(Record, sa.and_(Record.id == Resolution.record_id, *live))
        .where(Resolution.review_id == review.id, current(Resolution))
        .group_by(Resolution.user_id)
    )
    for user_id, records, last in resolved:
        found = person(user_id)
        found["resolved"] += records
        later(found, last)
    return people


def _empty_stage() -> dict[str, Any]:
    return {
        "eligible": 0,
        "screened": 0,
        "remaining": 0,
        "in_progress": 0,
        "included": 0,
        "excluded": 0,
        "maybe": 0,
        "conflicts": 0,
        "resolved": 0,
        "excluded_by_reason": Counter(),
    }


_KEYS = {"include": "included", "exclude": "excluded", "maybe": "maybe", CONFLICT: "conflicts"}


def _add(
    counts: dict[str, Any],
    outcome: str | None,
    reason: str | None,
    started: bool,
    resolved: bool,
    n: int,
) -> None:
    counts["eligible"] += n
    if resolved:
        counts["resolved"] += n
    if outcome is None:
        if started:  # some reviewers decided, not yet as many as the mode needs
            counts["in_progress"] += n
        return
    counts["screened"] += n
    counts[_KEYS[outcome]] += n
    if outcome == "exclude":
        counts["excluded_by_reason"][reason or NO_REASON] += n


@dataclass(frozen=True)
class _Library:
    """What the dashboard needs of the library: it changes with imports, merges and
    withdrawals, not with decisions, so it is kept apart (see ``stats``)."""

    dead_ids: list[int]  # merged away or withdrawn: not screened
    live: int
    unretrieved_ids: list[int]  # live records whose report was marked not retrievable
    sources: list[dict[str, Any]]
    merged: int


def _library(session: Session, review: Review) -> _Library:
    # The few records not screened (merged away, withdrawn), found in one pass, so the
    # big query leaves them out by id instead of joining every record; with them the few
    # whose report was marked not retrievable.
    rows = session.execute(
        sa.select(
            Record.id,
            Record.merged_into_id,
            Record.withdrawn_at.is_not(None),
            Record.not_retrievable_at.is_not(None),
        ).where(
            Record.review_id == review.id,
            sa.or_(
                Record.merged_into_id.is_not(None),
                Record.withdrawn_at.is_not(None),
                Record.not_retrievable_at.is_not(None),
            ),
        )
    ).all()
    dead = [(rid, into) for rid, into, withdrawn, _ in rows if into is not None or withdrawn]
    unretrieved = [
        rid for rid, into, withdrawn, marked in rows if marked and not withdrawn and into is None
    ]
    unmerged = session.scalar(
        sa.select(sa.func.count(Record.id)).where(
            Record.review_id == review.id, Record.merged_into_id.is_(None)
        )
    )
    merged = session.scalar(
        sa.select(sa.func.count(Merge.id)).where(
            Merge.review_id == review.id, Merge.undone_at.is_(None)
        )
    )
    return _Library(
        dead_ids=[record_id for record_id, _merged_into in dead],
        unretrieved_ids=unretrieved,
        live=unmerged - sum(1 for _id, merged_into in dead if merged_into is None),
        sources=_sources(session, review),
        merged=merged or 0,
    )


def _progress(
    session: Session, review: Review, library: _Library
) -> tuple[dict[str, dict[str, Any]], Counter, bool]:
    """Per-stage counts, kappa cells from two-reviewer records, and a flag.

    Kappa cells: (stage, user a, user b, decision a, decision b) -> records. The flag
    says some record has more than two reviewers at a stage (see ``agreement.crowded_pairs``).
    """
    dead_ids, live = library.dead_ids, library.live
    o = StageOutcome
    where = [o.review_id == review.id]
    if dead_ids:
        where.append(
            o.record_id.not_in(dead_ids if len(dead_ids) <= MAX_LISTED else unscreened(review))
        )
    columns = [o.stage, o.outcome, o.reason, o.votes, o.resolved, o.pair_a, o.pair_b]
    # The kept outcomes grouped by what the dashboard shows: a few hundred rows.
    query = sa.select(*columns, sa.func.count()).where(*where).group_by(*columns)
    stages = {stage: _empty_stage() for stage in STAGES}
    touched = Counter()
    cells: Counter = Counter()
    crowded = False
    for stage, outcome, reason, votes, resolved, a, b, records in session.execute(query):
        touched[stage] += records
        # Agreement is about the reviewers' own decisions, whatever came of them.
        if votes == 2 and a is not None:
            cells[stage, a // 4, b // 4, a % 4, b % 4] += records
        crowded = crowded or votes > 2
        _add(stages[stage], outcome, reason, votes > 0, resolved, records)
    # Records nobody has decided yet at a stage.
    _add(stages[TITLE_ABSTRACT], None, None, False, False, live - touched[TITLE_ABSTRACT])
    passed = sum(stages[TITLE_ABSTRACT][_KEYS[p]] for p in PASSES)
    # Reports sought but not retrieved (PRISMA 2020) are not screened at full text.
    unretrieved = _unretrieved(session, review, library.unretrieved_ids)
    stages[FULL_TEXT]["not_retrieved"] = unretrieved
    _add(stages[FULL_TEXT], None, None, False, False, passed - touched[FULL_TEXT] - unretrieved)
    for counts in stages.values():
        counts["remaining"] = counts["eligible"] - counts["screened"]
        counts["excluded_by_reason"] = dict(sorted(counts["excluded_by_reason"].items()))
    return stages, cells, crowded


def _unretrieved(session: Session, review: Review, marked: list[int]) -> int:
    """How many of the ``marked`` records went on to full text and were not assessed
    there: the reports not retrieved (a query only when some record is marked)."""
    if not marked:
        return 0
    o = StageOutcome
    return (
        session.scalar(
            sa.select(sa.func.count()).where(
                sa.and_(
                    Record.id.in_(marked),
                    Record.id.in_(went_on_to_full_text(review)),
                    ~sa.exists().where(o.record_id == Record.id, o.stage == FULL_TEXT),
                )
            )
        )
        or 0
    )


def _sources(session: Session, review: Review) -> list[dict[str, Any]]:
    """Per import: its file and label, the entries it holds now, the records they are on."""
    query = (
        sa.select(
            ImportBatch.id,
            ImportBatch.file_name,
            ImportBatch.source_label,
            ImportBatch.format,
            ImportBatch.created_at,
            sa.func.count(RecordSource.id),
            sa.func.count(sa.distinct(RecordSource.record_id)),
        )
        .outerjoin(RecordSource, RecordSource.batch_id == ImportBatch.id)
        .where(ImportBatch.review_id == review.id)
        .group_by(
            ImportBatch.id,
            ImportBatch.file_name,
            ImportBatch.source_label,
            ImportBatch.format,
            ImportBatch.created_at,
        )
        .order_by(ImportBatch.id)
    )
    return [
        {
            "batch": batch_id,
            "file": file_name,
            "source": label,
            "format": fmt,
            "imported_at": created_at.isoformat() if created_at else None,
            "entries": entries,
            "records": records,
        }
        for batch_id, file_name, label, fmt, created_at, entries, records in session.execute(query)
    ]


def _version(session: Session, review: Review) -> tuple[Any, ...]:
    """What identifies the review's state: its newest audit entry (id and time)."""
    newest = session.execute(
        sa.select(AuditEntry.id, AuditEntry.at)
        .where(AuditEntry.review_id == review.id)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    ).first()
    # The time as well as the id: SQLite hands a rolled-back id out again.
    return (review.created_at, review.screening_mode, *(newest or ()))


def _library_numbers(session: Session, review: Review, key: Any, fresh: bool) -> _Library:
    """The library's numbers, reused while no audit entry but screening's was written
    since: a decision, an undo or a resolution moves none of them."""
    newest = session.execute(
        sa.select(AuditEntry.id, AuditEntry.at)
        .where(AuditEntry.review_id == review.id, AuditEntry.action.not_in(SCREENING_ACTIONS))
        .order_by(AuditEntry.id.desc())
        .limit(1)
    ).first()
    version = (review.created_at, *(newest or ()))
    if not fresh:
        with _cache_lock:
            cached = _library_cache.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
    library = _library(session, review)
    with _cache_lock:
        _library_cache[key] = (version, library)
    return library


def stats(session: Session, review: Review, *, fresh: bool = False) -> dict[str, Any]:
    """The review's dashboard numbers, as one JSON-ready dict (a copy: change it freely).

    ``stages``: per stage, ``eligible`` records (title/abstract: every live record;
    full text: those whose title/abstract outcome is include or maybe, less the reports
    marked not retrievable, counted as ``not_retrieved``), ``screened``
    (with an outcome: included + excluded + maybe + conflicts), ``remaining``
    (eligible - screened), ``in_progress`` (some but not all of the reviewers the mode
    needs have decided; part of remaining), ``resolved`` conflicts, and
    ``excluded_by_reason``. ``agreement``: per stage, Cohen's kappa for each pair of
    reviewers over the records both decided, with the 3x3 table behind it (rows: the
    first reviewer, columns: the second; include, exclude, maybe). ``sources``: per
    import, its entries and the records they are on. ``duplicates_merged``: merges not
    undone (on import and by hand).

    Eight queries (nine when some record has more than two reviewers at a stage),
    whatever the number of records; four when only screening changed since the last
    call in this process (the library's numbers are kept), one while nothing changed,
    unless ``fresh``.
    """
    key = (str(session.get_bind().url), review.id)
    version = _version(session, review)
    if not fresh:
        with _cache_lock:
            cached = _cache.get(key)
        if cached is not None and cached[0] == version:
            return copy.deepcopy(cached[1])
    library = _library_numbers(session, review, key, fresh)
    stages, cells, crowded = _progress(session, review, library)
    if crowded:
        crowded_pairs(session, review, cells)
    result = {
        "review": review.slug,
        "mode": review.screening_mode,
        "records": library.live,
        "duplicates_merged": library.merged,
        "sources": library.sources,
        "stages": stages,
        "agreement": agreement(session, cells),
    }
    with _cache_lock:
        _cache[key] = (version, result)
    return copy.deepcopy(result)
