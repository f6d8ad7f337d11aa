"""The line-reading skeleton shared by the tagged-line formats (RIS, MEDLINE, Web of Science).

Each of these formats writes an entry as lines that start with a tag (``TI  - `` in
RIS and MEDLINE, ``TI `` in WoS), continued on untagged lines, with some tags or a blank line
marking where an entry starts and ends. :func:`tagged_entries` reads such a file
line by line, one entry held at a time, and yields each entry with its fields by
tag and the line it starts on, or the line where a run of stray text starts.
What a format's lines look like is given by a :class:`TagRules`; what the fields
mean is the reader's business.

Rules common to the three formats: a byte-order mark at the start of the file is
dropped; a tag line outside an entry starts one; inside an entry, a line without a
tag continues the field before it (stripped of surrounding whitespace); every
line of an entry is kept as read, for the record's ``raw``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import TextIO

from litreview.ingest.record_data import UnreadableFile

# A field: [tag, value, continuation line, ...]; the value as it stands after the tag,
# continuation lines stripped. Fields are filed by key (TagRules.keys) in file order.
Field = list[str]
Fields = dict[str, list[Field]]

# How an entry ended (TaggedEntry.ended_by).
END_TAG = "end tag"  # its end tag, which is its last line
NEXT_START = "next start"  # the start tag of the next entry, on line ``end_line``
BREAK_TAG = "break tag"  # a tag that belongs to no entry (a file header), on ``end_line``
BLANK_LINE = "blank line"  # a blank line, on ``end_line``
END_OF_FILE = "end of file"


@dataclass(frozen=True, slots=True)
class TagRules:
    """What one format's lines look like.

    ``prefixes`` maps the usual start of a tag line (all of length ``width``) to its
    tag: the fast way for the lines most files are made of. ``split`` gives
    ``(tag, value)`` for any other line that is a tag line, ``(None, "")`` for a line
    without a tag. ``keys`` files some tags under another's key (tags read as one).
    """

    prefixes: dict[str, str]
    width: int
    split: Callable[[str], tuple[str | None, str]]
    # A start tag inside an entry ends it and starts the next; with
    # ``restart_on_repeat`` only when the entry already has that tag.
    starts: frozenset[str] = frozenset()
    restart_on_repeat: bool = False
    ends: frozenset[str] = frozenset()  # ends the entry, as its last line
    breaks: frozenset[str] = frozenset()  # ends the entry, belongs to none (EF, FN)
    skip_outside: frozenset[str] = frozenset()  # tags that start no entry (ER, FN)
    keys: dict[str, str] | None = None
    # A whitespace-only line ends the entry, and a run of stray text (MEDLINE).
    blank_ends: bool = False
    # An empty line ends the field: the untagged lines after it continue nothing (WoS).
    empty_ends_field: bool = False
    # Lines are kept without their line end (values and continuations then have none).
    strip_line_ends: bool = False
    # An entry without a start tag stops keeping lines and fields at this many lines
    # (a file of another format read as this one must not be held whole).
    max_lines_without_start: int = 1_000_000_000


@dataclass(slots=True)
class TaggedEntry:
    """One entry: the line it starts on, its lines as read, its fields, how it ended."""

    start: int
    lines: list[str]
    fields: Fields
    has_start: bool  # holds a start tag
    ended_by: str
    end_line: int  # the line that ended it (0 at the end of the file)


@dataclass(frozen=True, slots=True)
class StrayText:
    """Lines outside any entry that are not tag lines, from line ``start`` on."""

    start: int


def tagged_entries(
    stream: TextIO, filename: str, rules: TagRules
) -> Iterator[TaggedEntry | StrayText]:
    """Every entry and run of stray text of ``stream``, in file order, one at a time.

    Raises :class:`UnreadableFile` when the text cannot be decoded, naming the line.
    """
    prefixes, width, split = rules.prefixes, rules.width, rules.split
    starts, ends, breaks, skip_outside = rules.starts, rules.ends, rules.breaks, rules.skip_outside
    bounds = starts | ends | breaks
    keys = rules.keys or {}
    strip_ends, blank_ends, empty_ends_field = (
        rules.strip_line_ends,
        rules.blank_ends,
        rules.empty_ends_field,
    )
    restart_on_repeat, limit = rules.restart_on_repeat, rules.max_lines_without_start

    lines: list[str] = []
    fields: Fields | None = None  # None between entries
    last: Field | None = None  # the field that continuation lines extend
    start = 0
    has_start = False
    stray = 0  # line a run of stray text starts on

    # The tags of the usual tag line: known by prefix, bounding no entry, filed under their own
    # key. Such a line inside an entry skips the checks below and goes straight to its field.
    plain = frozenset(tag for tag in prefixes.values() if tag not in bounds and tag not in keys)

    lineno = 0
    it = iter(stream)
    try:
        first = next(it, None)
        if first is None:
            return
        if first.startswith("\ufeff"):
            first = first[1:] or "\n"
        for lineno, line in enumerate(chain((first,), it), 1):
            if strip_ends:
                line = line.rstrip("\r\n")
            # The usual tag line is looked up whole; any other goes to the format's split.
            tag = prefixes.get(line[:width])
            if tag is not None:
                value = line[width:]
            else:
                tag, value = split(line)

            # (A continuation line, without tag, fails the first test and costs no look-up.)
            if tag is not None and tag in plain and fields is not None:
                key = tag  # the usual line: it bounds no entry and has no other key
            elif fields is None or tag is None or tag in bounds:
                if fields is not None:  # inside an entry
                    if tag is None:
                        if blank_ends and (not line or line.isspace()):
                            yield TaggedEntry(start, lines, fields, has_start, BLANK_LINE, lineno)
                            fields, lines, last = None, [], None
                        elif has_start or len(lines) < limit:
                            lines.append(line)
                            if empty_ends_field and line.strip("\r\n") == "":
                                last = None
                            elif last is not None:
                                last.append(line.strip())
                        continue
                    if tag in starts and (not restart_on_repeat or keys.get(tag, tag) in fields):
                        yield TaggedEntry(start, lines, fields, has_start, NEXT_START, lineno)
                        fields = None  # and the line starts the next entry, below
                    elif tag in ends:
                        lines.append(line)
                        yield TaggedEntry(start, lines, fields, has_start, END_TAG, lineno)
                        fields, lines, last = None, [], None
                        continue
                    elif tag in breaks:
                        yield TaggedEntry(start, lines, fields, has_start, BREAK_TAG, lineno)
                        fields, lines, last = None, [], None
                        continue
                if fields is None:  # between entries
                    if tag is None:
                        if not line or line.isspace():
                            if blank_ends and stray:
                                yield StrayText(stray)
                                stray = 0
                        elif not stray:
                            stray = lineno
                        continue
                    if stray:
                        yield StrayText(stray)
                        stray = 0
                    if tag in skip_outside:
                        continue
                    last = [tag, value]
                    fields = {keys.get(tag, tag): [last]}
                    lines = [line.lstrip("\ufeff")]
                    start = lineno
                    has_start = tag in starts
                    continue
                key = keys.get(tag, tag)  # a start tag that does not restart the entry
            else:
                key = keys.get(tag, tag)

            # One more field in the entry (the common case).
            if has_start or len(lines) < limit:
                lines.append(line)
                last = [tag, value]
                same = fields.get(key)
                if same is None:
                    fields[key] = [last]
                else:
                    same.append(last)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"{filename}: cannot decode the text after line {lineno} ({exc.reason})"
        ) from exc

    if fields is not None:
        yield TaggedEntry(start, lines, fields, has_start, END_OF_FILE, 0)
    if stray:
        yield StrayText(stray)
