"""Web of Science tagged text ("Export > Plain text file", ``savedrecs.txt``, ``.ciw``).

::

    FN Clarivate Analytics Web of Science
    VR 1.0
    PT J
    AF Parkes-Loach, PS
       Majeed, AP
    TI Interactions stabilizing the structure of the core light-harvesting
       complex (LHl) of photosynthetic bacteria
    ...
    ER

    EF

A record runs from ``PT`` to ``ER``; a field is a two-character tag, a space and
the value, continued on lines indented by three spaces. In author fields (AU, AF,
CA...) each line is one name; elsewhere the lines join with a space. A record
whose ``ER`` is missing is still read, and an error names the line where it
should have ended. The file is read line by line, one record held at a time (see
``tagged_lines``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TextIO

from litreview.ingest.normalize import clean, nfc, normalize_doi, parse_year, split_initials
from litreview.ingest.record_data import Author, EntryError, Item, RecordData
from litreview.ingest.tagged_lines import END_TAG, Field, StrayText, TagRules, tagged_entries

__all__ = ["looks_like", "read"]

# Tags read into a record; the others stay only in ``raw``.
_TAGS = (
    "PT DT AU AF BA BF CA GP TI SO PY EY EA PD VL IS BP EP AR DI PM UT AB DE ID LA PU BN".split()
)
_LISTS = frozenset(("DE", "ID"))  # ';'-separated lists
_HEADER = frozenset(("FN", "VR", "EF"))  # file header and end, between records
_HEAD = re.compile(r"(?:FN|VR) \S|PT [A-Z]\s*$")
_AFTER_TAG = frozenset((" ", "\n", "\r", ""))
_STRAY = "text outside any Web of Science record (a record runs from 'PT' to 'ER')"

Fields = dict[str, list[str]]  # tag -> the stripped lines of its values


def looks_like(head: str) -> bool:
    """True for a ``FN``/``VR`` header, or a first line such as ``PT J``.

    A RIS file (``TY  - JOUR``, two spaces and a dash) or a WoS tab-delimited
    export (``PT<tab>AU...``) is not this format.
    """
    text = head.lstrip("\ufeff \t\r\n")
    first = text.split("\n", 1)[0].rstrip("\r")
    return _HEAD.match(first) is not None


def _split(line: str) -> tuple[str | None, str]:
    """(tag, value) of a line such as ``AU Smith, J`` or ``ER``; (None, '') for any other."""
    tag = line[:2]
    if len(tag) == 2 and tag.isalnum() and tag.isupper() and line[2:3] in _AFTER_TAG:
        return tag, line[3:]
    return None, ""  # a continuation, indented by spaces, a tab or not at all


# A record runs from PT to ER; a header tag (EF, or a second file's FN) ends it too.
_RULES = TagRules(
    prefixes={tag + " ": tag for tag in _TAGS},
    width=3,
    split=_split,
    starts=frozenset(("PT",)),
    ends=frozenset(("ER",)),
    breaks=_HEADER,
    skip_outside=_HEADER | {"ER"},
    empty_ends_field=True,
)


def read(stream: TextIO, filename: str) -> Iterator[Item]:
    """The records of a Web of Science tagged file; see the module docstring."""
    position = 0  # records so far, for the entry key of a record without UT
    for entry in tagged_entries(stream, filename, _RULES):
        if isinstance(entry, StrayText):
            yield EntryError(entry.start, None, _STRAY)
            continue
        position += 1
        fields = {tag: _lines(tag, same) for tag, same in entry.fields.items()}
        yield _record(fields, entry.lines, entry.start, position)
        if entry.ended_by != END_TAG:
            yield _missing_er(fields, entry.start, entry.end_line)


def _lines(tag: str, same: list[Field]) -> list[str]:
    """The stripped lines of every value of a tag; a repeated DE/ID goes on with its list."""
    lines: list[str] = []
    for i, field in enumerate(same):
        if i and tag in _LISTS:
            lines.append(";")
        value = field[1].strip()
        if value:
            lines.append(value)
        lines.extend(field[2:])
    return lines


def _missing_er(fields: Fields, start: int, at: int) -> EntryError:
    where = f"before line {at}" if at else "before the end of the file"
    key = " ".join(fields.get("UT", ())) or None
    return EntryError(
        start, key, f"record starting on line {start} has no ER line {where}; read it anyway"
    )


def _text(fields: Fields, tag: str) -> str | None:
    parts = fields.get(tag)
    if not parts:
        return None
    return _clean(parts[0] if len(parts) == 1 else " ".join(parts))


def _clean(value: str) -> str | None:
    """``clean``, with a short way for the usual value (lines come stripped)."""
    if value.isascii() and value.isprintable() and "  " not in value:
        return value or None  # the lines come stripped: already clean
    return clean(value)


def _names(fields: Fields, tag: str) -> list[Author]:
    authors = []
    for value in fields.get(tag, ()):
        value = nfc(_clean(value))
        if value:
            # 'Parkes-Loach, PS' / 'Loach, Paul A.'; old exports: 'PARKES-LOACH PS'.
            author = split_initials(value)
            if author is not None:
                authors.append(author)
    return authors


def _authors(fields: Fields) -> list[Author]:
    """Full names (AF) where given, else AU; book authors if no others; group authors last."""
    authors = (
        _names(fields, "AF") or _names(fields, "AU") or _names(fields, "BF") or _names(fields, "BA")
    )
    seen = {a.family.casefold() for a in authors if a.given is None}
    for tag in ("CA", "GP"):
        for value in fields.get(tag, ()):
            value = nfc(_clean(value))
            if value and value.casefold() not in seen:
                seen.add(value.casefold())
                authors.append(Author(family=value))
    return authors


def _keywords(fields: Fields) -> list[str]:
    """Author keywords (DE) then Keywords Plus (ID), split on ';', no repeats."""
    seen: dict[str, str] = {}
    for tag in ("DE", "ID"):
        text = _text(fields, tag)
        if text:
            for word in text.split(";"):
                word = word.strip()
                if word:
                    seen.setdefault(word.casefold(), nfc(word))
    return list(seen.values())


def _type(fields: Fields) -> str:
    pt = (_text(fields, "PT") or "").upper()[:1]
    dt = {d.strip().casefold() for d in (_text(fields, "DT") or "").split(";")}
    if "book chapter" in dt:
        return "chapter"
    if "proceedings paper" in dt and "article" not in dt:
        return "conference"
    if "book" in dt:
        return "book"
    if dt & {"thesis", "dissertation", "dissertation/thesis"}:
        return "thesis"
    if dt & {"data set", "data study", "database review"}:
        return "dataset"
    if pt == "P":
        return "other"  # patent
    if pt == "B":
        return "book"
    if pt == "C":
        return "conference"
    return "article"  # J (journal), S (series), or a DT such as Article, Review, Letter


def _pages(fields: Fields) -> str | None:
    first, last = _text(fields, "BP"), _text(fields, "EP")
    if first:
        return f"{first}-{last}" if last and last != first else first
    return _text(fields, "AR")


def _year(fields: Fields) -> int | None:
    for tag in ("PY", "EY", "EA", "PD"):
        year = parse_year(_text(fields, tag))
        if year:
            return year
    return None


def _record(fields: Fields, lines: list[str], start: int, position: int) -> Item:
    while lines and lines[-1].isspace():
        lines.pop()  # blank lines before a PT that came with no ER
    ut = _text(fields, "UT")
    pmid = _text(fields, "PM")
    isbn = _text(fields, "BN")
    record = RecordData(
        type=_type(fields),
        title=nfc(_text(fields, "TI")),
        authors=_authors(fields),
        year=_year(fields),
        venue=nfc(_text(fields, "SO")),
        volume=_text(fields, "VL"),
        issue=_text(fields, "IS"),
        pages=_pages(fields),
        doi=normalize_doi(_text(fields, "DI")),
        pmid=pmid,
        isbn=isbn.split(";")[0].strip() if isbn else None,
        abstract=nfc(_text(fields, "AB")),
        keywords=_keywords(fields),
        language=_text(fields, "LA"),
        publisher=nfc(_text(fields, "PU")),
        entry_key=ut or str(position),
        line=start,
        raw="".join(lines),
    )
    if not (record.title or record.authors or ut or record.doi or pmid):
        return EntryError(start, None, "Web of Science record with no UT, title or authors")
    return record
