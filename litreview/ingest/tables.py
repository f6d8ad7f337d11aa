"""Tables: CSV and TSV exports of screening tools, databases and reference managers.

The first row names the columns (see :mod:`.table_columns` for the names known:
ASReview LAB, SYNERGY, Rayyan, Covidence, Scopus, Zotero, Web of Science); each
further row is one record. The delimiter is the one of comma, tab or semicolon that
the header holds most of (a ``.tsv`` file is read with tabs); fields may be quoted
and run over several lines. Columns that fit no field are kept, by their own name,
in ``RecordData.extra`` (labels such as ASReview's ``label_included`` live there).

Bad input: a row without a title, with more cells than the header, a NUL
character or a quote closed in the wrong place is an error naming its row and line,
and is skipped. A field longer than 128 KB or a quote still open at the end of the
file means the quoting went wrong somewhere before, so what follows cannot be
trusted: the file as a whole is refused (UnreadableFile), naming the row and line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from litreview.ingest.labels import has_rayyan_marks
from litreview.ingest.normalize import (
    clean,
    nfc,
    normalize_doi,
    parse_year,
    split_initials,
    split_name,
)
from litreview.ingest.record_data import Author, EntryError, Item, RecordData, UnreadableFile
from litreview.ingest.table_columns import ALIASES, Columns, map_columns, normalize

__all__ = ["Row", "Table", "looks_like", "read", "read_tsv", "split_authors"]

DELIMITERS = (",", "\t", ";")
MAX_FIELD = 128 * 1024  # characters; the csv module's own default limit
_TITLES = frozenset(ALIASES["title"])
_COMMA_OUTSIDE_BRACKETS = re.compile(r",(?![^()]*\))")
_TYPES = (  # a word in the type column -> our type; first match wins
    ("chapter", "chapter"),
    ("section", "chapter"),
    ("conference", "conference"),
    ("proceeding", "conference"),
    ("thesis", "thesis"),
    ("dissertation", "thesis"),
    ("report", "report"),
    ("book", "book"),
    ("web", "webpage"),
    ("data", "dataset"),
    ("article", "article"),
    ("journal", "article"),
    ("review", "article"),
    ("letter", "article"),
    ("editorial", "article"),
)


@dataclass(frozen=True, slots=True)
class Row:
    """One row below the header: its number (1 is the first record), first line, text."""

    number: int
    line: int
    raw: str
    cells: list[str]


def sniff_delimiter(header_line: str) -> str:
    """The delimiter the header line holds most of, outside quotes; comma on a tie."""
    outside = "".join(header_line.split('"')[0::2])
    return max(DELIMITERS, key=lambda d: (outside.count(d), d == ","))


def looks_like(head: str) -> bool:
    """True when the first line is a header naming a title column among two or more."""
    text = head.lstrip("\ufeff \t\r\n")
    first = text.split("\n", 1)[0].rstrip("\r")
    if not first:
        return False
    header = next(csv.reader([first], delimiter=sniff_delimiter(first)), [])
    return len(header) >= 2 and any(normalize(h) in _TITLES for h in header)


class Table:
    """A table being read: its header (``columns``), then its rows one by one."""

    def __init__(self, stream: TextIO, filename: str, delimiter: str | None = None) -> None:
        self.filename = filename
        self.lines_read = 0
        self._buffer: list[str] = []
        first = ""
        for line in stream:  # blank lines before the header are skipped
            self.lines_read += 1
            if line.strip():
                first = line
                break
        if not first:
            raise UnreadableFile(f"{filename}: the table has no header row")
        self.header_line = self.lines_read
        self.delimiter = delimiter or sniff_delimiter(first)
        self._rest = stream
        self._reader = csv.reader(self._lines(), delimiter=self.delimiter, strict=True)
        self._buffer.append(first)  # read again by the csv reader, through _lines
        self._pending_first = first
        try:
            header = next(self._reader)
        except csv.Error as exc:
            raise UnreadableFile(
                f"{filename}: line {self.header_line}: header row: {exc}"
            ) from None
        self._buffer.clear()
        self.columns: Columns = map_columns(header)

    def _lines(self) -> Iterator[str]:
        if self._pending_first:
            yield self._pending_first
            self._pending_first = ""
        for line in self._rest:
            self.lines_read += 1
            self._buffer.append(line)
            yield line

    def rows(self) -> Iterator[Row | EntryError]:
        """The rows below the header; an EntryError for a row the csv module refuses."""
        number = 0
        while True:
            start = self.lines_read + 1
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                self._buffer.clear()
                where = f"{self.filename}: row {number} (line {start})"
                message = str(exc)
                if "field limit" in message:
                    raise UnreadableFile(f"{where}: {_TOO_LONG}") from None
                if "unexpected end of data" in message:
                    raise UnreadableFile(
                        f"{where}: a quoted field is still open at the end of the file "
                        "(a missing closing quote)"
                    ) from None
                yield EntryError(start, f"row {number}", f"row {number}: {message}")
                continue
            raw = "".join(self._buffer)
            self._buffer.clear()
            if not cells:  # a blank line
                continue
            number += 1
            if any(len(cell) > MAX_FIELD for cell in cells):
                raise UnreadableFile(f"{self.filename}: row {number} (line {start}): {_TOO_LONG}")
            yield Row(number, start, raw, cells)


_TOO_LONG = "a field is longer than 128 KB (a quote left open, or not a table?)"


def read(stream: TextIO, filename: str, delimiter: str | None = None) -> Iterator[Item]:
    """The records of a CSV or TSV table; see the module docstring."""
    table = Table(stream, filename, delimiter)
    columns = table.columns
    if "title" not in columns.fields:
        shown = ", ".join(columns.names[:30]) + (" ..." if len(columns.names) > 30 else "")
        raise UnreadableFile(
            f"{filename}: no title column (looked for Title, Primary title, Article title "
            f"or TI); its columns are: {shown}"
        )
    width = len(columns.names)
    for row in table.rows():
        if isinstance(row, EntryError):
            yield row
            continue
        entry = f"row {row.number}"
        if "\x00" in row.raw:
            yield EntryError(row.line, entry, f"{entry} holds a NUL character (a binary file?)")
            continue
        cells = row.cells
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            yield EntryError(
                row.line,
                entry,
                f"{entry} has {len(cells)} cells, the header {width} "
                "(a delimiter in an unquoted field?)",
            )
            continue
        if len(cells) < width:  # trailing empty cells left out
            cells = cells + [""] * (width - len(cells))
        record = _record(columns, cells, row)
        if not record.title:
            yield EntryError(row.line, record.entry_key or entry, f"{entry} has no title")
            continue
        yield record


def read_tsv(stream: TextIO, filename: str) -> Iterator[Item]:
    """A tab-separated table, whatever its header holds most of."""
    return read(stream, filename, delimiter="\t")


def _record(columns: Columns, cells: list[str], row: Row) -> RecordData:
    def text(name: str) -> str | None:
        i = columns.fields.get(name)
        return nfc(clean(cells[i])) if i is not None else None

    data = RecordData(line=row.line, raw=row.raw)
    data.title = text("title")
    data.abstract = text("abstract")
    data.authors = split_authors(text("authors"))
    data.year = parse_year(text("year"))
    data.venue = text("venue")
    data.volume = text("volume")
    data.issue = text("issue")
    data.pages = text("pages") or _pages(columns, cells)
    data.doi = normalize_doi(text("doi"))
    pmid = text("pmid")
    data.pmid = pmid if pmid and pmid.isdigit() else None
    data.isbn = text("isbn")
    data.url = text("url")
    data.keywords = _keywords(text("keywords"))
    data.language = text("language")
    data.publisher = text("publisher")
    data.type = _type(text("type"), data.venue)
    data.entry_key = text("entry_key") or str(row.number)
    extra = {name: cells[i] for name, i in columns.extra}
    note_column = columns.fields.get("note")
    if note_column is not None:
        note = cells[note_column]
        if has_rayyan_marks(note):
            # Rayyan's notes hold every reviewer's decision: never shown as the record's
            # note (blind screening), kept verbatim for `import --decisions-from`.
            extra[columns.names[note_column]] = note
        else:
            data.note = nfc(note.strip()) or None
    data.extra = extra
    return data


def _pages(columns: Columns, cells: list[str]) -> str | None:
    start = clean(cells[columns.page_start]) if columns.page_start is not None else None
    end = clean(cells[columns.page_end]) if columns.page_end is not None else None
    if start and end and end != start:
        return f"{start}-{end}"
    return start or end


def _keywords(value: str | None) -> list[str]:
    """';'-separated, else ','-separated outside brackets ('cyst (diagnosis, surgery)')."""
    if not value:
        return []
    parts = value.split(";") if ";" in value else _COMMA_OUTSIDE_BRACKETS.split(value)
    return [k for k in (clean(part) for part in parts) if k]


def _type(value: str | None, venue: str | None) -> str:
    word = (value or "").casefold()
    for part, ours in _TYPES:
        if part in word:
            return ours
    return "article" if venue else "other"


def _looks_like_initials(word: str) -> bool:
    letters = word.replace(".", "").replace("-", "")
    return letters.isalpha() and letters.isupper() and len(letters) <= 5


def _name(piece: str) -> Author | None:
    """One name: 'Family, Given', 'Family Initials' or 'Given Family'."""
    words = piece.split()
    if "," in piece or (len(words) > 1 and _looks_like_initials(words[-1])):
        return split_initials(piece)
    return split_name(piece)


def split_authors(value: str | None) -> list[Author]:
    """Authors from one cell, as the tools write them.

    'Smith, J; Doe, A' (ASReview, Covidence, Scopus, Zotero), 'Smith, J. and Doe, A.'
    (Rayyan), 'Smith J., Doe A.' (Embase, older Scopus); 'Smith, John' is one person.
    """
    if not value:
        return []
    if ";" in value:
        pieces = value.split(";")
    elif " and " in value:
        pieces = value.split(" and ")
    else:
        parts = [p.strip() for p in value.split(",")]
        family_initials = all(
            len(p.split()) > 1 and _looks_like_initials(p.split()[-1]) for p in parts if p
        )
        if len(parts) > 2 or family_initials or all(" " in p for p in parts if p):
            pieces = parts  # 'Smith J, Doe A' or 'Jane Smith, John Doe'
        else:
            pieces = [value]  # 'Smith, John'
    return [a for a in (_name(p) for p in pieces) if a is not None]
