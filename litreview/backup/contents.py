"""What a backup holds: its format and version, the review's tables in restore order with
the references between them, the columns of each row, and the names its files go by.

Written once here so that writing, checking and restoring agree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from litreview.db import Base
from litreview.errors import Invalid

FORMAT = "litreview-backup"
FORMAT_VERSION = 1
# version -> function turning a document of that version into one of the next.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
ZIP_DOCUMENT = "backup.json"

# The review's tables in the order they are restored, each with the columns that
# point at rows of another (or the same) table of the backup.
TABLES: dict[str, dict[str, str]] = {
    "review_question": {},
    "import_batch": {},
    "record": {"merged_into_id": "record"},
    "record_source": {"record_id": "record", "batch_id": "import_batch"},
    "merge": {"record_id": "record", "duplicate_id": "record"},
    "keep_apart": {"record_a_id": "record", "record_b_id": "record"},
    "membership": {"user_id": "user_account"},
    "decision": {"record_id": "record", "user_id": "user_account"},
    "resolution": {"record_id": "record", "user_id": "user_account"},
    "record_tag": {"record_id": "record", "question_id": "review_question"},
    "annotation": {"record_id": "record", "question_id": "review_question"},
    "record_note": {"record_id": "record"},
    "attachment": {"record_id": "record"},
    "attachment_page": {"attachment_id": "attachment"},
    "zotero_link": {},
    "audit_log": {},
}
# Tables without a review_id column, found through their parent.
CHILD_TABLES = {"attachment_page": ("attachment_id", "attachment")}
# What an audit entry's target_type names, as a table of the backup.
AUDIT_TARGETS = {
    "record": "record",
    "question": "review_question",
    "import_batch": "import_batch",
    "merge": "merge",
    "decision": "decision",
    "resolution": "resolution",
    "annotation": "annotation",
    "tag": "record_tag",
    "attachment": "attachment",
    "zotero_link": "zotero_link",
    "user": "user_account",
}
REVIEW_COLUMNS = (
    "title",
    "description",
    "criteria",
    "exclusion_reasons",
    "highlight_include",
    "highlight_exclude",
    "screening_mode",
    "reason_required_title_abstract",
    "created_at",
)
USER_COLUMNS = ("id", "email", "name")


def table_of(name: str) -> sa.Table:
    return Base.metadata.tables[name]


def backup_columns(name: str) -> list[sa.Column]:
    """The columns a backup row carries: all but the review it belongs to."""
    return [c for c in table_of(name).columns if c.name != "review_id"]


def files_folder_for(path: Path) -> Path:
    """Where the attachment files of a JSON backup go: NAME.files beside NAME.json."""
    return path.with_suffix(".files")


def stored_file_name(sha: str) -> str:
    return f"{sha}.pdf"


def parse_datetime(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class BackupRefused(Invalid):
    """The backup cannot be restored as it is; nothing was written."""
