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
from collections.abc import Iterator
from typing import TextIO

import rispy

from litreview.ingest.record_data import EntryError, Item, UnreadableFile
from litreview.ingest.ris_record import TITLE_TAGS, build_record, clean_text, first_text
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


# Tags read as one: authors AU/A1, editors A2/ED.
_SYNONYMS = {"A1": "AU", "ED": "A2"}

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_MAX_PENDING = 1000
# A block of tags without TY is kept (in case an ER shows it is a record) up to this size.
_MAX_ORPHAN_LINES = 10_000
_RECOVERABLE_TAGS = ("TI", "T1", "CT", "BT", "ST", "AU", "DO")

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
    return any(first_text(fields, (tag,)) for tag in _RECOVERABLE_TAGS if tag in fields)


def _no_ty_error(fields: dict[str, list[list[str]]], start: int, first_line: str) -> EntryError:
    """Tags outside any record that cannot be one: reported, skipped."""
    entry = (
        first_text(fields, TITLE_TAGS)
        or first_text(fields, ("ID",))
        or clean_text(first_line)
        or ""
    )
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
        record = build_record(fields, start, position, raw)
    except Exception as exc:  # a bad record must never stop the file
        yield EntryError(start, str(position), f"cannot read record: {exc!r}")
        return
    if record is None:
        entry = first_text(fields, ("ID",)) or str(position)
        yield EntryError(start, entry, "record has no fields besides TY: skipped")
        return
    yield record
    if end_note:
        yield EntryError(start, _short(record.title or record.entry_key), end_note)
