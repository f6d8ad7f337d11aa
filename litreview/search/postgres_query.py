"""A query's tree as one SQL statement on PostgreSQL's search columns.

Each leaf of the query (a word, phrase or prefix; a year range; a DOI) is the set of
records it matches, each with a score: a GIN index per record field (migration 0003)
says which records hold a word there, and the record scores that field's weight
(:data:`~litreview.search.query.DEFAULT_FIELDS`: title 5, keywords 2.5, abstract 2,
author 2), plus, for the pages of its full texts that hold it (page by page, so a
phrase never runs from one page into the next), up to full text's weight 1. All the
leaves' rows are grouped by record: AND, OR and NOT become a condition on which leaves
a record has, and its score is the sum of its leaves' scores. No row's text or vector
is read to score it (``ts_rank`` reads every matching row's vector: seconds for a
common word at 50,000 records), and a two-word phrase is one term of the abstract's
and the pages' vectors (they hold each pair of words in a row), so a query costs about
what its index lookups cost. Query words become index terms through the database's own
text search configurations (:class:`Lexicon`) and reach PostgreSQL as ``tsquery``
values, never as text for it to parse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG, TSQUERY
from sqlalchemy.orm import Session

from litreview.search import analysis
from litreview.search.backend import SearchFilters
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
from litreview.search.snippets import PAGES_PER_HIT

# What a match in each field counts (the venue, searched only when asked for, 1).
WEIGHTS = {**DEFAULT_FIELDS, "venue": 1.0}
RECORD_FIELDS = ("title", "keywords", "abstract", "author", "venue")
_DEFAULT_RECORD_FIELDS = tuple(f for f in DEFAULT_FIELDS if f != "fulltext")
# Pages of a hit's full texts handed to the snippets: those that hold most of its words.
SNIPPET_PAGES = PAGES_PER_HIT
# The vectors that also hold each pair of words in a row (migration 0003).
_PAIRED = ("abstract", "pages")

# Migration 0003's text search configurations: words stemmed, and as typed.
_STEMMED, _WORDS = "litreview_english", "litreview_words"
_MAX_TERMS = 100_000  # query words' index terms kept between searches

RECORD = sa.table(
    "record",
    sa.column("id", sa.Integer),
    sa.column("review_id", sa.Integer),
    sa.column("merged_into_id", sa.Integer),
    sa.column("year", sa.Integer),
    sa.column("doi", sa.Text),
    *(sa.column(f"search_{f}{kind}") for f in RECORD_FIELDS for kind in ("", "_words")),
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
    sa.column("search_text"),
    sa.column("search_words"),
)


# ---------------------------------------------------------------------- tsquery values


def _lexeme(term: str, prefix: bool = False) -> str:
    """One index term in tsquery syntax: quoted, and marked as a prefix."""
    quoted = "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"
    return f"{quoted}:*" if prefix else quoted


class Lexicon:
    """Query words as index terms, made by the database's own text search
    configurations (migration 0003), the ones that made the indexed terms: a word's
    spellings (:func:`litreview.search.analysis.spellings`) stemmed, a prefix folded.
    PostgreSQL ships its own copy of Snowball, which can differ from PyStemmer's
    (PostgreSQL 15 stems "organization" to "organ", PyStemmer 3 to "organiz"); asking
    the database keeps the query's terms and the indexed ones the same. One round trip
    for the words not seen before."""

    def __init__(self) -> None:
        self._terms: dict[tuple[str, str], tuple[str, ...]] = {}

    def load(self, session: Session, query: Node) -> None:
        wanted: set[tuple[str, str]] = set()
        for leaf in leaves(query, positive=False):
            if isinstance(leaf, Prefix):
                wanted.add((_WORDS, leaf.prefix))
            elif isinstance(leaf, (Term, Phrase)):
                for word in (leaf.word,) if isinstance(leaf, Term) else leaf.words:
                    wanted.update((_STEMMED, s) for s in analysis.spellings(analysis.fold(word)))
        missing = sorted(wanted - self._terms.keys())
        if not missing:
            return
        if len(self._terms) > _MAX_TERMS:
            self._terms.clear()
        pairs = (
            sa.func.unnest(
                sa.bindparam(None, [c for c, _w in missing], type_=ARRAY(sa.Text)),
                sa.bindparam(None, [w for _c, w in missing], type_=ARRAY(sa.Text)),
            )
            .table_valued("config", "word")
            .render_derived(name="wanted")
        )
        lexemes = sa.func.tsvector_to_array(
            sa.func.to_tsvector(sa.cast(pairs.c.config, REGCONFIG), pairs.c.word)
        )
        for config, word, found in session.execute(
            sa.select(pairs.c.config, pairs.c.word, lexemes)
        ):
            self._terms[config, word] = tuple(found) or (word,)

    def alternatives(self, word: str) -> list[tuple[str, ...]]:
        """A query word's spellings as index terms (a spelling the parser splits, more
        than one term)."""
        spellings = analysis.spellings(analysis.fold(word))
        return list(dict.fromkeys(self._terms[_STEMMED, s] for s in spellings))

    def word(self, word: str) -> str:
        """A query word: any of its spellings' index terms (tsquery syntax)."""
        found = [" & ".join(_lexeme(t) for t in terms) for terms in self.alternatives(word)]
        return "(" + " | ".join(f"({f})" if " & " in f else f for f in found) + ")"

    def phrase(self, words: tuple[str, ...], paired: bool) -> str:
        """Words in a row. In a vector that holds each pair of words in a row as a term
        (``paired``: migration 0003's litreview_with_pairs), two words are one term,
        found in the index alone; more are their pairs and, to be exact, positions."""
        positional = " <-> ".join(self.word(w) for w in words)
        alternatives = [self.alternatives(w) for w in words]
        if not paired or any(len(t) != 1 for a in alternatives for t in a):
            return positional
        pairs = [
            "("
            + " | ".join(dict.fromkeys(_lexeme(f"{a} {b}") for (a,) in one for (b,) in two))
            + ")"
            for one, two in zip(alternatives, alternatives[1:], strict=False)
        ]
        found = " & ".join(pairs)
        return found if len(words) == 2 else f"{found} & {positional}"

    def prefix(self, prefix: str) -> str:
        """Words that begin with ``prefix`` as typed (folded, not stemmed)."""
        return " & ".join(_lexeme(t, prefix=True) for t in self._terms[_WORDS, prefix])


@dataclass(frozen=True)
class _Leaf:
    """Where one word, phrase or prefix is looked for, and as what tsquery (``paired``:
    for the vectors that hold pairs of words: the abstract's and the pages')."""

    fields: tuple[str, ...]  # record fields
    pages: bool  # and the pages of the full texts
    unstemmed: bool  # a prefix: the _words columns
    query: str
    paired: str

    def query_for(self, field_name: str) -> str:
        return self.paired if field_name in _PAIRED else self.query


def leaf_of(node: Term | Phrase | Prefix, lexicon: Lexicon) -> _Leaf:
    if isinstance(node, Term):
        query = paired = lexicon.word(node.word)
    elif isinstance(node, Phrase):
        query, paired = lexicon.phrase(node.words, False), lexicon.phrase(node.words, True)
    else:
        query = paired = lexicon.prefix(node.prefix)
    unstemmed = isinstance(node, Prefix)
    if node.field is None:
        return _Leaf(_DEFAULT_RECORD_FIELDS, True, unstemmed, query, paired)
    if node.field == "fulltext":
        return _Leaf((), True, unstemmed, query, paired)
    return _Leaf((node.field,), False, unstemmed, query, paired)


def _matches(column: sa.ColumnElement, query: str) -> sa.ColumnElement[bool]:
    # The tsquery is rendered as a literal (escaped by SQLAlchemy) so that the planner
    # sees its words: a prepared statement's generic plan cannot judge a GIN search.
    value = sa.bindparam(None, query, type_=sa.Text, literal_execute=True)
    return column.bool_op("@@")(sa.cast(value, TSQUERY))


def _ids(values) -> sa.ScalarSelect:
    return sa.select(
        sa.func.unnest(sa.bindparam(None, sorted(values), type_=ARRAY(sa.Integer)))
    ).scalar_subquery()


# ---------------------------------------------------------------------- the statement

Condition = Callable[[sa.Subquery], sa.ColumnElement[bool]]


@dataclass
class Plan:
    """A query on one review as one statement: every word, phrase, prefix, year range
    and DOI of the query (its leaves) gives rows (record id, leaf number, score), all
    of them one UNION ALL; grouped by record, the query's AND, OR and NOT are a
    condition on which leaves each record has (HAVING), and its score is the sum."""

    review_id: int
    filters: SearchFilters
    lexicon: Lexicon
    parts: list[sa.Select] = field(default_factory=list)
    reads_pages: bool = False  # a word not under a NOT is looked for in the full texts

    def live(self) -> list[sa.ColumnElement[bool]]:
        """The review's records that a search can find (merged ones left out), in years."""
        where = [RECORD.c.review_id == self.review_id, RECORD.c.merged_into_id.is_(None)]
        if self.filters.year_from is not None:
            where.append(RECORD.c.year >= self.filters.year_from)
        if self.filters.year_to is not None:
            where.append(RECORD.c.year <= self.filters.year_to)
        return where

    def condition(self, node: Node, positive: bool = True) -> Condition:
        if isinstance(node, Or):
            parts = [self.condition(p, positive) for p in node.parts]
            return lambda rows: sa.or_(*(c(rows) for c in parts))
        if isinstance(node, And):
            wanted = [self.condition(p, positive) for p in node.parts if not isinstance(p, Not)]
            unwanted = [self.condition(p.part, False) for p in node.parts if isinstance(p, Not)]
            if not wanted:
                raise ValueError("a NOT needs a positive part beside it (query.parse sees to it)")
            return lambda rows: sa.and_(
                *(c(rows) for c in wanted), *(sa.not_(c(rows)) for c in unwanted)
            )
        if isinstance(node, Not):
            raise ValueError(f"a NOT stands alone in the query: {node!r}")
        number = len(self.parts)
        self.parts.extend(self.rows(node, number, positive))
        return lambda rows: sa.func.bool_or(rows.c.leaf == number)

    def rows(self, node: Node, number: int, positive: bool) -> list[sa.Select]:
        """The records one leaf matches: (id, leaf number, score) rows, a record's
        score summed over the fields it matches there (NOT's leaves score nothing)."""

        def scored(weight, *where, frm=RECORD, pages=None) -> sa.Select:
            weight = sa.cast(weight if positive else 0.0, sa.Float)
            pages = sa.cast(pages if positive and pages is not None else sa.null(), sa.Text)
            return (
                sa.select(
                    RECORD.c.id.label("id"),
                    sa.literal(number).label("leaf"),
                    weight.label("score"),
                    pages.label("pages"),
                )
                .select_from(frm)
                .where(*self.live(), *self.id_filters(RECORD.c.id), *where)
            )

        if isinstance(node, YearRange):
            years = [RECORD.c.year >= node.start] if node.start is not None else []
            years += [RECORD.c.year <= node.end] if node.end is not None else []
            return [scored(0.0, *years)]
        if isinstance(node, Doi):
            return [scored(0.0, sa.func.lower(RECORD.c.doi) == node.doi)]
        leaf = leaf_of(node, self.lexicon)
        suffix = "_words" if leaf.unstemmed else ""
        found = [
            scored(
                WEIGHTS[name], _matches(RECORD.c[f"search_{name}{suffix}"], leaf.query_for(name))
            )
            for name in leaf.fields
        ]
        if leaf.pages:
            column = "search_words" if leaf.unstemmed else "search_text"
            pages = (
                sa.select(
                    _attachment.c.record_id.label("id"),
                    sa.func.count().label("pages"),
                    # Which pages: where the snippets look (see Plan.statement).
                    sa.func.string_agg(sa.cast(_page.c.id, sa.Text), " ").label("page_ids"),
                )
                .select_from(_page.join(_attachment, _attachment.c.id == _page.c.attachment_id))
                .where(
                    _attachment.c.review_id == self.review_id,
                    _matches(_page.c[column], leaf.query_for("pages")),
                )
                .group_by(_attachment.c.record_id)
                .subquery()
            )
            # Up to full text's weight, the more pages the closer.
            score = WEIGHTS["fulltext"] * pages.c.pages / (pages.c.pages + 1.0)
            self.reads_pages = self.reads_pages or positive
            frm = pages.join(RECORD, RECORD.c.id == pages.c.id)
            found.append(scored(score, frm=frm, pages=pages.c.page_ids))
        return found

    def statement(self, query: Node, limit: int) -> sa.Select:
        condition = self.condition(query)
        rows = (sa.union_all(*self.parts) if len(self.parts) > 1 else self.parts[0]).subquery(
            "found"
        )
        statement = (
            sa.select(
                rows.c.id,
                sa.func.sum(rows.c.score).label("score"),
                sa.func.count().over().label("total"),
                # The record's pages that hold its words, once per word: the snippets
                # read those that hold most (no page's text or vector is read here).
                sa.func.string_agg(rows.c.pages, " ").label("pages"),
            )
            .group_by(rows.c.id)
            .order_by(sa.desc("score"), rows.c.id)
            .limit(limit)
        )
        if isinstance(query, And | Or):  # one leaf: its rows are its records
            statement = statement.having(condition(rows))
        return statement

    def id_filters(self, record_id: sa.ColumnElement[int]) -> list[sa.ColumnElement[bool]]:
        """The filters that are sets of records: decisions, questions, full text."""
        where: list[sa.ColumnElement[bool]] = []
        if self.filters.only_ids is not None:
            where.append(record_id.in_(_ids(self.filters.only_ids)))
        if self.filters.except_ids:
            where.append(record_id.not_in(_ids(self.filters.except_ids)))
        if self.filters.has_fulltext is not None:
            with_pages = (
                sa.select(_attachment.c.record_id)
                .where(
                    _attachment.c.review_id == self.review_id,
                    sa.exists().where(_page.c.attachment_id == _attachment.c.id),
                )
                .scalar_subquery()
            )
            where.append(
                record_id.in_(with_pages)
                if self.filters.has_fulltext
                else record_id.not_in(with_pages)
            )
        return where
