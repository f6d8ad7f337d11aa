"""Relevance rankings kept in the database: training them, and what the screening page shows.

A ranking (``screening_ranking`` and its rows in ``screening_rank``) is kept per review,
stage and learner (:func:`.queue.learner_of`: the stage's shared one in single mode, each
reviewer's own in blind dual mode). :func:`retrain` is the one function that writes
them: a plain function of a session factory and plain ids, so the in-process thread of
:mod:`.retraining` runs it today and a job queue can run it tomorrow. It is never called
on a request's path: the screening queue reads the last ranking stored.

What a ranking learns from is :func:`.visibility.decisions_to_learn_from` (include and
maybe count as relevant, exclude as not); what it ranks is what the learner still has
to screen (:func:`.queue.to_screen`); the model is :mod:`.ranking`'s. A retrain is
due (:func:`due`) once the decisions, undos and resolutions at the stage since the
last one reach :data:`.ranking.BATCH` of the decisions it learned from (at least one),
or records were added to the review.

Two retrains of the same ranking at once give one result: the ranking's row is
created once (insert-or-nothing on its unique key), then locked (PostgreSQL; SQLite
has one writer) while its rows are replaced in one transaction, and a retrain that
finds a ranking trained on as much as it saw, or more, leaves it as it is.

Term counts are kept in memory per review (:class:`.ranking.Corpus`), so only the
first retrain in a process reads every title and abstract.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from litreview.models import Decision, RankedRecord, Ranking, Record, Resolution, Review, User
from litreview.models.core import utcnow
from litreview.screening import ranking as model
from litreview.screening.outcomes import PASSES, check_stage
from litreview.screening.queue import to_screen
from litreview.screening.sql import current
from litreview.screening.visibility import decisions_to_learn_from

log = logging.getLogger(__name__)

CORPORA_KEPT = 3  # reviews whose term counts stay in memory
_corpora: OrderedDict[tuple[str, int], tuple[threading.Lock, model.Corpus]] = OrderedDict()
_corpora_lock = threading.Lock()
_INSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


@dataclass(frozen=True)
class Marks:
    """How far a stage's screening has got: what a ranking was trained on."""

    decision: int
    resolution: int
    current: int
    record: int


def marks(session: Session, review: Review, stage: str) -> Marks:
    """The newest decision and resolution at the stage, how many are current, the newest
    record. Three queries."""
    found = []
    for row in (Decision, Resolution):
        newest, live = session.execute(
            sa.select(
                sa.func.coalesce(sa.func.max(row.id), 0),
                sa.func.count(row.id).filter(current(row)),
            ).where(row.review_id == review.id, row.stage == stage)
        ).one()
        found.append((newest, live))
    record = session.scalar(
        sa.select(sa.func.coalesce(sa.func.max(Record.id), 0)).where(Record.review_id == review.id)
    )
    (decision, decided), (resolution, resolved) = found
    return Marks(decision, resolution, decided + resolved, record)


def stored(session: Session, review_id: int, stage: str, learner: int) -> Ranking | None:
    """The ranking stored for this review, stage and learner, if any."""
    return session.scalar(
        sa.select(Ranking).where(
            Ranking.review_id == review_id, Ranking.stage == stage, Ranking.learner == learner
        )
    )


def _changes_since(session: Session, review: Review, stage: str, ranking: Ranking, now: Marks):
    new = 0
    for row, mark in ((Decision, ranking.decision_mark), (Resolution, ranking.resolution_mark)):
        new += session.scalar(
            sa.select(sa.func.count(row.id)).where(
                row.review_id == review.id, row.stage == stage, row.id > mark
            )
        )
    # An undo adds no row: it shows as fewer current decisions.
    return new + max(0, ranking.current_count - now.current)


def _stale(session: Session, review: Review, stage: str, ranking: Ranking, now: Marks) -> bool:
    if now.record > ranking.record_mark:
        return True
    return model.retrain_due(_changes_since(session, review, stage, ranking, now), ranking.labels)


def due(session: Session, review: Review, stage: str, learner: int) -> bool:
    """Whether the ranking should be retrained now (see the module docstring)."""
    check_stage(stage)
    ranking = stored(session, review.id, stage, learner)
    if ranking is None:
        return model.can_train(_labels(session, review, stage, learner).values())
    return _stale(session, review, stage, ranking, marks(session, review, stage))


def _labels(session: Session, review: Review, stage: str, learner: int) -> dict[int, int]:
    learned = decisions_to_learn_from(session, review, stage, learner)
    return {record_id: int(d in PASSES) for record_id, d in learned.items()}


def _corpus_for(session: Session, review: Review) -> tuple[threading.Lock, model.Corpus]:
    key = (session.get_bind().url.render_as_string(hide_password=True), review.id)
    with _corpora_lock:
        if key not in _corpora:
            _corpora[key] = (threading.Lock(), model.Corpus())
            while len(_corpora) > CORPORA_KEPT:
                _corpora.popitem(last=False)
        _corpora.move_to_end(key)
        return _corpora[key]


def kept_megabytes() -> float:
    """The memory the term counts and features kept in this process take, in MB."""
    arrays = {}
    with _corpora_lock:
        for _lock, corpus in _corpora.values():
            for matrix in (corpus.counts, corpus.features):
                if matrix is not None:
                    for array in (matrix.data, matrix.indices, matrix.indptr):
                        arrays[id(array)] = array.nbytes  # shared ones once
    return sum(arrays.values()) / 2**20


def _live(review: Review) -> list[sa.ColumnElement[bool]]:
    return [
        Record.review_id == review.id,
        Record.merged_into_id.is_(None),
        Record.withdrawn_at.is_(None),
    ]


def _live_signature(session: Session, review: Review) -> tuple:
    """What changes whenever a live record is added, edited, merged away or withdrawn:
    one aggregate query, so an unchanged corpus costs no reading of 50,000 stamps."""
    return tuple(
        session.execute(
            sa.select(
                sa.func.count(Record.id),
                sa.func.coalesce(sa.func.sum(Record.id), 0),
                sa.func.max(sa.type_coerce(Record.updated_at, sa.String)),
            ).where(*_live(review))
        ).one()
    )


def _stamps(session: Session, review: Review) -> dict[int, object]:
    """Each live record's change stamp: its update time as stored (not read as a
    datetime: there may be 50,000)."""
    return dict(
        session.execute(
            sa.select(Record.id, sa.type_coerce(Record.updated_at, sa.String)).where(*_live(review))
        ).all()
    )


def _texts(session: Session, ids: list[int]) -> list[str]:
    found: dict[int, str] = {}
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        for record_id, title, abstract in session.execute(
            sa.select(Record.id, Record.title, Record.abstract).where(Record.id.in_(chunk))
        ):
            found[record_id] = model.text_of(title, abstract)
    return [found.get(i, "") for i in ids]


@dataclass(frozen=True)
class Trained:
    """What :func:`retrain` did."""

    ranking_id: int
    labels: int
    ranked: int
    seconds: float


def retrain(
    session_factory: sessionmaker[Session], review_id: int, stage: str, learner: int
) -> Trained | None:
    """Train the ranking of this review, stage and learner if it is due, and store it.

    Returns what was stored, or None when nothing was to be done (not due, nothing to
    learn from yet, the review or learner gone, or another retrain stored as much).
    Commits its own transaction; safe to call from any thread or process.
    """
    check_stage(stage)
    started = time.perf_counter()
    with session_factory() as session:
        review = session.get(Review, review_id)
        if review is None or (learner != 0) != (review.screening_mode == "dual"):
            return None  # the review is gone, or its mode changed since this was asked
        user = session.get(User, learner) if learner else None
        if learner and user is None:
            return None
        ranking = stored(session, review_id, stage, learner)
        now = marks(session, review, stage)  # read first: what follows is at least this new
        if ranking is not None and not _stale(session, review, stage, ranking, now):
            return None
        labels = _labels(session, review, stage, learner)
        if not model.can_train(labels.values()):
            if ranking is not None:  # undone back to one kind: screen in id order again
                session.delete(ranking)
                session.commit()
            return None
        pool = list(session.scalars(to_screen(review, user, stage).order_by(Record.id)))
        lock, corpus = _corpus_for(session, review)
        with lock:
            signature = _live_signature(session, review)
            if signature != corpus.signature:
                corpus.update(_stamps(session, review), lambda ids: _texts(session, ids))
                corpus.signature = signature
            labelled = [i for i in labels if i in corpus.row_of]
            pool = [i for i in pool if i in corpus.row_of]
            y = np.array([labels[i] for i in labelled], dtype=np.int64)
            scores = model.fit_scores(corpus.features, corpus.rows(labelled), y, corpus.rows(pool))
        order = model.order_by_score(scores, np.array(pool, dtype=np.int64))
        rows = list(
            zip(
                np.asarray(pool, dtype=np.int64)[order].tolist(),
                range(len(order)),
                scores[order].astype(float).tolist(),
                strict=True,
            )
        )
        screened = _screened_count(session, review, stage, learner, labels)
        return _store(
            session,
            review_id,
            stage,
            learner,
            now,
            rows,
            labels=len(labelled),
            relevant=int(y.sum()),
            screened=screened,
            started=started,
        )


def _screened_count(session, review, stage, learner, labels) -> int:
    if learner == 0:
        return len(labels)
    return session.scalar(
        sa.select(sa.func.count(Decision.id)).where(
            Decision.review_id == review.id,
            Decision.stage == stage,
            Decision.user_id == learner,
            current(Decision),
        )
    )


def _insert_rows(session: Session, ranking_id: int, rows: list[tuple[int, int, float]]) -> None:
    """Insert a ranking's (record id, position, score) rows through the driver's
    ``executemany``: a third of the time of a Core insert of as many dicts (at 45,000
    rows, a quarter of a second less), which builds each row's parameters in Python."""
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    table = RankedRecord.__table__
    statement = (
        f"INSERT INTO {table.name} (ranking_id, record_id, position, score) "
        f"VALUES ({mark}, {mark}, {mark}, {mark})"
    )
    for start in range(0, len(rows), 5000):
        connection.exec_driver_sql(
            statement, [(ranking_id, *r) for r in rows[start : start + 5000]]
        )


def _store(session, review_id, stage, learner, now: Marks, rows, *, started, **figures):
    """Replace the stored ranking with ``rows`` unless one as new is there (see the module)."""
    dialect = session.get_bind().dialect.name
    insert = _INSERT.get(dialect)
    key = {"review_id": review_id, "stage": stage, "learner": learner}
    blank = {**key, "model": "", "trained_at": utcnow()}
    if insert is not None:
        # The first write: on SQLite it takes the write lock, so what is read next is
        # what other writers committed.
        session.execute(insert(Ranking).values(**blank).on_conflict_do_nothing())
    elif stored(session, review_id, stage, learner) is None:
        session.add(Ranking(**blank))
        session.flush()
    row = session.scalar(
        sa.select(Ranking)
        .filter_by(**key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row.model and (
        row.decision_mark >= now.decision
        and row.resolution_mark >= now.resolution
        and row.record_mark >= now.record
        and row.current_count == now.current
    ):
        session.rollback()  # another retrain stored a ranking trained on as much
        return None
    session.execute(sa.delete(RankedRecord).where(RankedRecord.ranking_id == row.id))
    _insert_rows(session, row.id, rows)
    row.model = model.MODEL_NAME
    row.trained_at = utcnow()
    row.ranked = len(rows)
    row.decision_mark, row.resolution_mark = now.decision, now.resolution
    row.current_count, row.record_mark = now.current, now.record
    for name, value in figures.items():
        setattr(row, name, value)
    row.seconds = time.perf_counter() - started
    session.commit()
    return Trained(row.id, row.labels, row.ranked, row.seconds)
