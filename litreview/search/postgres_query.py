"""A query's tree as one SQL statement on PostgreSQL's search columns.

Each word, phrase or prefix (:mod:`litreview.search.query`) is the set of records it
matches, each with a score: a GIN index per record field (migration 0003) says which
records hold it there, and the record scores that field's weight
(:data:`~litreview.search.query.DEFAULT_FIELDS`: title 5, keywords 2.5, abstract 2,
author 2), plus, for the pages of its full texts that hold it (page by page, so a
phrase never runs from one page into the next), up to full text's weight 1. AND, OR
and NOT are INTERSECT, UNION and EXCEPT of those sets, and a record's score is the sum
of its words' scores. No row's text or vector is read to score it (``ts_rank`` reads
every matching row's vector: seconds for a common word at 50,000 records), so a query
costs what its index lookups cost. Query words become index terms through the
database's own text search configurations (:class:`Lexicon`) and reach PostgreSQL as
``tsquery`` values, never as text for it to parse.
"""

from __future__ import annotations

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
# Pages of a hit's full texts handed to the snippets: the best-matching ones.
SNIPPET_PAGES = 2 * PAGES_PER_HIT

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

    def word(self, word: str) -> str:
        """A query word: any of its spellings' index terms (tsquery syntax)."""
        spellings = analysis.spellings(analysis.fold(word))
        found = dict.fromkeys(
            " & ".join(_lexeme(t) for t in self._terms[_STEMMED, s]) for s in spellings
        )
        return "(" + " | ".join(f"({f})" if " & " in f else f for f in found) + ")"

    def prefix(self, prefix: str) -> str:
        """Words that begin with ``prefix`` as typed (folded, not stemmed)."""
        return " & ".join(_lexeme(t, prefix=True) for t in self._terms[_WORDS, prefix])


@dataclass(frozen=True)
class _Leaf:
    """Where one word, phrase or prefix is looked for, and as what tsquery."""

    fields: tuple[str, ...]  # record fields
    pages: bool  # and the pages of the full texts
    unstemmed: bool  # a prefix: the _words columns
    query: str


def leaf_of(node: Term | Phrase | Prefix, lexicon: Lexicon) -> _Leaf:
    if isinstance(node, Term):
        query, unstemmed = lexicon.word(node.word), False
    elif isinstance(node, Phrase):
        query, unstemmed = " <-> ".join(lexicon.word(w) for w in node.words), False
    else:
        query, unstemmed = lexicon.prefix(node.prefix), True
    if node.field is None:
        return _Leaf(_DEFAULT_RECORD_FIELDS, True, unstemmed, query)
    if node.field == "fulltext":
        return _Leaf((), True, unstemmed, query)
    return _Leaf((node.field,), False, unstemmed, query)


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


@dataclass
class Plan:
    """A query's record-id sets in one review, and the scored sets of its words."""

    review_id: int
    filters: SearchFilters
    lexicon: Lexicon
    scored: list[sa.CTE] = field(default_factory=list)  # (id, score) of positive leaves
    page_leaves: list[_Leaf] = field(default_factory=list)  # positive ones that read pages

    def live(self) -> list[sa.ColumnElement[bool]]:
        """The review's records that a search can find (merged ones left out), in years."""
        where = [RECORD.c.review_id == self.review_id, RECORD.c.merged_into_id.is_(None)]
        if self.filters.year_from is not None:
            where.append(RECORD.c.year >= self.filters.year_from)
        if self.filters.year_to is not None:
            where.append(RECORD.c.year <= self.filters.year_to)
        return where

    def ids(self, node: Node, positive: bool = True) -> sa.Select:
        if isinstance(node, (Term, Phrase, Prefix)):
            return self.leaf(leaf_of(node, self.lexicon), positive)
        if isinstance(node, Or):
            return _compound(sa.union, [self.ids(p, positive) for p in node.parts])
        if isinstance(node, And):
            wanted = [self.ids(p, positive) for p in node.parts if not isinstance(p, Not)]
            unwanted = [self.ids(p.part, False) for p in node.parts if isinstance(p, Not)]
            if not wanted:
                raise ValueError("a NOT needs a positive part beside it (query.parse sees to it)")
            found = _compound(sa.intersect, wanted)
            return _compound(sa.except_, [found, *unwanted]) if unwanted else found
        if isinstance(node, YearRange):
            where = self.live()
            if node.start is not None:
                where.append(RECORD.c.year >= node.start)
            if node.end is not None:
                where.append(RECORD.c.year <= node.end)
            return sa.select(RECORD.c.id).where(*where)
        if isinstance(node, Doi):
            return sa.select(RECORD.c.id).where(
                *self.live(), sa.func.lower(RECORD.c.doi) == node.doi
            )
        raise ValueError(f"a NOT stands alone in the query: {node!r}")

    def leaf(self, leaf: _Leaf, positive: bool) -> sa.Select:
        suffix = "_words" if leaf.unstemmed else ""
        parts = [
            sa.select(
                RECORD.c.id.label("id"), sa.literal(WEIGHTS[name], sa.Float).label("score")
            ).where(*self.live(), _matches(RECORD.c[f"search_{name}{suffix}"], leaf.query))
            for name in leaf.fields
        ]
        if leaf.pages:
            column = "search_words" if leaf.unstemmed else "search_text"
            pages = (
                sa.select(_attachment.c.record_id.label("id"), sa.func.count().label("pages"))
                .select_from(_page.join(_attachment, _attachment.c.id == _page.c.attachment_id))
                .where(
                    _attachment.c.review_id == self.review_id,
                    _matches(_page.c[column], leaf.query),
                )
                .group_by(_attachment.c.record_id)
                .subquery()
            )
            # Up to full text's weight, the more pages the closer.
            score = WEIGHTS["fulltext"] * pages.c.pages / (pages.c.pages + 1.0)
            parts.append(
                sa.select(RECORD.c.id.label("id"), sa.cast(score, sa.Float).label("score"))
                .select_from(pages.join(RECORD, RECORD.c.id == pages.c.id))
                .where(*self.live())
            )
            if positive:
                self.page_leaves.append(leaf)
        if not positive:  # only which records: nothing to score
            return _compound(sa.union, [sa.select(p.subquery().c.id) for p in parts])
        scores = sa.union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
        scored = (
            sa.select(scores.c.id, sa.func.sum(scores.c.score).label("score"))
            .group_by(scores.c.id)
            .cte(f"word_{len(self.scored)}")
        )
        self.scored.append(scored)
        return sa.select(scored.c.id)

    def statement(self, query: Node, limit: int) -> sa.Select:
        found = self.ids(query)
        if isinstance(query, (Term, Phrase, Prefix)):  # one word: its scored set
            [scored] = self.scored
            matched, score, frm = scored, scored.c.score, scored
        else:
            matched = found.subquery("matched")
            frm, score = matched, sa.literal(0.0, sa.Float)
            for scored in self.scored:
                frm = frm.outerjoin(scored, scored.c.id == matched.c.id)
                score = score + sa.func.coalesce(scored.c.score, 0.0)
        record_id = matched.c.id
        return (
            sa.select(record_id, score.label("score"), sa.func.count().over().label("total"))
            .select_from(frm)
            .where(*self.id_filters(record_id))
            .order_by(sa.desc("score"), record_id)
            .limit(limit)
        )

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

    def snippet_pages(self, record_ids: list[int]) -> sa.Select | None:
        """The best-matching pages of these records' full texts (``SNIPPET_PAGES`` of
        each, by ts_rank of the words asked for): what the snippets need to read."""
        if not self.page_leaves or not record_ids:
            return None
        stemmed = [lf.query for lf in self.page_leaves if not lf.unstemmed]
        prefixes = [lf.query for lf in self.page_leaves if lf.unstemmed]
        matches = [_matches(_page.c.search_text, q) for q in stemmed]
        matches += [_matches(_page.c.search_words, q) for q in prefixes]
        # Ranked by the stemmed words (prefixes as stems' prefixes: near enough to order).
        rank_query = " | ".join(f"({q})" for q in stemmed + prefixes)
        rank = sa.func.ts_rank(
            _page.c.search_text,
            sa.cast(sa.bindparam(None, rank_query, type_=sa.Text, literal_execute=True), TSQUERY),
        )
        ranked = (
            sa.select(
                _page.c.id,
                sa.func.row_number()
                .over(partition_by=_attachment.c.record_id, order_by=(rank.desc(), _page.c.id))
                .label("n"),
            )
            .select_from(_page.join(_attachment, _attachment.c.id == _page.c.attachment_id))
            .where(_attachment.c.record_id.in_(_ids(record_ids)), sa.or_(*matches))
            .subquery()
        )
        return sa.select(ranked.c.id).where(ranked.c.n <= SNIPPET_PAGES)


def _compound(combine, selects: list[sa.Select]) -> sa.Select:
    if len(selects) == 1:
        return selects[0]
    # Each part as a subquery: PostgreSQL then needs no brackets around nested sets.
    subs = [s.subquery() for s in selects]
    return combine(*(sa.select(s.c[0]) for s in subs))
