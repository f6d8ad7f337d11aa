"""A parsed query (:mod:`litreview.search.query`) as Whoosh's query objects.

A word is an ``Or`` of ``Term``\\ s over its index terms (its spellings, stemmed:
:func:`litreview.search.analysis.terms`) in each field it searches, weighted by
``DEFAULT_FIELDS`` so Whoosh's BM25F ranks a title match above the same match in the
full text; a phrase is a ``Phrase`` (a ``Sequence`` when a word has two spellings); a
prefix a ``Prefix`` on the unstemmed ``*_words`` fields, at a constant score (the field's
weight); a year range a ``NumericRange``; NOT an ``AndNot``.
"""

from __future__ import annotations

import itertools

from whoosh import query as wq
from whoosh.searching import Searcher

from litreview.errors import Invalid
from litreview.search import analysis
from litreview.search import query as ql
from litreview.search.whoosh_schema import words_field


def translate(node: ql.Node, searcher: Searcher) -> wq.Query:
    """A parsed query as Whoosh's query objects. Invalid for a prefix of too many words."""
    if isinstance(node, ql.Term):
        terms = analysis.terms(node.word)
        return _or(
            wq.Term(field, term, boost=weight)
            for field, weight in _fields(node.field)
            for term in terms
        )
    if isinstance(node, ql.Phrase):
        words = [analysis.terms(w) for w in node.words]
        return _or(_phrase(field, words, weight) for field, weight in _fields(node.field))
    if isinstance(node, ql.Prefix):
        fields = _fields(node.field)
        _check_prefix(searcher, node.prefix, [f for f, _ in fields])
        return _or(
            wq.ConstantScoreQuery(wq.Prefix(words_field(field), node.prefix), weight)
            for field, weight in fields
        )
    if isinstance(node, ql.YearRange):
        return wq.NumericRange("year", node.start, node.end)
    if isinstance(node, ql.Doi):
        return wq.Term("doi", node.doi)
    if isinstance(node, ql.Or):
        return _or(translate(p, searcher) for p in node.parts)
    if isinstance(node, ql.And):
        positive = [translate(p, searcher) for p in node.parts if not isinstance(p, ql.Not)]
        negative = [translate(p.part, searcher) for p in node.parts if isinstance(p, ql.Not)]
        q = positive[0] if len(positive) == 1 else wq.And(positive)
        return wq.AndNot(q, _or(negative)) if negative else q
    raise TypeError(f"a query node this backend does not know: {node!r}")


def _fields(field: str | None) -> list[tuple[str, float]]:
    if field is None:
        return list(ql.DEFAULT_FIELDS.items())
    return [(field, ql.DEFAULT_FIELDS.get(field, 1.0))]


def _or(queries) -> wq.Query:
    queries = list(queries)
    return queries[0] if len(queries) == 1 else wq.Or(queries)


def _phrase(field: str, words: list[tuple[str, ...]], weight: float) -> wq.Query:
    if all(len(terms) == 1 for terms in words):
        return wq.Phrase(field, [terms[0] for terms in words], boost=weight)
    # A word with two spellings: either, in its place.
    parts = [_or(wq.Term(field, t) for t in terms) for terms in words]
    return wq.Sequence(parts, boost=weight)


def _check_prefix(searcher: Searcher, prefix: str, fields: list[str]) -> None:
    """Invalid when the prefix begins more than MAX_PREFIX_WORDS words of a field (the
    same limit, and message, as the other backends)."""
    reader = searcher.reader()
    for field in fields:
        words = reader.expand_prefix(words_field(field), prefix)
        if sum(1 for _ in itertools.islice(words, ql.MAX_PREFIX_WORDS + 1)) > ql.MAX_PREFIX_WORDS:
            raise Invalid(
                f"{prefix}* matches more than {ql.MAX_PREFIX_WORDS:,} different words: "
                "put more letters before the *"
            )
