"""The tantivy index of a data folder (the ``tantivy`` package, 0.27): the embedded default.

One index serves every review of a data folder; each document is one record (what it
holds: :mod:`litreview.search.tantivy_schema`; how a query tree becomes a tantivy
query: :mod:`litreview.search.tantivy_query`). The index answers record ids, scores
(BM25, the title above the rest) and exact totals; snippets are cut from the database.
Each schema version has its own folder, so an index of an older one is never read and
the next run rebuilds (see :func:`litreview.search.outbox.start_over`).

Writing: tantivy lets one writer hold an index at a time, across processes, with an
OS file lock (``flock`` on ``.tantivy-writer.lock``): the kernel lets go of it when a
process dies, even by ``kill -9``, and what that writer had not committed is never
seen (its files are collected at the next commit). :meth:`TantivyBackend.writer`
waits up to its timeout for the lock, then raises IndexBusy; the outbox keeps the
changes for the next run. Searches never wait: a searcher sees the last commit.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import tantivy
from sqlalchemy.orm import Session

from litreview.search.backend import Hit, IndexBusy, SearchFilters, SearchResult
from litreview.search.documents import RecordDoc
from litreview.search.query import Node
from litreview.search.tantivy_query import Translator, years
from litreview.search.tantivy_schema import SCHEMA_VERSION, Layout

log = logging.getLogger(__name__)

# Memory for the words a writer holds before it writes a segment, and its threads: one
# thread on a machine shared with the web app (two cost as much CPU for a build this
# size, and a larger heap saves nothing).
_HEAP_BYTES = 200_000_000
_THREADS = 1
_LOCK_POLL_S = 0.05


class TantivyBackend:
    """A tantivy index in ``index_dir`` (made on first write), behind SearchBackend."""

    name = "tantivy"
    uses_outbox = True

    def __init__(self, index_dir: Path) -> None:
        self.root = Path(index_dir)
        self.path = self.root / f"v{SCHEMA_VERSION}"
        self.layout = Layout()
        self.schema = self.layout.schema
        self._index: tantivy.Index | None = None
        self._lock = threading.Lock()
        # Set by create() for the next writer block of the same thread (a rebuild's): a
        # web worker's indexer thread never starts from empty for another's rebuild.
        self._rebuilding = threading.local()

    # --- the index on disk ------------------------------------------------------------

    def exists(self) -> bool:
        return (self.path / "meta.json").is_file()

    def create(self) -> None:
        """Make an empty index if there is none. If there is one, this thread's next
        writer block starts from empty: what it adds replaces the index in one commit,
        so searches see the old index until then, and a rebuild that dies (or cannot
        have the lock) leaves it as it was."""
        with self._lock:
            self._index = None
            if not self.exists():
                self._make_empty()
            else:
                self._rebuilding.start_empty = True
        for old in [*self.root.glob("v*"), *self.root.glob(".v*-new-*")]:
            if old != self.path and old.is_dir():
                # An index of an older schema, or one a killed process was making.
                shutil.rmtree(old, ignore_errors=True)

    def _make_empty(self) -> None:
        # Made aside and renamed into place: the index folder, once there, is a whole
        # index; of two processes making one at once, one wins and the other's goes.
        self.root.mkdir(parents=True, exist_ok=True)
        aside = Path(tempfile.mkdtemp(prefix=f".{self.path.name}-new-", dir=self.root))
        try:
            tantivy.Index(self.schema, str(aside), reuse=False)
            os.rename(aside, self.path)
        except OSError:
            if not self.exists():
                raise
        finally:
            shutil.rmtree(aside, ignore_errors=True)

    def _opened(self) -> tantivy.Index:
        with self._lock:
            if self._index is None or not self.exists():
                if not self.exists():  # only a writer gets here (see search)
                    self._make_empty()
                index = tantivy.Index.open(str(self.path))
                self.layout.register(index)
                index.config_reader(reload_policy="manual")
                self._index = index
            return self._index

    def close(self) -> None:
        with self._lock:
            self._index = None

    # --- writing ----------------------------------------------------------------------

    @contextmanager
    def writer(self, timeout: float) -> Iterator[_Writer]:
        start_empty = getattr(self._rebuilding, "start_empty", False)
        self._rebuilding.start_empty = False  # whatever happens to this block
        index = self._opened()
        deadline = time.monotonic() + timeout
        while True:
            try:
                raw = index.writer(heap_size=_HEAP_BYTES, num_threads=_THREADS)
                break
            except ValueError as exc:
                if "LockBusy" not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise IndexBusy(
                        f"the search index {self.path} is being written by another process "
                        f"(waited {timeout:g} s)"
                    ) from None
                time.sleep(_LOCK_POLL_S)
        try:
            if start_empty:
                raw.delete_all_documents()
            writer = _Writer(raw, self.layout)
            yield writer
            writer.flush()
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            # Merges started by the commit finish before the lock is let go.
            raw.wait_merging_threads()

    # --- searching --------------------------------------------------------------------

    def _searcher(self) -> tantivy.Searcher:
        index = self._opened()
        index.reload()  # what other processes committed since
        return index.searcher()

    def search(
        self,
        session: Session,
        review_id: int,
        query: Node,
        filters: SearchFilters,
        limit: int,
    ) -> SearchResult:
        if not self.exists() or (filters.only_ids is not None and not filters.only_ids):
            # No index: the search's catch-up could not start one over (see outbox).
            return SearchResult(0, [])
        searcher = self._searcher()
        must = [
            Translator(self.layout, searcher).query(query),
            self._filter(tantivy.Query.term_query(self.schema, "review", review_id)),
        ]
        must_not = []
        if filters.only_ids is not None:
            must.append(self._filter(self._ids(filters.only_ids)))
        if filters.except_ids:
            must_not.append(self._ids(filters.except_ids))
        if filters.year_from is not None or filters.year_to is not None:
            must.append(self._filter(years(self.layout, filters.year_from, filters.year_to)))
        if filters.has_fulltext is not None:
            must.append(
                self._filter(
                    tantivy.Query.term_query(self.schema, "has_fulltext", filters.has_fulltext)
                )
            )
        whole = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, q) for q in must] + [(tantivy.Occur.MustNot, q) for q in must_not]
        )
        found = searcher.search(whole, limit, count=True)
        ids = searcher.fast_field_values("record_id", [address for _, address in found.hits])
        hits = [
            Hit(record_id=int(record_id), score=float(score))
            for (score, _), record_id in zip(found.hits, ids, strict=True)
        ]
        return SearchResult(total=found.count, hits=hits)

    def record_ids(self, review_id: int) -> Iterator[int]:
        if not self.exists():
            return iter(())
        searcher = self._searcher()
        everything = tantivy.Query.term_query(self.schema, "review", review_id)
        total = searcher.search(everything, 1, count=True).count
        if not total:
            return iter(())
        found = searcher.search(everything, total, count=False)
        addresses = [address for _, address in found.hits]
        return iter(sorted(int(i) for i in searcher.fast_field_values("record_id", addresses)))

    def _ids(self, ids: frozenset[int]) -> tantivy.Query:
        return tantivy.Query.term_set_query(self.schema, "record_id", sorted(ids))

    @staticmethod
    def _filter(query: tantivy.Query) -> tantivy.Query:
        # A filter decides what matches, never how well.
        return tantivy.Query.const_score_query(query, 0.0)


class _Writer:
    """Changes to the index, committed when the writer's block ends without error."""

    def __init__(self, raw: tantivy.IndexWriter, layout: Layout) -> None:
        self.raw = raw
        self.layout = layout
        self.schema = layout.schema
        self.deleted: list[int] = []

    def delete_record(self, record_id: int) -> None:
        self.deleted.append(record_id)  # deleted together, before the next add

    def delete_review(self, review_id: int) -> None:
        self.flush()
        self.raw.delete_documents_by_query(
            tantivy.Query.term_query(self.schema, "review", review_id)
        )

    def flush(self) -> None:
        """Delete the records asked for so far (a delete applies to what was added
        before it)."""
        if self.deleted:
            ids, self.deleted = sorted(set(self.deleted)), []
            self.raw.delete_documents_by_query(
                tantivy.Query.term_set_query(self.schema, "record_id", ids)
            )

    def add(self, doc: RecordDoc) -> None:
        if self.deleted:
            self.flush()
        self.raw.add_document(self.layout.document(doc))
