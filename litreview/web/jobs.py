"""Imports that run in the background, so a long import never blocks a page.

Two kinds: uploaded files, and a Zotero library (or collection). An upload is saved
under a generated folder of the data folder; a thread imports each file with its own
database session (one transaction per file, as the CLI does), or reads the Zotero
library (one transaction for it all, as ``litreview zotero import`` does), and writes
the job's status as a small JSON file, ``<data>/jobs/<id>.json``, which the browser
polls. The Zotero API key lives only in the thread's memory while it runs: never in
the status, the database or a log. The status is a file, not memory, so any worker of
a multi-process server can answer the poll. The uploaded files are deleted when the
job ends; the status file stays as the record of what the import did.

A status that stops changing while "running" (the process died) is reported as
stopped after ``STALE_AFTER`` seconds; nothing of the file being imported then was
kept, as its transaction never committed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from litreview.config import Settings
from litreview.errors import LitreviewError
from litreview.ingest.record_data import UnreadableFile
from litreview.library import imports
from litreview.library.listing import untitled_entries
from litreview.models import Review

log = logging.getLogger(__name__)

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
# Seconds without a status write before a running job counts as stopped: generous, as
# the last flush and commit of a very large file write nothing for a while.
STALE_AFTER = 600.0
WRITE_EVERY = 0.3  # seconds between status writes while a file is being read
MAX_ERRORS_SHOWN = 200


@dataclass(frozen=True)
class Upload:
    """One uploaded file, saved under a generated path; ``name`` is what the user called it;
    ``source`` the database or search it came from (None: the job's own source label)."""

    path: Path
    name: str
    size: int
    source: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ImportJobs:
    """Starts import threads and reads their status files."""

    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.jobs_dir = settings.data_dir / "jobs"
        self.uploads_dir = settings.data_dir / "uploads"
        self.session_factory = session_factory
        self.after_commit = after_commit
        self.threads: dict[str, threading.Thread] = {}

    def new_upload_dir(self) -> tuple[str, Path]:
        """A fresh job id and the private folder its uploads go into."""
        job_id = secrets.token_hex(16)
        folder = self.uploads_dir / job_id
        folder.mkdir(parents=True, mode=0o700)
        return job_id, folder

    def start(
        self,
        job_id: str,
        folder: Path,
        review: Review,
        actor: str,
        uploads: list[Upload],
        source_label: str | None,
    ) -> None:
        """Write the job's first status and start its thread."""
        status = {
            "id": job_id,
            "kind": "files",
            "review_id": review.id,
            "actor": actor,
            "source": source_label,
            "state": "queued",
            "bytes_total": sum(u.size for u in uploads),
            "bytes_done": 0,
            "files": [
                {
                    "name": u.name,
                    "size": u.size,
                    "source": u.source or source_label,
                    "state": "waiting",
                    "report": None,
                    "error": None,
                }
                for u in uploads
            ],
            "started_at": _now(),
            "updated_at": _now(),
            "finished_at": None,
        }
        self._write(status)
        thread = threading.Thread(
            target=self._run,
            args=(status, folder, review.id, actor, uploads, source_label),
            name=f"import-{job_id[:8]}",
            daemon=True,
        )
        self.threads[job_id] = thread
        thread.start()

    def start_zotero(
        self,
        review: Review,
        actor: str,
        target: Any,
        api_key: str | None,
        action: str,
        files: bool,
    ) -> str:
        """Start importing (``action`` "import") or syncing ("sync") a Zotero library."""
        job_id = secrets.token_hex(16)
        status = {
            "id": job_id,
            "kind": "zotero",
            "action": action,
            "review_id": review.id,
            "actor": actor,
            "source": target.label,
            "state": "queued",
            "stage": None,
            "done": 0,
            "total": None,
            "bytes_total": 0,
            "bytes_done": 0,
            "files": [],
            "report": None,
            "error": None,
            "started_at": _now(),
            "updated_at": _now(),
            "finished_at": None,
        }
        self._write(status)
        thread = threading.Thread(
            target=self._run_zotero,
            args=(status, review.id, actor, target, api_key, action, files),
            name=f"zotero-{job_id[:8]}",
            daemon=True,
        )
        self.threads[job_id] = thread
        thread.start()
        return job_id

    def status(self, job_id: str) -> dict[str, Any] | None:
        """The job's status, or None for an unknown (or malformed) id."""
        if not JOB_ID.match(job_id):
            return None
        path = self.jobs_dir / f"{job_id}.json"
        try:
            status = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        if status["state"] in ("queued", "running"):
            age = time.time() - path.stat().st_mtime
            if age > STALE_AFTER:
                status["state"] = "stopped"
        return status

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Wait for a job started by this process (tests and shutdown)."""
        thread = self.threads.get(job_id)
        if thread is not None:
            thread.join(timeout)

    # ------------------------------------------------------------ the thread

    def _write(self, status: dict[str, Any]) -> None:
        status["updated_at"] = _now()
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        path = self.jobs_dir / f"{status['id']}.json"
        partial = path.with_suffix(f".{threading.get_ident()}.part")
        partial.write_text(json.dumps(status), encoding="utf-8")
        os.replace(partial, path)  # a poll never reads half a file

    def _run(
        self,
        status: dict[str, Any],
        folder: Path,
        review_id: int,
        actor: str,
        uploads: list[Upload],
        source_label: str | None,
    ) -> None:
        status["state"] = "running"
        self._write(status)
        done_before = 0
        try:
            with self.session_factory() as session:
                review = session.get(Review, review_id)
                for upload, entry in zip(uploads, status["files"], strict=True):
                    entry["state"] = "importing"
                    self._write(status)
                    self._import_one(
                        session,
                        review,
                        actor,
                        upload,
                        entry,
                        upload.source or source_label,
                        status,
                        done_before,
                    )
                    done_before += upload.size
                    status["bytes_done"] = done_before
                    self._write(status)
        except Exception:  # noqa: BLE001 - the thread must always leave a final status
            log.exception("import job %s failed", status["id"])
            for entry in status["files"]:
                if entry["state"] in ("waiting", "importing"):
                    entry["state"] = "failed"
                    entry["error"] = "the import stopped on an unexpected error (it is logged)"
        finally:
            status["state"] = "done"
            status["finished_at"] = _now()
            self._write(status)
            shutil.rmtree(folder, ignore_errors=True)

    def _import_one(
        self,
        session: Session,
        review: Review,
        actor: str,
        upload: Upload,
        entry: dict[str, Any],
        source_label: str | None,
        status: dict[str, Any],
        done_before: int,
    ) -> None:
        last_write = 0.0

        def progress(position: int) -> None:
            nonlocal last_write
            status["bytes_done"] = done_before + min(position, upload.size)
            now = time.monotonic()
            if now - last_write >= WRITE_EVERY:
                last_write = now
                self._write(status)

        try:
            report = imports.import_file(
                session,
                review,
                upload.path,
                actor=actor,
                source_label=source_label,
                progress=progress,
            )
        except UnreadableFile as exc:
            session.rollback()
            entry["state"] = "unreadable"
            # The message names the saved path; the person knows the file by its own name.
            entry["error"] = str(exc).replace(str(upload.path), upload.name)
            return
        except Exception:
            session.rollback()
            log.exception("import of %s failed", upload.name)
            entry["state"] = "failed"
            entry["error"] = "the import of this file stopped on an unexpected error (it is logged)"
            return
        untitled, untitled_count = untitled_entries(session, report.batch, MAX_ERRORS_SHOWN)
        session.commit()
        if self.after_commit is not None:
            self.after_commit()
        data = report.to_json()
        data["untitled"], data["untitled_count"] = untitled, untitled_count
        data["file"] = upload.name
        data["error_count"] = len(data["errors"])
        data["errors"] = data["errors"][:MAX_ERRORS_SHOWN]
        entry["state"] = "done"
        entry["report"] = data

    def _run_zotero(
        self,
        status: dict[str, Any],
        review_id: int,
        actor: str,
        target: Any,
        api_key: str | None,
        action: str,
        files: bool,
    ) -> None:
        from litreview.zotero import sync as zotero_sync
        from litreview.zotero.client import ZoteroClient, api_url

        status["state"] = "running"
        self._write(status)
        last_write = 0.0

        def progress(stage: str, done: int, total: int | None) -> None:
            nonlocal last_write
            status.update(stage=stage, done=done, total=total)
            now = time.monotonic()
            if now - last_write >= WRITE_EVERY:
                last_write = now
                self._write(status)

        try:
            with self.session_factory() as session:
                review = session.get(Review, review_id)
                try:
                    with ZoteroClient(target, api_key, base_url=api_url(target.local)) as client:
                        run = (
                            zotero_sync.sync_library
                            if action == "sync"
                            else zotero_sync.import_library
                        )
                        report = run(
                            session,
                            review,
                            client,
                            actor=actor,
                            settings=self.settings,
                            files=files,
                            progress=progress,
                        )
                except LitreviewError as exc:
                    session.rollback()
                    status["error"] = f"{exc} (the review was left as it was)"
                else:
                    session.commit()
                    if self.after_commit is not None:
                        self.after_commit()
                    data = report.to_json()
                    data["error_count"] = len(data["errors"])
                    data["errors"] = data["errors"][:MAX_ERRORS_SHOWN]
                    status["report"] = data
        except Exception:  # noqa: BLE001 - the thread must always leave a final status
            log.exception("Zotero job %s failed", status["id"])
            status["error"] = "the import stopped on an unexpected error (it is logged)"
        finally:
            status["state"] = "done"
            status["finished_at"] = _now()
            self._write(status)
