"""Which column of a table (CSV, TSV) holds which field: names matched, any case.

Exports name their columns differently: ASReview LAB and the SYNERGY datasets write
``title, abstract, authors, year, doi, label_included``; Rayyan ``key, title, authors,
journal, year, pubmed_id, notes``; Covidence ``Title, Authors, Abstract, Published
Year, Journal, DOI, Covidence #, Notes, Tags``; Scopus ``Authors, Title, Year, Source
title, Page start, Page end, DOI, Link, Abstract, Author Keywords, PubMed ID, EID``;
Zotero ``Key, Item Type, Publication Year, Author, Title, Publication Title, Abstract
Note``; Web of Science's tab-delimited export its two-letter tags (``PT AU AF TI SO``).
A header is compared after case folding, with ``_ - .`` and runs of spaces read as
one space. Where several columns fit one field, the earlier name in its list wins.
Columns that fit no field are kept as they are, by their own name, in
``RecordData.extra``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# field -> the header names that hold it, best first.
ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "primary title", "article title", "document title", "ti"),
    "abstract": ("abstract", "abstract note", "ab", "notes abstract"),
    "authors": ("authors", "author", "author names", "author full names", "af", "au"),
    "year": (
        "year",
        "publication year",
        "published year",
        "pubyear",
        "pub year",
        "py",
        "date",
        "publication date",
    ),
    "venue": (
        "journal",
        "venue",
        "source title",
        "publication title",
        "journal title",
        "secondary title",
        "so",
    ),
    "volume": ("volume", "vl"),
    "issue": ("issue", "number", "is"),
    "pages": ("pages", "page", "pg"),
    "doi": ("doi", "di"),
    "pmid": ("pmid", "pubmed id", "pm"),
    "isbn": ("isbn", "bn"),
    "url": ("url", "link", "urls"),
    "keywords": ("keywords", "author keywords", "de"),
    "language": ("language", "language of original document", "la"),
    "publisher": ("publisher", "pu"),
    "type": ("type", "item type", "document type", "publication type", "pt"),
    "note": ("notes", "note"),
    # Not a record field: the entry's own key, else its row number.
    "entry_key": ("record id", "key", "covidence #", "id", "eid", "ut", "unique wos id"),
}
# Pages given as two columns (Scopus, Web of Science).
PAGE_START = ("page start", "start page", "bp")
PAGE_END = ("page end", "end page", "ep")

_SEPARATORS = re.compile(r"[\s_.\-]+")


def normalize(header: str) -> str:
    """A header as compared: case folded, ``_ - .`` and blanks as one space."""
    return _SEPARATORS.sub(" ", header.replace("\ufeff", "")).strip().casefold()


@dataclass
class Columns:
    """A table's header, read: the column of each field, and the others by name."""

    names: list[str]  # as the file spells them (blank ones named "column N")
    fields: dict[str, int] = field(default_factory=dict)
    page_start: int | None = None
    page_end: int | None = None
    extra: list[tuple[str, int]] = field(default_factory=list)  # (name, index)

    def find(self, name: str) -> int | None:
        """The index of a column named ``name`` (compared as headers are), or None."""
        wanted = normalize(name)
        for i, header in enumerate(self.names):
            if normalize(header) == wanted:
                return i
        return None


def map_columns(header: list[str]) -> Columns:
    """Each field's column, by name; the unmatched columns stay for ``extra``."""
    names = [h.replace("\ufeff", "").strip() or f"column {i + 1}" for i, h in enumerate(header)]
    normalized = [normalize(n) for n in names]
    first: dict[str, int] = {}
    for i, n in enumerate(normalized):
        first.setdefault(n, i)
    columns = Columns(names=names)
    used: set[int] = set()
    for name, aliases in ALIASES.items():
        for alias in aliases:
            if alias in first:
                columns.fields[name] = first[alias]
                used.add(first[alias])
                break
    if "pages" not in columns.fields:
        columns.page_start = next((first[a] for a in PAGE_START if a in first), None)
        columns.page_end = next((first[a] for a in PAGE_END if a in first), None)
        used.update(i for i in (columns.page_start, columns.page_end) if i is not None)
    taken: set[str] = set()
    for i, name in enumerate(names):
        if i in used:
            continue
        key, n = name, 1
        while key in taken:  # two columns of the same name: the second is "name (2)"
            n += 1
            key = f"{name} ({n})"
        taken.add(key)
        columns.extra.append((key, i))
    return columns
