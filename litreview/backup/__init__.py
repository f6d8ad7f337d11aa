"""A whole review in one versioned JSON file, and its restore under a new name.

The file holds every row of the review's tables (questions, import batches, records,
their sources, merges, keep-apart pairs, memberships, decisions with their history,
resolutions, tags, annotations, record notes, attachments and their page texts, the
Zotero link, the audit log) and the people those rows name (email and name only,
never a password). Attachment files go beside it, by hash: in a folder
``NAME.files/`` next to ``NAME.json``, or inside a zip (``backup.json`` and
``files/``). Derived data (the citation cache, the search index) is left out and
rebuilt. So is what belongs to a person rather than to the review: the records they
skipped or hold open while screening and the screening order they chose.

Rows are written column by column as the models define them, so a column added by
a later migration is carried without touching this module. Restoring first streams
the document, holding none of it, and refuses what cannot be a backup (over
1 GB, or what a zip member declares over it; not UTF-8; not JSON; nested deeper
than a backup ever is; cut short; a damaged zip); then reads the whole file
and checks it (JSON complete, format and version known, every row of the right shape
for its table, every reference pointing at a row of the file, no duplicate where the
database wants one) and writes nothing until all of it fits. It then inserts the
rows with new ids, remapping every reference, in one transaction (the caller
commits). A backup of an older format version is migrated
step by step (``MIGRATIONS``) before the checks; one of a newer version is refused.

Where each part lives: :mod:`~litreview.backup.contents` (the format and the tables
it holds), :mod:`~litreview.backup.writer`, :mod:`~litreview.backup.streaming` (the
check as it streams), :mod:`~litreview.backup.reader` (with format migrations),
:mod:`~litreview.backup.checks` and :mod:`~litreview.backup.restoring`. The operations
the faces call are here.
"""

from __future__ import annotations

from litreview.backup.contents import FORMAT, FORMAT_VERSION, BackupRefused, files_folder_for
from litreview.backup.reader import Backup, read_backup
from litreview.backup.restoring import RestoreReport, restore
from litreview.backup.writer import BackupReport, write_backup

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Backup",
    "BackupRefused",
    "BackupReport",
    "RestoreReport",
    "files_folder_for",
    "read_backup",
    "restore",
    "write_backup",
]
