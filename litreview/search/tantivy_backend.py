"""The tantivy index of a data folder (the ``tantivy`` package, 0.27): the embedded default.

One index serves every review of a data folder; each document is one record: its
bibliographic fields, and the text of every page of every full text attached to it in
``fulltext`` (one value per page: a phrase never runs from one page into the next, but
``consent AND "data protection"`` matches a paper that says one on page 3 and the other
on page 7). No text is stored: snippets are cut from the database's text
(:mod:`litreview.search.snippets`); the index answers record ids, scores and totals.

The fields, analysed as :mod:`litreview.search.analysis` says every engine must:

* ``title``, ``abstract``, ``author``, ``venue``, ``keywords``, ``fulltext``: words as
  ``analysis.WORD`` splits them (tantivy's ``simple`` tokenizer: letters and digits),
  lower-cased, accents folded, Snowball English stems, positions for phrases; stop
  words kept;
* ``<field>_words``: the same words unstemmed, without frequencies or positions: what
  a wildcard ``word*`` matches (as typed: ``confidential*`` is not ``confid*``);
* ``review``, ``record_id``, ``year``, ``has_fulltext``, ``doi`` (lower-cased, whole):
  filters; ``record_id`` is a fast field, so hits never read a stored document.

Where tantivy's ASCII folding and ``analysis.fold`` disagree (letters such as ``İ``,
``ħ`` or ``ŋ``), the text is given to tantivy with those letters folded as
``analysis.fold`` folds them, and a query word also matches what tantivy's own analyzer
makes of it: a word typed as it stands in the text is always found.

Writing: tantivy lets one writer hold an index at a time, across processes, with an
OS file lock (``flock`` on ``.tantivy-writer.lock``): the kernel lets go of it when a
process dies, even by ``kill -9``, and what that writer had not committed is never
seen (its files are collected at the next commit). :meth:`TantivyBackend.writer`
waits up to its timeout for the lock, then raises IndexBusy; the outbox keeps the
changes for the next run. Searches never wait: a searcher sees the last commit.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import tantivy
from sqlalchemy.orm import Session

from litreview.errors import Invalid
from litreview.search import analysis
from litreview.search.backend import Hit, IndexBusy, SearchFilters, SearchResult
from litreview.search.documents import RecordDoc
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

log = logging.getLogger(__name__)

# Bump when the schema or the analysis changes: an index of another version is rebuilt
# (each version has its own folder).
SCHEMA_VERSION = 1
TEXT_FIELDS = ("title", "abstract", "author", "venue", "keywords", "fulltext")
# A phrase whose words each have several index terms (spellings) is searched as each
# combination of them, up to this many.
MAX_PHRASE_VARIANTS = 16
# Memory for the words a writer holds before it writes a segment, and its threads: one
# thread on a machine shared with the web app (more threads make more segments to merge
# for little gain in a build this size).
_HEAP_BYTES = 200_000_000
_THREADS = 1
_LOCK_POLL_S = 0.05


def _analyzers() -> dict[str, tantivy.TextAnalyzer]:
    def words() -> tantivy.TextAnalyzerBuilder:
        return (
            tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
        )

    return {
        "lr_stemmed": words().filter(tantivy.Filter.stemmer("english")).build(),
        "lr_words": words().build(),
        "lr_lower": tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw())
        .filter(tantivy.Filter.lowercase())
        .build(),
    }


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("review", indexed=True, fast=True)
    builder.add_unsigned_field("record_id", indexed=True, fast=True)
    builder.add_integer_field("year", indexed=True, fast=True)
    builder.add_boolean_field("has_fulltext", indexed=True)
    builder.add_text_field("doi", tokenizer_name="lr_lower", index_option="basic")
    for name in TEXT_FIELDS:
        builder.add_text_field(name, tokenizer_name="lr_stemmed", index_option="position")
        builder.add_text_field(f"{name}_words", tokenizer_name="lr_words", index_option="basic")
    return builder.build()


# --- where tantivy's folding differs from analysis.fold -------------------------------


def _fold_fixes(analyzer: tantivy.TextAnalyzer) -> dict[int, str]:
    """Letters tantivy would fold otherwise than analysis.fold, mapped to analysis.fold's
    answer where tantivy keeps that as it is (``İ`` -> ``i``): the text is given to
    tantivy so. Latin, Greek and Cyrillic letters and the Latin ligatures are checked."""
    fixes: dict[int, str] = {}
    for code in itertools.chain(range(0xC0, 0x530), range(0x1E00, 0x1F00), range(0xFB00, 0xFB07)):
        char = chr(code)
        if not char.isalpha():
            continue
        folded = analysis.fold(char)
        if analyzer.analyze(char) != [folded] and analyzer.analyze(folded) == [folded]:
            fixes[code] = folded
    return fixes


class _Text:
    """What tantivy is given of a text: as it is, unless it holds a letter to fix."""

    def __init__(self, fixes: dict[int, str]) -> None:
        self.fixes = fixes
        self.find = re.compile("[" + "".join(map(chr, fixes)) + "]").search if fixes else None

    def __call__(self, text: str) -> str:
        if self.find is None or text.isascii() or not self.find(text):
            return text
        return text.translate(self.fixes)


class TantivyBackend:
    """A tantivy index in ``index_dir`` (made on first write), behind SearchBackend."""

    name = "tantivy"
    uses_outbox = True

    def __init__(self, index_dir: Path) -> None:
        self.root = Path(index_dir)
        self.path = self.root / f"v{SCHEMA_VERSION}"
        self.schema = _schema()
        self._analyzers = _analyzers()
        self._text = _Text(_fold_fixes(self._analyzers["lr_words"]))
        self._index: tantivy.Index | None = None
        self._lock = threading.Lock()
        # Set by create() for the next writer block of the same thread (a rebuild's): a
        # web worker's indexer thread never starts from empty for another's rebuild.
        self._rebuilding = threading.local()

    # --- the index on disk ------------------------------------------------------------

    def exists(self) -> bool:
        return (self.path / "meta.json").is_file()

    def create(self) -> None:
        """Make an empty index if there is none. If there is one, this thread's next
        writer block starts from empty: what it adds replaces the index in one commit,
        so searches see the old index until then, and a rebuild that dies (or cannot
        have the lock) leaves it as it was."""
        with self._lock:
            self._index = None
            if not self.exists():
                self._make_empty()
            else:
                self._rebuilding.start_empty = True
        for old in [*self.root.glob("v*"), *self.root.glob(".v*-new-*")]:
            if old != self.path and old.is_dir():
                # An index of an older schema, or one a killed process was making.
                shutil.rmtree(old, ignore_errors=True)

    def _make_empty(self) -> None:
        # Made aside and renamed into place: the index folder, once there, is a whole
        # index; of two processes making one at once, one wins and the other's goes.
        self.root.mkdir(parents=True, exist_ok=True)
        aside = Path(tempfile.mkdtemp(prefix=f".{self.path.name}-new-", dir=self.root))
        try:
            tantivy.Index(self.schema, str(aside), reuse=False)
            os.rename(aside, self.path)
        except OSError:
            if not self.exists():
                raise
        finally:
            shutil.rmtree(aside, ignore_errors=True)

    def _opened(self) -> tantivy.Index:
        with self._lock:
            if self._index is None or not self.exists():
                if not self.exists():  # only a writer gets here (see search)
                    self._make_empty()
                index = tantivy.Index.open(str(self.path))
                for name, analyzer in self._analyzers.items():
                    index.register_tokenizer(name, analyzer)
                index.config_reader(reload_policy="manual")
                self._index = index
            return self._index

    def close(self) -> None:
        with self._lock:
            self._index = None

    # --- writing ----------------------------------------------------------------------

    @contextmanager
    def writer(self, timeout: float) -> Iterator[_Writer]:
        start_empty = getattr(self._rebuilding, "start_empty", False)
        self._rebuilding.start_empty = False  # whatever happens to this block
        index = self._opened()
        deadline = time.monotonic() + timeout
        while True:
            try:
                raw = index.writer(heap_size=_HEAP_BYTES, num_threads=_THREADS)
                break
            except ValueError as exc:
                if "LockBusy" not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise IndexBusy(
                        f"the search index {self.path} is being written by another process "
                        f"(waited {timeout:g} s)"
                    ) from None
                time.sleep(_LOCK_POLL_S)
        try:
            if start_empty:
                raw.delete_all_documents()
            writer = _Writer(raw, self.schema, self._text)
            yield writer
            writer.flush()
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            # Merges started by the commit finish before the lock is let go.
            raw.wait_merging_threads()

    # --- searching --------------------------------------------------------------------

    def _searcher(self) -> tantivy.Searcher:
        index = self._opened()
        index.reload()  # what other processes committed since
        return index.searcher()

    def search(
        self,
        session: Session,
        review_id: int,
        query: Node,
        filters: SearchFilters,
        limit: int,
    ) -> SearchResult:
        if not self.exists() or (filters.only_ids is not None and not filters.only_ids):
            # No index: the search's catch-up could not start one over (see outbox).
            return SearchResult(0, [])
        searcher = self._searcher()
        must = [
            _Translator(self, searcher).query(query),
            self._filter(tantivy.Query.term_query(self.schema, "review", review_id)),
        ]
        must_not = []
        if filters.only_ids is not None:
            must.append(self._filter(self._ids(filters.only_ids)))
        if filters.except_ids:
            must_not.append(self._ids(filters.except_ids))
        if filters.year_from is not None or filters.year_to is not None:
            must.append(self._filter(self.years(filters.year_from, filters.year_to)))
        if filters.has_fulltext is not None:
            must.append(
                self._filter(
                    tantivy.Query.term_query(self.schema, "has_fulltext", filters.has_fulltext)
                )
            )
        whole = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, q) for q in must] + [(tantivy.Occur.MustNot, q) for q in must_not]
        )
        found = searcher.search(whole, limit, count=True)
        ids = searcher.fast_field_values("record_id", [address for _, address in found.hits])
        hits = [
            Hit(record_id=int(record_id), score=float(score))
            for (score, _), record_id in zip(found.hits, ids, strict=True)
        ]
        return SearchResult(total=found.count, hits=hits)

    def record_ids(self, review_id: int) -> Iterator[int]:
        if not self.exists():
            return iter(())
        searcher = self._searcher()
        everything = tantivy.Query.term_query(self.schema, "review", review_id)
        total = searcher.search(everything, 1, count=True).count
        if not total:
            return iter(())
        found = searcher.search(everything, total, count=False)
        addresses = [address for _, address in found.hits]
        return iter(sorted(int(i) for i in searcher.fast_field_values("record_id", addresses)))

    def _ids(self, ids: frozenset[int]) -> tantivy.Query:
        return tantivy.Query.term_set_query(self.schema, "record_id", sorted(ids))

    def years(self, start: int | None, end: int | None) -> tantivy.Query:
        return tantivy.Query.range_query(self.schema, "year", tantivy.FieldType.Integer, start, end)

    @staticmethod
    def _filter(query: tantivy.Query) -> tantivy.Query:
        # A filter decides what matches, never how well.
        return tantivy.Query.const_score_query(query, 0.0)

    def index_terms(self, word: str) -> list[str]:
        """The index terms a query word matches: analysis.terms, and where the word is
        not plain ASCII, also what tantivy's own analyzer makes of its spellings."""
        terms = list(analysis.terms(word))
        if not word.isascii():
            stemmed = self._analyzers["lr_stemmed"]
            for spelling in (word, *analysis.spellings(analysis.fold(word))):
                for term in stemmed.analyze(spelling):
                    if term not in terms:
                        terms.append(term)
        return terms


class _Writer:
    """Changes to the index, committed when the writer's block ends without error."""

    def __init__(self, raw: tantivy.IndexWriter, schema: tantivy.Schema, text: _Text) -> None:
        self.raw = raw
        self.schema = schema
        self.text = text
        self.deleted: list[int] = []

    def delete_record(self, record_id: int) -> None:
        self.deleted.append(record_id)  # deleted together, before the next add

    def delete_review(self, review_id: int) -> None:
        self.flush()
        self.raw.delete_documents_by_query(
            tantivy.Query.term_query(self.schema, "review", review_id)
        )

    def flush(self) -> None:
        """Delete the records asked for so far (a delete applies to what was added
        before it)."""
        if self.deleted:
            ids, self.deleted = sorted(set(self.deleted)), []
            self.raw.delete_documents_by_query(
                tantivy.Query.term_set_query(self.schema, "record_id", ids)
            )

    def add(self, doc: RecordDoc) -> None:
        if self.deleted:
            self.flush()
        text = self.text
        fields: dict = {
            "review": doc.review_id,
            "record_id": doc.record_id,
            "has_fulltext": bool(doc.pages),
        }
        if doc.year is not None:
            fields["year"] = doc.year
        if doc.doi:
            fields["doi"] = doc.doi.lower()
        for name in ("title", "abstract", "author", "venue", "keywords"):
            value = getattr(doc, name)
            if value:
                fields[name] = fields[f"{name}_words"] = text(value)
        pages = [text(page) for _, page in doc.pages if page]
        if pages:
            fields["fulltext"] = fields["fulltext_words"] = pages
        self.raw.add_document(tantivy.Document.from_dict(fields, self.schema))


class _Translator:
    """A query tree as a tantivy query (see :mod:`litreview.search.query`)."""

    def __init__(self, backend: TantivyBackend, searcher: tantivy.Searcher) -> None:
        self.backend = backend
        self.schema = backend.schema
        self.searcher = searcher

    def query(self, node: Node) -> tantivy.Query:
        Q, Occur = tantivy.Query, tantivy.Occur  # noqa: N806 - tantivy's own names
        if isinstance(node, Term):
            terms = self.backend.index_terms(node.word)
            return self._fields(node.field, lambda f: self._any(f, terms))
        if isinstance(node, Phrase):
            return self._fields(node.field, lambda f: self._phrase(f, node.words))
        if isinstance(node, Prefix):
            return self._fields(node.field, lambda f: self._prefix(f, node.prefix))
        if isinstance(node, YearRange):
            return self.backend.years(node.start, node.end)
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

    def _fields(self, field: str | None, make) -> tantivy.Query:
        if field is not None:
            return make(field)
        return tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Should, tantivy.Query.boost_query(make(name), weight))
                for name, weight in DEFAULT_FIELDS.items()
            ]
        )

    def _any(self, field: str, terms: list[str]) -> tantivy.Query:
        queries = [
            tantivy.Query.term_query(self.schema, field, t, index_option="freq") for t in terms
        ]
        if len(queries) == 1:
            return queries[0]
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])

    def _phrase(self, field: str, words: tuple[str, ...]) -> tantivy.Query:
        variants = itertools.islice(
            itertools.product(*(self.backend.index_terms(w) for w in words)),
            MAX_PHRASE_VARIANTS,
        )
        queries = [tantivy.Query.phrase_query(self.schema, field, list(v)) for v in variants]
        if len(queries) == 1:
            return queries[0]
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])

    def _prefix(self, field: str, prefix: str) -> tantivy.Query:
        words = f"{field}_words"
        found = self.searcher.terms_with_prefix(words, prefix, limit=MAX_PREFIX_WORDS + 1)
        if len(found) > MAX_PREFIX_WORDS:
            raise Invalid(
                f"{prefix}* matches more than {MAX_PREFIX_WORDS:,} different words: "
                "put more letters before the *"
            )
        return tantivy.Query.regex_query(self.schema, words, re.escape(prefix) + ".*")
