"""BibTeX reader: ``read(stream, filename)`` yields one item per entry.

bibtexparser 1.4 is used only to parse one entry (or one ``@string``) at a time,
inside :class:`_Parser` and :class:`_Macro`; moving to bibtexparser 2.x touches
only those two.

Why we cut the file into entries ourselves: bibtexparser 1.4 silently turns an
entry it cannot parse into a comment, and an undefined macro aborts the whole
file. We scan the stream line by line, an entry starting at ``@type{`` or
``@type(`` at the start of a line (leading whitespace allowed) and ending at its
balancing delimiter, so memory holds one entry at a time and a bad entry is
reported (with its line and key) without costing the others.

Decisions:

* An undefined macro (``journal = jgr`` with no ``@string{jgr = ...}``) does not
  cost the entry: the entry is imported with the macro's name as the text, as
  written in the file (BibTeX itself warns and uses an empty string, which
  loses information the user can still see and fix).
* An entry without a key (``@article{, title=...}`` or ``@article{title=...}``)
  is imported; its ``entry_key`` is its 1-based position among the file's
  entries.
* ``@comment``, ``@preamble`` and text between entries are ignored.
* ``crossref``: missing fields (booktitle, year, publisher, editor...) are
  inherited from the target when it is in the same file (keys compared without
  case); a volume's title becomes the booktitle of what crossrefs it. BibTeX
  wants the target after the entries that cite it, so an entry whose target is
  still to come is held back, and what follows it waits behind it so that items
  come out in file order; past ``_MAX_HELD`` waiting items, or at the end of the
  file, it goes with what could be found. A target that came earlier is found
  only if it is a whole volume (book, proceedings, collection...), so that memory
  does not grow with every entry of a big file. Missing targets and cycles are
  ignored.
* Names follow BibTeX: "First von Last", "von Last, First", "von Last, Jr,
  First"; a von part and a Jr stay with the family name ("van der Berg",
  "Knuth Jr."); a name in braces is a corporate author (family only).
* LaTeX is decoded only where a value holds some: the common accents and
  escapes by a table here, anything else by pylatexenc, then NFC.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TextIO

from bibtexparser.bibdatabase import BibDatabase, BibDataString, UndefinedString, as_text
from bibtexparser.bparser import BibTexParser
from pylatexenc.latex2text import (
    LatexNodes2Text,
    MacroTextSpec,
    SpecialsTextSpec,
    get_default_latex_context_db,
)

from litreview.ingest.normalize import clean, nfc, normalize_doi, parse_year
from litreview.ingest.record_data import Author, EntryError, Item, RecordData, UnreadableFile

# --------------------------------------------------------------------------
# Entry types

_TYPES = {
    "article": "article",
    "newspaper_article": "article",  # Mendeley
    "magazine_article": "article",  # Mendeley
    "book": "book",
    "booklet": "book",
    "manual": "book",
    "mvbook": "book",
    "collection": "book",
    "mvcollection": "book",
    "reference": "book",
    "mvreference": "book",
    "inbook": "chapter",
    "incollection": "chapter",
    "bookinbook": "chapter",
    "suppbook": "chapter",
    "suppcollection": "chapter",
    "inreference": "chapter",
    "book_section": "chapter",  # Mendeley
    "inproceedings": "conference",
    "conference": "conference",
    "proceedings": "conference",
    "mvproceedings": "conference",
    "phdthesis": "thesis",
    "mastersthesis": "thesis",
    "thesis": "thesis",
    "techreport": "report",
    "report": "report",
    "online": "webpage",
    "electronic": "webpage",
    "www": "webpage",
    "webpage": "webpage",
    "web_page": "webpage",  # Mendeley
    "dataset": "dataset",
    "data": "dataset",
}

# Types whose editors are the record's own responsible persons (used as authors
# when there is no author), and which may be the target of a crossref.
_VOLUME_TYPES = frozenset(
    {
        "book",
        "mvbook",
        "collection",
        "mvcollection",
        "reference",
        "mvreference",
        "proceedings",
        "mvproceedings",
        "periodical",
        "booklet",
        "manual",
    }
)

# Fields an entry inherits from the entry it crossrefs, when it lacks them.
_INHERITED = (
    "author",
    "editor",
    "booktitle",
    "booksubtitle",
    "journal",
    "journaltitle",
    "series",
    "volume",
    "number",
    "year",
    "date",
    "month",
    "publisher",
    "institution",
    "school",
    "organization",
    "address",
    "location",
    "isbn",
    "edition",
    "language",
    "langid",
)

_MAX_ENTRY_CHARS = 10_000_000  # an entry larger than this is an unclosed one
_MAX_HELD = 5_000  # items held back behind an entry waiting for its crossref target

# --------------------------------------------------------------------------
# Cutting the stream into entries

_START = re.compile(r"[ \t\f\v]*@[ \t]*([A-Za-z][\w:.+-]*)[ \t]*([{(])")
_LONE_CR = re.compile(r"(?<=\r)(?!\n)")
_BRACE_SCAN = re.compile(r"[{}]")
_PAREN_SCAN = re.compile(r'[{}()"]')


@dataclass(slots=True)
class _Chunk:
    """One ``@type{...}`` block as it stood in the file."""

    kind: str  # lower-cased entry type
    line: int
    text: str
    problem: str = ""  # set when the block is not a complete entry


@dataclass(slots=True)
class _ScanState:
    """What the scanner saw besides entries, to tell a non-BibTeX file."""

    heads: int = 0  # @type{ heads met, @comment and @preamble included
    other_text: bool = False  # non-blank text outside entries that is not a % comment


def _lines(stream: Iterable[str]) -> Iterator[str]:
    """The stream's lines; old-Mac lone CR line ends are split too."""
    first = True
    for line in stream:
        if first:
            line = line.lstrip("\ufeff")
            first = False
        if "\r" in line and _LONE_CR.search(line):
            yield from (part for part in _LONE_CR.split(line) if part)
        else:
            yield line


def _chunks(stream: Iterable[str], state: _ScanState) -> Iterator[_Chunk]:
    """The file's entries as text, one at a time, in file order."""
    kind = ""  # the open entry's type; "" between entries
    parts: list[str] = []
    size = start = depth = 0
    delim = "{"
    quoted = skipping = False
    lineno = 0
    for line in _lines(stream):
        lineno += 1
        if kind and _START.match(line):
            if not skipping:
                text = "".join(parts).rstrip()
                problem = (
                    "unbalanced braces: the entry is still open where the next one "
                    f"starts, on line {lineno}"
                )
                yield _Chunk(kind, start, text, problem)
            kind, parts, skipping = "", [], False
        pos = 0
        while True:
            if not kind:
                match = _START.match(line, pos)
                if not match:
                    if not state.other_text:
                        rest = line[pos:].strip()
                        state.other_text = bool(rest) and not rest.startswith("%")
                    break
                state.heads += 1
                name = match.group(1).lower()
                if name in ("comment", "preamble"):
                    break  # ignored, as is everything up to the next entry
                kind, start, delim = name, lineno, match.group(2)
                depth, quoted, size = 0, False, 0
                parts = [line[line.index("@", pos) : match.end()]]
                pos = match.end()
            if skipping:
                break
            end = _find_end(line, pos, delim, depth, quoted)
            if isinstance(end, tuple):  # the entry goes on past this line
                depth, quoted = end
                parts.append(line[pos:] if pos else line)
                size += len(line) - pos
                if size > _MAX_ENTRY_CHARS:
                    text = "".join(parts)[:1000]
                    yield _Chunk(kind, start, text, "the entry is too long: unbalanced braces?")
                    parts, skipping = [], True
                break
            parts.append(line[pos : end + 1])
            yield _Chunk(kind, start, "".join(parts))
            kind, parts = "", []
            pos = end + 1  # the rest of the line: junk, or another entry
    if kind and not skipping:
        problem = "unbalanced braces: the entry is still open at the end of the file"
        yield _Chunk(kind, start, "".join(parts).rstrip(), problem)


def _find_end(text: str, pos: int, delim: str, depth: int, quoted: bool) -> int | tuple[int, bool]:
    """Index of the entry's closing delimiter in ``text[pos:]``, or the state to carry on.

    ``depth`` counts braces inside the entry body. A ``(``-delimited entry ends at
    a ``)`` outside braces and outside a ``"..."`` value.
    """
    if delim == "{":
        if "}" not in text:
            return depth + text.count("{", pos), False
        for match in _BRACE_SCAN.finditer(text, pos):
            if match.group() == "{":
                depth += 1
            elif depth == 0:
                return match.start()
            else:
                depth -= 1
        return depth, False
    for match in _PAREN_SCAN.finditer(text, pos):
        char = match.group()
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        elif depth == 0:
            if char == '"':
                quoted = not quoted
            elif char == ")" and not quoted:
                return match.start()
    return depth, quoted


# --------------------------------------------------------------------------
# Parsing one entry with bibtexparser 1.4


class _Macro(BibDataString):
    """A macro reference that falls back to its own name when it is undefined."""

    def __init__(self, database: BibDatabase, name: str) -> None:
        super().__init__(database, name)
        self.original = name

    def get_value(self) -> str:
        try:
            return super().get_value()
        except UndefinedString:
            # Decision: keep the entry, with the macro's name as its text.
            return self.original


class _Parser:
    """bibtexparser 1.4 behind two calls: the fields of one entry, and one @string.

    Parsing entry by entry through the parser's own entry and @string grammar
    gives each bad entry its own exception, and keeps the @string macros (and
    the month macros) across entries. This and :class:`_Macro` are the only
    code that knows bibtexparser.
    """

    def __init__(self) -> None:
        parser = BibTexParser(
            ignore_nonstandard_types=False,
            common_strings=True,
            homogenize_fields=False,
            interpolate_strings=True,
        )
        parser.expect_multiple_parse = True
        database = parser.bib_database
        grammar = parser._expr  # bibtexparser 1.4's pyparsing grammar
        grammar.set_string_name_parse_action(lambda s, loc, t: _Macro(database, t[0]))
        # Redefining a macro is legitimate: no log warning for it.
        parser._add_string = lambda name, value: database.strings.__setitem__(name, as_text(value))
        self._entries = database.entries
        self._entry = grammar.entry
        self._string = grammar.string_def
        self._error = grammar.ParseException

    def parse_fields(self, body: str) -> dict[str, str]:
        """Fields of one entry from the text after its key: ``a = {x}, b = y``.

        Raises ValueError with a readable reason when the entry is malformed.
        """
        self._entries.clear()
        prefix = "@x{k,"
        try:
            self._entry.parse_string(prefix + body + "}", parse_all=True)
        except self._error as exc:
            raise _SyntaxError(body, exc.loc - len(prefix)) from None
        if len(self._entries) != 1:
            raise _SyntaxError(body, 0)
        fields = self._entries.pop()
        del fields["ENTRYTYPE"], fields["ID"]
        return fields

    def add_string(self, text: str) -> None:
        """Define the macro of one ``@string{name = value}`` block."""
        try:
            self._string.parse_string(text, parse_all=True)
        except self._error as exc:
            raise _SyntaxError(text, exc.loc) from None


class _SyntaxError(ValueError):
    """Where in a text the parser gave up, and a few characters from there."""

    def __init__(self, text: str, offset: int) -> None:
        self.offset = max(0, min(offset, len(text)))
        near = clean(text[self.offset : self.offset + 40])
        super().__init__(f"syntax error near {near!r}" if near else "syntax error at the end")


# --------------------------------------------------------------------------
# LaTeX to Unicode

_latex_context = get_default_latex_context_db()
_latex_context.add_context_category(
    "litreview",
    prepend=True,
    macros=[MacroTextSpec("mbox", discard=False), MacroTextSpec("url", "%s")],
    specials=[SpecialsTextSpec("&", "&")],
)
_latex = LatexNodes2Text(latex_context=_latex_context, math_mode="text")
_BARE_PERCENT = re.compile(r"(?<!\\)%")


@lru_cache(maxsize=4096)
def _from_latex(value: str) -> str:
    """``value`` (which holds a backslash or math) as Unicode text."""
    decoded = _ACCENT.sub(_accent, value)
    if "\\" not in decoded and "$" not in decoded:
        return _plain(decoded)
    if decoded.count("$") == decoded.count("\\$"):
        unescaped = decoded.replace("\\$", "$")
        if "\\" not in unescaped:
            return _plain(unescaped)
    # pylatexenc reads character by character: give it only the words that
    # still hold LaTeX (a long abstract often has one formula).
    out = []
    hard: list[str] = []
    dollars = 0
    for word, space in _words(decoded):
        if hard or "\\" in word or "$" in word:
            hard.append(word + space)
            dollars += word.count("$") - word.count("\\$")
            if dollars % 2 == 0:  # not inside $...$: the group may end here
                out.append(_pylatexenc("".join(hard).rstrip()) + space)
                hard, dollars = [], 0
        else:
            out.append(_plain(word) + space)
    if hard:
        out.append(_pylatexenc("".join(hard)))
    return "".join(out)


def _pylatexenc(value: str) -> str:
    try:
        # A bare % starts a LaTeX comment, but in a .bib value it is meant as text.
        return _latex.latex_to_text(_BARE_PERCENT.sub(r"\\%", value))
    except Exception:  # pylatexenc is tolerant; still, a field must not cost the entry
        return _plain(value.replace("\\", ""))


_WORD_SCAN = re.compile(r"[{}]|\s+")


def _words(text: str) -> Iterator[tuple[str, str]]:
    """``text`` as (word, following space) pairs, not splitting inside braces."""
    depth = start = 0
    for match in _WORD_SCAN.finditer(text):
        token = match.group()
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
        elif depth <= 0:
            yield text[start : match.start()], token
            start = match.end()
    yield text[start:], ""


# The LaTeX most .bib files hold: accents, a few letters, escaped specials. It
# is decoded here, the same as pylatexenc does it (tests check that) but much
# faster; whatever is left goes to pylatexenc.
_COMBINING = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "r": "\u030a",
    "c": "\u0327",
    "k": "\u0328",
    "d": "\u0323",
    "b": "\u0331",
}
_LETTERS = {
    "ss": "ß",
    "aa": "å",
    "AA": "Å",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "o": "ø",
    "O": "Ø",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
}
_ACCENT = re.compile(
    r"""\\(?:
        (['`^"~=.])\s*(?:\{\s*(\\[ij]|[A-Za-z])\s*\}|(\\[ij](?![A-Za-z])|[A-Za-z]))
      | ([uvHrckdb])(?:\s*\{\s*(\\[ij]|[A-Za-z])\s*\}|\s+([A-Za-z]))
      | (ss|aa|AA|ae|AE|oe|OE|[oOlLij])(?![A-Za-z])(?:\{\}|[ \t\n]*)
      | ([&%_\#])
    )""",
    re.VERBOSE,
)


def _accent(match: re.Match[str]) -> str:
    symbol, braced, bare, letter_accent, braced2, bare2, letter, special = match.groups()
    if special:
        return special
    if letter:
        return _LETTERS[letter]
    base = braced or bare or braced2 or bare2
    if base.startswith("\\"):
        base = base[1]  # an accent on a dotless i or j is an accent on i or j
    return base + _COMBINING[symbol or letter_accent]


def _plain(value: str) -> str:
    """What LaTeX decoding does to text without commands or math: cheaply."""
    if "{" in value or "}" in value:
        value = value.replace("{", "").replace("}", "")
    if "--" in value:
        value = value.replace("---", "\u2014").replace("--", "\u2013")
    if "~" in value:
        value = value.replace("~", "\u00a0")
    if "``" in value or "''" in value:
        value = value.replace("``", "\u201c").replace("''", "\u201d")
    return value


def _text(value: str | None) -> str | None:
    """A field as display text: LaTeX decoded (only if it needs it), NFC, spaces collapsed."""
    if not value:
        return None
    if "\\" in value or value.count("$") > 1:
        value = _from_latex(value)
    else:
        value = _plain(value)
    return clean(nfc(value))


_ESCAPED = re.compile(r"\\([_%&#$~])")
_URL_MACRO = re.compile(r"\\url\s*\{([^{}]*)\}")


def _verbatim(value: str | None) -> str | None:
    """A URL or identifier: a url macro, TeX escapes and braces removed, nothing decoded."""
    if not value:
        return None
    match = _URL_MACRO.search(value)
    if match:
        value = match.group(1)
    if "\\" in value:
        value = _ESCAPED.sub(r"\1", value)
    return clean(value.replace("{", "").replace("}", ""))


# --------------------------------------------------------------------------
# Names

_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_COMMA = re.compile(r",")
_BLANKS = re.compile(r"[\s~]+")
_SUFFIXES = frozenset({"jr", "sr", "2nd", "3rd", "ii", "iii", "iv"})


def _split_top(text: str, separator: re.Pattern[str]) -> list[str]:
    """``text`` split at the ``separator`` matches that are outside braces."""
    if "{" not in text:
        return separator.split(text)
    pieces = []
    last = scanned = depth = 0
    for match in separator.finditer(text):
        depth += text.count("{", scanned, match.start()) - text.count("}", scanned, match.start())
        scanned = match.start()
        if depth <= 0:
            pieces.append(text[last : match.start()])
            last = match.end()
    pieces.append(text[last:])
    return pieces


def _names(value: str | None) -> list[Author]:
    """BibTeX names, ``and``-separated (any case), as authors; ``others`` dropped."""
    if not value:
        return []
    authors = []
    for name in _split_top(value.strip(), _AND):
        author = _name(name)
        if author is not None:
            authors.append(author)
    return authors


@lru_cache(maxsize=4096)
def _name(name: str) -> Author | None:
    """One BibTeX name: "First von Last", "von Last, First" or "von Last, Jr, First".

    The von part stays with the family name, as does Jr. A name in braces (a
    corporate author) is a family name without given name.
    """
    name = name.strip().strip(",").strip()
    if not name or name.lower() == "others":
        return None
    parts = [part.strip() for part in _split_top(name, _COMMA)]
    if len(parts) == 1:
        tokens = [token for token in _split_top(parts[0], _BLANKS) if token]
        if not tokens:
            return None
        # Family: from the first lower-case (von) word, else the last word.
        von = [i for i, token in enumerate(tokens[:-1]) if _is_lower(token)]
        cut = von[0] if von else len(tokens) - 1
        family, given = " ".join(tokens[cut:]), " ".join(tokens[:cut])
    elif len(parts) == 2:
        family, given = parts
    else:
        # "von Last, Jr, First"; also the common slip "Last, First, Jr".
        family, jr, given = parts[0], parts[1], ", ".join(parts[2:])
        if _is_suffix(given) and not _is_suffix(jr):
            jr, given = given, jr
        family = f"{family} {jr}" if jr else family
    family_text, given_text = _text(family), _text(given)
    if not family_text:
        if not given_text:
            return None
        family_text, given_text = given_text, None
    return Author(family=family_text, given=given_text)


def _is_suffix(text: str) -> bool:
    return text.lower().rstrip(".") in _SUFFIXES


def _is_lower(token: str) -> bool:
    """BibTeX's test for a von word: its first letter is lower case; a braced word has none."""
    if token.startswith("{") and not token.startswith("{\\"):
        return False
    if token.startswith(("\\", "{\\")):
        token = _text(token) or ""
    for char in token:
        if char.isalpha():
            return char.islower()
        if char == "{":
            return False
    return False


# --------------------------------------------------------------------------
# Fields to a record

_PAGES_DASH = re.compile(r"\s*(?:-+|\u2013|\u2014)\s*")
_KEYWORD_SPLIT = re.compile(r"[,;]")
_DOI_URL = re.compile(r"^https?://(?:dx\.)?doi\.org/", re.IGNORECASE)
_PUBLISHED = ("doi", "eprint", "journal", "journaltitle", "booktitle", "publisher", "institution")


def _record_type(kind: str, fields: dict[str, str]) -> str:
    mapped = _TYPES.get(kind)
    if mapped:
        return mapped
    if kind == "misc":
        # A @misc with a URL and nothing of a publication is a web page; an
        # arXiv preprint (eprint, doi) or a report-like @misc stays "other".
        has_url = "url" in fields or "\\url" in fields.get("howpublished", "")
        if has_url and not any(name in fields for name in _PUBLISHED):
            return "webpage"
    return "other"


def _keywords(value: str | None) -> list[str]:
    """Keywords split on ``,`` or ``;``, in order, without repeats (whatever their case)."""
    keywords: list[str] = []
    seen: set[str] = set()
    for keyword in _KEYWORD_SPLIT.split(_text(value) or ""):
        keyword = keyword.strip()
        if keyword and keyword.casefold() not in seen:
            seen.add(keyword.casefold())
            keywords.append(keyword)
    return keywords


def _to_record(entry: _Entry) -> RecordData:
    fields = entry.fields
    get = fields.get

    title = _text(get("title"))
    subtitle = _text(get("subtitle"))
    if title and subtitle:
        title = f"{title}: {subtitle}"

    authors = _names(get("author"))
    if not authors and entry.kind in _VOLUME_TYPES:
        authors = _names(get("editor"))  # an edited volume: its editors

    venue = None
    for name in ("journal", "journaltitle", "booktitle", "series"):
        venue = _text(get(name))
        if venue:
            break

    pages = _text(get("pages"))
    if pages:
        pages = _PAGES_DASH.sub("-", pages)

    url = _verbatim(get("url"))
    if url:
        url = url.split(" ", 1)[0]  # some exports put several URLs in one field
    elif "\\url" in get("howpublished", ""):
        url = _verbatim(get("howpublished"))

    doi = normalize_doi(_verbatim(get("doi")))
    if not doi and url and _DOI_URL.match(url):
        doi = normalize_doi(url)

    pmid = clean(get("pmid"))
    if not pmid and (get("eprinttype") or "").strip().lower() == "pubmed":
        pmid = clean(get("eprint"))

    return RecordData(
        type=_record_type(entry.kind, fields),
        title=title,
        authors=authors,
        year=parse_year(get("year")) or parse_year(get("date")),
        venue=venue,
        volume=_text(get("volume")),
        issue=_text(get("number") or get("issue")),
        pages=pages,
        doi=doi,
        pmid=pmid,
        isbn=_verbatim(get("isbn")),
        url=url,
        abstract=_text(get("abstract")),
        keywords=_keywords(get("keywords") or get("keyword")),
        language=_text(get("language") or get("langid")),
        # A thesis or report names who issued it in school or institution.
        publisher=_text(get("publisher") or get("institution") or get("school")),
        note=_text(get("note")),
        entry_key=entry.key,
        line=entry.line,
        raw=entry.raw,
    )


# --------------------------------------------------------------------------
# Crossref


@dataclass(slots=True)
class _Entry:
    """An entry whose fields could be read, before it becomes a record."""

    kind: str
    key: str
    fields: dict[str, str]
    line: int
    raw: str
    waiting: str = ""  # the crossref target it still waits for


def _inheritable(fields: dict[str, str]) -> dict[str, str]:
    """What another entry may take from this one (kept small: some are held to the end)."""
    return {name: fields[name] for name in (*_INHERITED, "title", "crossref") if name in fields}


class _Crossrefs:
    """Items in file order, an entry held back while the entry it crossrefs is still to come.

    At most ``_MAX_HELD`` items wait behind a held entry: past that, it
    inherits what is known and goes, so memory stays bounded.
    """

    def __init__(self) -> None:
        self.known: dict[str, dict[str, str]] = {}  # lower-case key -> inheritable fields
        self.queue: deque[_Entry | EntryError] = deque()
        self.wanted: set[str] = set()

    def add(self, item: _Entry | EntryError) -> Iterator[_Entry | EntryError]:
        """Take the next item of the file; yield those now ready, in file order."""
        self.queue.append(item)
        if isinstance(item, _Entry):
            key = item.key.lower()
            if item.kind in _VOLUME_TYPES or key in self.wanted:
                self.known.setdefault(key, _inheritable(item.fields))
            if item.fields.get("crossref") and not self._resolve(item):
                self.wanted.add(item.waiting)
            if key in self.wanted:  # some held entries may be complete now
                self.wanted = set()
                for held in self.queue:
                    if isinstance(held, _Entry) and held.waiting and not self._resolve(held):
                        self.wanted.add(held.waiting)
        if len(self.queue) > _MAX_HELD:
            front = self.queue[0]
            if isinstance(front, _Entry) and front.waiting:
                self._give_up(front)
        yield from self._ready()

    def finish(self) -> Iterator[_Entry | EntryError]:
        """At the end of the file: what still waits inherits whatever was found."""
        for held in self.queue:
            if isinstance(held, _Entry) and held.waiting:
                self._give_up(held)
        yield from self._ready()

    def _ready(self) -> Iterator[_Entry | EntryError]:
        queue = self.queue
        while queue and not getattr(queue[0], "waiting", ""):
            yield queue.popleft()

    def _give_up(self, entry: _Entry) -> None:
        _inherit(entry, self._chain(entry)[0])
        entry.waiting = ""

    def _resolve(self, entry: _Entry) -> bool:
        """Inherit from the crossref chain if it is complete; else note what is awaited."""
        chain, awaited = self._chain(entry)
        entry.waiting = awaited
        if not awaited:
            _inherit(entry, chain)
        return not awaited

    def _chain(self, entry: _Entry) -> tuple[list[dict[str, str]], str]:
        """The entries ``entry`` inherits from, nearest first, and the key still awaited."""
        chain: list[dict[str, str]] = []
        seen = {entry.key.lower()}
        fields: dict[str, str] | None = entry.fields
        while True:
            target = (fields.get("crossref") or "").strip().lower()
            if not target or target in seen:  # the end, or a cycle
                return chain, ""
            fields = self.known.get(target)
            if fields is None:
                return chain, target
            seen.add(target)
            chain.append(fields)


def _inherit(entry: _Entry, chain: list[dict[str, str]]) -> None:
    if not chain:
        return
    fields = dict(entry.fields)
    for parent in chain:
        for name in _INHERITED:
            if name not in fields and parent.get(name):
                fields[name] = parent[name]
        # The title of the volume is the booktitle of what is in it.
        if "booktitle" not in fields and "journal" not in fields and parent.get("title"):
            fields["booktitle"] = parent["title"]
    entry.fields = fields


# --------------------------------------------------------------------------
# The reader

_HEAD = re.compile(r"@[ \t]*[A-Za-z][\w:.+-]*[ \t]*[{(]")
_VISIBLE_KEY = re.compile(r"@[^{(]*[{(]\s*([^\s,={}()\"]+)\s*,")
_STRING_NAME = re.compile(r"@[^{(]*[{(]\s*([^\s=,{}()\"#]+)")


def read(stream: TextIO, filename: str) -> Iterator[Item]:
    """Records and errors from a BibTeX text stream, one entry at a time.

    Raises UnreadableFile only when nothing in the stream looks like BibTeX.
    """
    parser = _Parser()
    crossrefs = _Crossrefs()
    state = _ScanState()
    position = 0  # of the entry in the file, @string/@comment/@preamble not counted
    for chunk in _chunks(stream, state):
        if chunk.kind == "string":
            item: _Entry | EntryError | None = _define_string(parser, chunk)
            if item is None:
                continue
        else:
            position += 1
            try:
                item = _read_entry(parser, chunk, position)
            except Exception as exc:  # never a traceback: the entry is reported instead
                item = EntryError(chunk.line, _visible_key(chunk.text), f"could not read: {exc}")
        for ready in crossrefs.add(item):
            yield _record_or_error(ready)
    for ready in crossrefs.finish():
        yield _record_or_error(ready)
    if not state.heads and state.other_text:
        raise UnreadableFile(f"{filename}: no BibTeX entry found (is it a BibTeX file?)")


def _record_or_error(entry: _Entry | EntryError) -> Item:
    if isinstance(entry, EntryError):
        return entry
    try:
        return _to_record(entry)
    except Exception as exc:  # never a traceback: the entry is reported instead
        return EntryError(entry.line, entry.key, f"could not read: {exc}")


def _visible_key(text: str) -> str | None:
    match = _VISIBLE_KEY.match(text)
    return match.group(1) if match else None


def _read_entry(parser: _Parser, chunk: _Chunk, position: int) -> _Entry | EntryError:
    text = chunk.text
    if chunk.problem:
        return EntryError(chunk.line, _visible_key(text), chunk.problem)
    head = _HEAD.match(text)
    if head is None:  # cannot happen: the scanner cuts at entry heads
        return EntryError(chunk.line, None, "not an entry")
    inner = text[head.end() : -1]  # between the entry's delimiters
    first, comma, rest = inner.partition(",")
    if "=" not in first:
        key, body = first.strip(), rest  # "key, fields" or ", fields" or just "key"
    else:
        key, body = "", inner  # no key: the fields start right after the brace
    shown_key = key or None
    key = key or str(position)
    if "=" in body:
        try:
            fields = parser.parse_fields(body)
        except _SyntaxError as exc:
            offset = len(text) - 1 - len(body) + exc.offset
            line = chunk.line + text.count("\n", 0, offset)
            return EntryError(chunk.line, shown_key, f"{exc} (line {line})")
    elif body.strip(" \t\r\n,"):
        return EntryError(chunk.line, shown_key, "no field could be read (missing '='?)")
    else:
        fields = {}
    return _Entry(chunk.kind, key, fields, chunk.line, text)


def _define_string(parser: _Parser, chunk: _Chunk) -> EntryError | None:
    match = _STRING_NAME.match(chunk.text)
    name = f"@string{{{match.group(1)}}}" if match else "@string"
    if chunk.problem:
        return EntryError(chunk.line, name, chunk.problem)
    try:
        parser.add_string(chunk.text)  # the grammar takes @string{...} and @string(...)
    except _SyntaxError as exc:
        return EntryError(chunk.line, name, f"could not read the macro: {exc}")
    return None
