"""The backup operations under the name the CLI and the web app still import.

TODO(cli, web): import ``litreview.backup`` itself, then delete this module.
"""

from __future__ import annotations

from litreview.backup import (
    Backup,
    BackupRefused,
    BackupReport,
    RestoreReport,
    files_folder_for,
    read_backup,
    restore,
    write_backup,
)

__all__ = [
    "Backup",
    "BackupRefused",
    "BackupReport",
    "RestoreReport",
    "files_folder_for",
    "read_backup",
    "restore",
    "write_backup",
]
