"""Reading a backup (a JSON file with its files folder, or a zip) and migrating an older
format version step by step (``MIGRATIONS``); one of a newer version is refused.
The whole of it is checked (:mod:`litreview.backup.checks`) before it is handed on.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from litreview.backup.checks import check_document, check_files
from litreview.backup.contents import (
    FORMAT,
    FORMAT_VERSION,
    MIGRATIONS,
    ZIP_DOCUMENT,
    BackupRefused,
    files_folder_for,
)


@dataclass
class Backup:
    """A backup read and checked: its document, and where its attachment files are."""

    path: Path
    document: dict[str, Any]
    files: dict[str, Callable[[], IO[bytes]]]  # sha256 -> opener of the file's bytes
    migrated_from: int | None = None


def read_backup(path: Path) -> Backup:
    """Read a backup and check all of it; BackupRefused says what does not fit."""
    path = Path(path)
    if not path.is_file():
        raise BackupRefused(f"{path}: no such file")
    if zipfile.is_zipfile(path):
        document, files = _read_zip(path)
    else:
        with path.open("rb") as f:
            document = _parse(f.read(), path)
        folder = files_folder_for(path)
        files = {}
        if folder.is_dir():
            for entry in folder.iterdir():
                files[entry.name] = _opener(entry)
    document, migrated_from = _migrate(document, path)
    check_document(document, path)
    openers = check_files(document, files, path)
    return Backup(path, document, openers, migrated_from)


def _opener(entry: Path) -> Callable[[], IO[bytes]]:
    return lambda: entry.open("rb")


def _read_zip(path: Path) -> tuple[dict[str, Any], dict[str, Callable[[], IO[bytes]]]]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if ZIP_DOCUMENT not in names:
                raise BackupRefused(f"{path}: a zip without {ZIP_DOCUMENT}: not a litreview backup")
            document = _parse(archive.read(ZIP_DOCUMENT), path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BackupRefused(f"{path}: the zip file is damaged or truncated ({exc})") from None
    files: dict[str, Callable[[], IO[bytes]]] = {}
    for name in names:
        if name.startswith("files/") and len(name) > len("files/"):

            def opener(name: str = name) -> IO[bytes]:
                archive = zipfile.ZipFile(path)
                return _ClosingMember(archive, archive.open(name))

            files[name[len("files/") :]] = opener
    return document, files


class _ClosingMember:
    """A zip member that closes its archive with it."""

    def __init__(self, archive: zipfile.ZipFile, member: IO[bytes]) -> None:
        self.archive, self.member = archive, member

    def read(self, size: int = -1) -> bytes:
        return self.member.read(size)

    def __enter__(self) -> _ClosingMember:
        return self

    def __exit__(self, *exc: object) -> None:
        self.member.close()
        self.archive.close()


def _parse(data: bytes, path: Path) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BackupRefused(
            f"{path}: not a litreview backup (not UTF-8 text at byte {exc.start})"
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        # A whole backup ends with the closing brace of its document.
        cut = text.strip().startswith("{") and not text.rstrip().endswith("}")
        ending = " (the file ends too early: truncated?)" if cut else ""
        raise BackupRefused(
            f"{path}: not complete JSON{ending}: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BackupRefused(f'{path}: not a litreview backup (no "format": "{FORMAT}")')
    return document


def _migrate(document: dict[str, Any], path: Path) -> tuple[dict[str, Any], int | None]:
    found = document.get("format_version")
    if isinstance(found, bool) or not isinstance(found, int) or found < 1:
        raise BackupRefused(f"{path}: format_version {found!r} is not a version litreview wrote")
    if found > FORMAT_VERSION:
        raise BackupRefused(
            f"{path}: made by a newer litreview (backup format {found}); this one reads "
            f"formats up to {FORMAT_VERSION}: upgrade litreview to restore it"
        )
    start = found
    while found < FORMAT_VERSION:
        step = MIGRATIONS.get(found)
        if step is None:
            raise BackupRefused(f"{path}: no way to read backup format {found} any more")
        document = step(document)
        found += 1
        document["format_version"] = found
    return document, (start if start != FORMAT_VERSION else None)
