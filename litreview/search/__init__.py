"""Full-text search of a review: records, their full texts by page, review questions.

The index is derived from the database and can always be rebuilt from it. What the
rest of litreview uses:

* :func:`open_backend` - the data folder's index behind :class:`SearchBackend`;
* :func:`search_review` and :func:`suggest_for_question` - domain operations;
* :func:`sync_after_commit` - call after a command or request commits, to apply the
  outbox (cheap when nothing is queued); :func:`catch_up` is the same with a session
  factory, for the web app's start;
* :func:`rebuild` - ``litreview reindex``.

The listener that fills the outbox is installed by the session factory
(:func:`litreview.db.make_session_factory`), not by importing this package.
"""

from __future__ import annotations

import atexit
import logging
import threading
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from litreview.config import Settings
from litreview.search import outbox
from litreview.search.backend import IndexBusy, SearchBackend, SearchFilters, SearchResult
from litreview.search.outbox import (
    CATCH_UP_LIMIT,
    apply_outbox,
    pending_count,
    pending_in_review,
    queue_records,
    rebuild,
)

log = logging.getLogger(__name__)

# Searching a review (its filters read screening and the tags) lives in
# litreview.search.finding, loaded on first use: the session factory imports this
# package for the outbox, and a command that never searches should not pay for it.
_FINDING = {"DECISION_VALUES", "MAX_LIMIT", "parse_years", "search_review", "suggest_for_question"}


def __getattr__(name: str):
    if name in _FINDING:
        from litreview.search import finding

        return getattr(finding, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CATCH_UP_LIMIT",
    "DECISION_VALUES",
    "IndexBusy",
    "SearchBackend",
    "SearchFilters",
    "SearchResult",
    "apply_outbox",
    "catch_up",
    "open_backend",
    "parse_years",
    "pending_count",
    "pending_in_review",
    "queue_records",
    "rebuild",
    "search_review",
    "suggest_for_question",
    "sync_after_commit",
]


_shared: SearchBackend | None = None
_shared_key: tuple | None = None
_shared_lock = threading.Lock()


def open_backend(settings: Settings) -> SearchBackend:
    """The search backend ``settings.search`` names (LITREVIEW_SEARCH): a tantivy or
    Whoosh index in the data folder (made on first write), or PostgreSQL's own.

    The same backend is handed out again while the settings stay the same, so a web
    worker keeps its searchers open between requests; other settings close it.
    """
    # Imported here: an engine loads only when it is used, not for every command or
    # session factory that imports this package.
    global _shared, _shared_key
    key = (settings.search, Path(settings.index_dir), settings.database_url)
    with _shared_lock:
        if _shared is None or _shared_key != key:
            if _shared is not None:
                _shared.close()
            _shared = _make_backend(settings)
            _shared_key = key
        return _shared


def _make_backend(settings: Settings) -> SearchBackend:
    if settings.search == "postgres":
        from litreview.search.postgres_backend import PostgresBackend

        return PostgresBackend()
    if settings.search == "whoosh":
        from litreview.search.whoosh_backend import WhooshBackend

        return WhooshBackend(settings.index_dir / "whoosh")
    from litreview.search.tantivy_backend import TantivyBackend

    return TantivyBackend(settings.index_dir / "tantivy")


@atexit.register
def _close_shared() -> None:
    if _shared is not None:
        _shared.close()


def catch_up(
    session_factory: sessionmaker[Session],
    settings: Settings,
    *,
    timeout: float = 5.0,
    limit: int | None = None,
) -> int:
    """Apply whatever the outbox holds (or about ``limit`` records of it); never raises
    (a failure is logged, rows stay)."""
    try:
        return apply_outbox(session_factory, open_backend(settings), timeout=timeout, limit=limit)
    except IndexBusy as exc:
        log.warning("search index not updated yet: %s", exc)
    except Exception:  # noqa: BLE001 - the database is committed; the index can catch up
        log.exception("search index not updated yet; it catches up on the next run")
    return 0


def sync_after_commit(
    settings: Settings,
    engine: sa.Engine,
    *,
    timeout: float = 5.0,
    bounded: bool = True,
) -> int:
    """Call right after a commit: the committed changes become searchable (when
    ``bounded``, up to about CATCH_UP_LIMIT records of them: what a large import queued
    is left to the web app's indexer thread, `litreview reindex --catch-up` and the
    next commands).

    Never raises: the changes stay in the outbox when the index cannot be updated
    now, and the next command, search or web start applies them.
    """
    limit = outbox.CATCH_UP_LIMIT if bounded else None
    return catch_up(sessionmaker(engine), settings, timeout=timeout, limit=limit)
