"""A folder of PDFs matched to a review's records and attached (``attach-pdf --dir``).

Each PDF is matched by a DOI or a citation key in its file name, by a DOI printed in
the PDF, or by the title (in the file name or on the first pages); then attached by
:func:`litreview.evidence.attachments.attach_pdf`. Nothing is guessed: a file that
matches several records is left for a person.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.config import Settings
from litreview.errors import Invalid
from litreview.evidence.attachments import (
    Progress,
    attach_pdf,
    check_pdf,
    known_text,
    sha256_of,
)
from litreview.ingest.pdf import PdfText, extract_pages
from litreview.models import Record, RecordSource, Review

_DOI_IN_TEXT = re.compile(r"\b(10\.\d{4,9}/[^\s\"'<>]+)", re.IGNORECASE)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _doi_key(doi: str) -> str:
    doi = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:)", "", doi.strip().lower())
    return re.sub(r"[^a-z0-9]", "", doi)


class _Matcher:
    """A review's records by DOI, citation key and title, to match file names and texts."""

    MIN_TITLE = 20  # characters of folded title, so "Introduction" matches nothing

    def __init__(self, session: Session, review: Review) -> None:
        self.by_doi: dict[str, set[int]] = defaultdict(set)
        self.by_key: dict[str, set[int]] = defaultdict(set)
        self.by_title: dict[str, set[int]] = defaultdict(set)
        rows = session.execute(
            sa.select(Record.id, Record.doi, Record.title).where(
                Record.review_id == review.id, Record.merged_into_id.is_(None)
            )
        )
        for record_id, doi, title in rows:
            if doi:
                self.by_doi[_doi_key(doi)].add(record_id)
            folded = _fold(title or "")
            if len(folded) >= self.MIN_TITLE:
                self.by_title[folded].add(record_id)
        for record_id, key in session.execute(
            sa.select(RecordSource.record_id, RecordSource.entry_key)
            .join(Record, Record.id == RecordSource.record_id)
            .where(Record.review_id == review.id, Record.merged_into_id.is_(None))
        ):
            if key:
                self.by_key[key.strip().lower()].add(record_id)

    def by_file_name(self, path: Path) -> tuple[set[int], str]:
        stem = path.stem
        for candidate in (stem, re.sub(r"^doi[\s_:-]*", "", stem, flags=re.IGNORECASE)):
            if candidate.startswith("10.") and (ids := self.by_doi.get(_doi_key(candidate))):
                return ids, "DOI in the file name"
        if ids := self.by_key.get(stem.strip().lower()):
            return ids, "citation key in the file name"
        folded = _fold(stem)
        if ids := self.by_title.get(folded):
            return ids, "title in the file name"
        found = {i for title, ids in self.by_title.items() if title in folded for i in ids}
        return (found, "title in the file name") if found else (set(), "")

    def by_text(self, text: PdfText) -> tuple[set[int], str]:
        opening = "\n".join(text.pages[:3])
        for match in _DOI_IN_TEXT.finditer(opening):
            doi = match.group(1).rstrip(".,;:)]}")
            if ids := self.by_doi.get(_doi_key(doi)):
                return ids, "DOI in the PDF"
        folded = _fold(" ".join(text.pages[:2]))
        found = {i for title, ids in self.by_title.items() if title in folded for i in ids}
        return (found, "title in the PDF") if found else (set(), "")


def attach_folder(
    session: Session,
    settings: Settings,
    review: Review,
    folder: Path,
    actor: str,
    *,
    progress: Progress | None = None,
    workers: int = 2,
) -> list[dict[str, Any]]:
    """Attach every PDF in ``folder`` (and below) to the record it matches.

    Returns one entry per file: the record and how it matched, or why it was not
    attached (no match, several matches, not a PDF). Nothing is guessed: a file that
    matches several records is left for a person to attach with ``--record``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise Invalid(f"{folder}: not a folder")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf")
    matcher = _Matcher(session, review)
    report: list[dict[str, Any]] = []
    checked: list[tuple[Path, str, PdfText | None]] = []
    for path in files:
        try:
            check_pdf(path)
        except Invalid as exc:
            report.append({"file": str(path), "record": None, "error": str(exc)})
            continue
        sha = sha256_of(path)
        checked.append((path, sha, known_text(session, sha)))
    # Reading PDFs is the slow part and runs in child processes: a few at a time.
    unread = [path for path, _, text in checked if text is None]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        read = dict(zip(unread, pool.map(extract_pages, unread), strict=True))
    for done, (path, sha, text) in enumerate(checked, start=1):
        text = text or read[path]
        ids, how = matcher.by_file_name(path)
        if not ids:
            ids, how = matcher.by_text(text)
        entry: dict[str, Any] = {"file": str(path), "record": None, "matched_by": how or None}
        if not ids:
            entry["error"] = "no record matches (no known DOI, citation key or title found)"
        elif len(ids) > 1:
            listed = ", ".join(str(i) for i in sorted(ids))
            entry["error"] = f"matches several records ({listed}): attach it with --record"
        else:
            [record_id] = ids
            attached = attach_pdf(
                session,
                settings,
                review,
                record_id,
                path,
                actor,
                origin="folder",
                text=text,
                sha256=sha,
                matched_by=how,
            )
            entry.update(attached.to_json(), file=str(path))
        report.append(entry)
        if progress:
            progress(done, len(checked))
    return report
