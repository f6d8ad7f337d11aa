"""The query language, parsed once into a small tree that each backend translates.

What a reviewer may write (the README documents it)::

    consent AND "data protection"      both (AND may be left out: words next to each
                                       other must all match)
    consent OR gdpr                    either
    consent NOT children               the first without the second
    (bias OR fairness) AND algorithm*  brackets; a * at a word's end: words beginning so
    title:bias  author:smith           one field (aliases: au, kw, journal, text, ...)
    year:2020  year:[2019 TO 2024]     a year or a range; year:[2019 TO] is open
    doi:10.1000/xyz                    a DOI, exactly

NOT binds tighter than AND, and AND than OR. Every backend gets the same tree
(:class:`Term`, :class:`Phrase`, :class:`Prefix`, :class:`YearRange`, :class:`Doi`,
:class:`And`, :class:`Or`, :class:`Not`), so a query means the same on tantivy,
PostgreSQL and Whoosh, and a query that cannot mean what its writer meant gets one
clear message (:class:`~litreview.errors.Invalid`) before any engine sees it.
A word is kept as written: :mod:`litreview.search.analysis` makes it index terms.

Long because: the grammar, its checks and their messages are one piece, read together.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from litreview.errors import Invalid
from litreview.search import analysis

MAX_QUERY_CHARS = 1000
EXAMPLE = 'consent AND "data protection"'
_MIN_PREFIX = 2
MAX_PREFIX_WORDS = 500  # a prefix matching more words than this is refused (see backends)

# What a word searches when it names no field, and how much a match there counts: a
# match in the title ranks above the same match in an abstract or the full text. (The
# venue only when asked for: each default field widens every query.)
DEFAULT_FIELDS = {"title": 5.0, "keywords": 2.5, "abstract": 2.0, "author": 2.0, "fulltext": 1.0}
TEXT_FIELDS = ("title", "abstract", "author", "venue", "keywords", "fulltext")
FIELDS = (*TEXT_FIELDS, "doi", "year")
ALIASES = {
    "authors": "author",
    "au": "author",
    "keyword": "keywords",
    "kw": "keywords",
    "text": "fulltext",
    "full_text": "fulltext",
    "journal": "venue",
    "ti": "title",
    "ab": "abstract",
    "py": "year",
}
# Filters, not words of the text: their answers come from the database.
_FILTERS = {
    "decision": "decision",
    "decision_title_abstract": "decision",
    "decision_full_text": "decision",
    "question": "review question",
    "q": "review question",
}


@dataclass(frozen=True)
class Term:
    """A word (as written) in ``field``, or in the default fields when None."""

    field: str | None
    word: str


@dataclass(frozen=True)
class Phrase:
    """Words next to each other, in this order (stop words included)."""

    field: str | None
    words: tuple[str, ...]


@dataclass(frozen=True)
class Prefix:
    """Words beginning with ``prefix`` (folded, not stemmed)."""

    field: str | None
    prefix: str


@dataclass(frozen=True)
class YearRange:
    """Records published from ``start`` to ``end``, both inclusive; None is open."""

    start: int | None
    end: int | None


@dataclass(frozen=True)
class Doi:
    """Records with this DOI (lower case)."""

    doi: str


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """Records not matching ``part``: only inside an And that has a positive part."""

    part: Node


Node = Term | Phrase | Prefix | YearRange | Doi | And | Or | Not


def leaves(node: Node, *, positive: bool = True) -> Iterator[Node]:
    """The words, phrases and prefixes of a query (those under a NOT left out unless
    ``positive`` is False): what snippets mark."""
    if isinstance(node, (And, Or)):
        for part in node.parts:
            yield from leaves(part, positive=positive)
    elif isinstance(node, Not):
        if not positive:
            yield from leaves(node.part, positive=positive)
    else:
        yield node


# --- reading --------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<open>\() | (?P<close>\)) |
        (?P<field>[A-Za-z_][A-Za-z_0-9]*):(?=\S) |
        (?P<badfield>[A-Za-z_][A-Za-z_0-9]*):(?=\s|$) |
        (?P<quote>") |
        (?P<range>[\[{][^\]}]*[\]}]) |
        (?P<word>[^\s()"]+)
    )""",
    re.VERBOSE,
)
_YEAR_RANGE = re.compile(r"[\[{]\s*(?:(\d{1,4})\s+)?TO(?:\s+(\d{1,4}))?\s*[\]}]", re.IGNORECASE)
_OPERATORS = ("AND", "OR", "NOT")


@dataclass
class _Tok:
    kind: str  # open close field quote phrase range word op
    text: str
    at: int  # 1-based character position


def parse(text: str) -> Node:
    """The query's tree; Invalid with one line saying what is wrong."""
    text = text.strip()
    if not text:
        raise Invalid(f"the query is empty: type some words, for example {EXAMPLE}")
    if len(text) > MAX_QUERY_CHARS:
        raise Invalid(
            f"the query is {len(text):,} characters long; at most {MAX_QUERY_CHARS:,} are allowed"
        )
    if "\x00" in text:
        raise Invalid("the query contains a NUL character")
    tokens = _tokens(text)
    _check_brackets(tokens)
    node = _Parser(tokens).query()
    node = _without_stop_words(node)
    if node is None:
        raise Invalid(
            "the query has no words to search for: common words such as 'the', 'of' and "
            f"'and' are not searched for on their own; for example {EXAMPLE}"
        )
    if _only_negative(node):
        raise Invalid(
            "the query has only NOT parts: say what to search for, "
            f"e.g. consent NOT {_first_word(node)}"
        )
    return node


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:  # only trailing spaces remain
            break
        kind = match.lastgroup or ""
        start = match.start(kind) + 1
        value = match.group(kind)
        position = match.end()
        if kind == "quote":
            close = text.find('"', position)
            if close < 0:
                raise Invalid(
                    f'unbalanced quotes: the " at character {start} opens a phrase that is '
                    f'never closed (phrases go in pairs of quotes: "data protection")'
                )
            out.append(_Tok("phrase", text[position:close], start))
            position = close + 1
            continue
        if kind == "badfield":
            raise Invalid(f"{value}: needs a value right after the colon, e.g. {value}:word")
        if kind == "word" and value in _OPERATORS:
            kind = "op"
        out.append(_Tok(kind, value, start))
    return out


def _check_brackets(tokens: list[_Tok]) -> None:
    stack: list[_Tok] = []
    for tok in tokens:
        if tok.kind == "open":
            stack.append(tok)
        elif tok.kind == "close":
            if not stack:
                raise Invalid(f"unbalanced brackets: the ')' at character {tok.at} closes nothing")
            stack.pop()
    if stack:
        raise Invalid(f"unbalanced brackets: the '(' at character {stack[-1].at} is never closed")


class _Parser:
    """or := and (OR and)*; and := unary ((AND)? unary)*; unary := NOT unary | atom."""

    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def query(self) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.text in ("AND", "OR"):
            raise Invalid(
                f"the query starts with {tok.text} with nothing before it: "
                f"put words on both sides, e.g. {EXAMPLE}"
            )
        node = self.or_()
        if self.peek() is not None:  # only a stray ')' could stop it; brackets are checked
            raise Invalid(f"the query could not be read at character {self.peek().at}")
        return node

    def or_(self) -> Node:
        parts = [self.and_()]
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.text == "OR":
            self.take()
            self.operand_follows("OR")
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_(self) -> Node:
        parts = [self.unary()]
        while (tok := self.peek()) is not None and tok.kind != "close":
            if tok.kind == "op" and tok.text == "OR":
                break
            if tok.kind == "op" and tok.text == "AND":
                self.take()
                self.operand_follows("AND")
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def operand_follows(self, operator: str) -> None:
        tok = self.peek()
        if tok is None or tok.kind == "close":
            raise Invalid(f"the query has {operator} with nothing after it: e.g. {EXAMPLE}")
        if tok.kind == "op" and tok.text != "NOT":
            raise Invalid(
                f"the query has {tok.text} with nothing before it: "
                f"put words on both sides, e.g. {EXAMPLE}"
            )

    def unary(self) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.text == "NOT":
            self.take()
            self.operand_follows("NOT")
            return Not(self.unary())
        return self.atom()

    def atom(self) -> Node:
        tok = self.take()
        if tok.kind == "open":
            node = self.or_()
            self.take()  # the ')' (brackets are balanced)
            return node
        if tok.kind == "field":
            return self.field(tok)
        if tok.kind == "phrase":
            return _phrase(None, tok)
        if tok.kind == "range":
            raise Invalid(f"a range {tok.text} needs a field: year:{tok.text}")
        if tok.kind == "op":  # AND/OR where an operand belongs
            raise Invalid(
                f"the query has {tok.text} with nothing before it: "
                f"put words on both sides, e.g. {EXAMPLE}"
            )
        return _word(None, tok)

    def field(self, tok: _Tok) -> Node:
        name = tok.text.lower()
        if name in _FILTERS:
            raise Invalid(
                f"{tok.text}:... is not part of a query: choose the {_FILTERS[name]} "
                "in the search's filters (--decision/--question on the command line)"
            )
        field = ALIASES.get(name, name)
        if field not in FIELDS:
            raise Invalid(
                f"unknown field {tok.text!r} in {tok.text}:...; the fields are "
                f'{", ".join(FIELDS)} (put text with a colon in quotes: "{tok.text}:...")'
            )
        value = self.take()
        if field == "year":
            return _year(value)
        if field == "doi":
            if value.kind not in ("word", "phrase"):
                raise Invalid("doi: write a DOI, e.g. doi:10.1000/xyz")
            return Doi(value.text.strip().lower())
        if value.kind == "open":
            node = self.or_()
            self.take()
            return _in_field(node, field, tok)
        if value.kind == "phrase":
            return _phrase(field, value)
        if value.kind in ("word", "op"):
            return _word(field, value)
        raise Invalid(f"{tok.text}: needs a value right after the colon, e.g. {tok.text}:word")


def _in_field(node: Node, field: str, tok: _Tok) -> Node:
    """``title:(a OR b)``: the bracket's words in that field."""
    if isinstance(node, Term):
        return Term(field, node.word)
    if isinstance(node, Phrase):
        return Phrase(field, node.words)
    if isinstance(node, Prefix):
        return Prefix(field, node.prefix)
    if isinstance(node, (And, Or)):
        return type(node)(tuple(_in_field(p, field, tok) for p in node.parts))
    if isinstance(node, Not):
        return Not(_in_field(node.part, field, tok))
    raise Invalid(f"{tok.text}:(...) may hold only words and phrases")


def _year(tok: _Tok) -> Node:
    if tok.kind == "word" and re.fullmatch(r"\d{1,4}", tok.text):
        return YearRange(int(tok.text), int(tok.text))
    match = _YEAR_RANGE.fullmatch(tok.text) if tok.kind == "range" else None
    if match is None or not (match.group(1) or match.group(2)):
        raise Invalid(
            "year: write a year (year:2020) or a range (year:[2019 TO 2024], year:[2019 TO])"
        )
    start = int(match.group(1)) if match.group(1) else None
    end = int(match.group(2)) if match.group(2) else None
    if start is not None and end is not None and start > end:
        raise Invalid(f"year:{tok.text}: the first year comes after the last")
    return YearRange(start, end)


def _phrase(field: str | None, tok: _Tok) -> Node:
    words = tuple(analysis.words(tok.text))
    if not words:
        raise Invalid(f'the phrase at character {tok.at} has no words: e.g. "data protection"')
    return Term(field, words[0]) if len(words) == 1 else Phrase(field, words)


def _word(field: str | None, tok: _Tok) -> Node:
    text = tok.text
    if "*" in text or "?" in text:
        return _prefix(field, tok)
    words = analysis.words(text)
    if not words:  # punctuation only: nothing to search for
        return And(())
    if len(words) > 1:  # AI-assisted, children's: the words in a row
        return Phrase(field, tuple(words))
    return Term(field, words[0])


def _prefix(field: str | None, tok: _Tok) -> Node:
    text = tok.text
    if set(text) <= {"*", "?"}:
        raise Invalid(
            f"{text!r} alone would match everything: put at least "
            f"{_MIN_PREFIX} letters before the *, e.g. consent*"
        )
    stem, _, rest = text.partition("*") if "*" in text else (text, "", "")
    if "?" in text or rest or not stem:
        raise Invalid(f"{text!r}: a * goes at the end of a word (consent*); ? is not supported")
    words = analysis.words(stem)
    if len(words) != 1 or len(analysis.fold(words[0])) < _MIN_PREFIX or not stem[-1].isalnum():
        raise Invalid(
            f"{text!r}: put at least {_MIN_PREFIX} letters before a * or ?, e.g. consent*"
        )
    return Prefix(field, analysis.fold(words[0]))


def _without_stop_words(node: Node) -> Node | None:
    """The tree without stop words standing alone (and what that leaves empty)."""
    if isinstance(node, Term):
        return None if analysis.fold(node.word) in analysis.STOP_WORDS else node
    if isinstance(node, (And, Or)):
        parts = tuple(p for p in (_without_stop_words(p) for p in node.parts) if p is not None)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else type(node)(parts)
    if isinstance(node, Not):
        part = _without_stop_words(node.part)
        return None if part is None else Not(part)
    return node


def _only_negative(node: Node) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, And):
        return all(_only_negative(p) for p in node.parts)
    if isinstance(node, Or):
        return any(_only_negative(p) for p in node.parts)
    return False


def _first_word(node: Node) -> str:
    for leaf in leaves(node, positive=False):
        if isinstance(leaf, Term):
            return leaf.word
    return "children"
