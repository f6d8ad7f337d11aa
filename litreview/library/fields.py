"""The one list of a record's bibliographic fields, and what each part of litreview does
with each: imports copy them, a merge fills them, listings and exports write them.

The Record model (:mod:`litreview.models.core`) and the readers' RecordData
(:mod:`litreview.ingest.record_data`) stay explicit typed classes; a test checks that
both hold exactly these fields. A new field is added there and here, and then reaches
imports, merges, ``records --json``, the CSV export and CSL-JSON without more edits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from litreview.errors import Invalid
from litreview.ingest.normalize import clean, nfc, normalize_doi, split_name

Kind = Literal["type", "text", "year", "authors", "keywords"]


@dataclass(frozen=True)
class Field:
    """One bibliographic field of a record.

    ``kind``: "authors" is an ordered list of ``{"family", "given"}``, "keywords" a
    list of texts, "year" an int, "type" our record type, "text" a text.
    ``fills``: a merge copies it onto the surviving record when the survivor has none.
    ``csv_rank``: its place among the record columns of the CSV export.
    ``csl``: its CSL-JSON variable, for text fields (authors, year and keywords have
    shapes of their own in CSL and are written apart).
    ``cited``: a citation shows it (the annotated bibliography loads only these).
    """

    name: str
    kind: Kind
    fills: bool
    csv_rank: int
    csl: str | None = None
    cited: bool = False


# In the order readers yield them and `records --json` prints them.
FIELDS: tuple[Field, ...] = (
    # Never filled: it is never empty (an unknown type is "other").
    Field("type", "type", fills=False, csv_rank=1, cited=True),
    Field("title", "text", fills=True, csv_rank=2, csl="title", cited=True),
    Field("authors", "authors", fills=True, csv_rank=3, cited=True),
    Field("year", "year", fills=True, csv_rank=4, cited=True),
    Field("venue", "text", fills=True, csv_rank=5, csl="container-title", cited=True),
    Field("volume", "text", fills=True, csv_rank=6, csl="volume", cited=True),
    Field("issue", "text", fills=True, csv_rank=7, csl="issue", cited=True),
    Field("pages", "text", fills=True, csv_rank=8, csl="page", cited=True),
    Field("doi", "text", fills=True, csv_rank=9, csl="DOI", cited=True),
    Field("pmid", "text", fills=True, csv_rank=10, csl="PMID", cited=True),
    Field("isbn", "text", fills=True, csv_rank=11, csl="ISBN", cited=True),
    Field("url", "text", fills=True, csv_rank=12, csl="URL", cited=True),
    # The CSV puts the long columns last (abstract after keywords), so that a
    # spreadsheet shows the short ones side by side.
    Field("abstract", "text", fills=True, csv_rank=16, csl="abstract"),
    Field("keywords", "keywords", fills=True, csv_rank=15),
    Field("language", "text", fills=True, csv_rank=14, csl="language"),
    Field("publisher", "text", fills=True, csv_rank=13, csl="publisher", cited=True),
    # The entry's own note has no column of its own in the CSV: it opens the "notes"
    # column, before the review's record notes (see litreview.export.records_csv).
    Field("note", "text", fills=True, csv_rank=0, csl="note"),
)
BY_NAME = {f.name: f for f in FIELDS}
NAMES = tuple(f.name for f in FIELDS)
# Record columns of the CSV export, in their order (0: not a column of its own).
CSV_FIELDS = tuple(sorted((f for f in FIELDS if f.csv_rank), key=lambda f: f.csv_rank))
# The text fields a citation shows, and those a CSL-JSON export adds.
CITED_TEXT = tuple(f for f in FIELDS if f.cited and f.csl)
OTHER_CSL_TEXT = tuple(f for f in FIELDS if f.csl and not f.cited)
CITED = tuple(f for f in FIELDS if f.cited)
# The fields a merge may fill on the surviving record, in FIELDS order.
FILLABLE = tuple(f.name for f in FIELDS if f.fills)


def is_empty(value: Any) -> bool:
    """No value: None, an empty text or an empty list (0 is a value)."""
    return value is None or value == "" or value == []


def filled_by(empties: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """What a merge fills: each fillable field empty on the surviving record (``empties``:
    name -> its empty value, in FILLABLE order) that the duplicate has (``incoming``).
    Returns what each filled field was before, which an undo puts back."""
    return {name: before for name, before in empties.items() if not is_empty(incoming.get(name))}


# ---------------------------------------------------------------- editing by hand

# The fields a person may correct on a record's page (the rest come from imports only).
EDITABLE = ("title", "authors", "year", "venue", "doi", "abstract")
MAX_EDIT_TEXT = 20_000
MAX_AUTHORS = 500


def as_text(name: str, value: Any) -> str:
    """A field's value as its edit form shows it: authors one per line as
    "Family, Given", a year as digits, texts as they are, nothing as ""."""
    kind = BY_NAME[name].kind
    if is_empty(value):
        return ""
    if kind == "authors":
        return "\n".join(
            f"{a.get('family') or ''}, {a['given']}" if a.get("given") else (a.get("family") or "")
            for a in value
        )
    if kind == "keywords":
        return "; ".join(value)
    return str(value)


def from_text(name: str, text: str) -> Any:
    """The value a person typed for field ``name``, as a record stores it; Invalid (with
    the field's name and what is wrong) when it cannot be. The one rule for reading a
    field from a form: authors one per line ("Family, Given" or "Given Family"), a year
    of four digits, a DOI in any of its usual spellings (stored as imports store it),
    texts with runs of spaces kept (an abstract's paragraphs stay) and trimmed."""
    if name not in EDITABLE:
        raise Invalid(f"field {name!r} cannot be edited: edit {', '.join(EDITABLE)}")
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_EDIT_TEXT:
        raise Invalid(f"{name}: {len(text):,} characters; at most {MAX_EDIT_TEXT:,}")
    kind = BY_NAME[name].kind
    if kind == "authors":
        authors = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            author = split_name(nfc(line) or "")
            if author is None:
                raise Invalid(f"authors, line {number}: {line.strip()!r} is not a name")
            authors.append({"family": author.family, "given": author.given})
        if len(authors) > MAX_AUTHORS:
            raise Invalid(f"authors: {len(authors)} names; at most {MAX_AUTHORS}")
        return authors
    if not text:
        return None
    if kind == "year":
        if not (text.isdigit() and len(text) == 4 and 1500 <= int(text) <= 2100):
            raise Invalid(f"year: {text[:20]!r} is not a year (four digits, e.g. 2021)")
        return int(text)
    if name == "doi":
        doi = normalize_doi(text)
        if doi is None:
            raise Invalid(f"DOI: {text[:60]!r} is not a DOI (it starts 10., e.g. 10.1000/xyz)")
        return doi
    if name == "abstract":
        return nfc(text)
    return nfc(clean(text))
