"""Reading a backup (a JSON file with its files folder, or a zip) and migrating an older
format version step by step (``MIGRATIONS``); one of a newer version is refused.
The document is checked as it streams (:mod:`litreview.backup.streaming`: size,
UTF-8, nesting, truncation) before it is read into memory; then the whole of it is
checked (:mod:`litreview.backup.checks`) before it is handed on. A file that starts
as a zip does but cannot be opened as one is a damaged zip, whatever else it is.
"""

from __future__ import annotations

import json
import zipfile
import zlib
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
from litreview.backup.streaming import MAX_DOCUMENT_BYTES, check_stream, refuse_if_too_large

# How a zip file starts: a local file header, or the end record of an empty zip.
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError)


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
    with path.open("rb") as f:
        magic = f.read(4)
    is_zip = magic in _ZIP_MAGIC
    if is_zip:
        document, files = _read_zip(path)
    else:
        refuse_if_too_large(path.stat().st_size, path, "the file")
        document = _load(lambda: path.open("rb"), path, "the file")
        folder = files_folder_for(path)
        files = {}
        if folder.is_dir():
            for entry in folder.iterdir():
                files[entry.name] = _opener(entry)
    document, migrated_from = _migrate(document, path)
    check_document(document, path)
    try:
        openers = check_files(document, files, path)  # reads each attachment to hash it
    except _DAMAGED as exc:
        if not is_zip:
            raise
        raise BackupRefused(f"{_damaged(path)}: {exc}") from None
    return Backup(path, document, openers, migrated_from)


def _damaged(path: Path) -> str:
    return f"{path}: a damaged zip file (truncated, or not completely copied?)"


def _load(opener: Callable[[], IO[bytes]], path: Path, what: str) -> dict[str, Any]:
    """Check the document as it streams, then read and parse it (a second pass)."""
    with opener() as stream:
        check_stream(stream, path, what)
    with opener() as stream:
        data = stream.read(MAX_DOCUMENT_BYTES + 1)
    refuse_if_too_large(len(data), path, what)  # it changed since the first pass
    return _parse(data, path)


def _opener(entry: Path) -> Callable[[], IO[bytes]]:
    return lambda: entry.open("rb")


def _read_zip(path: Path) -> tuple[dict[str, Any], dict[str, Callable[[], IO[bytes]]]]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if ZIP_DOCUMENT not in names:
                raise BackupRefused(f"{path}: a zip without {ZIP_DOCUMENT}: not a litreview backup")
            info = archive.getinfo(ZIP_DOCUMENT)
            # What the zip says the document holds, before a byte of it is read.
            refuse_if_too_large(info.file_size, path, f"its {ZIP_DOCUMENT}")
            document = _load(lambda: archive.open(info), path, ZIP_DOCUMENT)
    except _DAMAGED as exc:
        raise BackupRefused(f"{_damaged(path)}: {exc}") from None
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
    """The document, from bytes the stream check has passed (UTF-8, an object, complete)."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise BackupRefused(
            f"{path}: not complete JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
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
