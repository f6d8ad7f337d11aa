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
from litreview.screening.outcomes import FULL_TEXT
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


@dataclass
class RecordsExport:
    """The text of the file and how many records it holds."""

    format: str
    text: str
    count: int


def select_records(
    session: Session,
    review: Review,
    *,
    decision: str | None = None,
    stage: str | None = None,
    questions: Sequence[str] = (),
) -> list[Record]:
    """The review's live records, by id; only those with ``decision`` at ``stage``
    (full text by default) and tagged to any of ``questions`` when given."""
    if stage is not None and stage not in STAGES:
        raise Invalid(f"stage {stage!r}: choose {' or '.join(STAGES)}")
    if decision is not None and decision not in DECISIONS:
        raise Invalid(f"decision {decision!r}: choose {', '.join(DECISIONS)}")
    query = sa.select(Record.id).where(
        Record.review_id == review.id,
        Record.merged_into_id.is_(None),
        Record.withdrawn_at.is_(None),
    )
    if questions:
        chosen = _question_ids(session, review, questions)
        query = query.where(
            Record.id.in_(sa.select(RecordTag.record_id).where(RecordTag.question_id.in_(chosen)))
        )
    ids = list(session.scalars(query.order_by(Record.id)))
    if decision is not None or stage is not None:
        found = outcomes(session, review, stage or FULL_TEXT)
        wanted = decision or "include"
        ids = [i for i in ids if i in found and found[i].decision == wanted]
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
    """The selected records in ``format`` (ris, bibtex, csv or csljson)."""
    if format not in FORMATS:
        raise Invalid(f"format {format!r}: choose {', '.join(FORMATS)}")
    records = select_records(session, review, decision=decision, stage=stage, questions=questions)
    keys = citation_keys(records)
    if format == "csv":
        text = to_csv(session, review, records, keys)
    else:
        writer = {"ris": to_ris, "bibtex": to_bibtex, "csljson": to_csljson}[format]
        text = writer(records, keys)
    return RecordsExport(format, text, len(records))


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
        tag("SP", record.pages)
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
