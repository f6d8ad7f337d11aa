"""The Whoosh index of a data folder (whoosh-reloaded 2.7.5, installed as ``whoosh``).

Writes: Whoosh lets one writer hold the index at a time (a lock file, so across
processes too). We wait for it with a short retry and otherwise raise IndexBusy; the
caller then leaves its changes in the outbox for the next run, so a reviewer's request
never fails for it. Deletes share one searcher: Whoosh 2.7 opens a searcher for each
delete otherwise, which costs seconds per hundred changes on a large index.

Reads never wait: a searcher sees the last committed version of the index. A query
is run by :mod:`litreview.search.evaluate` on Whoosh's postings (exact totals; Whoosh's
own collector can miss top documents and miscount over several segments), and
highlighted by Whoosh's highlighter.

Long because: one engine behind SearchBackend, kept whole until it is replaced.
"""

from __future__ import annotations

import bisect
import fcntl
import html
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from whoosh import highlight, index
from whoosh import query as wq
from whoosh.index import LockError
from whoosh.query.qcore import QueryError

from litreview.errors import Invalid
from litreview.search import evaluate
from litreview.search.analysis import term_offsets
from litreview.search.backend import Hit, IndexBusy, SearchFilters, SearchResult, Snippet
from litreview.search.documents import RecordDoc
from litreview.search.index_schema import INDEX_NAME, make_schema
from litreview.search.query import make_parser, parse_query

log = logging.getLogger(__name__)

SNIPPET_FIELDS = ("title", "abstract", "keywords")
_WHOLE = ("title", "keywords")  # short: shown whole
PAGES_PER_HIT = 2
_SPACES = re.compile(r"\s+")


class MarkFormatter(highlight.Formatter):
    """Matched words in ``<b>``; everything else HTML-escaped (the text is untrusted)."""

    between = " … "

    def _text(self, text: str) -> str:
        return html.escape(text, quote=True)

    def format_token(self, text, token, replace=False):
        return "<b>" + html.escape(highlight.get_text(text, token, replace), quote=True) + "</b>"


class _Highlighter(highlight.Highlighter):
    """Whoosh's highlighter, also from offsets we found ourselves (see _field_snippets)."""

    def can_load_chars(self, results, fieldname):
        return fieldname in results._char_cache or super().can_load_chars(results, fieldname)


def _highlighter(whole: bool = False) -> highlight.Highlighter:
    """Passages of about 240 characters around the matches (or the whole, for titles).

    The full text, with stored character offsets, is highlighted from those, without
    analysing it again: that keeps snippets of 20 hits cheap. Short fields (title,
    abstract) are analysed again.
    """
    fragmenter = highlight.WholeFragmenter() if whole else _Fragmenter()
    return _Highlighter(fragmenter=fragmenter, formatter=MarkFormatter(), order=highlight.SCORE)


class _PassageFormatter(MarkFormatter):
    """Formats each passage apart, with where its first match is: to look up its page."""

    def format(self, fragments, replace=False):
        return [
            (min(t.startchar for t in f.matches), self.format_fragment(f, replace=replace))
            for f in fragments
        ]


class _Fragmenter(highlight.PinpointFragmenter):
    """Passages around the matches, from stored offsets; within ``bounds`` (pages), and
    trimmed to whole words only where a passage cuts into one."""

    def __init__(self, starts: list[int] | None = None) -> None:
        super().__init__(maxchars=240, surround=70, autotrim=False, charlimit=None)
        self.starts = starts or [0]

    def fragment_matches(self, text, tokens):
        by_page: dict[int, list] = {}
        for token in tokens:
            n = max(bisect.bisect_right(self.starts, token.startchar) - 1, 0)
            by_page.setdefault(n, []).append(token)
        for n, page_tokens in by_page.items():
            low = self.starts[n]
            high = self.starts[n + 1] - len(PAGE_BREAK) if n + 1 < len(self.starts) else len(text)
            for fragment in super().fragment_matches(text, page_tokens):
                start, end = max(fragment.startchar, low), min(fragment.endchar, high)
                if start > low and text[start - 1].isalnum():
                    space = text.find(" ", start, fragment.matches[0].startchar)
                    start = space + 1 if space >= 0 else start
                if end < high and text[end].isalnum():
                    space = text.rfind(" ", fragment.matches[-1].endchar, end)
                    end = space if space >= 0 else end
                fragment.startchar, fragment.endchar = start, end
                yield fragment


def _passages(starts: list[int]) -> highlight.Highlighter:
    return highlight.Highlighter(
        fragmenter=_Fragmenter(starts), formatter=_PassageFormatter(), order=highlight.SCORE
    )


class _Writer:
    """The changes of one write, on a Whoosh writer with one shared searcher for deletes."""

    def __init__(self, writer) -> None:
        self._w = writer
        self._searcher = writer.searcher()
        self._analyzer = writer.schema["title"].analyzer

    def delete_record(self, record_id: int) -> None:
        self._w.delete_by_term("record_id", str(record_id), searcher=self._searcher)

    def delete_review(self, review_id: int) -> None:
        self._w.delete_by_term("review", str(review_id), searcher=self._searcher)

    def add(self, doc: RecordDoc) -> None:
        fulltext, page_map = _join_pages(doc.pages)
        # Analysed once for the fields without offsets (a list bypasses the analyzer;
        # stop words are already gone, so a word's place in the list is its position).
        abstract = _terms(self._analyzer, doc.abstract)
        fulltext_terms = _terms(self._analyzer, fulltext)
        fields = {
            "review": str(doc.review_id),
            "record_id": str(doc.record_id),
            "title": doc.title,
            "abstract": abstract,
            "_stored_abstract": doc.abstract,
            "abstract_pos": abstract,
            "author": doc.author,
            "venue": doc.venue,
            "keywords": doc.keywords,
            "doi": doc.doi,
            "has_fulltext": bool(fulltext.strip()),
            "fulltext": fulltext_terms,
            "_stored_fulltext": fulltext,
            "fulltext_pos": fulltext_terms,
            "fulltext_chars": fulltext,
            "page_map": page_map,
        }
        if doc.year is not None:
            fields["year"] = doc.year
        self._w.add_document(**fields)


PAGE_BREAK = "\n\n"


def _terms(analyzer, text: str) -> list[str]:
    return [t.text for t in analyzer(text)] if text else []


def _join_pages(pages: list[tuple[int | None, str]]) -> tuple[str, list[tuple[int, int | None]]]:
    """The full text as one string, and where each page starts in it."""
    parts: list[str] = []
    page_map: list[tuple[int, int | None]] = []
    offset = 0
    for page, text in pages:
        if not text.strip():
            continue
        page_map.append((offset, page))
        parts.append(text)
        offset += len(text) + len(PAGE_BREAK)
    return PAGE_BREAK.join(parts), page_map


class WhooshBackend:
    """One Whoosh index in ``index_dir``, holding every review of the data folder."""

    def __init__(self, index_dir: Path, cache_mb: int = 0) -> None:
        self.index_dir = Path(index_dir)
        # Posting blocks decoded for one search serve the next (see evaluate).
        self.postings = evaluate.PostingsCache(cache_mb * 2**20) if cache_mb else None
        self.schema = make_schema()
        self.parser = make_parser(self.schema)
        # One open searcher per thread, reopened only when the index has changed:
        # opening one costs more than many a query.
        self._searchers: dict[int, Any] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the searchers this backend keeps open."""
        with self._lock:
            searchers, self._searchers = list(self._searchers.values()), {}
        for s in searchers:
            s.close()
        if self.postings is not None:
            self.postings.clear()

    @contextmanager
    def _searcher(self) -> Iterator[Any]:
        thread = threading.get_ident()
        with self._lock:
            s = self._searchers.pop(thread, None)
        if s is not None:
            try:
                fresh = s.up_to_date()
            except Exception:  # noqa: BLE001 - the index was replaced or removed
                fresh = False
            if not fresh:
                s.close()
                s = None
        if s is None:
            s = self._open().searcher()
        try:
            yield s
        except BaseException:
            s.close()
            raise
        with self._lock:
            self._searchers[thread] = s

    # ------------------------------------------------------------------ the index
    def exists(self) -> bool:
        # A look for the table of contents, without opening it: this runs before every
        # search (to catch up), so it must cost next to nothing.
        return any(self.index_dir.glob(f"_{INDEX_NAME}_*.toc"))

    def create(self) -> None:
        with self._creation_lock():
            index.create_in(self.index_dir, self.schema, indexname=INDEX_NAME)

    @contextmanager
    def _creation_lock(self) -> Iterator[None]:
        # Two processes finding no index would both create one; the second would wipe
        # what the first had written. The file lock makes them take turns.
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with open(self.index_dir / ".create.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _open(self) -> index.Index:
        return index.open_dir(self.index_dir, indexname=INDEX_NAME, schema=self.schema)

    @contextmanager
    def writer(self, timeout: float, procs: int = 1, optimize: bool = False) -> Iterator[_Writer]:
        """Hold the write lock for a block; commit when it ends, cancel on error.

        Raises IndexBusy when another writer holds the lock for ``timeout`` seconds.
        ``optimize`` merges the index into one segment at the end (after a rebuild:
        fewer segments, faster searches).
        """
        if not self.exists():
            with self._creation_lock():
                if not index.exists_in(self.index_dir, indexname=INDEX_NAME):
                    index.create_in(self.index_dir, self.schema, indexname=INDEX_NAME)
        ix = self._open()
        try:
            kwargs = {"timeout": timeout, "delay": 0.05}
            if procs > 1:
                kwargs.update(procs=procs, multisegment=True, limitmb=128)
            try:
                w = ix.writer(**kwargs)
            except LockError:
                raise IndexBusy(f"the search index is busy (waited {timeout:g} s)") from None
            try:
                yield _Writer(w)
            except BaseException:
                w.cancel()
                raise
            w.commit(optimize=optimize)
        finally:
            ix.close()

    def record_ids(self, review_id: int) -> Iterator[int]:
        if not self.exists():
            return
        ix = self._open()
        try:
            with ix.searcher() as s:
                q = wq.Term("review", str(review_id))
                for docnum in s.docs_for_query(q):
                    yield int(s.stored_fields(docnum)["record_id"])
        finally:
            ix.close()

    # ------------------------------------------------------------------ searching
    def search(
        self,
        review_id: int,
        text: str,
        filters: SearchFilters,
        limit: int,
        snippets: bool = True,
    ) -> SearchResult:
        parsed = parse_query(self.parser, text)
        if not self.exists():
            self.close()
            return SearchResult(total=0, hits=[])
        with self._searcher() as s:
            # Most data folders hold one review: then its term is on every document and
            # intersecting with it would only cost time.
            alone = s.doc_frequency("review", str(review_id)) == s.doc_count_all()
            constraint = _constraint(review_id, filters, alone)
            q = parsed if constraint is None else wq.And([parsed, constraint])
            try:
                results, total = evaluate.search(
                    s, q, limit, self.postings, keep=_id_filter(filters)
                )
            except QueryError as exc:
                raise Invalid(f"the query cannot be run: {exc}") from None
            results.highlighter = _highlighter()
            hits = []
            for hit in results:
                stored = hit.fields()
                found = Hit(
                    record_id=int(stored["record_id"]),
                    title=stored.get("title", ""),
                    year=stored.get("year"),
                    score=hit.score,
                )
                if snippets:
                    found.snippets = _field_snippets(hit)
                hits.append(found)
            return SearchResult(total=total, hits=hits)


def _id_filter(filters: SearchFilters):
    """The record-id sets of ``filters`` as a filter of one segment's matches (or None).

    Reads each match's id from the ``record_id`` column (Whoosh's public column API),
    so a set of any size costs one look-up per match, not a query term per id.
    """
    only, leave_out = filters.only_ids, filters.except_ids
    if only is None and not leave_out:
        return None

    def keep(reader, docs: set[int]) -> set[int]:
        column = reader.column_reader("record_id")
        if only is not None:
            docs = {d for d in docs if int(column[d]) in only}
        if leave_out:
            docs = {d for d in docs if int(column[d]) not in leave_out}
        return docs

    return keep


def _constraint(review_id: int, filters: SearchFilters, alone: bool) -> wq.Query | None:
    """The filters as a query that adds nothing to the score (None: no filter at all)."""
    parts: list[wq.Query] = [] if alone else [wq.Term("review", str(review_id))]
    if filters.year_from is not None or filters.year_to is not None:
        parts.append(wq.NumericRange("year", filters.year_from, filters.year_to))
    if filters.has_fulltext is not None:
        parts.append(wq.Term("has_fulltext", filters.has_fulltext))
    if not parts:
        return None
    return wq.ConstantScoreQuery(wq.And(parts) if len(parts) > 1 else parts[0], 0.0)


def _clean(snippet: str) -> str:
    return _SPACES.sub(" ", snippet).strip()


def _find_offsets(hit, field: str) -> None:
    """Put where the matched words are in a field indexed without offsets (the
    abstract) in the results' cache, where the highlighter looks for them."""
    results, schema = hit.results, hit.searcher.schema
    words = {schema[field].from_bytes(t) for f, t in hit.matched_terms() if f == field}
    offsets = term_offsets(schema[field].analyzer, hit.get(field) or "", words)
    results._char_cache.setdefault(field, {})[hit.docnum] = offsets


def _field_snippets(hit) -> list[Snippet]:
    matched = {field for field, _ in hit.matched_terms()}
    found = []
    for field in SNIPPET_FIELDS:
        if field in matched:
            if field not in _WHOLE:
                _find_offsets(hit, field)
            highlighter = _highlighter(whole=field in _WHOLE)
            text = _clean(highlighter.highlight_hit(hit, field, top=2))
            if text:
                found.append(Snippet(field=field, page=None, text=text))
    if "fulltext" in matched:
        page_map = hit.get("page_map") or []
        starts = [offset for offset, _ in page_map]
        # From the offsets of fulltext_chars (see schema), cut from the stored text.
        passages = _passages(starts).highlight_hit(
            hit, "fulltext_chars", text=hit["fulltext"], top=PAGES_PER_HIT
        )
        for start, passage in passages:
            index = bisect.bisect_right(starts, start) - 1
            page = page_map[index][1] if index >= 0 else None
            found.append(Snippet(field="fulltext", page=page, text=_clean(passage)))
    return found
