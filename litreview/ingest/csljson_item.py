"""One CSL-JSON item, already decoded, as a :class:`RecordData` or an :class:`EntryError`.

The reader (``csljson``) finds the items in the file; this module reads their fields,
strict about the shape CSL-JSON gives each field.
"""

from __future__ import annotations

import json
import re
from typing import Any

from litreview.ingest.normalize import clean, nfc, normalize_doi, parse_year
from litreview.ingest.record_data import Author, EntryError, Item, RecordData

_KEYWORD_SPLIT = re.compile(r"[;,]")

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


def json_kind(value: Any) -> str:
    """The JSON name of a decoded value's kind ("object", "string", "null"...), for messages."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return "number"


def item_to_record(value: Any, raw: str, line: int, position: int) -> Item:
    """The record of one decoded item (``position`` counts from 1), or the error that stops it."""
    if not isinstance(value, dict):
        return EntryError(
            line, None, f"item {position} is a JSON {json_kind(value)}, not an object"
        )
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
        raise _ItemError(f'"{name}" should be text, not a JSON {json_kind(value)}')
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return nfc(clean(str(value)))


def _name(value: Any, field: str) -> Author | None:
    if not isinstance(value, dict):
        raise _ItemError(
            f'"{field}" should be a list of name objects, found a JSON {json_kind(value)}'
        )
    parts = {}
    for part in _NAME_PARTS:
        text = value.get(part)
        if text is None:
            continue
        if not isinstance(text, str):
            raise _ItemError(f'a name in "{field}" has "{part}" as a JSON {json_kind(text)}')
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
        raise _ItemError(f'"{field}" should be a list of names, not a JSON {json_kind(value)}')
    return [author for v in value if (author := _name(v, field)) is not None]


def _year(item: dict) -> int | None:
    issued = item.get("issued")
    if issued is None:
        return None
    if isinstance(issued, str | int) and not isinstance(issued, bool):
        return parse_year(issued)  # not CSL, but unambiguous: "2021-05-03"
    if not isinstance(issued, dict):
        raise _ItemError(f'"issued" should be a date object, not a JSON {json_kind(issued)}')
    parts = issued.get("date-parts")
    if parts is not None:
        if not isinstance(parts, list) or not all(isinstance(p, list) for p in parts):
            raise _ItemError('"issued" has "date-parts" that is not a list of lists')
        if parts and parts[0]:
            year = parts[0][0]
            if isinstance(year, bool) or not isinstance(year, str | int | float | None):
                raise _ItemError(f'"issued" has a year that is a JSON {json_kind(year)}')
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
        raise _ItemError(
            f'"keyword" should be text or a list of text, not a JSON {json_kind(value)}'
        )
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
