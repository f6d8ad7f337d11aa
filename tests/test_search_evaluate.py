"""Our query evaluation against Whoosh's own matchers, on a real index of many segments.

litreview.search.evaluate reads the postings itself (see its docstring); what it
returns must be what Whoosh's matchers say of every document: the same matching
documents, the same scores, the same terms to highlight.
"""

from __future__ import annotations

import random

import pytest
from whoosh import query as wq
from whoosh.highlight import Highlighter

from litreview.search import evaluate
from litreview.search.backend import SearchFilters
from litreview.search.documents import RecordDoc
from litreview.search.index_schema import OFFSETS, POSITIONS
from litreview.search.query import parse_query
from litreview.search.whoosh_backend import WhooshBackend, _constraint

WORDS = (
    "data protection consent informed algorithmic bias risk assessment social care "
    "child welfare practitioners machine learning decision support records privacy "
    "ethics training students regulation accountability transparency families"
).split()

QUERIES = [
    "consent",
    "data protection",
    "consent OR privacy",
    "consent AND NOT bias",
    "bias ANDNOT risk",
    "care ANDMAYBE ethics",
    '"data protection"',
    '"informed consent" AND ethics',
    '"risk assessment tool"',
    '"social care"~3',
    '"machine learning" OR "decision support"',
    "title:bias",
    "author:smith",
    "practition*",
    "regul*",
    "data AND year:[2015 TO 2020]",
    "(consent OR privacy) AND (child OR families)",
    "keywords:ethics OR fulltext:transparency",
    "NOT consent",
    "acc?untability",
]
FILTERS = [
    SearchFilters(),
    SearchFilters(year_from=2012, year_to=2019),
    SearchFilters(has_fulltext=True),
]


def _text(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.3:
        words.insert(rng.randrange(n), "risk assessment tool")
    return " ".join(words)


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    rng = random.Random(7)
    backend = WhooshBackend(tmp_path_factory.mktemp("evaluate") / "index")
    for batch in range(4):  # four commits: four segments
        with backend.writer(timeout=5) as writer:
            for n in range(150):
                record_id = batch * 1000 + n
                pages = [(p, _text(rng, 120)) for p in range(1, 4)] if n % 5 == 0 else []
                writer.add(
                    RecordDoc(
                        record_id=record_id,
                        review_id=1 + (n % 7 == 0),
                        title=_text(rng, 8),
                        abstract=_text(rng, 60),
                        author=rng.choice(["Ann Smith", "Bo Jones", "Cy Smithers"]),
                        keywords="; ".join(rng.sample(WORDS, 3)),
                        year=2005 + n % 20,
                        pages=pages,
                    )
                )
    with backend.writer(timeout=5) as writer:  # deleted documents in older segments
        for record_id in (3, 40, 1010, 2100, 2101, 3149):
            writer.delete_record(record_id)
    yield backend
    backend.close()


def _on_positions(node):
    # Abstracts and full texts keep their positions in a field of their own (see
    # litreview.search.index_schema), with the same terms and lengths: Whoosh's own phrase
    # matcher runs there and scores the same.
    if type(node) is wq.Phrase and node.fieldname in POSITIONS:
        return wq.Phrase(POSITIONS[node.fieldname], node.words, node.slop, node.boost)
    return node


def _base_terms(terms) -> set:
    names = {other: field for field, other in [*POSITIONS.items(), *OFFSETS.items()]}
    return {(names.get(field, field), text) for field, text in terms}


def _whoosh_view(searcher, q):
    """{global docnum: (score, matched terms)} from Whoosh's own matchers."""
    q = q.accept(_on_positions)
    found = {}
    for sub, offset in searcher.leaf_searchers():
        m = q.matcher(sub, searcher.context())
        while m.is_active():
            found[m.id() + offset] = (m.score(), set())
            m.next()
        # Terms as Whoosh records them for terms=True (a matcher that tracks them).
        m = q.matcher(sub, searcher.context(needs_current=True))
        while m.is_active():
            found[m.id() + offset][1].update(m.matching_terms())
            m.next()
    return found


@pytest.mark.parametrize("filters", FILTERS, ids=["none", "years", "fulltext"])
def test_same_documents_scores_and_terms_as_whooshs_matchers(backend, filters):
    checked = 0
    cache = evaluate.PostingsCache(8 * 2**20)  # shared: the second run reads from it
    unshown = {"review"}  # the filter on the review: not a term anybody sees
    with backend._searcher() as s:
        for text in QUERIES:
            parsed = parse_query(backend.parser, text)
            constraint = _constraint(1, filters, alone=False)
            q = wq.And([parsed, constraint])
            expected = _whoosh_view(s, q)
            # Scores and terms of the query alone: Whoosh scores a 0.0 constant-score filter as
            # 1.0, and its AndMaybe drops the optional part's score when a filter makes
            # it skip; a filter must change neither a document's score nor the order.
            alone = _whoosh_view(s, parsed)
            results, total = evaluate.search(s, q, 10)

            assert total == len(expected), text
            ranked = sorted(expected, key=lambda d: (-alone[d][0], d))[:10]
            assert [d for _, d in results.top_n] == ranked, text
            for score, docnum in results.top_n:
                assert score == pytest.approx(alone[docnum][0], rel=1e-9), text
                ours = _base_terms(t for t in results.docterms[docnum] if t[0] not in unshown)
                theirs = _base_terms(t for t in alone[docnum][1] if t[0] not in unshown)
                assert ours == theirs, text
            for _ in range(2):
                again, again_total = evaluate.search(s, q, 10, cache)
                assert (again.top_n, again_total) == (results.top_n, total), text
                assert again.docterms == results.docterms, text
            checked += len(results.top_n)
    assert checked > 100  # the queries do find documents
    assert cache.size > 0


def test_an_id_filter_keeps_exactly_those_records_in_the_same_order(backend):
    """Decision and question filters arrive as record ids read from the database."""
    checked = 0
    for text in QUERIES:
        everything = backend.search(1, text, SearchFilters(), 1000, snippets=False)
        ids = [h.record_id for h in everything.hits]
        chosen = frozenset(ids[::3])
        only = backend.search(1, text, SearchFilters(only_ids=chosen), 1000, snippets=False)
        assert [h.record_id for h in only.hits] == [i for i in ids if i in chosen], text
        assert only.total == len(chosen), text
        rest = backend.search(1, text, SearchFilters(except_ids=chosen), 1000, snippets=False)
        assert [h.record_id for h in rest.hits] == [i for i in ids if i not in chosen], text
        assert rest.total == len(ids) - len(chosen), text
        checked += len(chosen)
    assert checked > 50


def test_highlighting_offsets_match_whooshs_own_reading(backend):
    with backend._searcher() as s:
        for text in ['"data protection"', "consent OR privacy", "transparen*"]:
            q = parse_query(backend.parser, text)
            results, _ = evaluate.search(s, q, 10)
            ours = results._char_cache
            results._char_cache = {}
            for field in ("fulltext_chars",):  # the field with the character offsets
                schema = s.schema[field]
                words = {schema.from_bytes(t) for f, t in results.matched_terms() if f == field}
                Highlighter._load_chars(results, field, words, schema.to_bytes)
                whooshs = results._char_cache[field]
                assert ours[field] == whooshs, (text, field)


def test_a_phrase_needs_its_words_in_order_and_next_to_each_other(tmp_path):
    backend = WhooshBackend(tmp_path / "index")
    try:
        with backend.writer(timeout=5) as writer:
            for record_id, title in enumerate(
                [
                    "data protection in practice",
                    "protection of data",  # "of" is a stop word: still next to each other
                    "data about protection",
                    "protection data",
                    "protection, and the data",  # stop words dropped: next to each other
                ]
            ):
                writer.add(RecordDoc(record_id=record_id, review_id=1, title=title))
        result = backend.search(1, '"data protection"', SearchFilters(), 10, snippets=False)
        assert sorted(h.record_id for h in result.hits) == [0]
        result = backend.search(1, '"protection data"', SearchFilters(), 10, snippets=False)
        assert sorted(h.record_id for h in result.hits) == [1, 3, 4]
        result = backend.search(1, '"data protection"~3', SearchFilters(), 10, snippets=False)
        assert sorted(h.record_id for h in result.hits) == [0, 2]
    finally:
        backend.close()


def test_the_postings_cache_keeps_the_recently_used_within_its_size():
    cache = evaluate.PostingsCache(1000)
    for n in range(10):
        cache.put(("segment", "title", n), {n}, size=200)
        cache.get(("segment", "title", 0))  # used again and again: kept
    assert cache.size <= 1000
    assert cache.get(("segment", "title", 0)) == {0}
    assert cache.get(("segment", "title", 9)) == {9}
    assert cache.get(("segment", "title", 1)) is None  # the least recently used went
    cache.put(("segment", "fulltext", "huge"), {1}, size=600)  # over a quarter: not kept
    assert cache.get(("segment", "fulltext", "huge")) is None


def test_the_cache_size_setting_is_checked():
    from litreview.config import load_settings

    assert load_settings({"LITREVIEW_SEARCH_CACHE_MB": "0"}).search_cache_mb == 0
    assert load_settings({}).search_cache_mb == 128
    with pytest.raises(ValueError, match="LITREVIEW_SEARCH_CACHE_MB='lots'"):
        load_settings({"LITREVIEW_SEARCH_CACHE_MB": "lots"})


def test_abstract_snippets_mark_the_words_of_a_phrase_and_nothing_else(tmp_path):
    # Whoosh's re-analysing highlighter marked a later word instead of the second of
    # two matched words side by side (its tokenizer reuses one token object).
    backend = WhooshBackend(tmp_path / "index")
    try:
        abstract = (
            "Practitioners weigh consent. Data protection duties shape case recording in "
            "social work, and data protection officers advise on retention of records."
        )
        with backend.writer(timeout=5) as writer:
            title = "Data protection and data protection officers: records"
            writer.add(RecordDoc(record_id=1, review_id=1, title=title, abstract=abstract))
        [hit] = backend.search(1, '"data protection"', SearchFilters(), 5).hits
        [title] = [s.text for s in hit.snippets if s.field == "title"]
        assert title == (
            "<b>Data</b> <b>protection</b> and <b>data</b> <b>protection</b> officers: records"
        )
        [snippet] = [s for s in hit.snippets if s.field == "abstract"]
        assert snippet.text.count("<b>") == 4, snippet.text
        assert "<b>Data</b> <b>protection</b> duties" in snippet.text
        assert "<b>data</b> <b>protection</b> officers" in snippet.text
    finally:
        backend.close()


def test_not_alone_leaves_out_deleted_records(tmp_path):
    backend = WhooshBackend(tmp_path / "index")
    try:
        with backend.writer(timeout=5) as writer:
            for record_id, title in enumerate(["consent forms", "bias in tools", "privacy"]):
                writer.add(RecordDoc(record_id=record_id, review_id=1, title=title))
        with backend.writer(timeout=5) as writer:
            writer.delete_record(1)  # Whoosh's own NOT matcher still returned it
        result = backend.search(1, "NOT consent", SearchFilters(), 10)
        assert (result.total, [h.record_id for h in result.hits]) == (1, [2])
    finally:
        backend.close()
