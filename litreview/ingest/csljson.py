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

from litreview.ingest.csljson_item import item_to_record, json_kind
from litreview.ingest.record_data import Item, UnreadableFile

__all__ = ["looks_like", "read"]

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER_GOES_ON = frozenset("0123456789.eE+-")
_DECODER = json.JSONDecoder()

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
                f"{filename}: not CSL-JSON: the file holds a JSON {json_kind(value)}, "
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
        yield item_to_record(value, text.buf[pos:end], text.line_at(pos), count[0])
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
        yield item_to_record(json.loads(raw), raw, text.line_at(start), 1)
    return pos
