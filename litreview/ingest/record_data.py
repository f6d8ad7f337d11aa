"""The plain data every reader yields: no database, no Flask.

A reader is a function ``read(stream: TextIO, filename: str) -> Iterator[Item]``
where an item is either a :class:`RecordData` (an entry that could be read) or an
:class:`EntryError` (an entry that could not, with the line it starts on).
Readers never raise for a bad entry; they raise :class:`UnreadableFile` only when
the file as a whole cannot be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

# Our record types; readers map their own vocabularies onto these.
RECORD_TYPES = (
    "article",
    "book",
    "chapter",
    "conference",
    "thesis",
    "report",
    "webpage",
    "dataset",
    "other",
)


class UnreadableFile(Exception):
    """The file as a whole cannot be read (missing, not a bibliography, bad encoding)."""


@dataclass(frozen=True, slots=True)
class Author:
    """One author: ``family`` always; ``given`` is None for a corporate author."""

    family: str
    given: str | None = None


@dataclass(slots=True)
class RecordData:
    """One bibliographic entry as read from a file, normalised to our fields."""

    type: str = "other"
    title: str | None = None
    authors: list[Author] = field(default_factory=list)
    year: int | None = None
    venue: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmid: str | None = None
    isbn: str | None = None
    url: str | None = None
    abstract: str | None = None
    keywords: list[str] = field(default_factory=list)
    language: str | None = None
    publisher: str | None = None
    note: str | None = None
    # Where it came from: the entry's own key (citation key, RIS ID, PMID, WoS UT)
    # or, lacking one, its 1-based position in the file; the line it starts on;
    # and the entry exactly as it stood in the file.
    entry_key: str = ""
    line: int = 0
    raw: str = ""
    # A table's columns that fit no field, by their own name, verbatim (screening
    # labels such as ASReview's ``label_included``, Rayyan's notes); other readers
    # leave it empty.
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        """Fields as JSON-ready data (the verbatim entry left out)."""
        # Built by hand: dataclasses.asdict deep-copies every value, a cost per entry.
        data = {name: getattr(self, name) for name in _JSON_FIELDS}
        data["authors"] = [{"family": a.family, "given": a.given} for a in self.authors]
        data["keywords"] = list(self.keywords)
        if self.extra:  # only tables have it: other entries' JSON stays as it was
            data["extra"] = dict(self.extra)
        return data


_JSON_FIELDS = tuple(
    name for name in RecordData.__dataclass_fields__ if name not in ("raw", "extra")
)


@dataclass(frozen=True, slots=True)
class EntryError:
    """An entry that could not be read: where it starts and what is wrong."""

    line: int | None
    entry: str | None
    message: str

    def to_json(self) -> dict:
        return {"line": self.line, "entry": self.entry, "message": self.message}


Item = RecordData | EntryError
Reader = Callable[[TextIO, str], Iterator[Item]]
