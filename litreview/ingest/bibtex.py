"""BibTeX reader: ``read(stream, filename)`` yields one item per entry.

The parts of the reader live apart: cutting the stream into entries
(``bibtex_scan``), the fields of an entry and the ``@string`` macros
(``bibtex_fields``, which reads them as bibtexparser 1.4 did, at a cost in
proportion to their size), LaTeX to Unicode (``latex_text``), names
(``bibtex_names``), crossref (``bibtex_crossref``); this module maps entry types
and fields to records and drives the rest. No part uses bibtexparser.

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
* A missing comma between two fields (``title = {A}  year = 2000``) is recovered,
  as Zotero does; anything else that is not a field is the entry's error.
* ``crossref``: missing fields (booktitle, year, publisher, editor...) are
  inherited from the target when it is in the same file (keys compared without
  case); a volume's title becomes the booktitle of what crossrefs it. BibTeX
  wants the target after the entries that cite it, so an entry whose target is
  still to come is held back, and what follows it waits behind it so that items
  come out in file order; past a bound on waiting items (``bibtex_crossref``), or at the end of the
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
from collections.abc import Iterator
from typing import TextIO

from litreview.ingest.bibtex_crossref import VOLUME_TYPES, BibEntry, Crossrefs
from litreview.ingest.bibtex_fields import BibSyntaxError, FieldReader
from litreview.ingest.bibtex_names import parse_names
from litreview.ingest.bibtex_scan import Chunk, ScanState, chunks
from litreview.ingest.latex_text import display_text, verbatim
from litreview.ingest.normalize import clean, normalize_doi, parse_year
from litreview.ingest.record_data import EntryError, Item, RecordData, UnreadableFile

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
    for keyword in _KEYWORD_SPLIT.split(display_text(value) or ""):
        keyword = keyword.strip()
        if keyword and keyword.casefold() not in seen:
            seen.add(keyword.casefold())
            keywords.append(keyword)
    return keywords


def _to_record(entry: BibEntry) -> RecordData:
    fields = entry.fields
    get = fields.get

    title = display_text(get("title"))
    subtitle = display_text(get("subtitle"))
    if title and subtitle:
        title = f"{title}: {subtitle}"

    authors = parse_names(get("author"))
    if not authors and entry.kind in VOLUME_TYPES:
        authors = parse_names(get("editor"))  # an edited volume: its editors

    venue = None
    for name in ("journal", "journaltitle", "booktitle", "series"):
        venue = display_text(get(name))
        if venue:
            break

    pages = display_text(get("pages"))
    if pages:
        pages = _PAGES_DASH.sub("-", pages)

    url = verbatim(get("url"))
    if url:
        url = url.split(" ", 1)[0]  # some exports put several URLs in one field
    elif "\\url" in get("howpublished", ""):
        url = verbatim(get("howpublished"))

    doi = normalize_doi(verbatim(get("doi")))
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
        volume=display_text(get("volume")),
        issue=display_text(get("number") or get("issue")),
        pages=pages,
        doi=doi,
        pmid=pmid,
        isbn=verbatim(get("isbn")),
        url=url,
        abstract=display_text(get("abstract")),
        keywords=_keywords(get("keywords") or get("keyword")),
        language=display_text(get("language") or get("langid")),
        # A thesis or report names who issued it in school or institution.
        publisher=display_text(get("publisher") or get("institution") or get("school")),
        note=display_text(get("note")),
        entry_key=entry.key,
        line=entry.line,
        raw=entry.raw,
    )


# --------------------------------------------------------------------------
# The reader

_HEAD = re.compile(r"@[ \t]*[A-Za-z][\w:.+-]*[ \t]*[{(]")
_VISIBLE_KEY = re.compile(r"@[^{(]*[{(]\s*([^\s,={}()\"]+)\s*,")
_STRING_NAME = re.compile(r"@[^{(]*[{(]\s*([^\s=,{}()\"#]+)")


def read(stream: TextIO, filename: str) -> Iterator[Item]:
    """Records and errors from a BibTeX text stream, one entry at a time.

    Raises UnreadableFile only when nothing in the stream looks like BibTeX.
    """
    parser = FieldReader()
    crossrefs = Crossrefs()
    state = ScanState()
    position = 0  # of the entry in the file, @string/@comment/@preamble not counted
    for chunk in chunks(stream, state):
        if chunk.kind == "string":
            item: BibEntry | EntryError | None = _define_string(parser, chunk)
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


def _record_or_error(entry: BibEntry | EntryError) -> Item:
    if isinstance(entry, EntryError):
        return entry
    try:
        return _to_record(entry)
    except Exception as exc:  # never a traceback: the entry is reported instead
        return EntryError(entry.line, entry.key, f"could not read: {exc}")


def _visible_key(text: str) -> str | None:
    match = _VISIBLE_KEY.match(text)
    return match.group(1) if match else None


def _read_entry(parser: FieldReader, chunk: Chunk, position: int) -> BibEntry | EntryError:
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
        except BibSyntaxError as exc:
            offset = len(text) - 1 - len(body) + exc.offset
            line = chunk.line + text.count("\n", 0, offset)
            return EntryError(chunk.line, shown_key, f"{exc} (line {line})")
    elif body.strip(" \t\r\n,"):
        return EntryError(chunk.line, shown_key, "no field could be read (missing '='?)")
    else:
        fields = {}
    return BibEntry(chunk.kind, key, fields, chunk.line, text)


def _define_string(parser: FieldReader, chunk: Chunk) -> EntryError | None:
    match = _STRING_NAME.match(chunk.text)
    name = f"@string{{{match.group(1)}}}" if match else "@string"
    if chunk.problem:
        return EntryError(chunk.line, name, chunk.problem)
    try:
        parser.add_string(chunk.text)  # @string{...} and @string(...)
    except BibSyntaxError as exc:
        line = chunk.line + chunk.text.count("\n", 0, exc.offset)
        return EntryError(chunk.line, name, f"could not read the macro: {exc} (line {line})")
    return None
