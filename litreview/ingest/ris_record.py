"""A RIS record's fields, read by tag, as a :class:`RecordData` (see ``ris`` for the lines).

Fields come as ``tagged_lines`` gives them: by tag, each ``[tag, value, continuation...]``
in file order, AU/A1 and A2/ED filed together. RIS tags mean different things to
different exporters (EndNote, Embase, Scopus, Web of Science, Ovid); the choices
are made here, one per field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from litreview.ingest.normalize import nfc, normalize_doi, parse_year, split_name
from litreview.ingest.record_data import Author, RecordData

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

TITLE_TAGS = ("TI", "T1", "CT")
# PY is the year; DA (the full date, RIS 2011) before Y1, which the 2011 spec deprecates
# and which exporters fill with the entry's first or a secondary date; Y2 last.
_YEAR_TAGS = ("PY", "DA", "Y1", "Y2")
# Full journal names first, abbreviations after (see _venue).
_VENUE_TAGS = ("JF", "T2", "JO", "SO", "J2", "JA", "J1")
# BT is a book's own title, but for a chapter or a paper it names the book.
_VENUE_TAGS_NOT_BOOK = ("JF", "T2", "BT", "JO", "SO", "J2", "JA", "J1")
_URL_TAGS = ("UR", "LK", "L2", "L1")
_DOI_URL = re.compile(r"https?://(?:dx\.)?doi\.org/", re.IGNORECASE)
_CHECK_DIGITS = frozenset("0123456789X")
_INITIALS = re.compile(r"(?:[A-ZÀ-Þ]\.(?:\s?-?[A-ZÀ-Þ]\.)*|[A-ZÀ-Þ])")
_PMID_AN = re.compile(r"(?:PMID:?\s*)?(\d{1,9})", re.IGNORECASE)
# ERIC's numbers: EJ for journal articles, ED for other documents.
_ERIC_NUMBER = re.compile(r"E[DJ]\d{5,7}", re.IGNORECASE)
_ERIC_URL = re.compile(r"[?&](?:id|AN)=(E[DJ]\d{5,7})(?![\w])", re.IGNORECASE)
_NOT_SPECIFIED = (["no", "specified"], ["not", "specified"], ["n/a"], ["na"])
_HTTP = ("https://", "http://")
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}  # as in normalize.split_name
_WORD_BREAKS = str.maketrans(dict.fromkeys(".,:;&()-", " "))
# isprintable looks every character up in Unicode's tables; ASCII text longer than this
# (an abstract) is searched for each whitespace character instead (see clean_text).
_LONG = 200


def clean_text(value: str) -> str | None:
    """Whitespace collapsed, Unicode NFC; None when empty."""
    if not value:
        return None
    # Only the ASCII space is both whitespace and printable: a printable value without
    # two spaces in a row or a space at either end is already collapsed, and most are.
    if value.isascii():
        if (
            (value.isprintable() if len(value) < _LONG else not _has_breaks(value))
            and "  " not in value
            and value[0] != " " != value[-1]
        ):
            return value
        return " ".join(value.split()) or None
    if value.isprintable() and "  " not in value and value[0] != " " != value[-1]:
        return nfc(value)
    value = " ".join(value.split())
    return nfc(value) if value else None


def _has_breaks(text: str) -> bool:
    """Whether ASCII text holds whitespace besides the space: what clean_text's fast path
    needs to rule out (other control characters do not matter to it)."""
    return (
        "\t" in text
        or "\n" in text
        or "\r" in text
        or "\x0b" in text
        or "\x0c" in text
        or "\x1c" in text
        or "\x1d" in text
        or "\x1e" in text
        or "\x1f" in text
    )


def _joined(field: list[str]) -> str:
    """A field's text: its value and continuation lines joined by spaces."""
    return field[1] if len(field) == 2 else " ".join(field[1:])


def _text(fields: list[list[str]] | None) -> str | None:
    """The first non-empty text among one tag's fields, cleaned."""
    if fields:
        for field in fields:
            text = clean_text(field[1] if len(field) == 2 else " ".join(field[1:]))
            if text:
                return text
    return None


def first_text(by_tag: dict[str, list[list[str]]], tags: tuple[str, ...]) -> str | None:
    """The first non-empty text among ``tags``, in that order, cleaned."""
    for tag in tags:
        text = _text(by_tag.get(tag))
        if text:
            return text
    return None


def _has_text(by_tag: dict[str, list[list[str]]]) -> bool:
    """Whether any field but TY and ID holds more than whitespace."""
    for tag, same in by_tag.items():
        if tag != "TY" and tag != "ID":
            for field in same:
                for line in field[1:]:
                    if line.strip():
                        return True
    return False


def build_record(
    by_tag: dict[str, list[list[str]]], start: int, position: int, raw: str
) -> RecordData | None:
    """A record from its fields by tag (synonyms AU/A1 and A2/ED share a key, in file order)."""
    get = by_tag.get

    # A title is text: only a record without one can be a record without any.
    title = first_text(by_tag, TITLE_TAGS)
    if title is None and not _has_text(by_tag):
        return None

    ty = get("TY")
    rtype = _TYPES.get(ty[0][1].strip().upper(), "other") if ty else "other"
    is_book = rtype == "book"

    if title is None and is_book:
        title = _text(get("BT"))
    if title is None:
        title = _text(get("ST"))

    authors = _authors(get("AU", ()))
    if not authors and is_book:
        authors = _authors(get("A2", ()))

    venues = [
        text
        for tag in (_VENUE_TAGS if is_book else _VENUE_TAGS_NOT_BOOK)
        if tag in by_tag
        for field in by_tag[tag]
        if (text := clean_text(_joined(field)))
    ]

    # URLs by tag preference (UR first); a line may hold several.
    http = [
        url
        for tag in _URL_TAGS
        if tag in by_tag
        for field in by_tag[tag]
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
        same = get(tag)
        if same:
            text = _joined(same[0]) if len(same) == 1 else " ".join(map(_joined, same))
            abstract = clean_text(text)
            if abstract:
                break

    notes = [text for field in get("N1", ()) for line in field[1:] if (text := clean_text(line))]
    sp = _text(get("SP"))
    ep = _text(get("EP"))

    return RecordData(
        type=rtype,
        title=title,
        authors=authors,
        year=_first_year(by_tag),
        venue=_venue(venues) if venues else None,
        volume=_text(get("VL")),
        issue=first_text(by_tag, ("IS", "CP")),
        pages=_pages(sp, ep) if sp or ep else None,
        doi=doi,
        pmid=_pmid(by_tag) if "AN" in by_tag else None,
        isbn=_isbn(by_tag["SN"]) if "SN" in by_tag else None,
        url=http[0] if http else None,
        abstract=abstract,
        keywords=_keywords(by_tag["KW"]) if "KW" in by_tag else [],
        language=_text(get("LA")),
        publisher=first_text(by_tag, ("PB", "PU")),
        note="\n".join(notes) or None,
        entry_key=entry_key(by_tag, http) or str(position),
        line=start,
        raw=raw,
    )


def entry_key(by_tag: dict[str, list[list[str]]], urls: list[str]) -> str | None:
    """The record's key in its database: ID, else an ERIC number (``EJ1234567``, ``ED612345``)
    from AN (EBSCOhost, Ovid) or from an eric.ed.gov or EBSCOhost link."""
    key = _text(by_tag.get("ID"))
    if key:
        return key
    an = first_text(by_tag, ("AN",))
    if an and _ERIC_NUMBER.fullmatch(an):
        return an.upper()
    for url in urls:
        match = _ERIC_URL.search(url) if "eric" in url.lower() else None
        if match:
            return match.group(1).upper()
    return None


def _authors(fields: Iterable[list[str]]) -> list[Author]:
    """Authors from AU/A1 (or A2/ED) fields: one per line, or several split by ';'."""
    authors = []
    for field in fields:
        for line in field[1:]:
            if ";" in line:
                for name in line.split(";"):
                    author = _author(name)
                    if author is not None:
                        authors.append(author)
            else:
                author = _author(line)
                if author is not None:
                    authors.append(author)
    return authors


def _author(name: str) -> Author | None:
    """RIS names are 'Family, Given'. Without a comma: 'Family I.' (Embase, Scopus
    editors) when it ends in initials, else a corporate author kept whole as family."""
    # A printable name without two spaces in a row is already collapsed (see clean_text).
    if not name.isprintable() or "  " in name:
        name = " ".join(name.split())
    name = name.strip(" ,;")
    if not name:
        return None
    if not name.isascii():
        name = nfc(name)
    family, comma, given = name.partition(",")
    if comma:
        given = given.strip()
        if "," in given or len(given) <= 4 and given.lower().rstrip(".") in _SUFFIXES:
            return split_name(name)  # "Family, Jr., Given"
        # Author(family, given) by position: keyword arguments cost a third more.
        return Author(family.strip(), given or None)
    family, _, last = name.rpartition(" ")
    if family and _INITIALS.fullmatch(last):
        return Author(family, last)
    return Author(name)


def _first_year(by_tag: dict[str, list[list[str]]]) -> int | None:
    """The first year read from the date tags, in order of preference."""
    for tag in _YEAR_TAGS:
        for field in by_tag.get(tag, ()):
            year = _year(_joined(field))
            if year is not None:
                return year
    return None


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
    # Ovid/PsycINFO: "SP - No-Specified", or "SP - No" and "EP - Specified". Those words
    # hold no digit: a first page that starts with one (most do) is not them.
    if not (first and first[0].isdigit()):
        words = f"{first or ''} {last or ''}".replace("-", " ").lower().split()
        if words in _NOT_SPECIFIED:
            return None
    if first and last and "-" not in first and first != last:
        return f"{first}-{last}"
    return first or last


def _pmid(by_tag: dict[str, list[list[str]]]) -> str | None:
    """AN is a PMID only when the record says it came from PubMed/MEDLINE (DB, DP or a
    PMCID in C2) or the value itself says 'PMID'; other databases use AN for their own
    accession numbers (WoS 'WOS:...', Embase, Scopus)."""
    an = first_text(by_tag, ("AN",))
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
    keywords: dict[str, None] = {}  # in the order first seen
    for field in fields:
        for line in field[1:]:
            if ";" in line:
                for part in line.split(";"):
                    keyword = clean_text(part)
                    if keyword:
                        keywords[keyword] = None
            else:
                keyword = clean_text(line)
                if keyword:
                    keywords[keyword] = None
    return list(keywords)
