"""PubMed/MEDLINE tagged text (``.nbib``, PubMed's "Send to: File, PubMed format").

A record is a run of lines separated from the next by a blank line::

    PMID- 16403221
    TI  - A high level interface to SCOP and ASTRAL implemented in
          python.
    FAU - Casbon, James A
    AU  - Casbon JA

The tag is 2-4 capitals padded to four characters, then ``- ``; a value goes on
in lines indented by six spaces. Lenient about what PubMed itself never writes
but other tools do: a tag not padded (``PMID-123``, ``TI-``), a record without a
blank line before its ``PMID``, a continuation that lost its indentation.

ERIC (the education and social-work database) exports the same tagged lines
without PMID: a record starts ``OWN - ERIC`` and carries its ERIC number in
``OID`` (``EJ1234567`` for a journal article, ``ED612345`` for another document),
which becomes the entry key; an ED document with no publication type is a report;
its ``SO`` line ("Journal of X, v57 n2 p210-228 2021") gives the journal when no
``JT`` does. (Written from ERIC's export as documented in the issue and from what
Zotero's MEDLINE translator reads; the test file is hand-made.)

The file is read line by line, one record held at a time (see ``tagged_lines``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TextIO

from litreview.ingest.normalize import clean, nfc, normalize_doi, parse_year, split_initials
from litreview.ingest.record_data import Author, EntryError, Item, RecordData
from litreview.ingest.tagged_lines import Field, StrayText, TagRules, tagged_entries

__all__ = ["looks_like", "read"]

# Tags read into a record, as they stand padded in the file; the others stay in ``raw``.
_TAGS = "PMID OID OWN TI BTI AB FAU AU CN DP JT TA SO VI IP PG LID AID IS ISBN MH OT LA PT PB"
_TAGS = _TAGS.split()
_NAMES = ("FAU", "AU", "CN")
_NAMES_KEY = "FAU AU CN"  # the names are read as one field list, in file order
_TAG = re.compile(r"([A-Z][A-Z0-9]{1,3}) *-(.*)", re.DOTALL)
# A PubMed file starts with a PMID. An ERIC one starts with a tag line and holds
# OWN - ERIC or an OID with an ERIC number in its first lines.
_HEAD = re.compile(r"\s*PMID *- *\d")
_TAG_LINE = re.compile(r"\s*[A-Z][A-Z0-9]{1,3} *- ")
_ERIC_HEAD = re.compile(r"^(?:OWN *- *ERIC\b|OID *- *E[DJ]\d)", re.MULTILINE)
_ERIC_NUMBER = re.compile(r"E[DJ]\d{5,7}")
_SOURCE_VENUE = re.compile(r"(.+?),\s+(?:v\d|n\d|p\d)")
_ISBN_PREFIX = re.compile(r"^ISBN[-:\s]*", re.IGNORECASE)
_ISBN_CHARS = re.compile(r"[^0-9Xx]")

# PubMed publication types (PT) that are not journal articles, by precedence.
_PT_TYPES = (
    ("Book Chapter", "chapter"),
    ("Book", "book"),
    ("Journal Article", "article"),
    ("Technical Report", "report"),
    ("Congress", "conference"),
    ("Dataset", "dataset"),
    # ERIC's publication types
    ("Journal Articles", "article"),
    ("Books", "book"),
    ("Dissertations/Theses", "thesis"),
    ("Speeches/Meeting Papers", "conference"),
    ("Collected Works - Proceedings", "conference"),
    ("Reports", "report"),
)

_STRAY = "text outside any MEDLINE record (a record is 'TAG - value' lines, e.g. 'PMID- 123')"
# PubMed repeats OID ("NLM: PMC4513071"), never OWN: OID cannot mark a new record.
_START_TAGS = frozenset(("PMID", "OWN"))

Fields = dict[str, list[list[str]]]  # tag -> its values, each a list of stripped lines
Names = list[tuple[str, list[str]]]  # FAU/AU/CN values in file order


def looks_like(head: str) -> bool:
    """True when the text starts (after blank lines) with a ``PMID-`` tag, or ERIC's."""
    head = head.lstrip("\ufeff")
    if _HEAD.match(head):
        return True
    return _TAG_LINE.match(head) is not None and _ERIC_HEAD.search(head, 0, 4096) is not None


def _split(line: str) -> tuple[str | None, str]:
    """(tag, value) of a tag line not padded as PubMed pads it; (None, '') for other lines."""
    if line[:1] in " \t":
        return None, ""  # a continuation
    if line[4:6] == "- ":
        return line[:4], line[6:]  # a tag we do not read
    match = _TAG.match(line)
    if match is None:
        return None, ""  # a continuation that lost its indentation, or stray text
    return match.group(1), match.group(2)


# A record ends at a blank line, or at a second PMID or OWN (no blank line before it).
_RULES = TagRules(
    prefixes={tag.ljust(4) + "- ": tag for tag in _TAGS},
    width=6,
    split=_split,
    starts=_START_TAGS,
    restart_on_repeat=True,
    keys=dict.fromkeys(_NAMES, _NAMES_KEY),
    blank_ends=True,
)


def read(stream: TextIO, filename: str) -> Iterator[Item]:
    """The records of a MEDLINE file, one at a time; see the module docstring."""
    position = 0  # records so far, for the entry key of a record without PMID
    for entry in tagged_entries(stream, filename, _RULES):
        if isinstance(entry, StrayText):
            yield EntryError(entry.start, None, _STRAY)
            continue
        position += 1
        fields = {tag: [_parts(field) for field in same] for tag, same in entry.fields.items()}
        names = [(field[0], _parts(field)) for field in entry.fields.get(_NAMES_KEY, ())]
        yield _record(fields, names, "".join(entry.lines), entry.start, position)


def _parts(field: Field) -> list[str]:
    """A field's value and continuation lines, stripped; an empty value left out."""
    value = field[1].strip()
    return [value, *field[2:]] if value else field[2:]


def _clean(parts: list[str]) -> str | None:
    """The lines of a value as one line of text: ``clean`` with a short way for the usual."""
    value = parts[0] if len(parts) == 1 else " ".join(parts)
    if value.isascii() and value.isprintable() and "  " not in value:
        return value or None  # the lines come stripped: already clean
    return clean(value)


def _first(fields: Fields, tag: str) -> str | None:
    for parts in fields.get(tag, ()):
        if parts:
            value = _clean(parts)
            if value:
                return value
    return None


def _all(fields: Fields, tag: str) -> list[str]:
    return [value for parts in fields.get(tag, ()) if parts and (value := _clean(parts))]


def _joined(fields: Fields, tag: str) -> str | None:
    """Every value of a tag as one text: a repeated TI or AB goes on, it does not replace."""
    values = _all(fields, tag)
    return nfc(" ".join(values)) if values else None


def _authors(names: Names) -> list[Author]:
    """FAU ('Family, Given') where there is one, else AU ('Family Initials'); CN in place.

    PubMed writes each author as FAU then AU; an AU right after a FAU is the same
    person. Older records have AU only.
    """
    authors: list[Author] = []
    after_fau = False
    for tag, parts in names:
        if tag == "AU" and after_fau:
            after_fau = False
            continue
        value = nfc(_clean(parts)) if parts else None
        after_fau = tag == "FAU" and value is not None
        if not value:
            continue
        if tag == "CN":
            author = Author(family=value)
        else:
            # FAU 'Family, Given' (split_initials passes it to split_name's rules), AU
            # 'Family Initials'.
            author = split_initials(value)
        if author is not None:
            authors.append(author)
    return authors


def _doi(fields: Fields) -> str | None:
    for tag in ("LID", "AID"):
        for parts in fields.get(tag, ()):
            value = parts[0] if len(parts) == 1 else _clean(parts) if parts else None
            if not value:
                continue
            if value.endswith("[doi]"):
                doi = normalize_doi(value[:-5])
            elif "[" not in value:  # no kind given: a DOI if it is shaped like one
                doi = normalize_doi(value)
            else:
                continue
            if doi:
                return doi
    return None


def _isbn(fields: Fields) -> str | None:
    for value in _all(fields, "ISBN") + _all(fields, "IS"):
        number = _ISBN_PREFIX.sub("", value.partition(" (")[0].strip())
        if len(number) == 9 and number[4] == "-":
            continue  # an ISSN, 1234-567X
        if len(_ISBN_CHARS.sub("", number)) in (10, 13):
            return number
    return None


def _type(fields: Fields, eric: str | None) -> str:
    # ERIC writes "Reports - Research"; one PT line may hold several, split by ';'.
    kinds = {
        part.strip().casefold()
        for value in _all(fields, "PT")
        for kind in value.split(";")
        for part in (kind, kind.partition(" - ")[0])
    }
    for kind, ours in _PT_TYPES:
        if kind.casefold() in kinds:
            return ours
    if _first(fields, "BTI"):
        return "chapter" if _first(fields, "TI") else "book"
    return "report" if eric and eric.startswith("ED") else "article"


def _eric_number(fields: Fields) -> str | None:
    for oid in _all(fields, "OID"):
        if _ERIC_NUMBER.fullmatch(oid.upper()):
            return oid.upper()
    return None


def _source_venue(fields: Fields) -> str | None:
    """The journal of an ERIC ``SO`` line: "Journal of X, v57 n2 p210-228 2021"."""
    source = _first(fields, "SO")
    match = _SOURCE_VENUE.match(source) if source else None
    return match.group(1).strip() if match else None


def _keywords(fields: Fields) -> list[str]:
    """MeSH headings without their major-topic stars, then other terms; no repeats."""
    seen: dict[str, str] = {}
    for value in _all(fields, "MH"):
        value = value.replace("*", "").strip()
        if value:
            seen.setdefault(value.casefold(), nfc(value))
    for value in _all(fields, "OT"):
        seen.setdefault(value.casefold(), nfc(value))
    return list(seen.values())


def _record(fields: Fields, names: Names, raw: str, start: int, position: int) -> Item:
    pmid = _first(fields, "PMID")
    eric = _eric_number(fields)
    title = _joined(fields, "TI")
    book_title = nfc(_first(fields, "BTI"))
    venue = nfc(_first(fields, "JT") or _first(fields, "TA") or _source_venue(fields))
    if title is None:
        title = book_title
    elif book_title and venue is None:
        venue = book_title  # a chapter: TI is the chapter, BTI the book
    record = RecordData(
        type=_type(fields, eric),
        title=title,
        authors=_authors(names),
        year=parse_year(_first(fields, "DP")),
        venue=venue,
        volume=_first(fields, "VI"),
        issue=_first(fields, "IP"),
        pages=_first(fields, "PG"),
        doi=_doi(fields),
        pmid=pmid,
        isbn=_isbn(fields),
        abstract=_joined(fields, "AB"),
        keywords=_keywords(fields),
        language=_first(fields, "LA"),
        publisher=nfc(_first(fields, "PB")),
        entry_key=pmid or eric or str(position),
        line=start,
        raw=raw,
    )
    if not (record.title or record.authors or record.pmid or record.doi or record.abstract):
        return EntryError(
            start, pmid or eric, "MEDLINE record with no PMID, title, authors or abstract"
        )
    return record
