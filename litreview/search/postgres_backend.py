"""PostgreSQL full-text search: the database searches its own rows.

Migration 0003 keeps, on PostgreSQL, ``tsvector`` columns GENERATED from the text of
each record (``search_doc``: title A, keywords B, abstract C, authors D, stemmed;
``search_words``: the same words unstemmed; ``search_venue``) and of each page of its
full texts (``search_text``, ``search_words``), with GIN indexes. Whatever writes the
text (the ORM, an import's Core inserts, a restore), its words are searchable in the
same transaction, and every app server sees the same: no index beside the database,
no outbox, nothing to rebuild.

A query's tree (:mod:`litreview.search.query`) becomes one SQL statement. Each word,
phrase or prefix is the set of record ids it matches, found through a GIN index: in
the record's columns (a field is a weight: ``title:bias`` is ``'bias':A``) and, for
the default fields and ``fulltext:``, page by page (so a phrase never runs from one
page into the next); AND, OR and NOT are INTERSECT, UNION and EXCEPT of those sets.
Index terms come from :func:`litreview.search.analysis.terms` (stemmed, spellings
OR-ed), given to PostgreSQL as a ``tsquery`` value, never as query text to parse.

Ranking: ``ts_rank`` of the record's words with the weights of
:data:`~litreview.search.query.DEFAULT_FIELDS` (a title match above the same match in
an abstract), plus a smaller part for the pages of its full texts that match. The total
is an exact count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY, TSVECTOR
from sqlalchemy.orm import Session

from litreview.search import analysis
from litreview.search.backend import Hit, SearchFilters, SearchResult
from litreview.search.documents import RecordDoc
from litreview.search.query import (
    DEFAULT_FIELDS,
    And,
    Doi,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Term,
    YearRange,
    leaves,
)

# The weight each record field's words carry in search_doc / search_words (migration
# 0003), and what ts_rank counts them for, in its order D, C, B, A: the title 1.0,
# keywords 0.5, abstract and authors 0.4, as DEFAULT_FIELDS has them (5, 2.5, 2, 2).
WEIGHTS = {"title": "A", "keywords": "B", "abstract": "C", "author": "D"}
_RANK_WEIGHTS = [DEFAULT_FIELDS[f] / DEFAULT_FIELDS["title"] for f in ("author", "abstract")]
_RANK_WEIGHTS += [DEFAULT_FIELDS[f] / DEFAULT_FIELDS["title"] for f in ("keywords", "title")]
# The venue (searched only when asked for) counts as an abstract would.
_VENUE_RANK = DEFAULT_FIELDS["abstract"] / DEFAULT_FIELDS["title"]
# Full texts: at most what one title match counts, times fulltext's share of the
# default fields' weights, growing with the number of pages that match.
_FULLTEXT_RANK = 0.06 * DEFAULT_FIELDS["fulltext"] / DEFAULT_FIELDS["title"]

# Migration 0003's Snowball English dictionary (no stop words).
_STEMMER = sa.literal_column("'litreview_english_stem'::regdictionary")
_MAX_STEMS = 100_000  # spellings' stems kept between searches

_record = sa.table(
    "record",
    sa.column("id", sa.Integer),
    sa.column("review_id", sa.Integer),
    sa.column("merged_into_id", sa.Integer),
    sa.column("year", sa.Integer),
    sa.column("doi", sa.Text),
    sa.column("search_doc", TSVECTOR),
    sa.column("search_words", TSVECTOR),
    sa.column("search_venue", TSVECTOR),
)
_attachment = sa.table(
    "attachment",
    sa.column("id", sa.Integer),
    sa.column("review_id", sa.Integer),
    sa.column("record_id", sa.Integer),
)
_page = sa.table(
    "attachment_page",
    sa.column("id", sa.Integer),
    sa.column("attachment_id", sa.Integer),
    sa.column("search_text", TSVECTOR),
    sa.column("search_words", TSVECTOR),
)


# ---------------------------------------------------------------------- tsquery values


def _lexeme(term: str, weight: str = "", prefix: bool = False) -> str:
    """One index term in tsquery syntax: quoted, with its weights and prefix mark."""
    quoted = "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"
    marks = ("*" if prefix else "") + weight
    return f"{quoted}:{marks}" if marks else quoted


Terms = Callable[[str], tuple[str, ...]]  # a query word's index terms


def _word(terms: Terms, word: str, weight: str = "") -> str:
    """A query word: any of its index terms (its spellings, stemmed)."""
    return "(" + " | ".join(_lexeme(t, weight) for t in terms(word)) + ")"


def _phrase(terms: Terms, words: tuple[str, ...], weight: str = "") -> str:
    return "(" + " <-> ".join(_word(terms, w, weight) for w in words) + ")"


@dataclass
class _Leaf:
    """Where one word, phrase or prefix is looked for: a record column and/or pages."""

    record_column: str | None = None
    record_query: str | None = None
    page_column: str | None = None
    page_query: str | None = None


def _leaf(node: Term | Phrase | Prefix, terms: Terms) -> _Leaf:
    name = node.field
    if isinstance(node, Term):
        stemmed, words = ("search_doc", "search_text"), None
        weighted = lambda w: _word(terms, node.word, w)  # noqa: E731
    elif isinstance(node, Phrase):
        stemmed, words = ("search_doc", "search_text"), None
        weighted = lambda w: _phrase(terms, node.words, w)  # noqa: E731
    else:
        stemmed, words = None, ("search_words", "search_words")
        weighted = lambda w: _lexeme(node.prefix, w, prefix=True)  # noqa: E731
    record_column, page_column = stemmed or words
    if name is None:
        if isinstance(node, Phrase):
            # Within one field: a phrase never runs from the title into the keywords.
            record_query = " | ".join(weighted(w) for w in "ABCD")
        else:
            record_query = weighted("")
        return _Leaf(record_column, record_query, page_column, weighted(""))
    if name == "fulltext":
        return _Leaf(page_column=page_column, page_query=weighted(""))
    if name == "venue":
        # search_venue: the venue stemmed (A) and as written (B).
        return _Leaf("search_venue", weighted("B" if words else "A"))
    return _Leaf(record_column, weighted(WEIGHTS[name]))


def _matches(column: sa.ColumnElement, query: str) -> sa.ColumnElement[bool]:
    # The tsquery is rendered as a literal (escaped by SQLAlchemy) so that the planner
    # sees its words: a prepared statement's generic plan cannot judge a GIN search.
    value = sa.bindparam(None, query, type_=sa.Text, literal_execute=True)
    return column.bool_op("@@")(sa.cast(value, TSQUERY))


# ---------------------------------------------------------------------- the statement


@dataclass
class _Plan:
    """The record-id sets of a query, and what its score is made of."""

    review_id: int
    terms: Terms
    ctes: list[sa.CTE] = field(default_factory=list)  # pages matched per record, per leaf
    scored_pages: list[sa.CTE] = field(default_factory=list)

    def ids(self, node: Node, positive: bool = True) -> sa.Select:
        if isinstance(node, (Term, Phrase, Prefix)):
            return self.leaf(_leaf(node, self.terms), positive)
        if isinstance(node, Or):
            return _compound(sa.union, [self.ids(p, positive) for p in node.parts])
        if isinstance(node, And):
            wanted = [self.ids(p, positive) for p in node.parts if not isinstance(p, Not)]
            unwanted = [self.ids(p.part, False) for p in node.parts if isinstance(p, Not)]
            if not wanted:
                raise ValueError("a NOT needs a positive part beside it (query.parse ensures it)")
            found = _compound(sa.intersect, wanted)
            return _compound(sa.except_, [found, *unwanted]) if unwanted else found
        if isinstance(node, YearRange):
            where = [_record.c.review_id == self.review_id]
            if node.start is not None:
                where.append(_record.c.year >= node.start)
            if node.end is not None:
                where.append(_record.c.year <= node.end)
            return sa.select(_record.c.id).where(*where)
        if isinstance(node, Doi):
            return sa.select(_record.c.id).where(
                _record.c.review_id == self.review_id, sa.func.lower(_record.c.doi) == node.doi
            )
        raise ValueError(f"a NOT stands alone in the query: {node!r}")

    def leaf(self, leaf: _Leaf, positive: bool) -> sa.Select:
        parts = []
        if leaf.record_column:
            parts.append(
                sa.select(_record.c.id).where(
                    _record.c.review_id == self.review_id,
                    _matches(_record.c[leaf.record_column], leaf.record_query),
                )
            )
        if leaf.page_column:
            pages = (
                sa.select(_attachment.c.record_id.label("id"), sa.func.count().label("pages"))
                .select_from(_page.join(_attachment, _attachment.c.id == _page.c.attachment_id))
                .where(
                    _attachment.c.review_id == self.review_id,
                    _matches(_page.c[leaf.page_column], leaf.page_query),
                )
                .group_by(_attachment.c.record_id)
                .cte(f"pages_{len(self.ctes)}")
            )
            self.ctes.append(pages)
            if positive:
                self.scored_pages.append(pages)
            parts.append(sa.select(pages.c.id))
        return _compound(sa.union, parts)


def _compound(combine, selects: list[sa.Select]) -> sa.Select:
    if len(selects) == 1:
        return selects[0]
    # Each part as a subquery: PostgreSQL then needs no brackets around nested sets.
    subs = [s.subquery() for s in selects]
    return combine(*(sa.select(s.c[0]) for s in subs))


def _rank_query(query: Node, terms: Terms) -> tuple[str, str, str]:
    """Every index term the query asks for (NOT parts left out), as three OR-ed tsquery
    values for ts_rank: stemmed words, prefixes as typed, and the venue's."""
    stemmed: list[str] = []
    prefixes: list[str] = []
    venue: list[str] = []
    for leaf in leaves(query):
        if not isinstance(leaf, (Term, Phrase, Prefix)):
            continue
        if isinstance(leaf, Prefix):
            target = venue if leaf.field == "venue" else prefixes
            target.append(_lexeme(leaf.prefix, "B" if leaf.field == "venue" else "", True))
            continue
        words = (leaf.word,) if isinstance(leaf, Term) else leaf.words
        target = venue if leaf.field == "venue" else stemmed
        if leaf.field != "fulltext":
            target.extend(_lexeme(t) for w in words for t in terms(w))
    return " | ".join(stemmed), " | ".join(prefixes), " | ".join(venue)


def _score(query: Node, plan: _Plan, joined: dict[str, sa.CTE]) -> sa.ColumnElement[float]:
    stemmed, prefixes, venue = _rank_query(query, plan.terms)
    weights = sa.cast(sa.literal(_RANK_WEIGHTS), ARRAY(sa.REAL))
    parts: list[sa.ColumnElement] = []

    def rank(column, q: str, weight_list=weights):
        value = sa.bindparam(None, q, type_=sa.Text, literal_execute=True)
        return sa.func.ts_rank(weight_list, column, sa.cast(value, TSQUERY))

    if stemmed:
        parts.append(rank(_record.c.search_doc, stemmed))
    if prefixes:
        parts.append(rank(_record.c.search_words, prefixes))
    if venue:
        parts.append(_VENUE_RANK * rank(_record.c.search_venue, venue))
    if plan.scored_pages:
        pages = sum(
            (sa.func.coalesce(joined[cte.name].c.pages, 0) for cte in plan.scored_pages),
            sa.literal(0),
        )
        parts.append(_FULLTEXT_RANK * pages / (pages + 2.0))
    if not parts:  # years or a DOI alone: no words to rank by
        return sa.literal(0.0)
    return sum(parts[1:], parts[0])


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
        # Spellings' stems as this database's stemmer makes them (see _terms).
        self._stems: dict[str, str] = {}

    def _terms(self, session: Session, query: Node) -> Terms:
        """A query word's index terms: its spellings (analysis.spellings), stemmed by
        the database's own Snowball dictionary, the one that stemmed the text.
        PostgreSQL ships its own copy of Snowball, which can differ from PyStemmer's
        (PostgreSQL 15: organization -> organ; PyStemmer 3: organiz); asking the
        database keeps the query's terms and the indexed ones the same."""
        spellings = {
            word: analysis.spellings(analysis.fold(word))
            for leaf in leaves(query, positive=False)
            if isinstance(leaf, (Term, Phrase))
            for word in ((leaf.word,) if isinstance(leaf, Term) else leaf.words)
        }
        missing = sorted({s for found in spellings.values() for s in found} - self._stems.keys())
        if missing:
            if len(self._stems) > _MAX_STEMS:
                self._stems.clear()
            words = (
                sa.func.unnest(sa.bindparam(None, missing, type_=ARRAY(sa.Text)))
                .table_valued("word")
                .render_derived(name="spelling")
            )
            stems = session.execute(
                sa.select(words.c.word, sa.func.ts_lexize(_STEMMER, words.c.word))
            )
            for word, lexemes in stems:
                self._stems[word] = lexemes[0] if lexemes else word
        return lambda word: tuple(dict.fromkeys(self._stems[s] for s in spellings[word]))

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
        plan = _Plan(review_id, self._terms(session, query))
        matched = plan.ids(query).subquery("matched")
        joined = {cte.name: cte for cte in plan.scored_pages}
        frm = _record.join(matched, matched.c.id == _record.c.id)
        for cte in plan.scored_pages:
            frm = frm.outerjoin(cte, cte.c.id == _record.c.id)
        score = _score(query, plan, joined).label("score")
        statement = (
            sa.select(_record.c.id, score, sa.func.count().over().label("total"))
            .select_from(frm)
            .where(_record.c.merged_into_id.is_(None), *_filters(review_id, filters))
            .order_by(sa.desc("score"), _record.c.id)
            .limit(limit)
        )
        rows = session.execute(statement).all()
        total = rows[0].total if rows else 0
        return SearchResult(total=total, hits=[Hit(r.id, float(r.score)) for r in rows])

    def record_ids(self, review_id: int, session: Session | None = None) -> Iterator[int]:
        """The review's live records: every one of them is searchable."""
        if session is None:
            raise TypeError("PostgresBackend.record_ids reads the database: pass its session")
        yield from session.scalars(
            sa.select(_record.c.id)
            .where(_record.c.review_id == review_id, _record.c.merged_into_id.is_(None))
            .order_by(_record.c.id)
        )

    def close(self) -> None:
        pass


def _filters(review_id: int, filters: SearchFilters) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    for ids, keep in ((filters.only_ids, True), (filters.except_ids, False)):
        if ids:
            listed = sa.select(
                sa.func.unnest(sa.bindparam(None, sorted(ids), type_=ARRAY(sa.Integer)))
            ).scalar_subquery()
            where.append(_record.c.id.in_(listed) if keep else _record.c.id.not_in(listed))
    if filters.year_from is not None:
        where.append(_record.c.year >= filters.year_from)
    if filters.year_to is not None:
        where.append(_record.c.year <= filters.year_to)
    if filters.has_fulltext is not None:
        with_pages = (
            sa.select(_attachment.c.record_id)
            .where(
                _attachment.c.review_id == review_id,
                sa.exists().where(_page.c.attachment_id == _attachment.c.id),
            )
            .scalar_subquery()
        )
        where.append(
            _record.c.id.in_(with_pages)
            if filters.has_fulltext
            else _record.c.id.not_in(with_pages)
        )
    return where
