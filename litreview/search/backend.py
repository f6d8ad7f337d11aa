"""The search backend: what litreview needs of a full-text engine, three engines behind it.

The rest of litreview talks to :class:`SearchBackend` only: search one review for a
parsed query (:mod:`litreview.search.query`), and, for an engine that keeps its own
index beside the database, write records' documents and say whether the index
exists. Three implement it, chosen by ``LITREVIEW_SEARCH``:

* :mod:`litreview.search.tantivy_backend` - the embedded default: a tantivy index in
  the data folder, kept in step through the outbox (:mod:`litreview.search.outbox`);
* :mod:`litreview.search.postgres_backend` - PostgreSQL full-text search: the text is
  searchable in the same transaction that writes it, so it needs no outbox and every
  app server sees the same;
* :mod:`litreview.search.whoosh_backend` - Whoosh, pure Python, on its public API.

A backend answers which records match and how well, and how many match in all;
titles, years, outcomes, questions and snippets come from the database
(:mod:`litreview.search.finding`, :mod:`litreview.search.snippets`), the same for all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from litreview.search.documents import RecordDoc
from litreview.search.query import Node


class IndexBusy(Exception):
    """Another process holds the index's write lock for longer than we would wait."""


@dataclass(frozen=True)
class SearchFilters:
    """Filters that compose with any query (all given ones must hold)."""

    # Record ids read from the database (screening outcomes, question tags): only these,
    # and none of those. None: no such filter.
    only_ids: frozenset[int] | None = None
    except_ids: frozenset[int] | None = None
    year_from: int | None = None
    year_to: int | None = None
    has_fulltext: bool | None = None


@dataclass
class Snippet:
    """A passage that matched: ``text`` is HTML, matched words in ``<b>``, the rest escaped."""

    field: str
    page: int | None
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "page": self.page, "text": self.text}


@dataclass
class Hit:
    """One record found, its best passages, and what the database says of it (its
    outcome as the person may see it, its review questions: filled in by
    :func:`litreview.search.search_review`)."""

    record_id: int
    score: float
    title: str = ""
    year: int | None = None
    questions: list[str] = field(default_factory=list)
    decision: str = "pending"
    snippets: list[Snippet] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.record_id,
            "title": self.title,
            "year": self.year,
            "score": round(self.score, 4),
            "questions": self.questions,
            "decision": self.decision,
            "snippets": [s.to_json() for s in self.snippets],
        }


@dataclass
class SearchResult:
    """``total`` records matched; ``hits`` are the best ``limit`` of them, best first.
    ``not_searchable``: the review's records changed since the index was last brought
    up to date (queued in the outbox), which a search may miss until it catches up.
    ``snippet_pages`` saves the snippets reading every page of every hit."""

    total: int
    hits: list[Hit]
    not_searchable: int = 0
    # The pages (AttachmentPage ids) of the hits' full texts worth reading for their
    # snippets, when the backend knows which match best; None: every page of them.
    snippet_pages: list[int] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "not_searchable": self.not_searchable,
            "results": [h.to_json() for h in self.hits],
        }


class IndexWriter(Protocol):
    """Changes to the index, applied together when the writer's block ends without error."""

    def delete_record(self, record_id: int) -> None: ...

    def delete_review(self, review_id: int) -> None: ...

    def add(self, doc: RecordDoc) -> None: ...


class SearchBackend(Protocol):
    """What litreview needs of a full-text search engine."""

    #: ``tantivy``, ``postgres`` or ``whoosh``: what LITREVIEW_SEARCH names.
    name: str
    #: Whether changes reach it through the outbox (an index beside the database).
    uses_outbox: bool

    def exists(self) -> bool:
        """Whether an index (of the current schema) is there to search."""
        ...

    def create(self) -> None:
        """Make a new, empty index, replacing any there was."""
        ...

    def writer(self, timeout: float) -> AbstractContextManager[IndexWriter]:
        """Hold the write lock (waiting up to ``timeout`` s, else IndexBusy) for a block;
        the changes are committed when the block ends without error."""
        ...

    def search(
        self,
        session: Session,
        review_id: int,
        query: Node,
        filters: SearchFilters,
        limit: int,
    ) -> SearchResult:
        """The ``limit`` best records of one review matching ``query`` and ``filters``,
        best first, with the exact number that match (``total``). Hits carry record id
        and score only; the rest is filled in from the database by the caller."""
        ...

    def record_ids(self, review_id: int) -> Iterator[int]:
        """Every record id indexed for a review (to check the index against the database)."""
        ...

    def close(self) -> None:
        """Let go of open files and searchers."""
        ...
