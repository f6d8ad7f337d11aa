"""Full texts: attach a PDF to a record, store it once, keep the text of each page.

A PDF is stored once by its SHA-256 in the attachment store, as ``files/ab/<sha256>.pdf``
(``<data dir>/files``, or LITREVIEW_ATTACHMENTS_DIR on a team server):
the name is generated, never the user's path, so no file name can climb out of the
folder, and the same PDF attached twice (to one record or to several) is one file.
Its text is read page by page in a child process (:mod:`litreview.ingest.pdf`) and
kept in AttachmentPage rows, the source of truth the search index is built from.
A PDF that gives no text is still attached, with a status saying why.

:func:`attach_folder` matches a folder of PDFs to a review's records: by a DOI or a
citation key in the file name, by a DOI printed in the PDF, or by the title (in the
file name or on the first pages).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.config import Settings
from litreview.errors import Invalid
from litreview.evidence.tags import live_record
from litreview.ingest.pdf import STATUS_MEMORY, STATUS_TIMEOUT, PdfText, extract_pages
from litreview.models import Attachment, AttachmentPage, Record, RecordSource, Review

log = logging.getLogger(__name__)

MAX_PDF_BYTES = 300 * 1024 * 1024
_DOI_IN_TEXT = re.compile(r"\b(10\.\d{4,9}/[^\s\"'<>]+)", re.IGNORECASE)
Progress = Callable[[int, int], None]


@dataclass
class Attached:
    """What attaching one file did: ``created`` is False when it was already attached."""

    attachment: Attachment
    created: bool

    def to_json(self) -> dict[str, Any]:
        a = self.attachment
        return {
            "attachment": a.id,
            "record": a.record_id,
            "file": a.filename,
            "sha256": a.sha256,
            "pages": a.page_count,
            "status": a.status,
            "already_attached": not self.created,
        }


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _check_pdf(path: Path) -> int:
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(1024)
    except FileNotFoundError:
        raise Invalid(f"{path}: no such file") from None
    except IsADirectoryError:
        raise Invalid(f"{path}: is a folder (use --dir for a folder of PDFs)") from None
    except OSError as exc:
        raise Invalid(f"{path}: cannot be read ({exc.strerror})") from None
    if size > MAX_PDF_BYTES:
        raise Invalid(f"{path.name}: {size / 2**20:.0f} MB is larger than the 300 MB allowed")
    if b"%PDF-" not in head:
        raise Invalid(f"{path.name}: not a PDF (it does not start with %PDF-)")
    return size


def stored_path(settings: Settings, sha256: str) -> tuple[str, Path]:
    """Where a PDF with this hash lives: as stored (``files/...``), and absolute."""
    relative = f"files/{sha256[:2]}/{sha256}.pdf"
    return relative, settings.attachment_file(relative)


def store_file(settings: Settings, path: Path, sha256: str) -> str:
    """Copy the file into the data folder under its hash (once); its relative path."""
    relative, target = stored_path(settings, sha256)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # Copy beside the target, then rename: a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, path.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return relative


def known_text(session: Session, sha256: str) -> PdfText | None:
    """The text already read from a PDF with this hash, if any (a PDF is read once)."""
    earlier = session.scalar(
        sa.select(Attachment)
        .where(
            Attachment.sha256 == sha256,
            Attachment.kind == "pdf",
            Attachment.status.not_in([STATUS_TIMEOUT, STATUS_MEMORY]),
        )
        .order_by(Attachment.id)
        .limit(1)
    )
    if earlier is None:
        return None
    pages: dict[int, str] = {p.page: p.text for p in earlier.pages if p.page is not None}
    count = earlier.page_count or (max(pages) if pages else 0)
    return PdfText(
        status=earlier.status,
        pages=[pages.get(n, "") for n in range(1, (max(pages) if pages else 0) + 1)],
        page_count=count,
    )


def record_attachments(session: Session, review: Review, record_id: int) -> list[Attachment]:
    """The files attached to a record of this review, in the order they were attached:
    one query (none of the record's pages loaded)."""
    return list(
        session.scalars(
            sa.select(Attachment)
            .where(Attachment.record_id == record_id, Attachment.review_id == review.id)
            .order_by(Attachment.id)
        )
    )


def record_attachment(
    session: Session, review: Review, record_id: int, attachment_id: int
) -> Attachment | None:
    """Attachment ``attachment_id`` if it belongs to this record of this review, else None."""
    return session.scalar(
        sa.select(Attachment).where(
            Attachment.id == attachment_id,
            Attachment.record_id == record_id,
            Attachment.review_id == review.id,
        )
    )


def full_text(
    session: Session, review: Review, record_id: int
) -> tuple[list[Attachment], list[AttachmentPage]]:
    """A record's attachments (as :func:`record_attachments`) and the text of all their
    pages, by attachment then page number: two queries at most, whatever the size."""
    attachments = record_attachments(session, review, record_id)
    pages: list[AttachmentPage] = []
    if attachments:
        pages = list(
            session.scalars(
                sa.select(AttachmentPage)
                .where(AttachmentPage.attachment_id.in_([a.id for a in attachments]))
                .order_by(AttachmentPage.attachment_id, AttachmentPage.page)
            )
        )
    return attachments, pages


def attach_pdf(
    session: Session,
    settings: Settings,
    review: Review,
    record_id: int,
    path: Path,
    actor: str,
    *,
    origin: str = "upload",
    text: PdfText | None = None,
    sha256: str | None = None,
    matched_by: str | None = None,
) -> Attached:
    """Attach the PDF at ``path`` to a record, store it, keep its text page by page.

    The same PDF attached to the same record again changes nothing. ``text`` may be
    given when the caller has read it already.
    """
    record = live_record(session, review, record_id)
    path = Path(path)
    size = _check_pdf(path)
    sha256 = sha256 or sha256_of(path)
    existing = session.scalar(
        sa.select(Attachment).where(Attachment.record_id == record.id, Attachment.sha256 == sha256)
    )
    if existing is not None:
        return Attached(existing, created=False)
    if text is None:
        text = known_text(session, sha256) or extract_pages(path)
    relative = store_file(settings, path, sha256)
    attachment = Attachment(
        review_id=review.id,
        record_id=record.id,
        kind="pdf",
        sha256=sha256,
        path=relative,
        filename=path.name[:500],
        size=size,
        page_count=text.page_count,
        status=text.status,
        origin=origin,
        created_by=actor,
    )
    attachment.pages = [
        AttachmentPage(page=number, text=page)
        for number, page in enumerate(text.pages, start=1)
        if page.strip()
    ]
    session.add(attachment)
    session.flush()
    audit.log(
        session,
        actor,
        "attachment.add",
        review_id=review.id,
        target_type="record",
        target_id=record.id,
        attachment=attachment.id,
        file=attachment.filename,
        sha256=sha256,
        status=attachment.status,
        pages=len(attachment.pages),
        matched_by=matched_by,
    )
    return Attached(attachment, created=True)


# ---------------------------------------------------------------------- a folder


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
            _check_pdf(path)
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
