"""Writing a review to a backup: one JSON document, its attachment files beside it by hash.

Rows are written column by column as the models define them, so a column added by
a later migration is carried without touching this module. Derived data (the
citation cache, the search index) is left out and rebuilt.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.backup.contents import (
    CHILD_TABLES,
    FORMAT,
    FORMAT_VERSION,
    REVIEW_COLUMNS,
    TABLES,
    USER_COLUMNS,
    ZIP_DOCUMENT,
    backup_columns,
    files_folder_for,
    stored_file_name,
    table_of,
)
from litreview.config import Settings
from litreview.errors import Invalid
from litreview.models import Review, User

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- writing


@dataclass
class BackupReport:
    """What a backup wrote."""

    file: str
    files_folder: str | None
    counts: dict[str, int]
    attachments_stored: int
    attachments_missing: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "files_folder": self.files_folder,
            "counts": self.counts,
            "attachments_stored": self.attachments_stored,
            "attachments_missing": self.attachments_missing,
        }


def write_backup(session: Session, review: Review, settings: Settings, path: Path) -> BackupReport:
    """Write the review to ``path`` (a .zip holds the files too; else a folder beside).

    The file is written to a temporary name and renamed at the end, so a crash
    never leaves a half backup under the real name.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise Invalid(f"{path}: the folder {path.parent} does not exist")
    as_zip = path.suffix.lower() == ".zip"
    tmp = path.with_name(path.name + ".part")
    counts: Counter[str] = Counter()
    sources: dict[str, Path] = {}
    missing: list[str] = []
    folder = None if as_zip else files_folder_for(path)
    try:
        if as_zip:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
                with archive.open(ZIP_DOCUMENT, "w", force_zip64=True) as raw:
                    with _text_writer(raw) as out:
                        sources = _write_document(session, review, settings, out, counts, missing)
                for sha, source in sources.items():
                    archive.write(source, f"files/{stored_file_name(sha)}", zipfile.ZIP_STORED)
        else:
            with tmp.open("w", encoding="utf-8") as out:
                sources = _write_document(session, review, settings, out, counts, missing)
            assert folder is not None
            for sha, source in sources.items():
                folder.mkdir(exist_ok=True)
                target = folder / stored_file_name(sha)
                if not target.exists():
                    shutil.copyfile(source, target)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BackupReport(
        file=str(path),
        files_folder=str(folder) if folder and folder.exists() else None,
        counts=dict(counts),
        attachments_stored=len(sources),
        attachments_missing=missing,
    )


@contextmanager
def _text_writer(raw: IO[bytes]) -> Iterator[IO[str]]:
    with io.TextIOWrapper(raw, encoding="utf-8") as text:
        yield text


def _write_document(
    session: Session,
    review: Review,
    settings: Settings,
    out: IO[str],
    counts: Counter[str],
    missing: list[str],
) -> dict[str, Path]:
    """Write the JSON document; return the attachment files to store beside it, by hash."""
    stored: dict[str, Path] = {}
    head = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(),
        "litreview_version": _litreview_version(),
        "source": {"slug": review.slug, "database": session.get_bind().dialect.name},
        "review": {name: _json_value(getattr(review, name)) for name in REVIEW_COLUMNS},
    }
    text = json.dumps(head, ensure_ascii=False, indent=1)
    out.write(text[: text.rindex("}")].rstrip() + ',\n "tables": {')
    user_ids: set[int] = set()
    for n, name in enumerate(TABLES):
        out.write(("," if n else "") + f'\n  "{name}": [')
        first = True
        for row in _rows(session, review, name):
            out.write(("," if not first else "") + "\n   " + json.dumps(row, ensure_ascii=False))
            first = False
            counts[name] += 1
            if "user_id" in row and row["user_id"] is not None:
                user_ids.add(row["user_id"])
            if name == "attachment" and row.get("path") and row["sha256"] not in stored:
                source = settings.attachment_file(row["path"])
                if source.is_file():
                    stored[row["sha256"]] = source
                else:
                    log.warning("attachment file %s is missing from the attachment store", source)
                    missing.append(row["path"])
        out.write("\n  ]")
    out.write("\n },\n")
    users = [
        {c: getattr(u, c) for c in USER_COLUMNS}
        for u in session.scalars(sa.select(User).where(User.id.in_(user_ids)).order_by(User.id))
    ]
    counts["user_account"] = len(users)
    out.write(' "users": ' + json.dumps(users, ensure_ascii=False) + ",\n")
    files = {sha: stored_file_name(sha) for sha in sorted(stored)}
    out.write(' "files": ' + json.dumps(files) + "\n}\n")
    return stored


def _rows(session: Session, review: Review, name: str) -> Iterator[dict[str, Any]]:
    table = table_of(name)
    columns = backup_columns(name)
    query = sa.select(*columns)
    if name in CHILD_TABLES:
        column, parent = CHILD_TABLES[name]
        parent_table = table_of(parent)
        query = query.where(
            table.c[column].in_(
                sa.select(parent_table.c.id).where(parent_table.c.review_id == review.id)
            )
        )
    else:
        query = query.where(table.c.review_id == review.id)
    result = session.execute(query.order_by(table.c.id).execution_options(yield_per=2000))
    for row in result:
        yield {c.name: _json_value(value) for c, value in zip(columns, row, strict=True)}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite hands back UTC without its zone
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    return value


def _litreview_version() -> str:
    try:
        return version("litreview")
    except PackageNotFoundError:  # running from a checkout that is not installed
        return "unknown"
