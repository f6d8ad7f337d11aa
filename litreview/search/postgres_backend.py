"""PostgreSQL full-text search: the database searches its own rows.

Migration 0003 keeps, on PostgreSQL, ``tsvector`` columns GENERATED from the text of
each record field (``search_title``, ``search_keywords``, ``search_abstract``,
``search_author``, ``search_venue``: words stemmed, with positions; each with a
``_words`` twin, unstemmed, for wildcards) and of each page of its full texts
(``search_text``, ``search_words``), each with a GIN index. Whatever writes the text
(the ORM, an import's Core inserts, a restore), its words are searchable in the same
transaction, and every app server sees the same: no index beside the database, no
outbox, nothing to rebuild. :mod:`litreview.search.postgres_query` makes a query's
tree one SQL statement on those columns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.search.backend import Hit, SearchFilters, SearchResult
from litreview.search.documents import RecordDoc
from litreview.search.postgres_query import RECORD, SNIPPET_PAGES, Lexicon, Plan
from litreview.search.query import Node


@contextmanager
def _planned_for_search(session: Session) -> Iterator[None]:
    """Plans that read the GIN indexes, in one process. PostgreSQL's planner counts a
    row's ``@@`` as cheap, so for a word in most rows it would scan the table and read
    every row's vector (out of the row, in TOAST): some 50 times slower than the index;
    and parallel workers cost more to start than such a statement gains from them. Set
    for the statement only (and reset with the transaction in any case)."""
    settings = {"enable_seqscan": "off", "max_parallel_workers_per_gather": "0"}
    before = {
        name: session.execute(
            sa.text("SELECT current_setting(:name), set_config(:name, :value, true)"),
            {"name": name, "value": value},
        ).one()[0]
        for name, value in settings.items()
    }
    yield
    for name, value in before.items():
        session.execute(
            sa.text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value}
        )


def _snippet_pages(rows) -> list[int]:
    """Each hit's pages that hold most of the query's words (then the first ones)."""
    chosen: list[int] = []
    for row in rows:
        counts = Counter(int(page) for page in (row.pages or "").split())
        ranked = sorted(counts, key=lambda page: (-counts[page], page))
        chosen += ranked[:SNIPPET_PAGES]
    return chosen


class _NoWriter:
    """Nothing to write: the database's own rows are what is searched."""

    def delete_record(self, record_id: int) -> None:
        pass

    def delete_review(self, review_id: int) -> None:
        pass

    def add(self, doc: RecordDoc) -> None:
        pass


class PostgresBackend:
    """Search on PostgreSQL's own full-text search (see the module's docstring)."""

    name = "postgres"
    uses_outbox = False

    def __init__(self) -> None:
        self._lexicon = Lexicon()

    def exists(self) -> bool:
        return True  # the generated columns are there from migration 0003 on

    def create(self) -> None:
        """Nothing to make: the columns and indexes are the schema's."""

    @contextmanager
    def writer(self, timeout: float) -> Iterator[_NoWriter]:
        yield _NoWriter()

    def search(
        self,
        session: Session,
        review_id: int,
        query: Node,
        filters: SearchFilters,
        limit: int,
    ) -> SearchResult:
        if filters.only_ids is not None and not filters.only_ids:
            return SearchResult(total=0, hits=[])
        self._lexicon.load(session, query)
        plan = Plan(review_id, filters, self._lexicon)
        statement = plan.statement(query, limit)
        with _planned_for_search(session):
            rows = session.execute(statement).all()
        return SearchResult(
            total=rows[0].total if rows else 0,
            hits=[Hit(r.id, float(r.score)) for r in rows],
            snippet_pages=_snippet_pages(rows) if plan.reads_pages else None,
        )

    def record_ids(self, review_id: int, session: Session | None = None) -> Iterator[int]:
        """The review's live records: every one of them is searchable."""
        if session is None:
            raise TypeError("PostgresBackend.record_ids reads the database: pass its session")
        yield from session.scalars(
            sa.select(RECORD.c.id)
            .where(RECORD.c.review_id == review_id, RECORD.c.merged_into_id.is_(None))
            .order_by(RECORD.c.id)
        )

    def close(self) -> None:
        pass
