"""CSL-JSON: a JSON array of items, as Zotero ("Export Library... > CSL JSON") and
Better BibTeX write it; also ``{"items": [...]}`` and a single item object.

The file is parsed item by item (``json.JSONDecoder.raw_decode`` over the array),
so each item keeps the line its ``{`` is on and its exact text as ``raw``. The text
is read a megabyte at a time and dropped once its items are out, so memory stays
bounded however long the file (one item is always held whole).

An item that is not an object, or whose fields have the wrong JSON type (an
``"author": "Smith"`` instead of a list of names), is an :class:`EntryError`; the
other items are read. A JSON syntax error makes the file unreadable, with its line
and column (raised when the reader gets there: items before it have been yielded).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TextIO

from litreview.ingest.normalize import clean, nfc, normalize_doi, parse_year
from litreview.ingest.record_data import Author, EntryError, Item, RecordData, UnreadableFile

__all__ = ["looks_like", "read"]

_WS = re.compile(r"[ \t\n\r]*")
_KEYWORD_SPLIT = re.compile(r"[;,]")
_NUMBER_GOES_ON = frozenset("0123456789.eE+-")
_DECODER = json.JSONDecoder()

TYPES = {
    "article-journal": "article",
    "article-magazine": "article",
    "article-newspaper": "article",
    "article": "article",
    "book": "book",
    "chapter": "chapter",
    "paper-conference": "conference",
    "thesis": "thesis",
    "report": "report",
    "webpage": "webpage",
    "post-weblog": "webpage",
    "post": "webpage",
    "dataset": "dataset",
}

_STRING_FIELDS = (
    "type",
    "title",
    "container-title",
    "volume",
    "issue",
    "page",
    "DOI",
    "PMID",
    "ISBN",
    "URL",
    "abstract",
    "language",
    "publisher",
    "note",
)
_NAME_PARTS = ("family", "given", "literal", "non-dropping-particle", "dropping-particle", "suffix")


class _ItemError(ValueError):
    """A field of one item has the wrong shape."""


# ---------------------------------------------------------------- detection


def looks_like(head: str) -> bool:
    """True for a JSON array (or an object with "items") whose first item is an
    object with "type" and "id" or "title"; also for an empty array.

    ``head`` may end in the middle of the file: the first item's keys are read one
    by one as far as the text goes.
    """
    text = head.lstrip("\ufeff")
    pos = _WS.match(text).end()
    if text[pos : pos + 1] == "{":
        keys = _top_keys(text, pos)
        if "items" in keys:
            pos = keys["items"]
            if pos is None or text[pos : pos + 1] != "[":
                return False
        else:
            return _is_item(keys)
    if text[pos : pos + 1] != "[":
        return False
    pos = _WS.match(text, pos + 1).end()
    if text[pos : pos + 1] == "]":
        return True
    if text[pos : pos + 1] != "{":
        return False
    return _is_item(_top_keys(text, pos))


def _is_item(keys: dict[str, int | None]) -> bool:
    return "type" in keys and ("id" in keys or "title" in keys)


def _top_keys(text: str, pos: int) -> dict[str, int | None]:
    """The keys of the object at ``pos``, each with where its value starts, as far
    as the (possibly cut-off) text goes. Values are skipped, not kept."""
    keys: dict[str, int | None] = {}
    pos += 1
    try:
        while True:
            pos = _WS.match(text, pos).end()
            if text[pos : pos + 1] != '"':
                return keys
            key, pos = _DECODER.raw_decode(text, pos)
            pos = _WS.match(text, pos).end()
            if text[pos : pos + 1] != ":":
                return keys
            pos = _WS.match(text, pos + 1).end()
            keys[key] = pos
            if key == "items":
                return keys
            _, pos = _DECODER.raw_decode(text, pos)
            pos = _WS.match(text, pos).end()
            if text[pos : pos + 1] != ",":
                return keys
            pos += 1
    except (ValueError, RecursionError):  # cut off, or not JSON; JSONDecodeError is a ValueError
        return keys


# ---------------------------------------------------------------- reading

_CHUNK = 1 << 20  # characters read at a time; tests make it tiny to try the seams


def read(stream: TextIO, filename: str) -> Iterator[Item]:
    """The items of a CSL-JSON file; see the module docstring."""
    text = _Text(stream)
    try:
        pos = text.skip_ws(0)
        if text.buf.startswith("\ufeff"):
            pos = text.skip_ws(1)
        c = text.char(pos)
        if not c:
            raise UnreadableFile(f"{filename}: empty file, not CSL-JSON")
        if c == "[":
            pos = yield from _array(text, pos, [0])
        elif c == "{":
            pos = yield from _object(text, pos, filename)
        else:
            value, _ = text.decode(pos)  # a syntax error, or:
            raise UnreadableFile(
                f"{filename}: not CSL-JSON: the file holds a JSON {_kind(value)}, "
                "not an array of items"
            )
        pos = text.skip_ws(pos)
        if text.char(pos):
            raise json.JSONDecodeError("Extra data after the JSON value", text.buf, pos)
    except json.JSONDecodeError as exc:
        line, column = text.where(exc.pos)
        raise UnreadableFile(
            f"{filename}: line {line} column {column}: not valid JSON ({exc.msg})"
        ) from None
    except (ValueError, RecursionError) as exc:
        # An integer of thousands of digits, arrays nested thousands deep.
        raise UnreadableFile(f"{filename}: cannot be read as JSON ({exc})") from None


class _Text:
    """The file's text read a chunk at a time, with what is behind dropped between items.

    Offsets are into ``buf``; ``line``/``col`` say where ``buf`` starts in the file.
    """

    __slots__ = ("stream", "buf", "eof", "line", "col", "_count_pos", "_count_line")

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.buf = ""
        self.eof = False
        self.line = 1  # line of buf[0]
        self.col = 0  # characters before buf[0] on that line
        self._count_pos, self._count_line = 0, 1

    def more(self, grow: bool = False) -> bool:
        """Read a chunk more; ``grow``: as much again as is held, so that a value
        that keeps failing to parse costs linear time, not quadratic."""
        if self.eof:
            return False
        data = self.stream.read(max(_CHUNK, len(self.buf)) if grow else _CHUNK)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def char(self, pos: int) -> str:
        """The character at ``pos``, '' at the end of the file."""
        while pos >= len(self.buf) and self.more():
            pass
        return self.buf[pos : pos + 1]

    def skip_ws(self, pos: int) -> int:
        while True:
            pos = _WS.match(self.buf, pos).end()
            if pos < len(self.buf) or not self.more():
                return pos

    def decode(self, pos: int) -> tuple[Any, int]:
        """The JSON value at ``pos`` and the offset after it, reading on as needed."""
        grow = False
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, pos)
            except json.JSONDecodeError:
                if self.more(grow):
                    grow = True
                    continue
                raise
            if (
                not self.eof
                and (
                    end >= len(self.buf)
                    or (type(value) in (int, float) and self.buf[end] in _NUMBER_GOES_ON)
                )
                and self.more()
            ):
                continue  # a number may go on in the next chunk: '-0' of '-0.5'
            return value, end

    def line_at(self, pos: int) -> int:
        """The line of ``pos``; positions asked for must increase (until a trim)."""
        self._count_line += self.buf.count("\n", self._count_pos, pos)
        self._count_pos = pos
        return self._count_line

    def trim(self, pos: int) -> int:
        """Drop the text before ``pos`` once it is big; returns where ``pos`` now is."""
        if pos < _CHUNK:
            return pos
        line = self.line_at(pos)
        newline = self.buf.rfind("\n", 0, pos)
        self.col = pos - newline - 1 if newline >= 0 else self.col + pos
        self.line = self._count_line = line
        self.buf = self.buf[pos:]
        self._count_pos = 0
        return 0

    def where(self, pos: int) -> tuple[int, int]:
        """1-based line and column of ``pos``."""
        pos = min(pos, len(self.buf))
        newline = self.buf.rfind("\n", 0, pos)
        column = pos - newline if newline >= 0 else self.col + pos + 1
        return self.line + self.buf.count("\n", 0, pos), column


def _array(text: _Text, pos: int, count: list[int]) -> Iterator[Item]:
    """Items of the array starting at ``pos``; returns the offset after its ``]``."""
    pos = text.skip_ws(pos + 1)
    if text.char(pos) == "]":
        return pos + 1
    while True:
        value, end = text.decode(pos)
        count[0] += 1
        yield _item(value, text.buf[pos:end], text.line_at(pos), count[0])
        pos = text.skip_ws(end)
        c = text.char(pos)
        if c == "]":
            return pos + 1
        if c != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter or ']'", text.buf, pos)
        pos = text.trim(text.skip_ws(pos + 1))


def _object(text: _Text, pos: int, filename: str) -> Iterator[Item]:
    """``{"items": [...], ...}``, its items read one by one; or a lone item."""
    start = pos
    found = False
    keys = []
    pos = text.skip_ws(pos + 1)
    if text.char(pos) == "}":
        pos += 1
    else:
        while True:
            if text.char(pos) != '"':
                raise json.JSONDecodeError(
                    "Expecting property name enclosed in double quotes", text.buf, pos
                )
            key, pos = text.decode(pos)
            keys.append(key)
            pos = text.skip_ws(pos)
            if text.char(pos) != ":":
                raise json.JSONDecodeError("Expecting ':' delimiter", text.buf, pos)
            pos = text.skip_ws(pos + 1)
            if key == "items" and text.char(pos) == "[" and not found:
                found = True
                pos = yield from _array(text, pos, [0])
            else:
                _, pos = text.decode(pos)
            pos = text.skip_ws(pos)
            c = text.char(pos)
            if c == "}":
                pos += 1
                break
            if c != ",":
                raise json.JSONDecodeError("Expecting ',' delimiter or '}'", text.buf, pos)
            pos = text.skip_ws(pos + 1)
    if not found:
        if "type" not in keys or not ("id" in keys or "title" in keys):
            raise UnreadableFile(
                f'{filename}: not CSL-JSON: a JSON object with no "items" array '
                "and not an item itself"
            )
        raw = text.buf[start:pos]
        yield _item(json.loads(raw), raw, text.line_at(start), 1)
    return pos


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return "number"


# ---------------------------------------------------------------- one item


def _item(value: Any, raw: str, line: int, position: int) -> Item:
    if not isinstance(value, dict):
        return EntryError(line, None, f"item {position} is a JSON {_kind(value)}, not an object")
    key = value.get("id")
    entry_key = str(key) if isinstance(key, str | int) and not isinstance(key, bool) else ""
    entry_key = entry_key.strip() or str(position)
    try:
        record = _record(value)
    except _ItemError as exc:
        return EntryError(line, entry_key, f"item {position}: {exc}")
    record.entry_key = entry_key
    record.line = line
    record.raw = raw
    return record


def _string(item: dict, name: str) -> str | None:
    """A text field: a string, or a number (volume 12), or a list of strings (Crossref)."""
    value = item.get(name)
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = next((v for v in value if v.strip()), None)
        if value is None:
            return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _ItemError(f'"{name}" should be text, not a JSON {_kind(value)}')
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return nfc(clean(str(value)))


def _name(value: Any, field: str) -> Author | None:
    if not isinstance(value, dict):
        raise _ItemError(f'"{field}" should be a list of name objects, found a JSON {_kind(value)}')
    parts = {}
    for part in _NAME_PARTS:
        text = value.get(part)
        if text is None:
            continue
        if not isinstance(text, str):
            raise _ItemError(f'a name in "{field}" has "{part}" as a JSON {_kind(text)}')
        text = nfc(clean(text))
        if text:
            parts[part] = text
    if "literal" in parts:
        return Author(family=parts["literal"])
    # 'Ludwig van Beethoven', 'Vincent van Gogh', 'Martin Luther King Jr.':
    # particles and suffix go with the family name, as split_name does.
    family = " ".join(
        parts[p]
        for p in ("dropping-particle", "non-dropping-particle", "family", "suffix")
        if p in parts
    )
    given = parts.get("given")
    if not parts.get("family"):
        if not given:
            return None
        family, given = " ".join(filter(None, (given, family))), None  # a single name
    return Author(family=family, given=given)


def _names(item: dict, field: str) -> list[Author]:
    value = item.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _ItemError(f'"{field}" should be a list of names, not a JSON {_kind(value)}')
    return [author for v in value if (author := _name(v, field)) is not None]


def _year(item: dict) -> int | None:
    issued = item.get("issued")
    if issued is None:
        return None
    if isinstance(issued, str | int) and not isinstance(issued, bool):
        return parse_year(issued)  # not CSL, but unambiguous: "2021-05-03"
    if not isinstance(issued, dict):
        raise _ItemError(f'"issued" should be a date object, not a JSON {_kind(issued)}')
    parts = issued.get("date-parts")
    if parts is not None:
        if not isinstance(parts, list) or not all(isinstance(p, list) for p in parts):
            raise _ItemError('"issued" has "date-parts" that is not a list of lists')
        if parts and parts[0]:
            year = parts[0][0]
            if isinstance(year, bool) or not isinstance(year, str | int | float | None):
                raise _ItemError(f'"issued" has a year that is a JSON {_kind(year)}')
            if isinstance(year, float):
                year = int(year) if year.is_integer() else None  # NaN and Infinity parse
            year = parse_year(year.strip() if isinstance(year, str) else year)
            if year is not None:
                return year
    for name in ("raw", "literal"):
        text = issued.get(name)
        if isinstance(text, str):
            year = parse_year(text)
            if year is not None:
                return year
    return None


def _keywords(item: dict) -> list[str]:
    value = item.get("keyword")
    if value is None:
        return []
    if isinstance(value, str):
        words = _KEYWORD_SPLIT.split(value)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        words = value
    else:
        raise _ItemError(f'"keyword" should be text or a list of text, not a JSON {_kind(value)}')
    seen: dict[str, str] = {}
    for word in words:
        word = nfc(clean(word))
        if word:
            seen.setdefault(word.casefold(), word)
    return list(seen.values())


def _record(item: dict) -> RecordData:
    text = {name: _string(item, name) for name in _STRING_FIELDS}
    kind = TYPES.get((text["type"] or "").lower(), "other")
    authors = _names(item, "author")
    if not authors and kind == "book":
        authors = _names(item, "editor")
    return RecordData(
        type=kind,
        title=text["title"],
        authors=authors,
        year=_year(item),
        venue=text["container-title"],
        volume=text["volume"],
        issue=text["issue"],
        pages=text["page"],
        doi=normalize_doi(text["DOI"]),
        pmid=text["PMID"],
        isbn=text["ISBN"],
        url=text["URL"],
        abstract=text["abstract"],
        keywords=_keywords(item),
        language=text["language"],
        publisher=text["publisher"],
        note=text["note"],
    )
