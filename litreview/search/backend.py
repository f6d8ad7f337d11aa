"""The search backend: a small interface, so Whoosh could be swapped for another engine.

The rest of litreview talks to :class:`SearchBackend` only: write records' documents
(under a lock shared by every process using the data folder), search one review, say
whether the index exists. :mod:`litreview.search.whoosh_backend` implements it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from litreview.search.documents import RecordDoc


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
    title: str
    year: int | None
    score: float
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
    """``total`` records matched; ``hits`` are the best ``limit`` of them, best first."""

    total: int
    hits: list[Hit]

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "results": [h.to_json() for h in self.hits]}


class IndexWriter(Protocol):
    """Changes to the index, applied together when the writer's block ends without error."""

    def delete_record(self, record_id: int) -> None: ...

    def delete_review(self, review_id: int) -> None: ...

    def add(self, doc: RecordDoc) -> None: ...


class SearchBackend(Protocol):
    """What litreview needs of a full-text search engine."""

    def exists(self) -> bool:
        """Whether an index (of the current schema) is there to search."""
        ...

    def create(self) -> None:
        """Make a new, empty index, replacing any there was."""
        ...

    def writer(self, timeout: float, procs: int = 1) -> AbstractContextManager[IndexWriter]:
        """Hold the write lock (waiting up to ``timeout`` s, else IndexBusy) for a block."""
        ...

    def search(
        self,
        review_id: int,
        text: str,
        filters: SearchFilters,
        limit: int,
        snippets: bool = True,
    ) -> SearchResult:
        """Records of one review matching ``text`` (Invalid if it cannot be read)."""
        ...

    def record_ids(self, review_id: int) -> Iterator[int]:
        """Every record id indexed for a review (to check the index against the database)."""
        ...
