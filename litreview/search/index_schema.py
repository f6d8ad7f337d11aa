"""The Whoosh schema: one document per record, full text included, pages mapped.

A record's document holds the text a query can ask about (bibliographic fields and
its whole full text in ``fulltext``), so
``consent AND "data protection"`` matches a paper that says one on page 3 and the other
on page 7. The full text is stored, the character offset of every term is indexed
(in ``fulltext_chars``, below), and ``page_map`` says where each page starts: a snippet is
cut from the stored text at the offsets of the matched words (no re-reading, no
re-analysis) and its page is looked up.
(Indexing each page as a document of its own as well doubled the indexing time.)

Abstracts and full texts are indexed more than once: ``abstract`` and ``fulltext`` hold
term frequencies only, which is all that matching and scoring read; ``abstract_pos``
and ``fulltext_pos`` hold the positions that only a phrase needs, and
``fulltext_chars`` the character offsets that only a snippet needs. Reading the
postings of a word found in most records is most of what a query costs, and positions
made them several times larger (offsets three times larger again). An abstract is
short: its snippet's offsets are found in its stored text.

Every document carries its ``review``: one index serves every review in a data folder
and a search always filters on it. Screening outcomes and review-question tags are not
in the index: filters on them are sets of record ids read from the database, where
screening's one rule keeps them (so the index never shows what a person may not see,
and a decision never costs an index update). ``record_id`` is a column as well, so
such a set filters the matches without reading stored fields.
"""

from __future__ import annotations

from whoosh import fields

from litreview.search.analysis import text_analyzer

# Bump when the schema or the analyzer changes: an index of another version is rebuilt.
SCHEMA_VERSION = 5
INDEX_NAME = f"litreview_v{SCHEMA_VERSION}"

# What a query word searches when it names no field, and how much each counts:
# a match in the title ranks above the same match in an abstract or the full text.
# (The venue only when asked for, venue:...: each default field widens every query.)
DEFAULT_FIELDS = {
    "title": 5.0,
    "keywords": 2.5,
    "abstract": 2.0,
    "author": 2.0,
    "fulltext": 1.0,
}
# Field names a person may write in a query (``author:smith``), with the aliases we take.
QUERY_FIELDS = (
    "title",
    "abstract",
    "author",
    "venue",
    "keywords",
    "doi",
    "year",
    "fulltext",
)
ALIASES = {
    "author": ["authors", "au"],
    "keywords": ["keyword", "kw"],
    "fulltext": ["text", "full_text"],
    "venue": ["journal"],
}
# The field holding the positions of a field indexed without them (see above).
POSITIONS = {"abstract": "abstract_pos", "fulltext": "fulltext_pos"}
# The field holding the character offsets of a field indexed without them.
OFFSETS = {"fulltext": "fulltext_chars"}


def make_schema() -> fields.Schema:
    """The index's fields (see the module docstring)."""
    text = text_analyzer()
    return fields.Schema(
        review=fields.ID(stored=True),
        record_id=fields.ID(stored=True, sortable=True),
        title=fields.TEXT(analyzer=text, stored=True),
        abstract=fields.TEXT(analyzer=text, stored=True, phrase=False),
        abstract_pos=fields.TEXT(analyzer=text),
        author=fields.TEXT(analyzer=text, stored=True),
        venue=fields.TEXT(analyzer=text),
        keywords=fields.TEXT(analyzer=text, stored=True),
        doi=fields.KEYWORD(lowercase=True),
        year=fields.NUMERIC(int, bits=32, stored=True, signed=True),
        has_fulltext=fields.BOOLEAN(),
        fulltext=fields.TEXT(analyzer=text, stored=True, phrase=False),
        fulltext_pos=fields.TEXT(analyzer=text),
        # Character offsets: snippets are cut from the stored text without analysing it.
        fulltext_chars=fields.TEXT(analyzer=text, chars=True),
        page_map=fields.STORED(),  # [(offset in fulltext, page number), ...]
    )
