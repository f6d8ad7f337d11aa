"""The files of a Zotero import or sync: PDF attachments and Zotero's own full text.

PDFs are downloaded (a few at a time) into the data folder under their SHA-256, so the
same file is stored once whatever it is attached to, and linked to their record as
Attachment rows (kind "pdf", status "pending": text extraction is another step).
Zotero's indexed text of an attachment is kept as an Attachment of kind
"zotero_fulltext" with one page of text (page None), so full-text search works before
any PDF is read. A file that cannot be had (a linked file, one never synced to
Zotero's storage, a damaged download, not a PDF) is reported, never fatal.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Callable
from contextlib import closing
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.config import Settings
from litreview.ingest.text_clean import storable
from litreview.ingest.zotero_items import is_pdf_attachment
from litreview.models import Attachment, AttachmentPage, Review
from litreview.zotero.client import ZoteroClient

if TYPE_CHECKING:
    from litreview.zotero.report import SyncReport

log = logging.getLogger(__name__)

ORIGIN = "zotero"  # Attachment.origin of what came from Zotero


def store_file(settings: Settings, content: bytes, suffix: str = ".pdf") -> tuple[str, str]:
    """Keep a file in the data folder under its SHA-256; returns (sha256, path in the folder).

    The same content is stored once; the path is made from the hash, never from a name
    that came from outside.
    """
    sha = hashlib.sha256(content).hexdigest()
    folder = settings.attachments_dir / sha[:2]
    path = folder / f"{sha}{suffix}"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{sha}.{os.getpid()}.part"
        partial.write_bytes(content)
        os.replace(partial, path)  # whole or not at all, even if two imports race
    return sha, f"files/{path.relative_to(settings.attachments_dir).as_posix()}"


class ZoteroFiles:
    """Brings the files of one import or sync in; knows records only through ``parent_of``."""

    def __init__(
        self,
        session: Session,
        review: Review,
        client: ZoteroClient,
        settings: Settings,
        actor: str,
        report: SyncReport,
        parent_of: Callable[[dict[str, Any]], int | None],
        step: Callable[[str, int, int | None], None],
    ) -> None:
        self.session = session
        self.review = review
        self.client = client
        self.settings = settings
        self.actor = actor
        self.report = report
        self.parent_of = parent_of  # an attachment's data -> its record, if we have it
        self.step = step
        self.parents: dict[str, int] = {}  # attachment key -> record, from this run
        self.writing = 0.0  # seconds spent writing files

    def _problem(self, key: str, message: str) -> None:
        self.report.problems.append({"item": key, "message": message})
        log.info("zotero attachment %s: %s", key, message)

    def attachments(self, attachments: dict[str, dict[str, Any]]) -> None:
        """Download each PDF attachment not stored yet, and link it to its record."""
        stored = self.session.execute(
            sa.select(
                Attachment.record_id, Attachment.sha256, Attachment.zotero_key, Attachment.path
            ).where(Attachment.review_id == self.review.id)
        ).all()
        have = {(row.record_id, row.sha256) for row in stored}
        paths: dict[tuple[int, str], list[str]] = {}
        for row in stored:
            if row.zotero_key and row.path:
                paths.setdefault((row.record_id, row.zotero_key), []).append(row.path)
        downloads: dict[str, tuple[dict[str, Any], int, str]] = {}
        for key, data in attachments.items():
            parent = self.parent_of(data)
            if parent is None:
                self.report.skipped += 1
                continue
            self.parents[key] = parent
            if data.get("deleted") or not is_pdf_attachment(data):
                continue
            name = _file_label(data, key)
            mode = data.get("linkMode")
            if mode == "linked_file":
                self._problem(
                    key,
                    f"{name} is a linked file, kept on the computer it was added from and not "
                    "in Zotero's storage: not downloaded",
                )
            elif mode in ("imported_file", "imported_url"):  # not a link to a web page
                if not self._stored_already(paths.get((parent, key), []), _md5(data)):
                    downloads[key] = (data, parent, name)
        with closing(self.client.files(list(downloads))) as fetched:
            for n, (key, content) in enumerate(fetched, start=1):
                self.step("files", n, len(downloads))
                self._keep_pdf(key, *downloads[key], content, have)

    def _keep_pdf(
        self,
        key: str,
        data: dict[str, Any],
        parent: int,
        name: str,
        content: bytes | None,
        have: set[tuple[int, str]],
    ) -> None:
        """Store a downloaded PDF and link it to its record, unless it is wrong."""
        if content is None:
            self._problem(key, f"{name} is not in Zotero's storage (never synced?): not downloaded")
            return
        md5 = _md5(data)
        if md5 and hashlib.md5(content, usedforsecurity=False).hexdigest() != md5:
            self._problem(key, f"{name} arrived damaged (its MD5 differs from Zotero's): not kept")
            return
        if not content.startswith(b"%PDF"):
            self._problem(key, f"{name} is not a PDF: not kept")
            return
        started = time.perf_counter()
        sha, path = store_file(self.settings, content)
        self.writing += time.perf_counter() - started
        if (parent, sha) in have:
            return
        have.add((parent, sha))
        attachment = Attachment(
            review_id=self.review.id,
            record_id=parent,
            kind="pdf",
            sha256=sha,
            path=path,
            filename=name,
            size=len(content),
            status="pending",
            origin=ORIGIN,
            zotero_key=key,
            created_by=self.actor,
        )
        self.session.add(attachment)
        self.report.pdfs += 1

    def _stored_already(self, paths: list[str], md5: str | None) -> bool:
        """True when this attachment's file is stored already (same MD5, when Zotero gave one)."""
        if not paths:
            return False
        if md5 is None:
            return True
        for path in paths:
            try:
                content = self.settings.attachment_file(path).read_bytes()
            except OSError:
                continue
            if hashlib.md5(content, usedforsecurity=False).hexdigest() == md5:
                return True
        return False

    def fulltexts(
        self,
        versions: dict[str, int],
        attachments: dict[str, dict[str, Any]],
        seen_version: int | None,
    ) -> None:
        """Zotero's indexed text of each attachment, as one page of text on its record.

        A text kept already and not indexed again since ``seen_version`` (where the last
        run got to) is not fetched again.
        """
        if not versions:
            return
        parents = dict(self.parents)
        stored = self.session.execute(
            sa.select(Attachment.zotero_key, Attachment.record_id).where(
                Attachment.review_id == self.review.id,
                Attachment.origin == ORIGIN,
                Attachment.zotero_key.is_not(None),
            )
        ).all()
        for key, record_id in stored:
            parents.setdefault(key, record_id)
        unknown = [k for k in versions if k not in parents and k not in attachments]
        if unknown and seen_version is not None:
            # Indexed since the last sync, but the attachment itself did not change.
            for obj in self.client.items_by_key(sorted(unknown)):
                parent = self.parent_of(obj["data"])
                if parent is not None and not obj["data"].get("deleted"):
                    parents[obj["data"]["key"]] = parent
        keys = sorted(
            k for k in versions if k in parents and not attachments.get(k, {}).get("deleted")
        )
        if not keys:
            return
        old: dict[tuple[int, str], list[Attachment]] = {}
        have: set[tuple[int, str]] = set()
        for attachment in self.session.scalars(
            sa.select(Attachment).where(Attachment.review_id == self.review.id)
        ):
            have.add((attachment.record_id, attachment.sha256))
            if attachment.kind == "zotero_fulltext" and attachment.zotero_key:
                old.setdefault((attachment.record_id, attachment.zotero_key), []).append(attachment)
        keys = [
            k
            for k in keys
            if not (
                seen_version is not None and versions[k] <= seen_version and (parents[k], k) in old
            )
        ]
        with closing(self.client.fulltexts(keys)) as fetched:
            for n, (key, text) in enumerate(fetched, start=1):
                self.step("full texts", n, len(keys))
                if text is not None:
                    text = storable(text)  # Zotero's text of a PDF may hold NULs
                    self._keep_fulltext(key, text, parents[key], attachments, have, old)

    def _keep_fulltext(
        self,
        key: str,
        text: str,
        record_id: int,
        attachments: dict[str, dict[str, Any]],
        have: set[tuple[int, str]],
        old: dict[tuple[int, str], list[Attachment]],
    ) -> None:
        """Keep Zotero's text of an attachment as one page, replacing its older text."""
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if (record_id, sha) in have:
            return
        for previous in old.pop((record_id, key), []):
            self.session.delete(previous)  # Zotero indexed it again: the new text replaces it
        have.add((record_id, sha))
        name = attachments.get(key, {}).get("filename")
        self.session.add(
            Attachment(
                review_id=self.review.id,
                record_id=record_id,
                kind="zotero_fulltext",
                sha256=sha,
                filename=name if isinstance(name, str) else None,
                size=len(text.encode("utf-8")),
                status="ok",
                origin=ORIGIN,
                zotero_key=key,
                created_by=self.actor,
                pages=[AttachmentPage(page=None, text=text)],
            )
        )
        self.report.fulltexts += 1


def _md5(data: dict[str, Any]) -> str | None:
    md5 = data.get("md5")
    return md5 if isinstance(md5, str) and md5 else None


def _file_label(data: dict[str, Any], key: str) -> str:
    """How to name an attachment's file to a person: its file name, else its title."""
    path = data.get("filename") or data.get("path")
    if isinstance(path, str) and path.strip():
        # A linked file's path is the other computer's: "C:\\papers\\a.pdf" or "/home/x/a.pdf".
        return re.split(r"[\\/]", path.strip())[-1].removeprefix("attachments:")
    title = data.get("title")
    return title if isinstance(title, str) and title.strip() else key
