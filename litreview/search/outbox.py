"""Keeping the index in step with the database: the outbox, written with every change.

Any flush that adds, changes or deletes a Record, Attachment or AttachmentPage (what
the index holds: text, see :mod:`litreview.search.documents`) queues its record in
``search_outbox``, in the same transaction: one SQLAlchemy ``after_flush`` listener
does it, so no domain function has to remember. :func:`litreview.db.make_session_factory`
installs it (:func:`install`) on every session factory it makes, the one the web app,
the CLI, scripts and tests all use; nothing is installed by importing a module. A
50,000-record import flushes in chunks; each flush costs one executemany, and a record
already queued in this transaction is not queued again.

After a commit, :func:`apply_outbox` brings the index up to date and deletes the rows
it applied. If the process dies in between, the rows stay, and the next command,
search or web start applies them: the index never silently disagrees with the
database. What the index holds and what the outbox holds make the whole database, at
every moment. A large import leaves most of its records queued: each command and
search applies a bounded number of them (:data:`CATCH_UP_LIMIT`), the web app's
indexer thread the rest, and a search says how many of a review's records are not
searchable yet. If the index is missing (a new data folder, a deleted index, a new
schema version), every record is queued and an empty index made
(:func:`start_over`): it fills up the same way, never in one long wait.

ORM bulk statements that bypass the unit of work (``session.execute(update(Record)
.where(...))``, or with rows by primary key) are seen too: before
they run, the records they touch are selected and queued. Core statements on a
connection are not: call :func:`queue_records` for those.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from itertools import chain

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from litreview.db import insert_many
from litreview.models import (
    Attachment,
    AttachmentPage,
    Record,
    Review,
    SearchOutbox,
    utcnow,
)
from litreview.search.backend import IndexBusy, SearchBackend
from litreview.search.documents import iter_review_docs, load_docs

log = logging.getLogger(__name__)

_QUEUED = "litreview.search.queued"
# In a session factory's info: False when its sessions queue nothing (the backend reads
# the database's rows itself: PostgreSQL); see litreview.db.make_session_factory.
QUEUES = "litreview.search.outbox"
_WITH_RECORD = (Attachment,)
BATCH = 2000
# How many queued records a command or a search applies before it goes on: the rest is
# left to the web app's indexer thread, `litreview reindex --catch-up` or the next run.
CATCH_UP_LIMIT = 2000
Progress = Callable[[int, int], None]  # (done, total)


def _value(obj: object, name: str):
    # The flushed state, without loading anything (a deleted row cannot be loaded).
    state = sa.inspect(obj)
    if name in state.dict:
        return state.dict[name]
    if name == "id" and state.identity:
        return state.identity[0]
    return None


def _after_flush(session: Session, _context) -> None:
    if not session.info.get(QUEUES, True):
        return
    keys: set[tuple[int, int]] = set()
    attachment_ids: set[int] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Record):
            keys.add((_value(obj, "review_id"), _value(obj, "id")))
        elif isinstance(obj, _WITH_RECORD):
            keys.add((_value(obj, "review_id"), _value(obj, "record_id")))
        elif isinstance(obj, AttachmentPage):
            attachment_ids.add(_value(obj, "attachment_id"))
    attachment_ids.discard(None)
    if attachment_ids:
        keys.update(
            session.connection().execute(
                sa.select(Attachment.review_id, Attachment.record_id).where(
                    Attachment.id.in_(attachment_ids)
                )
            )
        )
    queued = session.info.setdefault(_QUEUED, set())
    fresh = [k for k in keys if None not in k and k not in queued]
    if fresh:
        queue_records_now(session, fresh)
        queued.update(fresh)


def queue_records_now(session: Session, keys: Iterable[tuple[int, int]]) -> None:
    """Queue (review id, record id) pairs in this session's transaction, at once."""
    now = utcnow()
    rows = [{"review_id": r, "record_id": i, "queued_at": now} for r, i in sorted(keys)]
    insert_many(session.connection(), SearchOutbox.__table__, rows)


def queue_records(session: Session, review_id: int, record_ids: Iterable[int]) -> None:
    """Queue records changed by statements the listener cannot see (bulk updates, the
    import's Core inserts); nothing when this session's search needs no outbox."""
    if session.info.get(QUEUES, True):
        queue_records_now(session, ((review_id, i) for i in set(record_ids)))


_BULK = {Record: Record.id, **{cls: cls.record_id for cls in _WITH_RECORD}}


def _before_bulk(state) -> None:
    """Bulk UPDATE/DELETE statements skip the unit of work: queue what they will touch."""
    if not (state.is_update or state.is_delete) or not state.all_mappers:
        return
    if not state.session.info.get(QUEUES, True):
        return
    entity = state.all_mappers[0].class_
    record_col = _BULK.get(entity)
    if record_col is None:
        return
    params = state.parameters
    if isinstance(params, list) and params and "id" in params[0]:
        where = entity.id.in_([p["id"] for p in params])  # by primary key, many rows
    elif getattr(state.statement, "whereclause", None) is not None:
        where = state.statement.whereclause
    else:
        return
    session = state.session
    keys = session.connection().execute(sa.select(entity.review_id, record_col).where(where))
    queued = session.info.setdefault(_QUEUED, set())
    fresh = [k for k in {tuple(k) for k in keys} if None not in k and k not in queued]
    if fresh:
        queue_records_now(session, fresh)
        queued.update(fresh)


def _forget(session: Session, *_args) -> None:
    session.info.pop(_QUEUED, None)


def install(session_class: type[Session]) -> None:
    """Make every session of ``session_class`` queue its changes in the outbox
    (idempotent). :func:`litreview.db.make_session_factory` installs it on its own
    session class, not on SQLAlchemy's Session: a session opened some other way queues
    nothing, and the wiring stays where sessions are made."""
    for name, fn in (
        ("after_flush", _after_flush),
        ("do_orm_execute", _before_bulk),
        ("after_commit", _forget),
        ("after_soft_rollback", _forget),
    ):
        if not event.contains(session_class, name, fn):
            event.listen(session_class, name, fn)


# ---------------------------------------------------------------------- applying


def pending_count(session_factory: sessionmaker[Session]) -> int:
    """How many outbox rows wait to be applied."""
    with session_factory() as session:
        return session.scalar(sa.select(sa.func.count(SearchOutbox.id))) or 0


def pending_in_review(session: Session, review_id: int) -> int:
    """How many of a review's records wait in the outbox to be indexed."""
    return (
        session.scalar(
            sa.select(sa.func.count(sa.distinct(SearchOutbox.record_id))).where(
                SearchOutbox.review_id == review_id
            )
        )
        or 0
    )


def apply_outbox(
    session_factory: sessionmaker[Session],
    backend: SearchBackend,
    *,
    timeout: float = 5.0,
    batch: int = BATCH,
    progress: Progress | None = None,
    limit: int | None = None,
    strict: bool = False,
) -> int:
    """Bring the index up to date with every committed change (or with about ``limit``
    records of them, oldest first); returns records applied.

    Never raises for a busy index (unless ``strict``): when the write lock cannot be
    had within ``timeout`` seconds the rows stay for the next run and this returns
    early.
    """
    if not backend.uses_outbox:
        _discard(session_factory)
        return 0
    if not backend.exists():
        start_over(session_factory, backend)
    total = pending_count(session_factory)
    if not total:
        return 0
    applied = 0
    while True:
        size = batch if limit is None else max(1, min(batch, limit - applied))
        try:
            with backend.writer(timeout) as writer, session_factory() as session:
                rows = session.execute(
                    sa.select(SearchOutbox.id, SearchOutbox.record_id)
                    .order_by(SearchOutbox.id)
                    .limit(size)
                ).all()
                if not rows:
                    break
                ids = {r.record_id for r in rows}
                docs = load_docs(session, ids)
                for record_id in sorted(ids):
                    writer.delete_record(record_id)
                for record_id in sorted(docs):
                    writer.add(docs[record_id])
        except IndexBusy as exc:
            if strict:
                raise
            log.warning("%s; %s changes left for the next run", exc, total - applied)
            return applied
        # Only after the index commit: a crash before this line re-applies these rows.
        with session_factory() as session:
            session.execute(
                sa.delete(SearchOutbox).where(SearchOutbox.id.in_([r.id for r in rows]))
            )
            session.commit()
        applied += len(ids)
        if progress:
            progress(min(applied, total), total)
        if len(rows) < size or (limit is not None and applied >= limit):
            break
    return applied


def _discard(session_factory: sessionmaker[Session]) -> None:
    """A backend without an outbox has nothing to catch up: rows that a session made
    without the settings queued (a script's) are dropped, not left to pile up."""
    with session_factory() as session:
        if session.scalar(sa.select(SearchOutbox.id).limit(1)) is not None:
            session.execute(sa.delete(SearchOutbox))
            session.commit()


def rebuild(
    session_factory: sessionmaker[Session],
    backend: SearchBackend,
    *,
    review_id: int | None = None,
    timeout: float = 30.0,
    progress: Progress | None = None,
) -> int:
    """Rebuild one review's documents (or, with no review, the whole index) from the
    database; returns the records indexed. Raises IndexBusy if the lock is not had."""
    if not backend.uses_outbox:  # the database is the index: nothing to rebuild
        _discard(session_factory)
        with session_factory() as session:
            live = sa.select(sa.func.count(Record.id)).where(Record.merged_into_id.is_(None))
            if review_id is not None:
                live = live.where(Record.review_id == review_id)
            return session.scalar(live) or 0
    if not backend.exists():
        # Every record queued first: a rebuild that dies leaves them for the next run.
        start_over(session_factory, backend)
    if review_id is None:
        backend.create()
    with session_factory() as session:
        # Rows queued before this point are covered by the rebuild; later ones are not.
        last = session.scalar(sa.select(sa.func.max(SearchOutbox.id))) or 0
        review_ids = (
            [review_id] if review_id is not None else list(session.scalars(sa.select(Review.id)))
        )
        total = session.scalar(
            sa.select(sa.func.count(Record.id)).where(
                Record.review_id.in_(review_ids), Record.merged_into_id.is_(None)
            )
        )
        done = 0
        with backend.writer(timeout) as writer:
            for rid in review_ids:
                if review_id is not None:
                    writer.delete_review(rid)
                for doc in iter_review_docs(session, rid):
                    writer.add(doc)
                    done += 1
                    if progress and done % 100 == 0:
                        progress(done, total)
    if progress:
        progress(done, total)
    with session_factory() as session:
        stale = sa.delete(SearchOutbox).where(SearchOutbox.id <= last)
        if review_id is not None:
            stale = stale.where(SearchOutbox.review_id == review_id)
        session.execute(stale)
        session.commit()
    log.info("rebuilt the search index: %s records", done)
    return done


def start_over(session_factory: sessionmaker[Session], backend: SearchBackend) -> int:
    """Queue every live record not queued yet, then make an empty index: with the
    outbox it holds the whole database, and is filled as the outbox is applied.
    Returns the records queued."""
    now = utcnow()
    with session_factory() as session:
        queued = sa.select(SearchOutbox.id).where(SearchOutbox.record_id == Record.id)
        result = session.execute(
            sa.insert(SearchOutbox).from_select(
                ["review_id", "record_id", "queued_at"],
                sa.select(Record.review_id, Record.id, sa.literal(now, SearchOutbox.queued_at.type))
                .where(Record.merged_into_id.is_(None), ~queued.exists())
                .order_by(Record.id),
            )
        )
        session.commit()
    backend.create()
    log.info("a new search index: %s records queued to fill it", result.rowcount)
    return result.rowcount
