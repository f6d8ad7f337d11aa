"""Running a parsed query on Whoosh's postings a term at a time: exact total, top N.

Long because: a query evaluator is one piece (sets, phrases, scores, offsets share the
segment's decoded blocks); it goes when search moves to its own engines (the open
search issue), as it reads Whoosh internals.

Whoosh runs a query a document at a time: for every matching document it walks the
matcher tree in Python (a union of five fields for every word, intersections, the
filters), and a phrase builds a Span object for every position of its words. On
50,000 records a broad query or a phrase spent hundreds of milliseconds there.

Here each term's postings are read a block at a time (Whoosh's own block decoding,
zlib and pickle in C), the matching documents are found by set algebra, a phrase is
checked only on the documents holding all its words (positions shifted and
intersected as sets), and only the matching documents are scored, with the
statistics of Whoosh's own BM25F scorer. The result is the documents, scores and
matched terms that ``searcher.search(q, terms=True)`` gives (a test holds the two
side by side), and its total is exact. Query types without a fast path here (ranges,
wildcards, fuzzy terms) are run by Whoosh's own matcher, segment by
segment, inside the same evaluation.

This reads Whoosh 2.7's posting blocks (``W3LeafMatcher``) directly: the version is
capped in pyproject.toml, and other matchers take the slow, public path.

Reading the blocks of a word found in most records (zlib, then pickle) is most of what
a query costs, so decoded blocks are kept in a :class:`PostingsCache` shared by the
searchers of one index: a segment never changes once written, so a block read for one
query serves the next (deleted documents are subtracted per query, not cached).
"""

from __future__ import annotations

import heapq
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from itertools import accumulate, chain, repeat
from operator import add, itemgetter
from pickle import loads
from typing import Any

from whoosh import formats
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query.qcore import QueryError
from whoosh.scoring import BM25FScorer, WeightScorer
from whoosh.searching import Results
from whoosh.system import _INT_SIZE
from whoosh.util.numeric import byte_to_length

from litreview.search.index_schema import OFFSETS, POSITIONS

_first = itemgetter(0)
_NOT_SCORE = 1.0  # what Whoosh's InverseMatcher gives each document a NOT lets through
Blocks = list[tuple[object, object, object]]  # (ids, weights, values) per posting block


class PostingsCache:
    """Decoded posting blocks of recently used terms (and the documents of recently
    checked phrases), least recently used dropped first beyond ``max_bytes`` (an
    estimate: ids, weights and position bytes). Thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[tuple, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple):
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: tuple, value, size: int | None = None) -> None:
        """Keep ``value`` (posting blocks, sized here, or anything with its ``size``)."""
        if size is None:
            size = sum(
                48 * len(ids) + sum(len(v) for v in values if v is not None)
                for ids, _, values in value
            )
        if size > self.max_bytes // 4:
            return  # one huge posting list would push out everything else
        with self._lock:
            if key in self._items:
                return
            self._items[key] = (value, size)
            self.size += size
            while self.size > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self.size -= dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.size = 0


def search(
    searcher,
    q: wq.Query,
    limit: int,
    cache: PostingsCache | None = None,
    keep: Callable[[Any, set[int]], set[int]] | None = None,
) -> tuple[Results, int]:
    """The best ``limit`` documents for ``q`` as Whoosh Results (matched terms
    recorded, for highlighting), and the exact number of matching documents.
    ``keep(segment reader, matches)`` filters each segment's matches, if given."""
    top: list[tuple[float, int]] = []
    total = 0
    runs = []
    for sub, offset in searcher.leaf_searchers():
        run = _Segment(searcher, sub, cache)
        docs = run.docs(q)
        if docs and keep is not None:
            docs = keep(sub.reader(), docs)
        if not docs:
            continue
        total += len(docs)
        scores = dict.fromkeys(docs, 0.0)
        run.accumulate(q, docs, 1.0, scores)
        best = heapq.nlargest(limit, scores, key=scores.__getitem__)
        if best:  # ties at the cut: the lower document numbers, as Whoosh orders them
            cut = scores[best[-1]]
            best = [d for d in best if scores[d] > cut] + sorted(
                d for d, score in scores.items() if score == cut
            )
        top.extend((scores[d], d + offset) for d in best)
        runs.append((run, offset))
    top.sort(key=lambda item: (-item[0], item[1]))
    top = top[:limit]
    results = Results(searcher, q, top, docset=None)
    docterms: dict[int, list] = {}
    for run, offset in runs:
        local = {d - offset for _, d in top if offset <= d < offset + run.reader.doc_count_all()}
        for d, terms in run.matched_terms(local).items():
            docterms[d + offset] = terms
    # The highlighter's character offsets for the top documents, read now from the
    # blocks that hold them (else it reads each term's whole posting list).
    char_fields = [name for name, field in searcher.schema.items() if _has_chars(field)]
    for name in char_fields:
        results._char_cache[name] = {d: {} for _, d in top}
    for run, offset in runs:
        for name, docs in run.characters(docterms, offset).items():
            for d, words in docs.items():
                results._char_cache[name][d].update(words)
    termdocs: dict[tuple, list[int]] = {}
    for d, terms in docterms.items():
        for term in terms:
            termdocs.setdefault(term, []).append(d)
    results.docterms = docterms
    results.termdocs = termdocs
    return results, total


class _Segment:
    """One segment's evaluation of one query: document sets first, then scores."""

    def __init__(self, top, searcher, cache: PostingsCache | None = None) -> None:
        self.top = top
        self.searcher = searcher
        self.reader = searcher.reader()
        self.schema = searcher.schema
        self.deleted = self.reader.deleted_docs_set if self.reader.has_deletions() else ()
        self._docs: dict[int, set[int]] = {}
        self._blocks: dict[tuple[str, bytes], Blocks] = {}
        self._generic: dict[int, dict[int, float]] = {}
        self._leaves: list[tuple[wq.Query, set[int]]] = []  # scored leaves and their docs
        self._keep: list[wq.Query] = []
        self._ranges: dict[int, wq.Query] = {}
        segment = getattr(self.reader, "segment", lambda: None)()
        # Cached blocks are keyed by segment: only for readers of one segment.
        self._cache = cache if segment is not None else None
        self._segment_id = segment.segment_id() if segment is not None else None

    # -------------------------------------------------------------- document sets
    def docs(self, q: wq.Query) -> set[int]:
        key = id(q)
        found = self._docs.get(key)
        if found is None:
            found = self._compute_docs(q)
            self._docs[key] = found
            self._keep.append(q)  # the key is id(q): q must outlive the memo
        return found

    def _compute_docs(self, q: wq.Query) -> set[int]:
        kind = type(q)
        if kind is wq.Term:
            return self._term_docs(q.fieldname, q.text)
        if kind is wq.Phrase:
            return self._phrase_docs(q)
        if kind is wq.Or and not q.minmatch and not q.scale:
            return set().union(*(self.docs(c) for c in q.subqueries))
        if kind is wq.And:
            positive = [c for c in q.subqueries if not isinstance(c, wq.Not)]
            negative = [c.query for c in q.subqueries if isinstance(c, wq.Not)]
            if positive:
                sets = sorted((self.docs(c) for c in positive), key=len)
                found = sets[0].intersection(*sets[1:])
            else:
                found = self._all_docs()
            for n in negative:
                if not found:
                    break
                found = found - self.docs(n)
            return found
        if kind is wq.AndNot:
            return self.docs(q.a) - self.docs(q.b)
        if kind is wq.AndMaybe:
            return self.docs(q.a)
        if kind is wq.ConstantScoreQuery:
            return self.docs(q.child)
        if kind is wq.Not:  # (Whoosh's own NOT matcher lets deleted documents through)
            return self._all_docs() - self.docs(q.query)
        if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
            return set()
        if isinstance(q, wq.MultiTerm):  # prefix, wildcard, fuzzy, term range
            terms = q._btexts(self.reader)
            return set().union(*(self._term_docs(q.fieldname, t) for t in terms))
        if isinstance(q, wq.NumericRange):
            return self.docs(self._compiled(q))
        return set(self._whoosh_scores(q))

    def _all_docs(self) -> set[int]:
        return set(range(self.reader.doc_count_all())).difference(self.deleted)

    def _term_docs(self, fieldname: str, text) -> set[int]:
        found = self._raw_term_docs(fieldname, text)
        return found.difference(self.deleted) if self.deleted else found

    def _raw_term_docs(self, fieldname: str, text) -> set[int]:
        """The documents of a term's postings, deleted ones included."""
        return set(chain.from_iterable(ids for ids, _, _ in self._term_blocks(fieldname, text)))

    def _term_blocks(self, fieldname: str, text) -> Blocks:
        field = self.schema[fieldname] if fieldname in self.schema else None
        if field is None:
            return []
        try:
            btext = _bytes(field, text)
        except ValueError:
            return []
        key = (fieldname, btext)
        blocks = self._blocks.get(key)
        if blocks is None:
            shared = (self._segment_id, fieldname, btext)
            blocks = self._cache.get(shared) if self._cache is not None else None
            if blocks is None:
                blocks = _read_blocks(self.reader, fieldname, btext)
                if self._cache is not None:
                    self._cache.put(shared, blocks)
            self._blocks[key] = blocks
        return blocks

    def _phrase_docs(self, q: wq.Phrase) -> set[int]:
        if not q.words:
            return set()
        # Checked once per segment and phrase (deleted documents included, taken out
        # below): a review question's theme query is run again and again.
        key = (self._segment_id, "phrase", q.fieldname, tuple(q.words), q.slop)
        found = self._cache.get(key) if self._cache is not None else None
        if found is None:
            found = frozenset(self._check_phrase(q))
            if self._cache is not None:
                self._cache.put(key, found, size=48 * len(found))
        return set(found.difference(self.deleted) if self.deleted else found)

    def _check_phrase(self, q: wq.Phrase) -> set[int]:
        sets = [self._raw_term_docs(q.fieldname, word) for word in q.words]
        candidates = set.intersection(*sets)
        if len(q.words) == 1 or not candidates:
            return candidates
        where = POSITIONS.get(q.fieldname, q.fieldname)
        fmt = self.schema[where].format
        if not fmt.supports("positions"):  # as Whoosh's own phrase matcher says it
            raise QueryError(f"Phrase search: {q.fieldname!r} field has no positions")
        if len(q.words) == 2 and q.slop <= 1:
            # The usual phrase, two words side by side: does the first word's set of
            # positions + 1 meet the second's? (set.isdisjoint runs in C)
            after = self._positions(where, q.words[0], candidates, fmt, shift=1)
            second = self._positions(where, q.words[1], candidates, fmt)
            return {d for d in candidates if not after[d].isdisjoint(second[d])}
        positions = {w: self._positions(where, w, candidates, fmt) for w in set(q.words)}
        shifts = range(1, max(q.slop, 1) + 1)
        found = set()
        # (Numbering every occurrence document << 32 | position and intersecting once
        # per word measured 8% slower than these small sets per document.)
        for d in candidates:
            ends = set(positions[q.words[0]][d])
            for word in q.words[1:]:
                here = positions[word][d]
                if len(shifts) == 1:
                    ends = set(map(add, ends, repeat(1))).intersection(here)
                else:
                    ends = {p for p in here if any(p - k in ends for k in shifts)}
                if not ends:
                    break
            if ends:
                found.add(d)
        return found

    def _positions(self, fieldname, word, docs: set[int], fmt, shift: int = 0) -> dict:
        """{document: the word's positions} for ``docs``; with ``shift``, as a set of
        each position + shift."""
        decode = _shifted(fmt, shift) if shift else _decoder(fmt)
        found = {}
        field = self.schema[fieldname]
        blocks = _read_blocks(self.reader, fieldname, _bytes(field, word), sorted(docs))
        for ids, _, values in blocks:
            for i, d in enumerate(ids):
                if d in docs:
                    found[d] = decode(values[i])
        return found

    def _compiled(self, q: wq.NumericRange) -> wq.Query:
        # The terms of a numeric range in this segment, compiled once per evaluation.
        found = self._ranges.get(id(q))
        if found is None:
            found = self._ranges[id(q)] = q._compile_query(self.reader)
            self._keep.append(q)
        return found

    def _whoosh_scores(self, q: wq.Query) -> dict[int, float]:
        key = id(q)
        scores = self._generic.get(key)
        if scores is None:
            scores = {}
            m = q.matcher(self.searcher, self.top.context())
            while m.is_active():
                scores[m.id()] = m.score()
                m.next()
            self._generic[key] = scores
        return scores

    # -------------------------------------------------------------------- scores
    def accumulate(self, q: wq.Query, region: set[int], factor: float, acc: dict) -> None:
        """Add ``q``'s score, times ``factor``, for the documents of ``region`` (where
        ``q`` is known to match and to count, as Whoosh's matchers would sum it)."""
        kind = type(q)
        boost = getattr(q, "boost", 1.0)
        if kind is wq.Term:
            self._leaves.append((q, region))
            self._score_term(q.fieldname, q.text, region, factor * boost, acc)
        elif kind is wq.Phrase:
            self._leaves.append((q, region))
            for word in q.words:
                self._score_term(q.fieldname, word, region, factor * boost, acc)
        elif kind is wq.Or and not q.minmatch and not q.scale:
            for c in q.subqueries:
                part = region.intersection(self.docs(c))
                if part:
                    self.accumulate(c, part, factor * boost, acc)
        elif kind is wq.And:
            for c in q.subqueries:
                if isinstance(c, wq.Not):  # as Whoosh's InverseMatcher scores it
                    for d in region:
                        acc[d] += _NOT_SCORE * factor * boost
                else:
                    self.accumulate(c, region, factor * boost, acc)
        elif kind is wq.AndNot:
            self.accumulate(q.a, region, factor * boost, acc)
        elif kind is wq.AndMaybe:
            self.accumulate(q.a, region, factor * boost, acc)
            part = region.intersection(self.docs(q.b))
            if part:
                self.accumulate(q.b, part, factor * boost, acc)
        elif kind is wq.Not:
            for d in region:
                acc[d] += _NOT_SCORE * factor * boost
        elif kind is wq.ConstantScoreQuery:
            if q.score:
                for d in region:
                    acc[d] += q.score * factor
        elif q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
            return
        elif isinstance(q, wq.NumericRange):
            self._leaves.append((q, region))  # its terms: from Whoosh's matcher
            self.accumulate(self._compiled(q), region, factor, acc)
        else:
            self._leaves.append((q, region))
            scores = self._whoosh_scores(q)
            for d in region:
                acc[d] += scores[d] * factor

    def _score_term(self, fieldname: str, text, region: set[int], factor: float, acc) -> None:
        field = self.schema[fieldname]
        btext = _bytes(field, text)
        scorer = self.top.weighting.scorer(self.searcher, fieldname, btext)
        blocks = self._term_blocks(fieldname, text)
        if isinstance(scorer, BM25FScorer):
            lengths = self._lengths(fieldname)
            k1 = scorer.K1
            idf = scorer.idf * (k1 + 1) * factor
            # The BM25 denominator's length part for each of the 256 length bytes.
            norm = [
                k1 * ((1 - scorer.B) + scorer.B * byte_to_length(b) / scorer.avgfl)
                for b in range(256)
            ]
            for ids, weights, _ in blocks:
                for d, w in zip(ids, weights, strict=True):
                    if d in region:
                        acc[d] += idf * w / (w + norm[lengths[d]])
        elif isinstance(scorer, WeightScorer) or not field.scorable:
            for ids, weights, _ in blocks:
                for d, w in zip(ids, weights, strict=True):
                    if d in region:
                        acc[d] += w * factor
        else:  # another weighting model: Whoosh scores each posting
            m = self.searcher.postings(fieldname, btext, weighting=self.top.weighting)
            while m.is_active():
                if m.id() in region:
                    acc[m.id()] += m.score() * factor
                m.next()

    def _lengths(self, fieldname: str):
        # One byte per document (Whoosh's length encoding), read once per reader.
        cache = self.reader.__dict__.setdefault("_litreview_lengths", {})
        lengths = cache.get(fieldname)
        if lengths is None:
            count = self.reader.doc_count_all()
            lengths = bytearray(count)
            perdoc = getattr(self.reader, "_perdoc", None)
            column = None
            if perdoc is not None and hasattr(perdoc, "_cached_reader"):
                column = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            if column is not None:
                lengths[:] = bytes(column.load())[:count].ljust(count, b"\0")
            cache[fieldname] = lengths = bytes(lengths)
        return lengths

    def characters(self, docterms: dict[int, list], offset: int) -> dict[str, dict]:
        """{field: {global docnum: {word: [(pos, startchar, endchar)]}}} for the
        matched terms of this segment's documents in ``docterms``, read from the field
        with the offsets (``fulltext_chars`` for ``fulltext``); that field's terms are
        added to ``docterms``, for the highlighter."""
        found: dict[str, dict] = {}
        count = self.reader.doc_count_all()
        wanted: dict[tuple[str, bytes], list[int]] = {}
        for docnum, terms in docterms.items():
            d = docnum - offset
            if 0 <= d < count:
                for fieldname, btext in terms:
                    where = OFFSETS.get(fieldname, fieldname)
                    if _has_chars(self.schema[where]):
                        wanted.setdefault((where, btext), []).append(d)
        for (where, btext), docs in wanted.items():
            field = self.schema[where]
            word = field.from_bytes(btext)
            for ids, _, values in _read_blocks(self.reader, where, btext, sorted(docs)):
                for d in docs:
                    i = bisect_left(ids, d)
                    if i < len(ids) and ids[i] == d:
                        chars = field.format.decode_characters(values[i])
                        found.setdefault(where, {}).setdefault(d + offset, {})[word] = chars
                        if (where, btext) not in docterms[d + offset]:
                            docterms[d + offset].append((where, btext))
        return found

    # ------------------------------------------------------------- matched terms
    def matched_terms(self, docs: set[int]) -> dict[int, list[tuple[str, bytes]]]:
        """The query terms found in each of ``docs`` (for highlighting)."""
        found: dict[int, list] = {d: [] for d in docs}
        for q, region in self._leaves:
            hits = docs.intersection(region)
            if not hits:
                continue
            if type(q) in (wq.Term, wq.Phrase):
                field = self.schema[q.fieldname]
                words = [q.text] if type(q) is wq.Term else q.words
                terms = [(q.fieldname, _bytes(field, w)) for w in dict.fromkeys(words)]
                for d in hits:
                    found[d].extend(t for t in terms if t not in found[d])
            else:
                # needs_current: else Whoosh's Or may use a matcher that names no terms.
                m = q.matcher(self.searcher, self.top.context(needs_current=True))
                for d in sorted(hits):
                    if not m.is_active():
                        break
                    m.skip_to(d)
                    if m.is_active() and m.id() == d:
                        found[d].extend(t for t in m.matching_terms() if t not in found[d])
        return found


def _read_blocks(reader, fieldname: str, btext: bytes, docs: list[int] | None = None) -> Blocks:
    """A term's postings in this segment, block by block, deleted documents included;
    with ``docs`` (sorted), only the blocks that may hold one of them."""
    if (fieldname, btext) not in reader:
        return []
    m = reader.postings(fieldname, btext)
    if isinstance(m, FilterMatcher):  # the deleted documents: subtracted by the caller
        m = m.child
    blocks: Blocks = []
    if isinstance(m, W3LeafMatcher):
        low = -1  # the block's ids are above the last block's highest
        while m.is_active():
            if docs is not None:
                # A block says its highest id before it is read and decompressed.
                i = bisect_left(docs, low + 1)
                low = m._maxid
                if i == len(docs) or docs[i] > low:
                    m._next_block()
                    continue
            m._read_data()
            if not m._byteids:  # delta-coded ids, summed in C (Whoosh uses a generator)
                m._ids = tuple(accumulate(m._data[0]))
            m._read_weights()
            if m._fixedsize is not None and m._fixedsize >= 0:
                m._values = ()  # frequencies only: nothing a phrase or snippet needs
            else:
                m._read_values()
            blocks.append((m._ids, m._weights, m._values))
            m._next_block()
        return blocks
    ids, weights, values = [], [], []
    while m.is_active():
        ids.append(m.id())
        weights.append(m.weight())
        values.append(m.value())
        m.next()
    return [(ids, weights, values)]


def _decoder(fmt):
    """Posting value -> positions, for Whoosh's Positions and Characters formats (the
    same numbers as their decode_positions, summed in C)."""
    kind = type(fmt)
    if kind is formats.Positions:
        return lambda v: list(accumulate(_codes(v)))
    if kind is formats.Characters:
        return lambda v: list(accumulate(map(_first, _codes(v))))
    return fmt.decode_positions


def _shifted(fmt, shift: int):
    """Posting value -> {position + shift}, summed in C where the format allows."""

    def shifted(codes):
        sums = accumulate(codes, initial=shift)
        next(sums)  # the initial value itself is no position
        return set(sums)

    kind = type(fmt)
    if kind is formats.Positions:
        return lambda v: shifted(_codes(v))
    if kind is formats.Characters:
        return lambda v: shifted(map(_first, _codes(v)))
    return lambda v: {p + shift for p in fmt.decode_positions(v)}


def _has_chars(field) -> bool:
    return field.format is not None and field.supports("characters")


def _bytes(field, text) -> bytes:
    return text if isinstance(text, bytes) else field.to_bytes(text)


def _codes(value: bytes):
    if not value.endswith(b"."):
        value += b"."
    return loads(value[_INT_SIZE:])
