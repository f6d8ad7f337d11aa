"""The Whoosh index's schema: one document per record, text only, no text stored.

A record's document holds the words a query can ask about: its bibliographic fields
and its whole full text in ``fulltext`` (every page of every attachment), so
``consent AND "data protection"`` matches a paper that says one on page 3 and the
other on page 7. Snippets are cut from the database's text (:mod:`litreview.search.
snippets`), so nothing but the record id is stored.

Each text field is indexed twice:

* ``title``, ``abstract``, ... - words as every backend indexes them
  (:mod:`litreview.search.analysis`): split on what is not a letter or digit, lower-cased,
  accents folded, Snowball English stems; stop words kept and positions recorded, so a
  phrase matches word for word. Terms, phrases and BM25F scores read these.
* ``title_words``, ``abstract_words``, ... - the same words folded but not stemmed, and
  only whether a record has them (no counts, no positions): ``confidential*`` matches
  the words that begin so as typed, never the stem ``confid`` of "confidence".

Every document carries its ``review``: one index serves every review of a data folder
and a search always asks for one. Screening outcomes and review-question tags are not
in the index: their filters are sets of record ids read from the database, matched
against the ``record_id`` column (so a decision never costs an index update).
"""

from __future__ import annotations

from whoosh import fields, formats
from whoosh.analysis import Filter, RegexTokenizer, StemFilter

from litreview.search import analysis
from litreview.search.query import TEXT_FIELDS

# Bump when the schema or the analysis changes: an index of another version is not
# opened but rebuilt from the database (its files are removed then).
SCHEMA_VERSION = 6
INDEX_NAME = f"litreview_v{SCHEMA_VERSION}"
INDEX_PREFIX = "litreview_v"  # what every version's files and folders are named after


def words_field(field: str) -> str:
    """The field holding ``field``'s unstemmed words (for prefixes)."""
    return f"{field}_words"


class FoldFilter(Filter):
    """Lower case and accents folded as :func:`litreview.search.analysis.fold` does it."""

    def __call__(self, tokens):
        fold = analysis.fold
        for token in tokens:
            token.text = fold(token.text)
            if token.text:
                yield token


def folding_analyzer():
    """Words as the tokenizers of every backend split them, folded."""
    return RegexTokenizer(analysis.WORD.pattern) | FoldFilter()


def stemming_analyzer():
    """Folded words cut to their Snowball English stem (the stems are cached already)."""
    return folding_analyzer() | StemFilter(stemfn=analysis.stem, cachesize=None)


def index_words(text: str) -> tuple[list[str], list[str]]:
    """A text's tokens for its two fields, as the two analyzers make them: (stems,
    folded words), each in order. The writer gives Whoosh these lists (Whoosh takes a
    list as the tokens themselves): one analysis for both fields costs about a sixth
    less build time than running both analyzers."""
    folded = [w for w in map(analysis.fold, analysis.words(text)) if w]
    return [analysis.stem(w) for w in folded], folded


def make_schema() -> fields.Schema:
    """The index's fields (see the module docstring)."""
    stemmed, folded = stemming_analyzer(), folding_analyzer()
    text = {field: fields.TEXT(analyzer=stemmed, phrase=True) for field in TEXT_FIELDS}
    words = {
        words_field(field): fields.FieldType(formats.Existence(), folded, scorable=True)
        for field in TEXT_FIELDS
    }
    return fields.Schema(
        review=fields.ID(),
        record_id=fields.NUMERIC(int, bits=64, stored=True, sortable=True),
        doi=fields.ID(),
        year=fields.NUMERIC(int, bits=32, signed=True),
        has_fulltext=fields.BOOLEAN(),
        **text,
        **words,
    )
