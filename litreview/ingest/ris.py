"""RIS reader (Scopus, Web of Science, PubMed via EndNote, EBSCO, Ovid, EndNote, Zotero).

We split records ourselves instead of calling ``rispy.load``: rispy 0.10 returns no
record for a file starting with a BOM, loses the whole file on ``TY - JOUR`` (one
space) or on a lower-case tag, and silently merges two records when an ``ER`` line is
missing. The reader streams line by line and holds one record at a time, so a
300 MB export does not need 300 MB of memory. rispy is used only for its list of
known tags (see ``_KNOWN_TAGS``).

Line rules:

* A tag line is ``XX  - value``. Tolerated (for known RIS tags only): one or no
  space before the hyphen, none after it ("TY - JOUR"), and lower-case tags with the
  usual two spaces ("ti  - ..."). Looser forms would take wrapped abstract lines
  ("is - as argued", "co-occurring") for tags.
* ``TY`` starts a record and ``ER`` ends it. A ``TY`` inside a record ends the record
  before it: that record is still imported, and an :class:`EntryError` reports that
  its ``ER`` is missing (the same at the end of the file).
* A line without a tag continues the previous tag. For list tags (authors,
  keywords, URLs, notes) each continuation line is a new item, which is how EndNote
  writes keywords and Embase writes URLs. For other tags it continues the text.
* Tag lines outside a record (no ``TY`` before them) ended by ``ER`` and holding a
  title, author or DOI are a record that lost its ``TY``: imported with type "other",
  and reported. Other blocks of tags outside a record give an :class:`EntryError`.
  A file in which no record is found raises :class:`UnreadableFile`; errors met before
  the first record are held back until then, so another format (MEDLINE, which has
  RIS-like tags but no ``TY``/``ER``) gives UnreadableFile, not a list of errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TextIO

import rispy

from litreview.ingest.normalize import nfc, normalize_doi, parse_year, split_name
from litreview.ingest.record_data import Author, EntryError, Item, RecordData, UnreadableFile
from litreview.ingest.tagged_lines import END_TAG, NEXT_START, StrayText, TagRules, tagged_entries

# A tag line: two-character tag, up to two spaces, hyphen, an optional space, value.
# A stray BOM is allowed at the start of any line (files joined with `cat`).
_TAG_LINE = re.compile(r"\ufeff?([A-Za-z][A-Za-z0-9])(\s{0,2})-(\s?)(.*)", re.DOTALL)

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
# Tags read as one: authors AU/A1, editors A2/ED.
_SYNONYMS = {"A1": "AU", "ED": "A2"}
_YEAR_TAGS = ("PY", "Y1", "DA", "Y2")
# Full journal names first, abbreviations after (see _venue).
_VENUE_TAGS = ("JF", "T2", "JO", "SO", "J2", "JA", "J1")
# BT is a book's own title, but for a chapter or a paper it names the book.
_VENUE_TAGS_NOT_BOOK = ("JF", "T2", "BT", "JO", "SO", "J2", "JA", "J1")
_URL_TAGS = ("UR", "LK", "L2", "L1")

_DOI_URL = re.compile(r"https?://(?:dx\.)?doi\.org/", re.IGNORECASE)
_CHECK_DIGITS = frozenset("0123456789X")
_INITIALS = re.compile(r"(?:[A-ZÀ-Þ]\.(?:\s?-?[A-ZÀ-Þ]\.)*|[A-ZÀ-Þ])")
_PMID_AN = re.compile(r"(?:PMID:?\s*)?(\d{1,9})", re.IGNORECASE)
_NOT_SPECIFIED = (["no", "specified"], ["not", "specified"], ["n/a"], ["na"])
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_HTTP = ("https://", "http://")
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}  # as in normalize.split_name

_MAX_PENDING = 1000
# A block of tags without TY is kept (in case an ER shows it is a record) up to this size.
_MAX_ORPHAN_LINES = 10_000
_RECOVERABLE_TAGS = ("TI", "T1", "CT", "BT", "ST", "AU", "DO")
_WORD_BREAKS = str.maketrans(dict.fromkeys(".,:;&()-", " "))

# Every canonical tag: upper-case letter, then upper-case letter or digit.
_CANONICAL = frozenset(a + b for a in _UPPER for b in _UPPER + "0123456789")


def read(stream: TextIO, filename: str) -> Iterator[Item]:
    """Read a RIS file: one :class:`RecordData` per record, an :class:`EntryError` per problem."""
    # Errors met before the first record are held back: if no record ever comes, the file
    # is not RIS at all and the caller gets UnreadableFile instead of a list of errors.
    pending: list[EntryError] = []
    dropped = 0
    seen_record = False
    first_tag_line = 0
    position = 0

    for entry in tagged_entries(stream, filename, _RULES):
        if isinstance(entry, StrayText):
            continue  # "1.", headers: text between records is no concern of RIS
        fields, start, raw = entry.fields, entry.start, entry.lines
        if entry.has_start or (
            entry.ended_by == END_TAG
            and len(raw) <= _MAX_ORPHAN_LINES
            and _looks_like_a_record(fields)
        ):
            if not seen_record:
                # The first record is here: the errors held back until now, in file order.
                seen_record = True
                yield from pending
                pending.clear()
                if dropped:
                    yield EntryError(None, None, f"{dropped} more blocks of tags without TY")
            position += 1
            if not entry.has_start:  # a RIS record that lost its TY line: keep it, say so
                note = "record has no TY line; it was imported with type 'other': check it"
            elif entry.ended_by == END_TAG:
                note = None
            elif entry.ended_by == NEXT_START:
                note = (
                    f"record has no ER line; it ended at the TY on line {entry.end_line}"
                    " and was imported: check that it is complete"
                )
            else:
                note = (
                    "record has no ER line; it ended at the end of the file"
                    " and was imported: check that it is complete"
                )
            text = "\n".join(raw) if entry.ended_by == END_TAG else _trim(raw)
            yield from _record(fields, start, position, text, note)
            continue
        # Tags outside any record that cannot be one: reported, skipped.
        if not first_tag_line:
            first_tag_line = start
        error = _no_ty_error(fields, start, raw[0])
        if seen_record:
            yield error
        elif len(pending) < _MAX_PENDING:
            pending.append(error)
        else:
            dropped += 1

    if not seen_record:
        detail = (
            f"tags from line {first_tag_line} but no 'TY  - ' line starting a record"
            if first_tag_line
            else "no 'TY  - ' line; is it a RIS file?"
        )
        raise UnreadableFile(f"no RIS records found in {filename}: {detail}")


def _trim(raw: list[str]) -> str:
    """The lines of a record that had no ER, without the blank lines after it."""
    end = len(raw)
    while end > 1 and not raw[end - 1].strip():
        end -= 1
    return "\n".join(raw[:end])


def _split(line: str) -> tuple[str | None, str]:
    """(TAG, value) for a tag line in any tolerated form, (None, '') for any other line.

    Beyond the canonical ``XX  - value``: a known tag with one or no space before the
    hyphen ("TY - JOUR"), and a known tag in lower case with two spaces ("ti  - ...").
    Anything looser would take wrapped text ("is - as argued", "co-occurring") for tags.
    """
    if "-" not in line[2:6]:  # most continuation lines
        return None, ""
    match = _TAG_LINE.fullmatch(line)
    if match is None:
        return None, ""
    raw_tag, before, after, value = match.groups()
    if before == "  " and raw_tag in _CANONICAL:
        return raw_tag, value  # canonical form, any tag
    tag = raw_tag.upper()
    if tag not in _KNOWN_TAGS:
        return None, ""
    if raw_tag != tag and before != "  " and tag != "TY" and tag != "ER":
        return None, ""  # lower case and odd spacing: more likely a word than a tag
    if not before and not after and value and tag != "TY":
        return None, ""  # "ID-based", "AD-hoc": a hyphenated word
    return tag, value


def _split_or_er(line: str) -> tuple[str | None, str]:
    """:func:`_split`, and a bare "ER" with no hyphen, which also ends a record."""
    tag, value = _split(line)
    if tag is None and len(line) < 8 and line.strip(" \t\ufeff") == "ER":
        return "ER", ""
    return tag, value


# The canonical "XX  - value" is looked up whole; anything else goes to _split.
_RULES = TagRules(
    prefixes={tag + "  - ": tag for tag in _CANONICAL},
    width=6,
    split=_split_or_er,
    starts=frozenset(("TY",)),
    ends=frozenset(("ER",)),
    skip_outside=frozenset(("ER",)),
    keys=_SYNONYMS,
    strip_line_ends=True,
    max_lines_without_start=_MAX_ORPHAN_LINES,
)


def _looks_like_a_record(fields: dict[str, list[list[str]]]) -> bool:
    """Tags without TY but ended by ER: worth keeping when they hold a title, author or DOI."""
    return any(_first(fields, (tag,)) for tag in _RECOVERABLE_TAGS if tag in fields)


def _no_ty_error(fields: dict[str, list[list[str]]], start: int, first_line: str) -> EntryError:
    """Tags outside any record that cannot be one: reported, skipped."""
    entry = _first(fields, _TITLE_TAGS) or _first(fields, ("ID",)) or _text(first_line) or ""
    message = "tags without a 'TY  - ' line before them: not a RIS record, skipped"
    return EntryError(start, _short(entry), message)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _record(
    fields: dict[str, list[list[str]]],
    start: int,
    position: int,
    raw: str,
    end_note: str | None,
) -> Iterator[Item]:
    """The record (or an error) built from one TY..ER block, then the ER warning if any."""
    try:
        record = _build(fields, start, position, raw)
    except Exception as exc:  # a bad record must never stop the file
        yield EntryError(start, str(position), f"cannot read record: {exc!r}")
        return
    if record is None:
        entry = _first(fields, ("ID",)) or str(position)
        yield EntryError(start, entry, "record has no fields besides TY: skipped")
        return
    yield record
    if end_note:
        yield EntryError(start, _short(record.title or record.entry_key), end_note)


def _text(value: str) -> str | None:
    """Whitespace collapsed, Unicode NFC; None when empty."""
    if value.isascii():
        # Printable ASCII has no tab or newline; then only spaces can need collapsing.
        if value.isprintable() and "  " not in value and value[:1] != " " != value[-1:]:
            return value or None
        return " ".join(value.split()) or None
    value = " ".join(value.split())
    return nfc(value) if value else None


def _joined(field: list[str]) -> str:
    """A field's text: its value and continuation lines joined by spaces."""
    return field[1] if len(field) == 2 else " ".join(field[1:])


def _first(by_tag: dict[str, list[list[str]]], tags: tuple[str, ...]) -> str | None:
    """The first non-empty text among ``tags``, in that order, cleaned."""
    for tag in tags:
        for field in by_tag.get(tag, ()):
            text = _text(field[1] if len(field) == 2 else " ".join(field[1:]))
            if text:
                return text
    return None


def _build(
    by_tag: dict[str, list[list[str]]], start: int, position: int, raw: str
) -> RecordData | None:
    """A record from its fields by tag (synonyms AU/A1 and A2/ED share a key, in file order)."""
    if not any(
        line.strip()
        for tag, same in by_tag.items()
        if tag != "TY" and tag != "ID"
        for field in same
        for line in field[1:]
    ):
        return None
    get = by_tag.get

    ty = by_tag.get("TY")
    rtype = _TYPES.get(ty[0][1].strip().upper(), "other") if ty else "other"
    is_book = rtype == "book"

    title = _first(by_tag, _TITLE_TAGS)
    if title is None and is_book:
        title = _first(by_tag, ("BT",))
    if title is None:
        title = _first(by_tag, ("ST",))

    authors = _authors(get("AU", ()))
    if not authors and is_book:
        authors = _authors(get("A2", ()))

    years = (_year(_joined(field)) for tag in _YEAR_TAGS for field in get(tag, ()))
    year = next((year for year in years if year is not None), None)

    venues = [
        text
        for tag in (_VENUE_TAGS if is_book else _VENUE_TAGS_NOT_BOOK)
        for field in get(tag, ())
        if (text := _text(_joined(field)))
    ]

    # URLs by tag preference (UR first); a line may hold several.
    http = [
        url
        for tag in _URL_TAGS
        for field in get(tag, ())
        for line in field[1:]
        for url in line.replace(";", " ").split()
        if url[:8].lower().startswith(_HTTP)
    ]

    doi = None
    for field in get("DO", ()):
        doi = normalize_doi(_joined(field))
        if doi:
            break
    if doi is None:
        for url in http:
            if _DOI_URL.match(url):
                doi = normalize_doi(url)
                if doi:
                    break

    abstract = None
    for tag in ("AB", "N2"):
        if tag in by_tag:
            abstract = _text(" ".join(_joined(field) for field in by_tag[tag]))
            if abstract:
                break

    notes = [text for field in get("N1", ()) for line in field[1:] if (text := _text(line))]
    sp = _first(by_tag, ("SP",))
    ep = _first(by_tag, ("EP",)) if "EP" in by_tag else None

    return RecordData(
        type=rtype,
        title=title,
        authors=authors,
        year=year,
        venue=_venue(venues) if venues else None,
        volume=_first(by_tag, ("VL",)),
        issue=_first(by_tag, ("IS", "CP")),
        pages=_pages(sp, ep) if sp or ep else None,
        doi=doi,
        pmid=_pmid(by_tag) if "AN" in by_tag else None,
        isbn=_isbn(by_tag["SN"]) if "SN" in by_tag else None,
        url=http[0] if http else None,
        abstract=abstract,
        keywords=_keywords(by_tag["KW"]) if "KW" in by_tag else [],
        language=_first(by_tag, ("LA",)),
        publisher=_first(by_tag, ("PB", "PU")),
        note="\n".join(notes) or None,
        entry_key=_first(by_tag, ("ID",)) or str(position),
        line=start,
        raw=raw,
    )


def _authors(fields: Iterable[list[str]]) -> list[Author]:
    """Authors from AU/A1 (or A2/ED) fields: one per line, or several split by ';'."""
    authors = []
    for field in fields:
        for line in field[1:]:
            for name in line.split(";") if ";" in line else (line,):
                author = _author(name)
                if author is not None:
                    authors.append(author)
    return authors


def _author(name: str) -> Author | None:
    """RIS names are 'Family, Given'. Without a comma: 'Family I.' (Embase, Scopus
    editors) when it ends in initials, else a corporate author kept whole as family."""
    name = " ".join(name.split()).strip(" ,;")
    if not name:
        return None
    if not name.isascii():
        name = nfc(name)
    family, comma, given = name.partition(",")
    if comma:
        given = given.strip()
        if "," in given or len(given) <= 4 and given.lower().rstrip(".") in _SUFFIXES:
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
    # Ovid/PsycINFO: "SP - No-Specified", or "SP - No" and "EP - Specified".
    if f"{first or ''} {last or ''}".replace("-", " ").lower().split() in _NOT_SPECIFIED:
        return None
    if first and last and "-" not in first and first != last:
        return f"{first}-{last}"
    return first or last


def _pmid(by_tag: dict[str, list[list[str]]]) -> str | None:
    """AN is a PMID only when the record says it came from PubMed/MEDLINE (DB, DP or a
    PMCID in C2) or the value itself says 'PMID'; other databases use AN for their own
    accession numbers (WoS 'WOS:...', Embase, Scopus)."""
    an = _first(by_tag, ("AN",))
    match = _PMID_AN.fullmatch(an) if an else None
    if match is None:
        return None
    if an[:1].isalpha():  # "PMID: 123"
        return match.group(1)
    get = by_tag.get
    source = " ".join(_joined(f) for tag in ("DB", "DP") for f in get(tag, ())).lower()
    from_pubmed = "pubmed" in source or "medline" in source or "nlm" in source.split()
    pmcid = any(_joined(f).strip().upper().startswith("PMC") for f in get("C2", ()))
    return match.group(1) if from_pubmed or pmcid else None


def _isbn(fields: list[list[str]]) -> str | None:
    """The first ISBN-shaped value (10 or 13 digits) in SN; an ISSN (8 digits) is skipped.

    Returned as digits only (plus a final X), the form used for matching."""
    for field in fields:
        for part in _joined(field).replace(",", ";").split(";"):
            # The whole part ("978 3 16 148410 0"), else each word ("ISBN 978-...", "... (pbk)").
            for candidate in (part, *part.split()):
                digits = candidate.replace("-", "").replace(" ", "").upper()
                if len(digits) == 10 and digits[:9].isdigit() and digits[9] in _CHECK_DIGITS:
                    return digits
                if len(digits) == 13 and digits.isdigit() and digits[:3] in ("978", "979"):
                    return digits
    return None


def _keywords(fields: list[list[str]]) -> list[str]:
    """One keyword per KW line or continuation line, or several split by ';'; no repeats."""
    seen: set[str] = set()
    keywords = []
    for field in fields:
        for line in field[1:]:
            for part in line.split(";") if ";" in line else (line,):
                keyword = _text(part)
                if keyword and keyword not in seen:
                    seen.add(keyword)
                    keywords.append(keyword)
    return keywords
