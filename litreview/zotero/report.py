"""What a Zotero import or sync did, and how it reports progress; shared by the sync and
the downloads of files, so that neither imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Progress = Callable[[str, int, int | None], None]  # stage, done, total


@dataclass
class SyncReport:
    """What an import or a sync did."""

    library: str
    collection: str | None
    api_key: str | None
    since: int | None
    library_version: int | None = None
    read: int = 0  # objects read: items, notes, attachments
    items: int = 0  # top-level items among them
    imported: int = 0
    merged_duplicates: int = 0
    unchanged: int = 0
    updated: int = 0
    withdrawn: int = 0
    restored: int = 0
    skipped: int = 0  # trashed before ever imported; notes and files of unknown items
    notes: int = 0
    notes_removed: int = 0
    pdfs: int = 0
    fulltexts: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Items imported with their text cleaned (ingest.text_clean): line, entry, message.
    warnings: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}
