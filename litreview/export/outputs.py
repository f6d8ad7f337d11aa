"""Each export as a file: its bytes, name, media type and a summary.

The CLI and the web's export page both call these, so a download and a command give
the same file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from litreview.errors import Invalid
from litreview.export import annotated, prisma
from litreview.export import docx as docx_format
from litreview.export import html as html_format
from litreview.export import markdown as markdown_format
from litreview.export import record_files as records_format
from litreview.models import Review

ANNOTATED_FORMATS = {
    "docx": ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "html": ("html", "text/html; charset=utf-8"),
    "md": ("md", "text/markdown; charset=utf-8"),
}
PRISMA_FORMATS = {
    "svg": ("svg", "image/svg+xml"),
    "png": ("png", "image/png"),
    "json": ("json", "application/json"),
}
# What a file's extension says its format is, for each kind of export.
BY_EXTENSION = {
    "annotated": {"docx": "docx", "html": "html", "htm": "html", "md": "md", "markdown": "md"},
    "records": {"ris": "ris", "bib": "bibtex", "bibtex": "bibtex", "csv": "csv", "json": "csljson"},
    "prisma": {"svg": "svg", "png": "png", "json": "json"},
}
PAGE_SIZES = tuple(docx_format.PAGE_SIZES)
PAGE_NAMES = {"a4": "A4", "letter": "US Letter"}
FORMATS = {
    "annotated": tuple(ANNOTATED_FORMATS),
    "records": records_format.FORMATS,
    "prisma": prisma.FORMATS,
}


@dataclass
class ExportFile:
    """One exported file, ready to write or send."""

    data: bytes
    filename: str
    media_type: str
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def is_text(self) -> bool:
        return not self.media_type.startswith(("image/png", "application/vnd.openxml"))


def choose_format(kind: str, format: str | None, filename: str | None) -> str:
    """The format asked for, else the one the output file's extension names."""
    known = FORMATS[kind]
    if format:
        if format not in known:
            raise Invalid(f"{kind} export: format {format!r}: choose {', '.join(known)}")
        return format
    if filename and "." in filename:
        found = BY_EXTENSION[kind].get(filename.rsplit(".", 1)[1].lower())
        if found:
            return found
    raise Invalid(f"{kind} export: say which format with --format ({', '.join(known)})")


def annotated_file(
    session: Session,
    review: Review,
    format: str,
    *,
    style: str | None = None,
    questions: Sequence[str] = (),
    stage: str | None = None,
    decision: str | None = None,
    include_untagged: bool = False,
    show_decisions: bool = False,
    page_size: str | None = None,
) -> ExportFile:
    """The annotated bibliography as DOCX, HTML or Markdown; a DOCX on ``page_size``
    paper (a4, the default, or letter)."""
    if format not in ANNOTATED_FORMATS:
        raise Invalid(f"format {format!r}: choose {', '.join(ANNOTATED_FORMATS)}")
    page_size = page_size or docx_format.DEFAULT_PAGE_SIZE
    if page_size not in PAGE_SIZES:
        raise Invalid(f"page size {page_size!r}: choose {' or '.join(PAGE_SIZES)}")
    bib = annotated.build(
        session,
        review,
        style=style,
        questions=questions,
        stage=stage,
        decision=decision,
        include_untagged=include_untagged,
        show_decisions=show_decisions,
    )
    if format == "docx":
        data = docx_format.render(bib, page_size)
    elif format == "html":
        data = html_format.render(bib).encode("utf-8")
    else:
        data = markdown_format.render(bib).encode("utf-8")
    extension, media_type = ANNOTATED_FORMATS[format]
    summary = {
        "style": bib.style.name,
        "sections": [
            {"code": s.code, "title": s.title, "records": len(s.entries)} for s in bib.sections
        ],
        "records": bib.record_count,
    }
    if format == "docx":
        summary["page_size"] = page_size
    return ExportFile(data, f"{review.slug}-annotated.{extension}", media_type, summary)


def records_file(
    session: Session,
    review: Review,
    format: str,
    *,
    decision: str | None = None,
    stage: str | None = None,
    questions: Sequence[str] = (),
) -> ExportFile:
    """The selected records as RIS, BibTeX, CSV or CSL-JSON; NothingSelected (an
    Invalid) when the selection is empty, rather than an empty file."""
    done = records_format.export_records(
        session, review, format, decision=decision, stage=stage, questions=questions
    )
    return _records_export(review, format, done)


def chosen_records_file(
    session: Session, review: Review, format: str, record_ids: Sequence[int]
) -> ExportFile:
    """The records picked on the records table as RIS, BibTeX, CSV or CSL-JSON (the same
    writers as :func:`records_file`); NothingSelected when none can be exported."""
    done = records_format.export_chosen_records(session, review, format, record_ids)
    return _records_export(review, format, done)


def _records_export(review: Review, format: str, done: records_format.RecordsExport) -> ExportFile:
    encoding = "utf-8-sig" if format == "csv" else "utf-8"  # the BOM tells Excel it is UTF-8
    extension = records_format.EXTENSIONS[format]
    chosen = done.selection
    # The file's name says which decision at which stage it holds: "ai-sw-include-full-text".
    name = f"{chosen.decision}-{chosen.stage.replace('_', '-')}" if chosen.stage else "records"
    if chosen.picked:
        name = "selected"
    return ExportFile(
        done.text.encode(encoding),
        f"{review.slug}-{name}.{extension}",
        records_format.MEDIA_TYPES[format],
        {
            "records": done.count,
            "decision": done.selection.decision,
            "stage": done.selection.stage,
            "questions": list(done.selection.questions),
            "selection": done.selection.describe(done.count),
        },
    )


def prisma_file(session: Session, review: Review, format: str) -> ExportFile:
    """The PRISMA 2020 flow diagram as SVG or PNG, or its numbers as JSON."""
    data, numbers = prisma.export_prisma(session, review, format)
    extension, media_type = PRISMA_FORMATS[format]
    return ExportFile(data, f"{review.slug}-prisma.{extension}", media_type, numbers.to_json())
