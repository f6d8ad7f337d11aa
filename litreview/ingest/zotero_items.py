"""Zotero items (the ``data`` of an item from the Zotero Web API v3) to plain RecordData.

No database and no network here: :func:`read_item` maps one item, :func:`note_text`
turns a note's HTML into plain text, and the small predicates say what kind of item
it is (a record, a child note, a child attachment). The item JSON itself, with its
keys sorted, is kept as ``raw``, so the same item at the same version has the same
fingerprint and a changed one a new one.

Mapping rules:

- every Zotero item type maps to one of our record types (:data:`TYPES`);
- authors are the item type's primary creators (``author``; ``director`` for a film,
  ``artist`` for an artwork ...), and editors only when there are none; a creator
  with a single ``name`` field is a corporate author (family name only);
- the year comes from Zotero's free-text date: ``2021-00-00``, ``Spring 2021``,
  ``May 01, 1980`` and ``08/1993`` all give their year; a date with no four-digit
  year gives none;
- the DOI from the DOI field, or from a ``DOI: ...`` line in Extra for item types
  that have no DOI field; the PMID from a ``PMID: ...`` line in Extra;
- tags become keywords, except the tags litreview writes back itself (see
  :func:`read_item`'s ``own_tag``);
- Extra as a whole becomes the note, as Zotero's own CSL-JSON export does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

from litreview.ingest.csljson_item import json_kind
from litreview.ingest.normalize import clean, nfc, normalize_doi, parse_year
from litreview.ingest.record_data import Author, EntryError, Item, RecordData

__all__ = [
    "CHILD_TYPES",
    "TYPES",
    "is_pdf_attachment",
    "note_text",
    "raw_json",
    "read_item",
]

# Every item type of the Zotero schema (Zotero 7), with ours.
TYPES = {
    "journalArticle": "article",
    "magazineArticle": "article",
    "newspaperArticle": "article",
    "preprint": "article",
    "book": "book",
    "bookSection": "chapter",
    "encyclopediaArticle": "chapter",
    "dictionaryEntry": "chapter",
    "conferencePaper": "conference",
    "thesis": "thesis",
    "report": "report",
    "standard": "report",
    "webpage": "webpage",
    "blogPost": "webpage",
    "forumPost": "webpage",
    "dataset": "dataset",
    "artwork": "other",
    "audioRecording": "other",
    "bill": "other",
    "case": "other",
    "computerProgram": "other",
    "document": "other",
    "email": "other",
    "film": "other",
    "hearing": "other",
    "instantMessage": "other",
    "interview": "other",
    "letter": "other",
    "manuscript": "other",
    "map": "other",
    "patent": "other",
    "podcast": "other",
    "presentation": "other",
    "radioBroadcast": "other",
    "statute": "other",
    "tvBroadcast": "other",
    "videoRecording": "other",
}
# Items that hang under a record rather than being one.
CHILD_TYPES = frozenset({"note", "attachment", "annotation"})

# The creator type each item type lists first in Zotero; "author" for the rest.
PRIMARY_CREATOR = {
    "artwork": "artist",
    "audioRecording": "performer",
    "bill": "sponsor",
    "computerProgram": "programmer",
    "film": "director",
    "hearing": "contributor",
    "interview": "interviewee",
    "map": "cartographer",
    "patent": "inventor",
    "podcast": "podcaster",
    "presentation": "presenter",
    "radioBroadcast": "director",
    "tvBroadcast": "director",
    "videoRecording": "director",
}

# Zotero's base fields and the type-specific fields mapped onto them, first found wins.
_TITLE = ("title", "caseName", "nameOfAct", "subject")
_VENUE = (
    "publicationTitle",
    "bookTitle",
    "proceedingsTitle",
    "encyclopediaTitle",
    "dictionaryTitle",
    "websiteTitle",
    "blogTitle",
    "forumTitle",
    "programTitle",
    "reporter",
    "code",
    "conferenceName",
)
_PUBLISHER = (
    "publisher",
    "university",
    "institution",
    "repository",
    "label",
    "distributor",
    "network",
    "studio",
    "company",
)
_VOLUME = ("volume", "codeVolume", "reporterVolume")
_PAGES = ("pages", "firstPage", "codePages")
_DATE = ("date", "dateDecided", "dateEnacted", "issueDate", "filingDate")

_EXTRA_DOI = re.compile(r"^\s*DOI\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_EXTRA_PMID = re.compile(r"^\s*PMID\s*:\s*(\d+)", re.IGNORECASE | re.MULTILINE)

OwnTag = Callable[[dict[str, Any]], bool]


class _ItemError(ValueError):
    """A field of one item has the wrong shape."""


def raw_json(data: dict[str, Any]) -> str:
    """The item as we keep it: JSON with sorted keys, so equal items give equal text."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def read_item(data: Any, *, own_tag: OwnTag | None = None) -> Item:
    """One Zotero item's ``data`` as a RecordData, or an EntryError naming its key.

    ``own_tag`` tells the tags litreview wrote itself (decisions, review questions):
    they are not the item's keywords. The result's ``entry_key`` is the item key and
    its ``raw`` the item JSON.
    """
    if not isinstance(data, dict):
        return EntryError(None, None, f"a Zotero item is a JSON {json_kind(data)}, not an object")
    key = data.get("key")
    entry_key = key if isinstance(key, str) and key else None
    if entry_key is None:
        return EntryError(None, None, "a Zotero item without a key")
    try:
        record = _record(data, own_tag)
    except _ItemError as exc:
        return EntryError(None, entry_key, f"Zotero item {entry_key}: {exc}")
    record.entry_key = entry_key
    record.raw = raw_json(data)
    return record


def _record(data: dict[str, Any], own_tag: OwnTag | None) -> RecordData:
    item_type = data.get("itemType")
    if not isinstance(item_type, str):
        raise _ItemError("it has no item type")
    extra = _text(data, "extra")
    raw_extra = data.get("extra") if isinstance(data.get("extra"), str) else ""
    doi = normalize_doi(_text(data, "DOI"))
    if doi is None and raw_extra:
        found = _EXTRA_DOI.search(raw_extra)
        doi = normalize_doi(found.group(1)) if found else None
    pmid = None
    if raw_extra:
        found = _EXTRA_PMID.search(raw_extra)
        pmid = found.group(1) if found else None
    return RecordData(
        type=TYPES.get(item_type, "other"),
        title=_first(data, _TITLE),
        authors=_authors(data, item_type),
        year=_year(data),
        venue=_first(data, _VENUE),
        volume=_first(data, _VOLUME),
        issue=_text(data, "issue"),
        pages=_first(data, _PAGES),
        doi=doi,
        pmid=pmid,
        isbn=_text(data, "ISBN"),
        url=_text(data, "url"),
        abstract=_text(data, "abstractNote"),
        keywords=_keywords(data, own_tag),
        language=_text(data, "language"),
        publisher=_first(data, _PUBLISHER),
        note=extra,
    )


def _text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _ItemError(f'"{name}" should be text, not a JSON {json_kind(value)}')
    return nfc(clean(str(value)))


def _first(data: dict[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = _text(data, name)
        if value:
            return value
    return None


def _year(data: dict[str, Any]) -> int | None:
    for name in _DATE:
        value = _text(data, name)
        if value:
            # Zotero's dates are free text ("Spring 2021", "2021-00-00", "May 01, 1980"):
            # the first plausible four-digit year is the one meant.
            return parse_year(value)
    return None


def _creator(value: Any) -> Author | None:
    if not isinstance(value, dict):
        raise _ItemError(f'"creators" should hold objects, found a JSON {json_kind(value)}')
    parts = {}
    for part in ("name", "lastName", "firstName"):
        text = value.get(part)
        if text is None:
            continue
        if not isinstance(text, str):
            raise _ItemError(f'a creator has "{part}" as a JSON {json_kind(text)}')
        parts[part] = nfc(clean(text))
    if parts.get("name"):
        return Author(family=parts["name"])  # single-field mode: an organisation
    family, given = parts.get("lastName"), parts.get("firstName")
    if not family:
        return Author(family=given) if given else None
    return Author(family=family, given=given)


def _authors(data: dict[str, Any], item_type: str) -> list[Author]:
    creators = data.get("creators")
    if creators is None:
        return []
    if not isinstance(creators, list):
        raise _ItemError(f'"creators" should be a list, not a JSON {json_kind(creators)}')
    by_type: dict[str, list[Author]] = {}
    for value in creators:
        author = _creator(value)
        kind = value.get("creatorType") if isinstance(value, dict) else None
        if author is not None and isinstance(kind, str):
            by_type.setdefault(kind, []).append(author)
    primary = PRIMARY_CREATOR.get(item_type, "author")
    return by_type.get(primary) or by_type.get("author") or by_type.get("editor") or []


def _keywords(data: dict[str, Any], own_tag: OwnTag | None) -> list[str]:
    tags = data.get("tags")
    if tags is None:
        return []
    if not isinstance(tags, list):
        raise _ItemError(f'"tags" should be a list, not a JSON {json_kind(tags)}')
    seen: dict[str, str] = {}
    for tag in tags:
        if not isinstance(tag, dict) or not isinstance(tag.get("tag"), str):
            raise _ItemError('"tags" should hold objects with a "tag" text')
        if own_tag is not None and own_tag(tag):
            continue
        word = nfc(clean(tag["tag"]))
        if word:
            seen.setdefault(word.casefold(), word)
    return list(seen.values())


def is_pdf_attachment(data: dict[str, Any]) -> bool:
    """True for an attachment item holding a PDF (by content type, or by file name)."""
    if data.get("itemType") != "attachment":
        return False
    content_type = str(data.get("contentType") or "").lower()
    filename = str(data.get("filename") or data.get("path") or "").lower()
    return content_type == "application/pdf" or filename.endswith(".pdf")


# ---------------------------------------------------------------- notes

_BLOCKS = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "ul",
        "ol",
        "table",
        "hr",
    }
)
_SKIP = frozenset({"script", "style", "head", "title"})
_BLANK_LINES = re.compile(r"\n{3,}")
_LINE_SPACE = re.compile(r"[ \t\r\f\v]+")


class _TextOf(HTMLParser):
    """Collects the text of an HTML fragment, a line break at each block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def note_text(html: str | None) -> str:
    """A Zotero note's HTML as plain text: tags dropped, entities decoded, one line per block.

    The text is untrusted and stays text: whoever shows it escapes it.
    """
    if not html:
        return ""
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    lines = (_LINE_SPACE.sub(" ", line).strip() for line in "".join(parser.parts).split("\n"))
    text = "\n".join(lines)
    return nfc(_BLANK_LINES.sub("\n\n", text).strip()) or ""
