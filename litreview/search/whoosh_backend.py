"""The Whoosh backend: a pure-Python index in the data folder, on Whoosh's public API.

whoosh-reloaded 2.7.5 (installed as ``whoosh``); the schema is in
:mod:`litreview.search.whoosh_schema`, the query tree becomes ``whoosh.query`` objects
in :mod:`litreview.search.whoosh_query`. Review, years and full text are a ``Require``
(they add nothing to the score); the decision and question filters are sets of record
ids, found in the ``record_id`` column and given to Whoosh's ``FilterCollector``. Totals
are exact: the collector scores every match (no block skipping, no matcher pruning)
and counts them.

Writes: one writer at a time (Whoosh's lock file, an OS lock: the kernel lets go of it
when the process dies, ``kill -9`` included). A forked child (a multiprocessing worker,
say) would hold it on after its parent died, so a child closes its copy of a lock held
at the fork. A writer waits ``timeout`` seconds for the lock, else IndexBusy, and the
changes stay in the outbox. Reads never wait: a searcher sees the last commit.
"""

from __future__ import annotations

import os
import shutil
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session
from whoosh import collectors, writing
from whoosh import query as wq
from whoosh.filedb.filestore import FileStorage
from whoosh.index import Index, LockError
from whoosh.searching import Searcher
from whoosh.util.filelock import FileLock, try_for

from litreview.search import query as ql
from litreview.search.backend import Hit, IndexBusy, SearchFilters, SearchResult
from litreview.search.documents import RecordDoc
from litreview.search.whoosh_query import translate
from litreview.search.whoosh_schema import (
    INDEX_NAME,
    INDEX_PREFIX,
    index_words,
    make_schema,
    words_field,
)

PAGE_BREAK = "\n\n"
_DELAY = 0.05  # between two tries for a lock


# ------------------------------------------------------------------------- locking

_HELD: weakref.WeakSet[_ProcessLock] = weakref.WeakSet()


class _ProcessLock(FileLock):
    """Whoosh's file lock, with the holder's process id written in the file (for the
    busy message), and never inherited by a forked child (see :func:`_forget_in_child`)."""

    def acquire(self, blocking: bool = False) -> bool:
        if not super().acquire(blocking):
            return False
        _HELD.add(self)
        if os.name == "posix":  # Windows locks the bytes we would write
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)
        return True

    def release(self) -> None:
        _HELD.discard(self)
        super().release()


def _forget_in_child() -> None:
    # A forked child shares its parent's open lock files, and an OS lock lasts while any
    # process has one open: close the child's copies (only closing: unlocking would
    # release the parent's lock too) so the lock ends with the process that took it.
    for lock in list(_HELD):
        fd, lock.fd, lock.locked = lock.fd, None, False
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


class _Storage(FileStorage):
    """The index folder, with :class:`_ProcessLock` for Whoosh's locks."""

    def lock(self, name: str) -> _ProcessLock:
        return _ProcessLock(os.path.join(self.folder, name))


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except OSError:
        pid = ""
    return f"process {pid} is writing it" if pid.isdigit() else "another process is writing it"


# ------------------------------------------------------------------------- writing


class _Writer:
    """The changes of one write; deletes share one searcher (Whoosh would open one for
    each otherwise). A text is analysed once for its two fields (``index_words``)."""

    def __init__(self, writer) -> None:
        self._w = writer
        self._searcher = writer.searcher()

    def delete_record(self, record_id: int) -> None:
        self._w.delete_by_term("record_id", record_id, searcher=self._searcher)

    def delete_review(self, review_id: int) -> None:
        self._w.delete_by_term("review", str(review_id), searcher=self._searcher)

    def add(self, doc: RecordDoc) -> None:
        fulltext = PAGE_BREAK.join(text for _, text in doc.pages if text.strip())
        values = {
            "title": doc.title,
            "abstract": doc.abstract,
            "author": doc.author,
            "venue": doc.venue,
            "keywords": doc.keywords,
            "fulltext": fulltext,
        }
        fields: dict[str, object] = {
            "review": str(doc.review_id),
            "record_id": doc.record_id,
            "has_fulltext": bool(fulltext),
        }
        for field, value in values.items():
            if value:
                fields[field], fields[words_field(field)] = index_words(value)
        if doc.doi:
            fields["doi"] = doc.doi.lower()
        if doc.year is not None:
            fields["year"] = doc.year
        self._w.add_document(**fields)


# ----------------------------------------------------------------------- the backend


@dataclass
class _Open:
    """A searcher kept open between searches, and its record ids' document numbers."""

    searcher: Searcher
    docnums: dict[int, list[int]] | None = None

    def docs_of(self, record_ids: frozenset[int]) -> set[int]:
        if self.docnums is None:
            self.docnums = {}
            column = self.searcher.reader().column_reader("record_id")
            for docnum, record_id in enumerate(column):
                self.docnums.setdefault(record_id, []).append(docnum)
        return {d for r in record_ids for d in self.docnums.get(r, ())}


class WhooshBackend:
    """One Whoosh index in ``index_dir``, holding every review of the data folder."""

    name = "whoosh"
    uses_outbox = True

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
        self.schema = make_schema()
        # One open searcher per thread, reopened only when the index has changed:
        # opening one costs more than many a query.
        self._open_searchers: dict[int, _Open] = {}
        self._lock = threading.Lock()
        self._replacing = threading.local()  # .now: create() asked to replace the index

    def close(self) -> None:
        """Close the searchers this backend keeps open."""
        with self._lock:
            opened, self._open_searchers = list(self._open_searchers.values()), {}
        for o in opened:
            o.searcher.close()

    # ------------------------------------------------------------------ the index
    def _storage(self) -> _Storage:
        return _Storage(str(self.index_dir))

    def _index(self) -> Index:
        return self._storage().open_index(INDEX_NAME, schema=self.schema)

    def exists(self) -> bool:
        # A look for the current version's table of contents, without reading it: this
        # runs before every search (to catch up), so it must cost next to nothing.
        return any(self.index_dir.glob(f"_{INDEX_NAME}_*.toc"))

    def create(self, timeout: float = 30.0) -> None:
        """A new, empty index, replacing any there was (and other versions' files).

        An index of this version already there is replaced when this thread's next
        write commits (a rebuild's), in one step: a rebuild killed half-way leaves the
        index it was replacing whole and searchable, not half empty.
        """
        with self._creation(timeout):
            if self.exists():
                self._replacing.now = True
                return
            self._storage().create_index(self.schema, INDEX_NAME)
            self._replacing.now = False
            self._remove_other_versions()

    @contextmanager
    def _creation(self, timeout: float) -> Iterator[None]:
        # Two processes finding no index would both create one; the second would wipe
        # what the first had written. This lock makes them take turns.
        storage = self._storage().create()
        lock = storage.lock(".create.lock")
        self._acquire(lock, timeout)
        try:
            yield
        finally:
            lock.release()

    def _acquire(self, lock: _ProcessLock, timeout: float) -> None:
        if not try_for(lock.acquire, timeout=timeout, delay=_DELAY):
            raise IndexBusy(
                f"the search index is busy: {_holder(Path(lock.filename))} (waited {timeout:g} s)"
            )

    def _remove_other_versions(self) -> None:
        for path in self.index_dir.iterdir():
            name = path.name.lstrip("_")
            current = name.startswith((f"{INDEX_NAME}_", f"{INDEX_NAME}."))
            if name.startswith(INDEX_PREFIX) and not current:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)

    @contextmanager
    def writer(self, timeout: float) -> Iterator[_Writer]:
        """Hold the write lock for a block; commit when it ends, cancel on error.

        Raises IndexBusy when another writer holds the lock for ``timeout`` seconds.
        """
        replacing, self._replacing.now = getattr(self._replacing, "now", False), False
        if not self.exists():
            with self._creation(timeout):
                if not self.exists():
                    self._storage().create_index(self.schema, INDEX_NAME)
        ix = self._index()
        try:
            try:
                w = ix.writer(timeout=timeout, delay=_DELAY)
            except LockError:
                path = self.index_dir / f"{INDEX_NAME}_WRITELOCK"
                raise IndexBusy(
                    f"the search index is busy: {_holder(path)} (waited {timeout:g} s)"
                ) from None
            try:
                yield _Writer(w)
            except BaseException:
                w.cancel()
                raise
            # Replacing: the old segments go in the same commit that adds the new one.
            w.commit(mergetype=writing.CLEAR) if replacing else w.commit()
        finally:
            ix.close()

    def record_ids(self, review_id: int) -> Iterator[int]:
        if not self.exists():
            return
        ix = self._index()
        try:
            with ix.searcher() as s:
                for docnum in s.docs_for_query(wq.Term("review", str(review_id))):
                    yield int(s.stored_fields(docnum)["record_id"])
        finally:
            ix.close()

    # ------------------------------------------------------------------ searching
    @contextmanager
    def _searcher(self) -> Iterator[_Open]:
        thread = threading.get_ident()
        with self._lock:
            opened = self._open_searchers.pop(thread, None)
        if opened is not None:
            try:
                fresh = opened.searcher.up_to_date()
            except Exception:  # noqa: BLE001 - the index was replaced or removed
                fresh = False
            if not fresh:
                opened.searcher.close()
                opened = None
        if opened is None:
            opened = _Open(self._index().searcher())
        try:
            yield opened
        except BaseException:
            opened.searcher.close()
            raise
        with self._lock:
            self._open_searchers[thread] = opened

    def search(
        self,
        session: Session,
        review_id: int,
        query: ql.Node,
        filters: SearchFilters,
        limit: int,
    ) -> SearchResult:
        """The ``limit`` best records of a review, best first, and how many match."""
        if not self.exists():
            self.close()
            return SearchResult(total=0, hits=[])
        with self._searcher() as opened:
            s = opened.searcher
            q = translate(query, s)
            constraint = _constraint(s, review_id, filters)
            if constraint is not None:
                q = wq.Require(q, constraint)
            allow = None if filters.only_ids is None else opened.docs_of(filters.only_ids)
            restrict = opened.docs_of(filters.except_ids) if filters.except_ids else None
            if allow is not None and not allow:
                return SearchResult(total=0, hits=[])
            # Every match scored and counted: no skipping of blocks (or of whole
            # matchers) that cannot reach the top, which would leave the total short.
            collector = collectors.TopCollector(limit, usequality=False, replace=0)
            if allow is not None or restrict:
                collector = collectors.FilterCollector(collector, allow=allow, restrict=restrict)
            s.search_with_collector(q, collector)
            results = collector.results()
            hits = [Hit(record_id=int(hit["record_id"]), score=hit.score) for hit in results]
            return SearchResult(total=len(results), hits=hits)


def _constraint(s: Searcher, review_id: int, filters: SearchFilters) -> wq.Query | None:
    """The review, years and full text as one query that adds nothing to the score."""
    parts: list[wq.Query] = []
    # Most data folders hold one review: then every document has its term, and asking
    # for it would only cost time.
    review = str(review_id)
    if s.doc_frequency("review", review) != s.doc_count_all():
        parts.append(wq.Term("review", review))
    if filters.year_from is not None or filters.year_to is not None:
        parts.append(wq.NumericRange("year", filters.year_from, filters.year_to))
    if filters.has_fulltext is not None:
        parts.append(wq.Term("has_fulltext", filters.has_fulltext))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.And(parts)
