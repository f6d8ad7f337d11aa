"""A review's records as RIS, BibTeX, CSV or CSL-JSON, filtered by decision and question.

RIS, BibTeX and CSL-JSON are written so that litreview's own readers (and reference
managers) read back the same titles, authors in order, years, DOIs, venues and
abstracts. BibTeX needs care: ``& % $ # _ { }``, ``\\`` and ``~`` are escaped, and
runs of hyphens or of quote marks are kept apart so that they do not turn into dashes
and curly quotes on the way back; any other character (ö, —) is written as UTF-8.
The CSV has one row per record with its decisions, reasons, review questions,
annotations and notes; a cell that a spreadsheet would run as a formula is prefixed
with an apostrophe, as imported text is untrusted.

The CSV table, with the decisions, tags and notes beside each record, is written by
:mod:`litreview.export.records_csv`.

Long because: the selection, the citation keys and three writers of one record shape
(each short) are read together: what one writer escapes, the others must too.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.errors import Invalid
from litreview.export import csl
from litreview.export.records_csv import to_csv
from litreview.models import Record, RecordTag, Review, ReviewQuestion
from litreview.models.screening import DECISIONS, STAGES
from litreview.screening.outcomes import FULL_TEXT, TITLE_ABSTRACT, live
from litreview.screening.outcomes import outcomes_with_reasons as outcomes

FORMATS = ("ris", "bibtex", "csv", "csljson")
EXTENSIONS = {"ris": "ris", "bibtex": "bib", "csv": "csv", "csljson": "json"}
MEDIA_TYPES = {
    "ris": "application/x-research-info-systems",
    "bibtex": "application/x-bibtex",
    "csv": "text/csv",
    "csljson": "application/vnd.citationstyles.csl+json",
}
_CHUNK = 5000


STAGE_NAMES = {TITLE_ABSTRACT: "title/abstract", FULL_TEXT: "full text"}


class NothingSelected(Invalid):
    """The selection holds no record: there is no file to write (an empty file would
    pass for an export of nothing having been decided)."""


@dataclass(frozen=True)
class Selection:
    """Which records an export holds: the decision and the stage it was taken at (both
    None: every record), and the questions they are tagged to."""

    decision: str | None
    stage: str | None
    questions: tuple[str, ...] = ()

    picked: bool = False

    def describe(self, count: int | None = None) -> str:
        """'records with decision include at full text, tagged to Q1 or Q3'; with a
        count, '3 records with...' (or 'all 12 records'); '3 records selected' for
        records picked by hand."""
        noun = "record" if count == 1 else "records"
        said = noun if count is None else f"{count:,} {noun}"
        if self.picked:
            return f"{said} selected"
        if not (self.stage or self.questions):
            return f"all {said}"
        if self.stage:
            said += f" with decision {self.decision} at {STAGE_NAMES[self.stage]}"
        if self.questions:
            said += f"{',' if self.stage else ''} tagged to {' or '.join(self.questions)}"
        return said


# The selection of records picked by hand on the records table.
CHOSEN = Selection(None, None, (), picked=True)


def selection(
    decision: str | None = None, stage: str | None = None, questions: Sequence[str] = ()
) -> Selection:
    """The selection these options make: a decision is taken at full text unless a stage
    is given; a stage alone means its includes."""
    if stage is not None and stage not in STAGES:
        raise Invalid(f"stage {stage!r}: choose {' or '.join(STAGES)}")
    if decision is not None and decision not in DECISIONS:
        raise Invalid(f"decision {decision!r}: choose {', '.join(DECISIONS)}")
    if decision is None and stage is None:
        return Selection(None, None, tuple(questions))
    return Selection(decision or "include", stage or FULL_TEXT, tuple(questions))


@dataclass
class RecordsExport:
    """The text of the file, how many records it holds, and which ones they are."""

    format: str
    text: str
    count: int
    selection: Selection


def _selected_ids(session: Session, review: Review, chosen: Selection) -> list[int]:
    query = sa.select(Record.id).where(
        *live(review),
    )
    if chosen.questions:
        question_ids = _question_ids(session, review, chosen.questions)
        query = query.where(
            Record.id.in_(
                sa.select(RecordTag.record_id).where(RecordTag.question_id.in_(question_ids))
            )
        )
    ids = list(session.scalars(query.order_by(Record.id)))
    if chosen.stage is not None:
        found = outcomes(session, review, chosen.stage)
        ids = [i for i in ids if i in found and found[i].decision == chosen.decision]
    return ids


def nothing_selected(session: Session, review: Review, chosen: Selection) -> NothingSelected:
    """The one-line refusal of an empty selection, saying what the other stage holds."""
    message = f"no {chosen.describe()} in review {review.slug}: nothing to export"
    if chosen.stage is not None:
        other = TITLE_ABSTRACT if chosen.stage == FULL_TEXT else FULL_TEXT
        there = Selection(chosen.decision, other, chosen.questions)
        elsewhere = len(_selected_ids(session, review, there))
        if elsewhere:
            message += (
                f" ({elsewhere} {'has' if elsewhere == 1 else 'have'} decision "
                f"{chosen.decision} at {STAGE_NAMES[other]}: choose that stage)"
            )
    return NothingSelected(message)


def select_records(session: Session, review: Review, chosen: Selection) -> list[Record]:
    """The review's live records in ``chosen``, by id."""
    ids = _selected_ids(session, review, chosen)
    records: list[Record] = []
    for start in range(0, len(ids), _CHUNK):
        records += session.scalars(
            sa.select(Record).where(Record.id.in_(ids[start : start + _CHUNK])).order_by(Record.id)
        )
    return records


def _question_ids(session: Session, review: Review, codes: Sequence[str]) -> list[int]:
    questions = list(
        session.scalars(
            sa.select(ReviewQuestion)
            .where(ReviewQuestion.review_id == review.id)
            .order_by(ReviewQuestion.position)
        )
    )
    by_code = {q.code.lower(): q.id for q in questions}
    unknown = [c for c in codes if c.strip().lower() not in by_code]
    if unknown:
        known = ", ".join(q.code for q in questions) or "none yet"
        raise Invalid(
            f"no review question {', '.join(repr(c) for c in unknown)} in review "
            f"{review.slug} (its questions: {known})"
        )
    return [by_code[c.strip().lower()] for c in codes]


def export_records(
    session: Session,
    review: Review,
    format: str,
    *,
    decision: str | None = None,
    stage: str | None = None,
    questions: Sequence[str] = (),
) -> RecordsExport:
    """The selected records in ``format`` (ris, bibtex, csv or csljson): those with
    ``decision`` at ``stage`` (see :func:`selection`) tagged to any of ``questions``.
    NothingSelected when there are none: an empty file would look like an export."""
    if format not in FORMATS:
        raise Invalid(f"format {format!r}: choose {', '.join(FORMATS)}")
    chosen = selection(decision, stage, questions)
    records = select_records(session, review, chosen)
    if not records:
        raise nothing_selected(session, review, chosen)
    return RecordsExport(format, _write(session, review, format, records), len(records), chosen)


def export_chosen_records(
    session: Session, review: Review, format: str, record_ids: Sequence[int]
) -> RecordsExport:
    """The records a person picked (the records table's bulk export), in ``format``, by
    id: the same writers as :func:`export_records`. Records merged away or withdrawn
    are left out, as every records export leaves them; NothingSelected when none is
    left."""
    if format not in FORMATS:
        raise Invalid(f"format {format!r}: choose {', '.join(FORMATS)}")
    wanted = sorted(set(record_ids))
    records: list[Record] = []
    for start in range(0, len(wanted), _CHUNK):
        records += session.scalars(
            sa.select(Record)
            .where(
                Record.id.in_(wanted[start : start + _CHUNK]),
                *live(review),
            )
            .order_by(Record.id)
        )
    if not records:
        raise NothingSelected(
            f"none of the {len(wanted)} records selected can be exported "
            "(merged into another record or withdrawn)"
        )
    return RecordsExport(format, _write(session, review, format, records), len(records), CHOSEN)


def _write(session: Session, review: Review, format: str, records: list[Record]) -> str:
    keys = citation_keys(records)
    if format == "csv":
        return to_csv(session, review, records, keys)
    writer = {"ris": to_ris, "bibtex": to_bibtex, "csljson": to_csljson}[format]
    return writer(records, keys)


# ---------------------------------------------------------------- keys


def citation_keys(records: Iterable[Record]) -> dict[int, str]:
    """A readable, unique key per record: first author, year, first title word (a-z0-9)."""
    keys: dict[int, str] = {}
    used: set[str] = set()
    for record in records:
        family = record.authors[0].get("family") if record.authors else None
        words = [w for w in _ascii(record.title or "").split() if len(w) > 3]
        base = (_ascii(family or "").replace(" ", "") or "anon") + str(record.year or "")
        base += words[0] if words else ""
        key, n = base or f"record{record.id}", 0
        while key in used:
            n += 1
            key = f"{base}{_suffix(n)}"
        used.add(key)
        keys[record.id] = key
    return keys


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold())
    return re.sub(r"[^a-z0-9 ]+", "", "".join(c for c in folded if c.isascii()))


def _suffix(n: int) -> str:
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def _one_line(value: str | None) -> str:
    return " ".join(csl.clean_text(value).split())


# ---------------------------------------------------------------- RIS

RIS_TYPES = {
    "article": "JOUR",
    "book": "BOOK",
    "chapter": "CHAP",
    "conference": "CPAPER",
    "thesis": "THES",
    "report": "RPRT",
    "webpage": "ELEC",
    "dataset": "DATA",
    "other": "GEN",
}


_RANGE = re.compile(
    r"^\s*([^\s\-\u2010-\u2015]+)\s*[-\u2010-\u2015]+\s*([^\s\-\u2010-\u2015]+)\s*$"
)


def page_range(pages: str | None) -> tuple[str | None, str | None]:
    """A record's pages as RIS wants them: "12-34" (or an en dash) is SP 12 and EP 34;
    anything else ("e0815", "12, 15-17") is SP alone."""
    text = _one_line(pages)
    if not text:
        return None, None
    match = _RANGE.match(text)
    return (match.group(1), match.group(2)) if match else (text, None)


def to_ris(records: Iterable[Record], keys: dict[int, str]) -> str:
    """RIS: one ``TY`` ... ``ER`` block per record, one author per ``AU`` line."""
    out: list[str] = []

    def tag(name: str, value: object) -> None:
        text = _one_line(str(value)) if value is not None else ""
        if text:
            out.append(f"{name}  - {text}")

    for record in records:
        out.append(f"TY  - {RIS_TYPES.get(record.type, 'GEN')}")
        tag("ID", keys[record.id])
        tag("TI", record.title)
        for author in record.authors or ():
            family, given = author.get("family") or "", author.get("given") or ""
            tag("AU", f"{family}, {given}" if given else family)
        tag("PY", record.year)
        tag("T2", record.venue)
        tag("VL", record.volume)
        tag("IS", record.issue)
        first, last = page_range(record.pages)
        tag("SP", first)
        tag("EP", last)
        tag("PB", record.publisher)
        tag("SN", record.isbn)
        tag("DO", record.doi)
        if record.pmid:
            tag("AN", f"PMID: {record.pmid}")
        tag("UR", record.url)
        tag("LA", record.language)
        for keyword in record.keywords or ():
            tag("KW", keyword)
        tag("AB", record.abstract)
        for line in csl.clean_text(record.note).splitlines():
            tag("N1", line)
        out.append("ER  - ")
        out.append("")
    return "\n".join(out) + ("\n" if out else "")


# ---------------------------------------------------------------- BibTeX

BIBTEX_TYPES = {
    "article": "article",
    "book": "book",
    "chapter": "incollection",
    "conference": "inproceedings",
    "thesis": "phdthesis",
    "report": "techreport",
    "webpage": "online",
    "dataset": "dataset",
    "other": "misc",
}
_VENUE_FIELD = {"chapter": "booktitle", "conference": "booktitle", "book": "series"}
_LATEX = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
}
_LATEX_CHARS = re.compile(r"[\\{}&%$#_~]")
# Runs a BibTeX reader turns into typography: "--" into a dash, `` and '' into quotes.
_LIGATURES = re.compile(r"-(?=-)|`(?=`)|'(?=')")
_URL_CHARS = re.compile(r"([%&#_$~])")
_NAME_NEEDS_BRACES = re.compile(r",|\band\b", re.IGNORECASE)


def latex_escape(value: str | None) -> str:
    """Text for a BibTeX field: LaTeX specials escaped, everything else as it is."""
    text = _LATEX_CHARS.sub(lambda m: _LATEX[m.group()], _one_line(value))
    return _LIGATURES.sub(lambda m: "\\mbox{" + m.group() + "}", text)


def _verbatim(value: str | None) -> str:
    """A URL or identifier: only the characters a reader unescapes are escaped."""
    return _URL_CHARS.sub(r"\\\1", _one_line(value).replace("{", "").replace("}", ""))


def _bibtex_name(author: dict) -> str:
    family = latex_escape(author.get("family"))
    given = latex_escape(author.get("given"))
    if not given:
        return "{" + family + "}"  # a corporate author: one name, never split
    if _NAME_NEEDS_BRACES.search(family):
        family = "{" + family + "}"
    if _NAME_NEEDS_BRACES.search(given):
        given = "{" + given + "}"
    return f"{family}, {given}"


def to_bibtex(records: Iterable[Record], keys: dict[int, str]) -> str:
    """BibTeX (UTF-8), one entry per record."""
    entries = []
    for record in records:
        values = [
            ("author", " and ".join(_bibtex_name(a) for a in record.authors or ())),
            ("title", latex_escape(record.title)),
            (_VENUE_FIELD.get(record.type, "journal"), latex_escape(record.venue)),
            ("year", str(record.year) if record.year else ""),
            ("volume", latex_escape(record.volume)),
            ("number", latex_escape(record.issue)),
            ("pages", latex_escape(record.pages)),
            ("publisher", latex_escape(record.publisher)),
            ("isbn", _verbatim(record.isbn)),
            ("doi", _verbatim(record.doi)),
            ("pmid", _verbatim(record.pmid)),
            ("url", _verbatim(record.url)),
            ("language", latex_escape(record.language)),
            ("keywords", ", ".join(latex_escape(k) for k in record.keywords or ())),
            ("abstract", latex_escape(record.abstract)),
            ("note", latex_escape(record.note)),
        ]
        fields = [(name, value) for name, value in values if value]
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        kind = BIBTEX_TYPES.get(record.type, "misc")
        entries.append(f"@{kind}{{{keys[record.id]},\n{body}\n}}\n" if body else "")
    return "\n".join(e for e in entries if e)


# ---------------------------------------------------------------- CSL-JSON


def to_csljson(records: Iterable[Record], keys: dict[int, str]) -> str:
    """A CSL-JSON array (as Zotero writes it), keys as item ids."""
    items = [csl.csl_item(record, keys[record.id]) for record in records]
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"
