"""search_postgres: PostgreSQL full-text search kept in the rows themselves

Revision ID: 0004
Revises: 0003

On PostgreSQL only (nothing on SQLite): the words of a record and of each page of its
full texts are kept as ``tsvector`` columns GENERATED from the text, with GIN indexes,
so whatever writes the text (the ORM, Core inserts of an import, a restore) makes it
searchable in the same transaction; litreview.search.postgres_backend reads them.

* ``litreview_english``: the words lower-cased, accents folded (unaccent), cut to their
  Snowball English stem, stop words kept (a phrase matches word for word), as
  litreview.search.analysis does for every engine; ``litreview_words`` the same
  without the stemmer (a wildcard matches a word as typed).
* ``litreview_search_text(text)``: the punctuation that PostgreSQL's parser would
  read as part of a token becomes spaces first, so a text splits into the words
  analysis.WORD finds: ``AI-assisted`` is ``ai`` ``assisted``, ``COVID-19`` ``covid``
  ``19`` (not ``-19``), ``www.example.org`` three words, not one host name.
* record.search_FIELD for title, keywords, abstract, author and venue: the field's
  words stemmed, with positions (for phrases); record.search_FIELD_words: its words
  unstemmed, without positions (only wildcards read them). attachment_page.search_text
  and search_words: the same for each page of a full text. A GIN index on each. The
  abstract's and a page's stemmed vectors also hold each pair of words in a row as one
  term (``litreview_with_pairs``), for phrases.

The models do not declare these columns (they exist on PostgreSQL only);
litreview.migrations.runner.include_object keeps autogenerate from dropping them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (a migration never imports the app): the characters that make
# PostgreSQL's parser read words and digits as one token (a hyphenated word, a signed
# or decimal number, a file path, a URL, a host, an e-mail address, an HTML tag or
# entity), and the typographic marks a database with LC_CTYPE=C would take for
# letters. Each becomes a space (nested replace(): some 40x faster than translate()).
_SEPARATORS = "-+./\\~&<:@" + "\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00a0"
_WORD_TOKENS = (
    "asciiword, word, numword, asciihword, hword, numhword, "
    "hword_asciipart, hword_part, hword_numpart, uint, int"
)


# Each field of a record (keywords and authors as one text), searched apart: a field's
# GIN index says which records hold a word there without reading them. The long ones
# (abstract, pages) also hold each pair of words in a row as one term ("data protect"),
# so a two-word phrase is found in the index alone, with no row's positions to read.
_PAIRED = ("abstract",)
_RECORD_FIELDS = {
    "title": "title",
    "keywords": "litreview_search_list(keywords)",
    "abstract": "abstract",
    "author": "litreview_search_list(authors)",
    "venue": "venue",
}
_COLUMNS = [
    *(("record", f"search_{f}{kind}") for f in _RECORD_FIELDS for kind in ("", "_words")),
    ("attachment_page", "search_text"),
    ("attachment_page", "search_words"),
]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _upgrade_sql() -> list[str]:
    spaced = "coalesce(value, '')"
    for char in _SEPARATORS:
        spaced = f"replace({spaced}, {_literal(char)}, ' ')"
    return [
        "CREATE EXTENSION IF NOT EXISTS unaccent",
        # Snowball English without a stop word list: every word is kept.
        "CREATE TEXT SEARCH DICTIONARY litreview_english_stem "
        "(TEMPLATE = snowball, Language = english)",
        "CREATE TEXT SEARCH CONFIGURATION litreview_english (COPY = simple)",
        f"ALTER TEXT SEARCH CONFIGURATION litreview_english ALTER MAPPING FOR {_WORD_TOKENS} "
        "WITH unaccent, litreview_english_stem",
        "CREATE TEXT SEARCH CONFIGURATION litreview_words (COPY = simple)",
        f"ALTER TEXT SEARCH CONFIGURATION litreview_words ALTER MAPPING FOR {_WORD_TOKENS} "
        "WITH unaccent, simple",
        f"""
        CREATE FUNCTION litreview_search_text(value text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN {spaced}
        """,
        # Keywords (strings) and authors ({"given", "family"}) as one text, in order.
        """
        CREATE FUNCTION litreview_search_list(value jsonb) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN CASE WHEN jsonb_typeof(value) = 'array' THEN (
            SELECT coalesce(string_agg(
                CASE jsonb_typeof(item)
                    WHEN 'object' THEN concat_ws(' ', item ->> 'given', item ->> 'family')
                    WHEN 'string' THEN item #>> '{}'
                    ELSE ''
                END, ' ; ' ORDER BY n), '')
            FROM jsonb_array_elements(value) WITH ORDINALITY AS e(item, n)
        ) ELSE '' END
        """,
        # A vector's terms, and each pair of words in a row (positions p and p + 1) as
        # one more term, without positions: "data protection" adds 'data protect'.
        """
        CREATE FUNCTION litreview_with_pairs(words tsvector) RETURNS tsvector
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN words || (
            SELECT coalesce(array_to_tsvector(array_agg(pair)), ''::tsvector) FROM (
                SELECT lexeme || ' ' || lead(lexeme) OVER (ORDER BY p) AS pair,
                       lead(p) OVER (ORDER BY p) - p AS gap
                FROM unnest(words) AS w, unnest(w.positions) AS p
            ) AS pairs WHERE gap = 1
        )
        """,
        # Long text and vectors out of the row, the rest (title, the short fields'
        # vectors) in it: a search reads ids and short vectors from rows this narrow.
        "ALTER TABLE record SET (toast_tuple_target = 1024)",
        "ALTER TABLE record " + ", ".join(_record_columns()),
        """
        ALTER TABLE attachment_page
            ADD COLUMN search_text tsvector GENERATED ALWAYS AS (litreview_with_pairs(
                to_tsvector('litreview_english', litreview_search_text(text)))) STORED,
            ADD COLUMN search_words tsvector GENERATED ALWAYS AS (
                strip(to_tsvector('litreview_words', litreview_search_text(text)))) STORED
        """,
        *(
            f"CREATE INDEX ix_{table}_{column} ON {table} USING gin ({column})"
            for table, column in _COLUMNS
        ),
    ]


def _record_columns() -> list[str]:
    columns = []
    for field, source in _RECORD_FIELDS.items():
        text = f"litreview_search_text({source})"
        stemmed = f"to_tsvector('litreview_english', {text})"
        if field in _PAIRED:
            stemmed = f"litreview_with_pairs({stemmed})"
        columns.append(f"ADD COLUMN search_{field} tsvector GENERATED ALWAYS AS ({stemmed}) STORED")
        columns.append(
            f"ADD COLUMN search_{field}_words tsvector GENERATED ALWAYS AS ("
            f"strip(to_tsvector('litreview_words', {text}))) STORED"
        )
        if field not in _PAIRED:  # short: kept in the row, the last thing moved out
            columns += [f"ALTER COLUMN search_{field}{k} SET STORAGE MAIN" for k in ("", "_words")]
    return columns


_DOWNGRADE = [
    "ALTER TABLE attachment_page DROP COLUMN search_text, DROP COLUMN search_words",
    "ALTER TABLE record " + ", ".join(f"DROP COLUMN {c}" for t, c in _COLUMNS if t == "record"),
    "ALTER TABLE record RESET (toast_tuple_target)",
    "DROP FUNCTION litreview_with_pairs(tsvector)",
    "DROP FUNCTION litreview_search_list(jsonb)",
    "DROP FUNCTION litreview_search_text(text)",
    "DROP TEXT SEARCH CONFIGURATION litreview_words",
    "DROP TEXT SEARCH CONFIGURATION litreview_english",
    "DROP TEXT SEARCH DICTIONARY litreview_english_stem",
    # unaccent stays: other databases' objects may use it, and it costs nothing.
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _upgrade_sql():
        op.execute(statement)  # as text(): a % is escaped for the driver


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _DOWNGRADE:
        op.execute(statement)
