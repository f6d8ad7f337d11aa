"""A query tree (:mod:`litreview.search.query`) as a tantivy query.

A word is the OR of its index terms over its field, or over the default fields, each
boosted by its weight (DEFAULT_FIELDS: a title match ranks first); a phrase is a
phrase query per field (each combination of its words' spellings, up to
MAX_PHRASE_VARIANTS); a wildcard is a regex over the field's unstemmed words, refused
when it would match more than MAX_PREFIX_WORDS of them; AND, OR and NOT are boolean
queries, a year range a range query on the fast field, a DOI a term.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

import tantivy

from litreview.errors import Invalid
from litreview.search.query import (
    DEFAULT_FIELDS,
    MAX_PREFIX_WORDS,
    And,
    Doi,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Term,
    YearRange,
)
from litreview.search.tantivy_schema import Layout

# A phrase whose words each have several index terms (spellings) is searched as each
# combination of them, up to this many.
MAX_PHRASE_VARIANTS = 16

Q = tantivy.Query
Occur = tantivy.Occur


def years(layout: Layout, start: int | None, end: int | None) -> tantivy.Query:
    """Records published from ``start`` to ``end``, both inclusive (None: open)."""
    return Q.range_query(layout.schema, "year", tantivy.FieldType.Integer, start, end)


class Translator:
    """Translates query trees against one searcher (a wildcard asks its words)."""

    def __init__(self, layout: Layout, searcher: tantivy.Searcher) -> None:
        self.layout = layout
        self.schema = layout.schema
        self.searcher = searcher

    def query(self, node: Node) -> tantivy.Query:
        if isinstance(node, Term):
            terms = self.layout.terms(node.word)
            return self._fields(node.field, lambda f: self._any(f, terms))
        if isinstance(node, Phrase):
            return self._fields(node.field, lambda f: self._phrase(f, node.words))
        if isinstance(node, Prefix):
            return self._fields(node.field, lambda f: self._prefix(f, node.prefix))
        if isinstance(node, YearRange):
            return years(self.layout, node.start, node.end)
        if isinstance(node, Doi):
            return Q.term_query(self.schema, "doi", node.doi, index_option="basic")
        if isinstance(node, Or):
            return Q.boolean_query([(Occur.Should, self.query(p)) for p in node.parts])
        if isinstance(node, And):
            clauses = [
                (Occur.MustNot, self.query(p.part))
                if isinstance(p, Not)
                else (Occur.Must, self.query(p))
                for p in node.parts
            ]
            if not any(occur == Occur.Must for occur, _ in clauses):
                if not clauses:
                    return Q.empty_query()
                clauses.append((Occur.Must, Q.all_query()))
            return Q.boolean_query(clauses)
        if isinstance(node, Not):  # outside an And: everything but
            return Q.boolean_query(
                [(Occur.Must, Q.all_query()), (Occur.MustNot, self.query(node.part))]
            )
        raise TypeError(f"not a query node: {node!r}")

    def _fields(self, field: str | None, make: Callable[[str], tantivy.Query]) -> tantivy.Query:
        if field is not None:
            return make(field)
        return Q.boolean_query(
            [
                (Occur.Should, Q.boost_query(make(name), weight))
                for name, weight in DEFAULT_FIELDS.items()
            ]
        )

    @staticmethod
    def _either(queries: list[tantivy.Query]) -> tantivy.Query:
        if len(queries) == 1:
            return queries[0]
        return Q.boolean_query([(Occur.Should, q) for q in queries])

    def _any(self, field: str, terms: list[str]) -> tantivy.Query:
        return self._either(
            [Q.term_query(self.schema, field, t, index_option="freq") for t in terms]
        )

    def _phrase(self, field: str, words: tuple[str, ...]) -> tantivy.Query:
        variants = itertools.islice(
            itertools.product(*(self.layout.terms(w) for w in words)), MAX_PHRASE_VARIANTS
        )
        return self._either([Q.phrase_query(self.schema, field, list(v)) for v in variants])

    def _prefix(self, field: str, prefix: str) -> tantivy.Query:
        words = f"{field}_words"
        queries = []
        for beginning in self.layout.prefixes(prefix):
            found = self.searcher.terms_with_prefix(words, beginning, limit=MAX_PREFIX_WORDS + 1)
            if len(found) > MAX_PREFIX_WORDS:
                raise Invalid(
                    f"{prefix}* matches more than {MAX_PREFIX_WORDS:,} different words: "
                    "put more letters before the *"
                )
            queries.append(Q.regex_query(self.schema, words, re.escape(beginning) + ".*"))
        return self._either(queries)
