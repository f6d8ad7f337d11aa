"""Full texts: attach a PDF to a record, store it once, keep the text of each page.

A PDF is stored once by its SHA-256 in the attachment store, as ``files/ab/<sha256>.pdf``
(``<data dir>/files``, or LITREVIEW_ATTACHMENTS_DIR on a team server):
the name is generated, never the user's path, so no file name can climb out of the
folder, and the same PDF attached twice (to one record or to several) is one file.
Its text is read page by page in a child process (:mod:`litreview.ingest.pdf`) and
kept in AttachmentPage rows, the source of truth the search index is built from.
A PDF that gives no text is still attached, with a status saying why.

:mod:`litreview.evidence.pdf_folder` matches a folder of PDFs to a review's records.
A full text can be removed or replaced: audited, and its text leaves the index.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.config import Settings
from litreview.errors import Invalid, NotFound
from litreview.evidence.tags import live_record
from litreview.ingest.pdf import STATUS_MEMORY, STATUS_TIMEOUT, PdfText, extract_pages
from litreview.models import Attachment, AttachmentPage, Review

log = logging.getLogger(__name__)

MAX_PDF_BYTES = 300 * 1024 * 1024
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


def check_pdf(path: Path) -> int:
    """The size of the PDF at ``path``; Invalid naming the file when it is not one."""
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
    size = check_pdf(path)
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


# ---------------------------------------------------------------- removing, replacing


def remove_attachment(
    session: Session, review: Review, record_id: int, attachment_id: int, actor: str
) -> Attachment:
    """Take a full text off a record: its row and the text of its pages go (the search
    index follows: the outbox queues the record, PostgreSQL's search columns go with
    the pages). The audit log keeps which file it was (name, hash, who added it when).
    The stored file stays under its hash: another record may share it, and a backup or
    an undo can still find it. NotFound for an attachment not on this record."""
    record = live_record(session, review, record_id)
    attachment = record_attachment(session, review, record.id, attachment_id)
    if attachment is None:
        raise NotFound(f"record {record_id} has no attachment {attachment_id}")
    kept = {
        "attachment": attachment.id,
        "file": attachment.filename,
        "kind": attachment.kind,
        "sha256": attachment.sha256,
        "pages": attachment.page_count,
        "added_by": attachment.created_by,
        "added_at": attachment.created_at.isoformat() if attachment.created_at else None,
    }
    session.delete(attachment)
    session.flush()
    audit.log(
        session,
        actor,
        "attachment.remove",
        review_id=review.id,
        target_type="record",
        target_id=record.id,
        **kept,
    )
    return attachment


def replace_attachment(
    session: Session,
    settings: Settings,
    review: Review,
    record_id: int,
    attachment_id: int,
    path: Path,
    actor: str,
) -> Attached:
    """Put the PDF at ``path`` in place of attachment ``attachment_id``: the new file is
    checked and read first (Invalid leaves the old one as it was), then the old one is
    removed, both audited, in the caller's one transaction. Replacing a file by the
    same file changes nothing."""
    record = live_record(session, review, record_id)
    old = record_attachment(session, review, record.id, attachment_id)
    if old is None:
        raise NotFound(f"record {record_id} has no attachment {attachment_id}")
    path = Path(path)
    check_pdf(path)
    sha256 = sha256_of(path)
    if sha256 == old.sha256:
        return Attached(old, created=False)
    attached = attach_pdf(session, settings, review, record.id, path, actor, sha256=sha256)
    remove_attachment(session, review, record.id, old.id, actor)
    return attached
