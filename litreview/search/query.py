"""Queries as people write them: checked first, so a mistake gets a message, not nothing.

Whoosh's parser never fails: an unclosed quote becomes two loose words, an unknown
field becomes words, a dangling AND disappears. A reviewer would then get a result
for a query they did not ask. :func:`check_query_text` finds those mistakes before
the parser sees them and raises :class:`~litreview.errors.Invalid` with one line
saying what is wrong; :func:`parse_query` parses what passed.
"""

from __future__ import annotations

import re

from whoosh import qparser
from whoosh import query as wq

from litreview.errors import Invalid
from litreview.search.index_schema import ALIASES, DEFAULT_FIELDS, QUERY_FIELDS

MAX_QUERY_CHARS = 1000
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}
_BINARY = _OPERATORS - {"NOT"}
# Filters, not words of the text: their answers come from the database.
_FILTERS = {
    "decision": "decision",
    "decision_title_abstract": "decision",
    "decision_full_text": "decision",
    "question": "review question",
    "q": "review question",
}
_KNOWN_FIELDS = {name: name for name in QUERY_FIELDS} | {
    alias: name for name, aliases in ALIASES.items() for alias in aliases
}
# A field name: letters at the start of a word, then a colon.
_FIELD = re.compile(r"(?:^|(?<=[\s(]))([A-Za-z_][A-Za-z_0-9]*):")
_YEAR_VALUE = re.compile(
    r"^(\d{1,4}(?=$|[\s)])|[\[{]\s*(\d{1,4}\s+)?TO(\s+\d{1,4})?\s*[\]}])", re.IGNORECASE
)
_MIN_PREFIX = 2
EXAMPLE = 'consent AND "data protection"'


def check_query_text(text: str) -> str:
    """The query, stripped and with field names in lower case; Invalid if it cannot mean
    what its writer meant (see the module docstring)."""
    text = text.strip()
    if not text:
        raise Invalid(f"the query is empty: type some words, for example {EXAMPLE}")
    if len(text) > MAX_QUERY_CHARS:
        raise Invalid(
            f"the query is {len(text):,} characters long; at most {MAX_QUERY_CHARS:,} are allowed"
        )
    if "\x00" in text:
        raise Invalid("the query contains a NUL character")
    outside = _outside_quotes(text)
    _check_brackets(outside)
    text = _check_fields(text, outside)
    _check_words(outside)
    return text


def _outside_quotes(text: str) -> str:
    """The text with every quoted phrase blanked out (same length); checks the quotes."""
    parts = text.split('"')
    if len(parts) % 2 == 0:
        opened = text.rfind('"')
        raise Invalid(
            f'unbalanced quotes: the " at character {opened + 1} opens a phrase that is '
            f'never closed (phrases go in pairs of quotes: "data protection")'
        )
    return "".join(p if i % 2 == 0 else '"' + " " * len(p) + '"' for i, p in enumerate(parts))


def _check_brackets(outside: str) -> None:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[tuple[str, int]] = []
    for position, char in enumerate(outside, start=1):
        if char in "([{":
            stack.append((char, position))
        elif char in pairs:
            ok = stack and (stack[-1][0] == pairs[char] or (char in "]}" and stack[-1][0] in "[{"))
            if not ok:
                raise Invalid(
                    f"unbalanced brackets: the {char!r} at character {position} closes nothing"
                )
            stack.pop()
    if stack:
        char, position = stack[-1]
        raise Invalid(f"unbalanced brackets: the {char!r} at character {position} is never closed")


def _check_fields(text: str, outside: str) -> str:
    chars = list(text)
    for match in _FIELD.finditer(outside):
        name = match.group(1)
        field = _KNOWN_FIELDS.get(name.lower())
        if name.lower() in _FILTERS:
            raise Invalid(
                f"{name}:... is not part of a query: choose the {_FILTERS[name.lower()]} "
                "in the search's filters (--decision/--question on the command line)"
            )
        if field is None:
            known = ", ".join(QUERY_FIELDS)
            raise Invalid(
                f"unknown field {name!r} in {name}:...; the fields are {known} "
                f'(put text with a colon in quotes: "{name}:...")'
            )
        chars[match.start(1) : match.end(1)] = list(name.lower())
        value = outside[match.end() :]
        if field == "year" and not _YEAR_VALUE.match(value):
            raise Invalid(
                "year: write a year (year:2020) or a range (year:[2019 TO 2024], year:[2019 TO])"
            )
        if not value or value[0].isspace():
            raise Invalid(f"{name}: needs a value right after the colon, e.g. {name}:word")
    return "".join(chars)


def _words(outside: str) -> list[str]:
    # Brackets stand alone; a phrase (blanked) counts as one word.
    return re.findall(r'"\s*"|[()]|[^\s()]+', outside)


def _check_words(outside: str) -> None:
    words = _words(outside)
    previous = None
    for i, word in enumerate(words):
        bare = word.split(":", 1)[-1].strip("[]{}")
        if word in _BINARY:
            if previous is None or previous in _OPERATORS or previous == "(":
                where = "starts with" if previous is None else "has"
                raise Invalid(
                    f"the query {where} {word} with nothing before it: "
                    f"put words on both sides, e.g. {EXAMPLE}"
                )
        if word in _OPERATORS and (i == len(words) - 1 or words[i + 1] == ")"):
            raise Invalid(f"the query has {word} with nothing after it: e.g. {EXAMPLE}")
        if "*" in bare or "?" in bare:
            if set(bare) <= {"*", "?"}:
                raise Invalid(
                    f"{word!r} alone would match everything: put at least "
                    f"{_MIN_PREFIX} letters before the *, e.g. consent*"
                )
            # A short or leading wildcard expands to much of the vocabulary: slow, vague.
            literal = re.split(r"[*?]", bare, maxsplit=1)[0]
            if len(literal) < _MIN_PREFIX:
                raise Invalid(
                    f"{word!r}: put at least {_MIN_PREFIX} letters before a * or ?, e.g. consent*"
                )
        previous = word


class StemAwarePrefix(wq.Prefix):
    """``word*`` on a stemmed index: the terms that start with the prefix, and the stems
    the prefix itself was cut to (``opportunit*`` finds "opportunities", indexed as
    ``opportun``; ``summaris*`` finds "summarisation", indexed as ``summar``)."""

    def _btexts(self, ixreader):
        fieldobj = ixreader.schema[self.fieldname]
        seen = set()
        for btext in ixreader.expand_prefix(self.fieldname, self.text):
            seen.add(btext)
            yield btext
        # Porter cuts a few letters off a word's end ("opportunities" -> "opportun"), so
        # the stem of a word that starts with the prefix may be the prefix cut short.
        for length in range(max(4, len(self.text) - 4), len(self.text)):
            stem = self.text[:length]
            btext = fieldobj.to_bytes(stem)
            if btext not in seen and (self.fieldname, stem) in ixreader:
                seen.add(btext)
                yield btext


def _stem_aware(q: wq.Query) -> wq.Query:
    if type(q) is wq.Prefix:
        return StemAwarePrefix(q.fieldname, q.text, boost=q.boost)
    return q


def make_parser(schema) -> qparser.QueryParser:
    """Whoosh's parser with our default fields (title counted highest) and field aliases."""
    parser = qparser.MultifieldParser(
        list(DEFAULT_FIELDS), schema, fieldboosts=DEFAULT_FIELDS, group=qparser.AndGroup
    )
    parser.add_plugin(qparser.FieldAliasPlugin(ALIASES))
    return parser


def parse_query(parser: qparser.QueryParser, text: str) -> wq.Query:
    """The checked query text parsed; Invalid when nothing searchable is left."""
    text = check_query_text(text)
    try:
        parsed = parser.parse(text)
    except Exception as exc:  # the parser is lenient; anything it raises is a bad query
        raise Invalid(f"the query could not be read: {exc}") from None
    parsed = parsed.accept(_stem_aware)
    if parsed is wq.NullQuery or isinstance(parsed, type(wq.NullQuery)):
        raise Invalid(
            "the query has no words to search for: common words such as 'the', 'of' and "
            f"'and' are not indexed; for example {EXAMPLE}"
        )
    if any(isinstance(node, wq.Every) for node in parsed.leaves()) or isinstance(parsed, wq.Every):
        raise Invalid("'*' alone would match everything: put at least two letters before it")
    return parsed
