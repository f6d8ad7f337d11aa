"""What a tantivy index of litreview holds: its fields, their analysis, a record as a
tantivy document (see :mod:`litreview.search.tantivy_backend`).

The fields, analysed as :mod:`litreview.search.analysis` says every engine must:

* ``title``, ``abstract``, ``author``, ``venue``, ``keywords``, ``fulltext``: words as
  ``analysis.WORD`` splits them (tantivy's ``simple`` tokenizer: letters and digits),
  lower-cased, accents folded, Snowball English stems, positions for phrases; stop
  words kept. ``fulltext`` holds one value per page of every full text of the record:
  a phrase never runs from one page into the next, but ``consent AND "data
  protection"`` matches a paper that says one on page 3 and the other on page 7;
* ``<field>_words``: the same words unstemmed, without frequencies or positions: what
  a wildcard ``word*`` matches (as typed: ``confidential*`` is not ``confid*``);
* ``review``, ``record_id``, ``year``, ``has_fulltext``, ``doi`` (lower-cased, whole):
  filters; ``record_id`` is a fast field, so hits never read a stored document.

No text is stored: snippets are cut from the database's text.

Where tantivy's ASCII folding and ``analysis.fold`` disagree (``İ``, ``ǧ``, ``ŉ``...),
the text is given to tantivy with those letters folded as ``analysis.fold`` folds them
(:class:`TextFixer`); where tantivy folds more (``ħ``, ``ŋ``), a query word also
matches what tantivy's own analyzer makes of it (:meth:`Analysis.terms`): a word typed
as it stands in the text, or folded, is found.
"""

from __future__ import annotations

import itertools
import re

import tantivy

from litreview.search import analysis
from litreview.search.documents import RecordDoc

# Bump when the schema or the analysis changes: an index of another version is rebuilt
# (each version has its own folder).
SCHEMA_VERSION = 1
TEXT_FIELDS = ("title", "abstract", "author", "venue", "keywords", "fulltext")


def analyzers() -> dict[str, tantivy.TextAnalyzer]:
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


def make_schema() -> tantivy.Schema:
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


def fold_fixes(analyzer: tantivy.TextAnalyzer) -> dict[int, str]:
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


class TextFixer:
    """What tantivy is given of a text: as it is, unless it holds a letter to fix."""

    def __init__(self, fixes: dict[int, str]) -> None:
        self.fixes = fixes
        self.find = re.compile("[" + "".join(map(chr, fixes)) + "]").search if fixes else None

    def __call__(self, text: str) -> str:
        if self.find is None or text.isascii() or not self.find(text):
            return text
        return text.translate(self.fixes)


class Layout:
    """The schema and its analyzers, and how a record and a query word meet them."""

    def __init__(self) -> None:
        self.schema = make_schema()
        self.analyzers = analyzers()
        self.fix = TextFixer(fold_fixes(self.analyzers["lr_words"]))

    def register(self, index: tantivy.Index) -> None:
        """Tell an opened index our analyzers (tantivy keeps their names only)."""
        for name, analyzer in self.analyzers.items():
            index.register_tokenizer(name, analyzer)

    def document(self, doc: RecordDoc) -> tantivy.Document:
        fix = self.fix
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
                fields[name] = fields[f"{name}_words"] = fix(value)
        pages = [fix(page) for _, page in doc.pages if page]
        if pages:
            fields["fulltext"] = fields["fulltext_words"] = pages
        return tantivy.Document.from_dict(fields, self.schema)

    def terms(self, word: str) -> list[str]:
        """The index terms a query word matches: analysis.terms, and where the word is
        not plain ASCII, also what tantivy's own analyzer makes of its spellings."""
        terms = list(analysis.terms(word))
        if not word.isascii():
            stemmed = self.analyzers["lr_stemmed"]
            for spelling in (word, *analysis.spellings(analysis.fold(word))):
                for term in stemmed.analyze(spelling):
                    if term not in terms:
                        terms.append(term)
        return terms

    def prefixes(self, prefix: str) -> list[str]:
        """The beginnings of words a wildcard matches: as analysis.fold folds it, and
        as tantivy would (``ħa*``: ``ħa`` and ``ha``)."""
        found = [prefix]
        if not prefix.isascii():
            found += [w for w in self.analyzers["lr_words"].analyze(prefix) if w != prefix][:1]
        return found
