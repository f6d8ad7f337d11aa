"""RIS reader (Scopus, Web of Science, PubMed via EndNote, EBSCO, Ovid, EndNote, Zotero).

We split records ourselves instead of calling ``rispy.load``: rispy 0.10 returns no
record for a file starting with a BOM, loses the whole file on ``TY - JOUR`` (one
space) or on a lower-case tag, and silently merges two records when an ``ER`` line is
missing. The reader streams line by line and holds one record at a time, so a
300 MB export does not need 300 MB of memory. rispy is used only for its list of
known tags (see ``_KNOWN_TAGS``).

Line rules:

* A tag line is ``XX  - value``. Tolerated: one or no space before the hyphen, none
  after it, lower-case tags. A tolerated form must be a known RIS tag, and a hyphen
  with no space either side needs an upper-case tag, so that a wrapped abstract line
  starting with ``co-occurring`` or ``ad-hoc`` is not taken for a tag.
* ``TY`` starts a record and ``ER`` ends it. A ``TY`` inside a record ends the record
  before it: that record is still imported, and an :class:`EntryError` reports that
  its ``ER`` is missing (the same at the end of the file).
* A line without a tag continues the previous tag. For list tags (authors,
  keywords, URLs, notes) each continuation line is a new item, which is how EndNote
  writes keywords and Embase writes URLs. For other tags it continues the text.
* Tag lines outside a record (no ``TY``) give one :class:`EntryError` per block. A
  file with no ``TY`` line at all raises :class:`UnreadableFile`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TextIO

import rispy

from .normalize import nfc, normalize_doi, parse_year, split_name
from .records import Author, EntryError, Item, RecordData, UnreadableFile

# A tag line: two-character tag, up to two spaces, hyphen, an optional space, value.
# A stray BOM is allowed at the start of any line (files joined with `cat`).
_TAG_LINE = re.compile(r"\ufeff?([A-Za-z][A-Za-z0-9])(\s{0,2})-(\s?)(.*)")
# A bare "ER" with nothing after it also ends a record.
_BARE_ER = re.compile(r"\ufeff?[Ee][Rr]\s*")

# Tags accepted in a non-canonical form (lower case, odd spacing). The canonical
# "XX  - " form is accepted for any tag, known or not.
_KNOWN_TAGS = frozenset(rispy.TAG_KEY_MAPPING) | {
    "BT",  # book title / primary title
    "CP",  # issue (old Reference Manager)
    "CT",  # caption / title
    "ED",  # editor
    "J1",  # journal abbreviation
    "JI",  # journal abbreviation (WoS)
    "LK",  # link
    "L3",  # related records
    "M2",
    "M4",
    "PU",  # publisher (WoS)
    "SO",  # source (WoS)
    "U1",
    "U2",
    "U3",
    "U4",
    "U5",
    "Y3",
}

# Tags whose continuation lines are new items rather than more text.
_LIST_TAGS = frozenset({"AU", "A1", "A2", "A3", "A4", "ED", "KW", "UR", "L1", "L2", "LK", "N1"})

_TYPES = {
    "JOUR": "article",
    "JFULL": "article",
    "MGZN": "article",
    "NEWS": "article",
    "EJOUR": "article",
    "INPR": "article",  # in press
    "BOOK": "book",
    "EBOOK": "book",
    "EDBOOK": "book",
    "CHAP": "chapter",
    "ECHAP": "chapter",
    "CONF": "conference",
    "CPAPER": "conference",
    "THES": "thesis",
    "RPRT": "report",
    "ELEC": "webpage",
    "WEB": "webpage",
    "DATA": "dataset",
}

_TITLE_TAGS = ("TI", "T1", "CT")
_AUTHOR_TAGS = frozenset({"AU", "A1"})
_EDITOR_TAGS = frozenset({"A2", "ED"})
_YEAR_TAGS = ("PY", "Y1", "DA", "Y2")
# Full journal names first, abbreviations after (see _venue).
_VENUE_TAGS = ("JF", "T2", "JO", "SO", "J2", "JA", "J1")
_URL_TAGS = ("UR", "LK", "L2", "L1")

_DOI_URL = re.compile(r"https?://(?:dx\.)?doi\.org/", re.IGNORECASE)
_ISBN_CANDIDATE = re.compile(r"[0-9][0-9\- ]{8,}[0-9Xx]")
_INITIALS = re.compile(r"(?:[A-ZÀ-Þ]\.(?:\s?-?[A-ZÀ-Þ]\.)*|[A-ZÀ-Þ])")
_PMID_AN = re.compile(r"(?:PMID:?\s*)?(\d{1,9})", re.IGNORECASE)
_NOT_SPECIFIED = {"no specified", "not specified", "n/a", "na"}
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}  # as in normalize.split_name

_MAX_PENDING = 1000
_WORD_BREAKS = str.maketrans(dict.fromkeys(".,:;&()-", " "))

# Every canonical tag: upper-case letter, then upper-case letter or digit.
_CANONICAL = frozenset(a + b for a in _UPPER for b in _UPPER + "0123456789")


def read(stream: TextIO, filename: str) -> Iterator[Item]:
    """Read a RIS file: one :class:`RecordData` per record, an :class:`EntryError` per problem."""
    # Errors met before the first TY are held back: if no TY ever comes, the file is
    # not RIS at all and the caller gets UnreadableFile instead of a list of errors.
    pending: list[EntryError] = []
    dropped = 0
    seen_ty = False
    first_tag_line = 0

    fields: list[list[str]] | None = None  # current record: [tag, value, continuation...]
    raw: list[str] = []
    start = 0
    position = 0
    orphan: _Orphan | None = None  # tag lines outside any record

    def hold(error: EntryError) -> EntryError | None:
        """The error to yield now, or None when it must wait for the first TY."""
        nonlocal dropped
        if seen_ty:
            return error
        if len(pending) < _MAX_PENDING:
            pending.append(error)
        else:
            dropped += 1
        return None

    lineno = 0
    try:
        for lineno, text in enumerate(stream, 1):
            line = text.rstrip("\r\n")
            # Fast path for the canonical "XX  - value"; anything else goes to _split.
            tag = line[:2]
            if line[2:6] == "  - " and tag in _CANONICAL:
                if fields is not None and tag != "TY" and tag != "ER":  # the common case
                    raw.append(line)
                    fields.append([tag, line[6:]])
                    continue
                value = line[6:]
            elif line[2:] == "  -" and tag in _CANONICAL:
                value = ""
            else:
                tag, value = _split(line)

            if tag == "TY":
                if orphan is not None:
                    error = hold(orphan.error())
                    orphan = None
                    if error:
                        yield error
                if fields is not None:
                    note = f"record has no ER line; it ended at the TY on line {lineno}"
                    yield from _record(fields, start, position, _trim(raw), note)
                if not seen_ty:
                    seen_ty = True
                    yield from pending
                    if dropped:
                        yield EntryError(None, None, f"{dropped} more blocks of tags without TY")
                    pending = []
                position += 1
                fields = [[tag, value]]
                raw = [line.lstrip("\ufeff")]
                start = lineno
            elif fields is not None:  # inside a record
                raw.append(line)
                if tag is None and _BARE_ER.fullmatch(line):
                    tag = "ER"
                if tag is None:
                    fields[-1].append(line.strip())
                elif tag == "ER":
                    yield from _record(fields, start, position, "\n".join(raw), None)
                    fields = None
                    raw = []
                else:
                    fields.append([tag, value])
            elif tag == "ER":  # outside a record: ends a block of orphan tags
                if orphan is not None:
                    error = hold(orphan.error())
                    orphan = None
                    if error:
                        yield error
            elif tag is not None:  # a tag outside a record: garbage or a lost TY
                if not first_tag_line:
                    first_tag_line = lineno
                if orphan is None:
                    orphan = _Orphan(lineno, line)
                orphan.see(tag, value)
            # Untagged lines outside a record ("1.", blank lines, headers) are ignored.
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"{filename}: cannot decode the text after line {lineno} ({exc.reason})"
        ) from exc

    if not seen_ty:
        detail = (
            f"tags from line {first_tag_line} but no 'TY  - ' line starting a record"
            if first_tag_line
            else "no 'TY  - ' line; is it a RIS file?"
        )
        raise UnreadableFile(f"no RIS records found in {filename}: {detail}")
    if orphan is not None:
        yield orphan.error()
    if fields is not None:
        note = "record has no ER line; it ended at the end of the file"
        yield from _record(fields, start, position, _trim(raw), note)


def _trim(raw: list[str]) -> str:
    """The lines of a record that had no ER, without the blank lines after it."""
    end = len(raw)
    while end > 1 and not raw[end - 1].strip():
        end -= 1
    return "\n".join(raw[:end])


def _split(line: str) -> tuple[str | None, str]:
    """(TAG, value) for a tag line in any tolerated form, (None, '') for any other line."""
    match = _TAG_LINE.fullmatch(line)
    if match is None:
        return None, ""
    raw_tag, before, after, value = match.groups()
    if before == "  " and raw_tag in _CANONICAL:
        return raw_tag, value  # canonical form, any tag
    tag = raw_tag.upper()
    if tag not in _KNOWN_TAGS:
        return None, ""
    if not before and not after and value and raw_tag != tag:
        return None, ""  # "ad-hoc", "re-analysis": a word, not a tag
    return tag, value


class _Orphan:
    """Tag lines outside a record: only what the error message needs is kept."""

    __slots__ = ("line", "first", "key", "title")

    def __init__(self, line: int, first: str) -> None:
        self.line = line
        self.first = first.lstrip("\ufeff")
        self.key: str | None = None
        self.title: str | None = None

    def see(self, tag: str, value: str) -> None:
        if tag == "ID" and self.key is None:
            self.key = _clean(value)
        elif tag in _TITLE_TAGS and self.title is None:
            self.title = _clean(value)

    def error(self) -> EntryError:
        entry = _short(self.title or self.key or _clean(self.first) or "")
        message = "tags without a 'TY  - ' line: not a RIS record, skipped"
        return EntryError(self.line, entry, message)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _record(
    fields: list[list[str]], start: int, position: int, raw: str, end_note: str | None
) -> Iterator[Item]:
    """The record (or an error) built from one TY..ER block, then the ER warning if any."""
    try:
        record = _build(fields, start, position, raw)
    except Exception as exc:  # a bad record must never stop the file
        yield EntryError(start, str(position), f"cannot read record: {exc!r}")
        return
    if record is None:
        yield EntryError(start, str(position), "record has no fields besides TY: skipped")
        return
    yield record
    if end_note:
        entry = _short(record.title or record.entry_key)
        yield EntryError(start, entry, f"{end_note} (the record was imported; check it)")


def _clean(value: str) -> str | None:
    """Same result as normalize.clean (str.split and re's \\s agree on whitespace), 6x faster."""
    return " ".join(value.split()) or None


def _text(value: str) -> str | None:
    """Whitespace collapsed, Unicode NFC; None when empty."""
    if value.isascii():
        # Printable ASCII has no tab or newline; then only spaces can need collapsing.
        if value.isprintable() and "  " not in value and value[:1] != " " != value[-1:]:
            return value or None
        return " ".join(value.split()) or None
    value = " ".join(value.split())
    return nfc(value) if value else None


class _Fields:
    """One record's fields by tag, each a list of [tag, value, continuation lines...]."""

    __slots__ = ("fields", "by_tag")

    def __init__(self, fields: list[list[str]]) -> None:
        self.fields = fields
        by_tag: dict[str, list[list[str]]] = {}
        for field in fields:
            same = by_tag.get(field[0])
            if same is None:
                by_tag[field[0]] = [field]
            else:
                same.append(field)
        self.by_tag = by_tag

    def texts(self, tags: Iterable[str]) -> Iterator[str]:
        """Each field's text (continuation lines joined with a space), by tag order."""
        get = self.by_tag.get
        for tag in tags:
            for field in get(tag, ()):
                yield field[1] if len(field) == 2 else " ".join(field[1:])

    def first(self, *tags: str) -> str | None:
        """The first non-empty text among ``tags``, cleaned."""
        get = self.by_tag.get
        for tag in tags:
            for field in get(tag, ()):
                text = _text(field[1] if len(field) == 2 else " ".join(field[1:]))
                if text:
                    return text
        return None

    def lines(self, *tags: str) -> list[str]:
        """Each line of the fields with these tags (for list tags), in file order."""
        get = self.by_tag.get
        if len(tags) == 1 or sum(tag in self.by_tag for tag in tags) <= 1:
            return [line for tag in tags for field in get(tag, ()) for line in field[1:]]
        return [line for field in self.fields if field[0] in tags for line in field[1:]]


def _build(fields: list[list[str]], start: int, position: int, raw: str) -> RecordData | None:
    if not any(line.strip() for field in fields[1:] if field[0] != "ID" for line in field[1:]):
        return None
    f = _Fields(fields)
    rtype = _TYPES.get(fields[0][1].strip().upper(), "other")
    is_book = rtype == "book"

    title = f.first(*_TITLE_TAGS)
    if title is None and is_book:
        title = f.first("BT")
    if title is None:
        title = f.first("ST")

    authors = _authors(f.lines(*_AUTHOR_TAGS))
    if not authors and is_book:
        authors = _authors(f.lines(*_EDITOR_TAGS))

    year = None
    for value in f.texts(_YEAR_TAGS):
        year = _year(value)
        if year is not None:
            break

    venue_tags = _VENUE_TAGS if is_book else _VENUE_TAGS[:2] + ("BT",) + _VENUE_TAGS[2:]
    venues = [text for text in map(_text, f.texts(venue_tags)) if text]

    # URLs by tag preference (UR first); several may share a line.
    urls = [
        u for tag in _URL_TAGS for value in f.lines(tag) for u in value.replace(";", " ").split()
    ]
    http = [u for u in urls if u[:7].lower() == "http://" or u[:8].lower() == "https://"]

    doi = None
    for value in f.texts(("DO",)):
        doi = normalize_doi(value)
        if doi:
            break
    if doi is None:
        for url in http:
            if _DOI_URL.match(url):
                doi = normalize_doi(url)
                if doi:
                    break

    notes = [text for text in map(_text, f.lines("N1")) if text]

    return RecordData(
        type=rtype,
        title=title,
        authors=authors,
        year=year,
        venue=_venue(venues),
        volume=f.first("VL"),
        issue=f.first("IS", "CP"),
        pages=_pages(f.first("SP"), f.first("EP")),
        doi=doi,
        pmid=_pmid(f),
        isbn=_isbn(f.texts(("SN",))),
        url=http[0] if http else None,
        abstract=_text(" ".join(f.texts(("AB",)))) or _text(" ".join(f.texts(("N2",)))),
        keywords=_keywords(f.lines("KW")),
        language=f.first("LA"),
        publisher=f.first("PB", "PU"),
        note="\n".join(notes) or None,
        entry_key=f.first("ID") or str(position),
        line=start,
        raw=raw,
    )


def _authors(names: list[str]) -> list[Author]:
    authors = []
    for value in names:
        for name in value.split(";"):
            author = _author(name)
            if author is not None:
                authors.append(author)
    return authors


def _author(name: str) -> Author | None:
    """RIS names are 'Family, Given'. Without a comma: 'Family I.' (Embase, Scopus
    editors) when it ends in initials, else a corporate author kept whole as family."""
    name = (_text(name) or "").strip(" ,;")
    if not name:
        return None
    family, comma, given = name.partition(",")
    if comma:
        given = given.strip()
        if "," in given or given.lower().rstrip(".") in _SUFFIXES:
            return split_name(name)  # "Family, Jr., Given"
        return Author(family=family.strip(), given=given or None)
    family, _, last = name.rpartition(" ")
    if family and _INITIALS.fullmatch(last):
        return Author(family=family, given=last)
    return Author(family=name)


def _year(value: str) -> int | None:
    """parse_year, with a fast path for the usual '2015' or '2015/07/01'."""
    head = value[:5].lstrip()
    if len(head) >= 4 and head[:4].isdigit() and not head[4:5].isdigit():
        year = int(head[:4])
        if 1500 <= year <= 2099:
            return year
    return parse_year(value)


def _venue(candidates: list[str]) -> str | None:
    """The first candidate, unless it abbreviates a later one ('J Trauma Stress' ->
    'Journal of traumatic stress'): EndNote's PubMed imports put the abbreviation in T2."""
    if not candidates:
        return None
    first = candidates[0]
    for other in candidates[1:]:
        if len(other) > len(first) and _abbreviates(first, other):
            return other
    return first


def _abbreviates(short: str, full: str) -> bool:
    """Each word of ``short`` starts a word of ``full``, in order ('J. Chem. Phys.')."""
    words = short.lower().replace(".", " ").split()
    full_words = full.lower().translate(_WORD_BREAKS).split()
    i = 0
    for word in words:
        while i < len(full_words) and not full_words[i].startswith(word):
            i += 1
        if i == len(full_words):
            return False
        i += 1
    return bool(words)


def _pages(first: str | None, last: str | None) -> str | None:
    if first and last and f"{first} {last}".lower() in _NOT_SPECIFIED:
        return None  # Ovid: "SP - No", "EP - Specified"
    if first and last and "-" not in first and first != last:
        return f"{first}-{last}"
    return first or last


def _pmid(f: _Fields) -> str | None:
    """AN is a PMID only when the record says it came from PubMed/MEDLINE (DB, DP or a
    PMCID in C2) or the value itself says 'PMID'; other databases use AN for their own
    accession numbers (WoS 'WOS:...', Embase, Scopus)."""
    an = f.first("AN")
    if not an:
        return None
    match = _PMID_AN.fullmatch(an)
    if match is None:
        return None
    if an[:1].isalpha():  # "PMID: 123"
        return match.group(1)
    source = " ".join(f.texts(("DB", "DP"))).lower()
    from_pubmed = "pubmed" in source or "medline" in source or source.strip() == "nlm"
    pmcid = any(v.strip().upper().startswith("PMC") for v in f.texts(("C2",)))
    return match.group(1) if from_pubmed or pmcid else None


def _isbn(values: Iterable[str]) -> str | None:
    """The first ISBN-shaped value (10 or 13 digits) in SN; an ISSN (8 digits) is skipped.

    Returned as digits only (plus a final X), the form used for matching."""
    for value in values:
        for candidate in _ISBN_CANDIDATE.findall(value):
            digits = candidate.replace("-", "").replace(" ", "").upper()
            if len(digits) == 10 and digits[:9].isdigit():
                return digits
            if len(digits) == 13 and digits.isdigit() and digits[:3] in ("978", "979"):
                return digits
    return None


def _keywords(lines: list[str]) -> list[str]:
    seen: set[str] = set()
    keywords = []
    for line in lines:
        for part in line.split(";"):
            keyword = _text(part)
            if keyword and keyword not in seen:
                seen.add(keyword)
                keywords.append(keyword)
    return keywords
