"""A whole review in one versioned JSON file, and its restore under a new name.

The file holds every row of the review's tables (questions, import batches, records,
their sources, merges, keep-apart pairs, memberships, decisions with their history,
resolutions, tags, annotations, record notes, attachments and their page texts, the
Zotero link, the audit log) and the people those rows name (email and name only,
never a password). Attachment files go beside it, by hash: in a folder
``NAME.files/`` next to ``NAME.json``, or inside a zip (``backup.json`` and
``files/``). Derived data (the citation cache, the search index) is left out and
rebuilt.

Rows are written column by column as the models define them, so a column added by
a later migration is carried without touching this module. Restoring reads the
whole file and checks it first (JSON complete, format and version known, every row
of the right shape for its table, every reference pointing at a row of the file,
no duplicate where the database wants one) and writes nothing until all of it
fits. It then inserts the rows with new ids, remapping every reference, in one
transaction (the caller commits). A backup of an older format version is migrated
step by step (``MIGRATIONS``) before the checks; one of a newer version is refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import shutil
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.config import Settings
from litreview.db import Base
from litreview.errors import Invalid
from litreview.models import Review, SearchOutbox, User
from litreview.models.accounts import ROLES
from litreview.models.screening import DECISIONS, STAGES

log = logging.getLogger(__name__)

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
_CHILDREN = {"attachment_page": ("attachment_id", "attachment")}
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
    "created_at",
)
USER_COLUMNS = ("id", "email", "name")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# JSON columns whose shape the app relies on: (table, column) -> check, description.
_JSON_SHAPES: dict[tuple[str, str], tuple[Callable[[Any], bool], str]] = {
    ("record", "authors"): (
        lambda v: (
            isinstance(v, list)
            and all(isinstance(a, dict) and isinstance(a.get("family"), str) for a in v)
        ),
        "a list of names with a family name",
    ),
    ("record", "keywords"): (
        lambda v: isinstance(v, list) and all(isinstance(k, str) for k in v),
        "a list of texts",
    ),
    ("merge", "source_ids"): (
        lambda v: (
            isinstance(v, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in v)
        ),
        "a list of source ids",
    ),
    ("review", "exclusion_reasons"): (
        lambda v: isinstance(v, list) and all(isinstance(k, str) for k in v),
        "a list of texts",
    ),
}
_CHOICES = {
    ("decision", "stage"): STAGES,
    ("decision", "decision"): DECISIONS,
    ("resolution", "stage"): STAGES,
    ("resolution", "decision"): DECISIONS,
    ("membership", "role"): ROLES,
}


def _table(name: str) -> sa.Table:
    return Base.metadata.tables[name]


def _columns(name: str) -> list[sa.Column]:
    """The columns a backup row carries: all but the review it belongs to."""
    return [c for c in _table(name).columns if c.name != "review_id"]


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


def files_folder_for(path: Path) -> Path:
    """Where the attachment files of a JSON backup go: NAME.files beside NAME.json."""
    return path.with_suffix(".files")


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
                    archive.write(source, f"files/{_file_name(sha)}", zipfile.ZIP_STORED)
        else:
            with tmp.open("w", encoding="utf-8") as out:
                sources = _write_document(session, review, settings, out, counts, missing)
            assert folder is not None
            for sha, source in sources.items():
                folder.mkdir(exist_ok=True)
                target = folder / _file_name(sha)
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


def _file_name(sha: str) -> str:
    return f"{sha}.pdf"


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
                source = settings.data_dir / row["path"]
                if source.is_file():
                    stored[row["sha256"]] = source
                else:
                    log.warning("attachment file %s is missing from the data folder", source)
                    missing.append(row["path"])
        out.write("\n  ]")
    out.write("\n },\n")
    users = [
        {c: getattr(u, c) for c in USER_COLUMNS}
        for u in session.scalars(sa.select(User).where(User.id.in_(user_ids)).order_by(User.id))
    ]
    counts["user_account"] = len(users)
    out.write(' "users": ' + json.dumps(users, ensure_ascii=False) + ",\n")
    files = {sha: _file_name(sha) for sha in sorted(stored)}
    out.write(' "files": ' + json.dumps(files) + "\n}\n")
    return stored


def _rows(session: Session, review: Review, name: str) -> Iterator[dict[str, Any]]:
    table = _table(name)
    columns = _columns(name)
    query = sa.select(*columns)
    if name in _CHILDREN:
        column, parent = _CHILDREN[name]
        parent_table = _table(parent)
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


# ---------------------------------------------------------------- reading and checking


class BackupRefused(Invalid):
    """The backup cannot be restored as it is; nothing was written."""


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
    _check(document, path)
    openers = _check_files(document, files, path)
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


class _Problems:
    """Collects what does not fit; refuses with the first few, naming table, row, column."""

    def __init__(self, path: Path, lead: str = "the backup does not fit (edited by hand?)") -> None:
        self.path = path
        self.lead = lead
        self.found: list[str] = []

    def add(self, message: str) -> None:
        self.found.append(message)

    def raise_if_any(self) -> None:
        if self.found:
            shown = "; ".join(self.found[:5])
            more = f" (and {len(self.found) - 5} more)" if len(self.found) > 5 else ""
            raise BackupRefused(f"{self.path}: {self.lead}: {shown}{more}")


def _check(document: dict[str, Any], path: Path) -> None:
    problems = _Problems(path)
    review = document.get("review")
    tables = document.get("tables")
    users = document.get("users")
    files = document.get("files")
    if not isinstance(review, dict):
        problems.add('"review" is missing or not an object')
    if not isinstance(tables, dict):
        problems.add('"tables" is missing or not an object')
    if not isinstance(users, list):
        problems.add('"users" is missing or not a list')
    if not isinstance(files, dict):
        problems.add('"files" is missing or not an object')
    problems.raise_if_any()
    assert isinstance(review, dict) and isinstance(tables, dict) and isinstance(users, list)

    for name in REVIEW_COLUMNS:
        column = _table("review").c[name]
        if name in review:
            _check_value(problems, "review", 0, column, review[name])
        elif not column.nullable and column.default is None:
            problems.add(f"review: {name} is missing")
    if review.get("screening_mode") not in (None, "single", "dual"):
        problems.add(
            f"review: screening_mode {review.get('screening_mode')!r} is not single or dual"
        )
    unknown = set(review) - set(REVIEW_COLUMNS)
    if unknown:
        problems.add(f"review: unknown field(s) {', '.join(sorted(unknown))}")

    ids: dict[str, set[int]] = {"user_account": set()}
    emails: set[str] = set()
    user_columns = {c: _table("user_account").c[c] for c in USER_COLUMNS}
    for i, user in enumerate(users):
        if not isinstance(user, dict):
            problems.add(f"users row {i + 1}: not an object")
            continue
        for name, column in user_columns.items():
            if name not in user:
                if name != "name":
                    problems.add(f"users row {i + 1}: {name} is missing")
                continue
            _check_value(problems, "users", i, column, user[name])
        if isinstance(user.get("id"), int):
            if user["id"] in ids["user_account"]:
                problems.add(f"users row {i + 1}: id {user['id']} appears twice")
            ids["user_account"].add(user["id"])
        if user.get("email") in emails:
            problems.add(f"users row {i + 1}: email {user.get('email')!r} appears twice")
        emails.add(user.get("email"))

    unknown_tables = set(tables) - set(TABLES)
    if unknown_tables:
        problems.add(f"unknown table(s) {', '.join(sorted(unknown_tables))}")
    for name in TABLES:
        rows = tables.get(name, [])
        if not isinstance(rows, list):
            problems.add(f"{name}: not a list of rows")
            tables[name] = []
            continue
        ids[name] = set()
        columns = {c.name: c for c in _columns(name)}
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                problems.add(f"{name} row {i + 1}: not an object")
                continue
            extra = set(row) - set(columns)
            if extra:
                problems.add(f"{name} row {i + 1}: unknown column(s) {', '.join(sorted(extra))}")
            for column_name, column in columns.items():
                if column_name not in row:
                    if not (column.nullable or column.default is not None):
                        problems.add(f"{name} row {i + 1}: {column_name} is missing")
                    continue
                _check_value(problems, name, i, column, row[column_name])
            for column_name, choices in _CHOICES.items():
                if column_name[0] == name and row.get(column_name[1]) not in choices:
                    problems.add(
                        f"{name} row {i + 1}: {column_name[1]} {row.get(column_name[1])!r} "
                        f"is not one of {', '.join(choices)}"
                    )
            row_id = row.get("id")
            if isinstance(row_id, int):
                if row_id in ids[name]:
                    problems.add(f"{name} row {i + 1}: id {row_id} appears twice")
                ids[name].add(row_id)
    problems.raise_if_any()

    for name, references in TABLES.items():
        for i, row in enumerate(tables.get(name, [])):
            for column_name, target in references.items():
                value = row.get(column_name)
                if value is not None and value not in ids[target]:
                    problems.add(
                        f"{name} row {i + 1}: {column_name} {value} is not a {target} of the backup"
                    )
    for i, row in enumerate(tables.get("merge", [])):
        for source_id in row.get("source_ids") or []:
            if source_id not in ids["record_source"]:
                problems.add(f"merge row {i + 1}: source {source_id!r} is not in the backup")
    _check_unique(problems, tables, "review_question", ("code",))
    _check_unique(problems, tables, "record_tag", ("record_id", "question_id"))
    _check_unique(problems, tables, "record_source", ("fingerprint",))
    _check_unique(problems, tables, "attachment", ("record_id", "sha256"))
    _check_unique(problems, tables, "attachment_page", ("attachment_id", "page"))
    _check_unique(problems, tables, "membership", ("user_id",))
    current = [r for r in tables.get("decision", []) if r.get("current", True)]
    _check_unique(
        problems, {"decision": current}, "decision", ("record_id", "stage", "user_id"), "current"
    )
    pairs = [
        {"pair": tuple(sorted((r.get("record_a_id"), r.get("record_b_id"))))}
        for r in tables.get("keep_apart", [])
    ]
    _check_unique(problems, {"keep_apart": pairs}, "keep_apart", ("pair",))
    for i, row in enumerate(tables.get("keep_apart", [])):
        if row.get("record_a_id") == row.get("record_b_id"):
            problems.add(f"keep_apart row {i + 1}: a record kept apart from itself")
    for i, row in enumerate(tables.get("attachment", [])):
        if not _SHA256.match(str(row.get("sha256"))):
            problems.add(f"attachment row {i + 1}: sha256 {row.get('sha256')!r} is not a SHA-256")
    assert isinstance(files, dict)
    for sha, name in files.items():
        if not _SHA256.match(sha) or not isinstance(name, str) or "/" in name or "\\" in name:
            problems.add(f"files: {sha!r}: {name!r} is not a stored file name")
    problems.raise_if_any()


def _check_value(problems: _Problems, table: str, i: int, column: sa.Column, value: Any) -> None:
    where = f"{table} row {i + 1}: {column.name}"
    if value is None:
        if not column.nullable:
            problems.add(f"{where} cannot be empty")
        return
    kind = column.type
    if isinstance(kind, sa.Boolean):
        ok = isinstance(value, bool)
    elif isinstance(kind, sa.Integer):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(kind, sa.Float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif isinstance(kind, sa.DateTime):
        ok = isinstance(value, str) and _datetime(value) is not None
    elif isinstance(kind, sa.String):  # Text too
        ok = isinstance(value, str)
        if ok and kind.length and len(value) > kind.length:
            problems.add(f"{where} is longer than {kind.length} characters")
    elif isinstance(kind, sa.JSON):
        shape = _JSON_SHAPES.get((table, column.name))
        if shape and not shape[0](value):
            problems.add(f"{where} should be {shape[1]}")
        ok = True
    else:  # a column type this module does not know yet: let the database judge
        ok = True
    if not ok:
        problems.add(f"{where} {_short(value)} is not a {_kind_name(kind)}")


def _kind_name(kind: Any) -> str:
    for cls, name in (
        (sa.Boolean, "true/false"),
        (sa.Integer, "whole number"),
        (sa.Float, "number"),
        (sa.DateTime, "date and time"),
        (sa.String, "text"),
    ):
        if isinstance(kind, cls):
            return name
    return "value"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


def _check_unique(
    problems: _Problems,
    tables: dict[str, Any],
    name: str,
    columns: tuple[str, ...],
    what: str = "",
) -> None:
    seen: set[tuple[Any, ...]] = set()
    for i, row in enumerate(tables.get(name, [])):
        key = tuple(json.dumps(row.get(c), sort_keys=True) for c in columns)
        if key in seen:
            label = ", ".join(f"{c} {row.get(c)!r}" for c in columns)
            problems.add(
                f"{name} row {i + 1}: {label} appears twice{' as ' + what if what else ''}"
            )
        seen.add(key)


def _datetime(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _check_files(
    document: dict[str, Any], present: dict[str, Callable[[], IO[bytes]]], path: Path
) -> dict[str, Callable[[], IO[bytes]]]:
    """Every file the backup lists is there, with the hash it claims."""
    openers: dict[str, Callable[[], IO[bytes]]] = {}
    problems = _Problems(path, "its attachment files do not match it")
    for sha, name in document["files"].items():
        opener = present.get(name)
        if opener is None:
            where = "in the zip" if zipfile.is_zipfile(path) else f"in {files_folder_for(path)}"
            problems.add(f"attachment file {name} is missing {where}")
            continue
        digest = hashlib.sha256()
        with opener() as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        if digest.hexdigest() != sha:
            problems.add(f"attachment file {name} does not have the hash it is stored under")
        openers[sha] = opener
    problems.raise_if_any()
    return openers


# ---------------------------------------------------------------- restoring


@dataclass
class RestoreReport:
    """What a restore made."""

    slug: str
    review_id: int
    counts: dict[str, int]
    users_created: list[str]
    files_restored: int
    migrated_from: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "review": self.review_id,
            "counts": self.counts,
            "users_created": self.users_created,
            "files_restored": self.files_restored,
            "migrated_from": self.migrated_from,
        }


def restore(
    session: Session, backup: Backup, slug: str, settings: Settings, *, actor: str
) -> RestoreReport:
    """Make review ``slug`` from a checked backup: new ids, every reference remapped.

    Flushes, never commits: the caller commits once, so a failure leaves nothing.
    Attachment files are copied into the data folder under their hash (a file
    already there is the same file, by its name).
    """
    from litreview.evidence.attachments import stored_path
    from litreview.library import reviews
    from litreview.screening import outcomes

    document = backup.document
    data = document["review"]
    review = reviews.create_review(session, slug, data["title"], actor, data.get("description"))
    for name in REVIEW_COLUMNS:
        if name in data and name not in ("title", "description"):
            value = data[name]
            setattr(review, name, _datetime(value) if name == "created_at" else value)
    session.flush()

    maps: dict[str, dict[int, int]] = {"review": {}}
    source = document.get("source") or {}
    users_created = _restore_users(session, document["users"], maps)
    counts: dict[str, int] = {}
    tables = document["tables"]
    for name in TABLES:
        rows = tables.get(name, [])
        counts[name] = len(rows)
        if rows:
            _insert(session, review, settings, name, rows, maps)
    # Outcomes are kept, not backed up: rebuilt from the decisions just restored.
    outcomes.refresh(session, review)
    record_ids = list(maps.get("record", {}).values())
    for start in range(0, len(record_ids), 5000):
        session.execute(
            sa.insert(SearchOutbox),
            [
                {"review_id": review.id, "record_id": rid}
                for rid in record_ids[start : start + 5000]
            ],
        )

    restored_files = 0
    for sha, opener in backup.files.items():
        _relative, target = stored_path(settings, sha)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with (
                opener() as src,
                tempfile.NamedTemporaryFile(dir=target.parent, suffix=".part", delete=False) as out,
            ):
                shutil.copyfileobj(src, out, 1 << 20)
            Path(out.name).replace(target)
        restored_files += 1
    session.flush()
    audit.log(
        session,
        actor,
        "review.restore",
        review_id=review.id,
        target_type="review",
        target_id=review.id,
        file=str(backup.path),
        from_slug=source.get("slug"),
        format_version=document.get("format_version"),
        migrated_from=backup.migrated_from,
        counts=counts,
    )
    session.flush()
    return RestoreReport(
        slug=slug,
        review_id=review.id,
        counts=counts,
        users_created=users_created,
        files_restored=restored_files,
        migrated_from=backup.migrated_from,
    )


def _restore_users(
    session: Session, users: list[dict], maps: dict[str, dict[int, int]]
) -> list[str]:
    """People are matched by email; those missing are created without a password."""
    mapping: dict[int, int] = {}
    created = []
    by_email = {
        u.email: u.id
        for u in session.scalars(sa.select(User).where(User.email.in_([u["email"] for u in users])))
    }
    for user in users:
        if user["email"] in by_email:
            mapping[user["id"]] = by_email[user["email"]]
            continue
        made = User(email=user["email"], name=user.get("name"), password_hash=None)
        session.add(made)
        session.flush()
        mapping[user["id"]] = made.id
        created.append(made.email)
    maps["user_account"] = mapping
    return created


def _insert(
    session: Session,
    review: Review,
    settings: Settings,
    name: str,
    rows: list[dict[str, Any]],
    maps: dict[str, dict[int, int]],
) -> None:
    from litreview.evidence.attachments import stored_path

    table = _table(name)
    columns = [c for c in _columns(name) if c.name != "id"]
    references = TABLES[name]
    has_review = "review_id" in table.c
    prepared = []
    later: list[tuple[int, int, Any]] = []  # record: (old id, old merged_into id, updated_at)
    for row in rows:
        values: dict[str, Any] = {}
        for column in columns:
            cname = column.name
            if cname not in row:
                values[cname] = _default(column)
                continue
            value = row[cname]
            if value is not None and isinstance(column.type, sa.DateTime):
                value = _datetime(value)
            if cname in references and value is not None:
                if name == "record" and cname == "merged_into_id":
                    later.append((row["id"], value, values.get("updated_at")))
                    value = None
                else:
                    value = maps[references[cname]][value]
            values[cname] = value
        if has_review:
            values["review_id"] = review.id
        if name == "merge":
            values["source_ids"] = [
                maps["record_source"][i] for i in values.get("source_ids") or []
            ]
        elif name == "keep_apart":
            a, b = sorted((values["record_a_id"], values["record_b_id"]))
            values["record_a_id"], values["record_b_id"] = a, b
        elif name == "audit_log":
            _remap_audit(values, review, maps)
        elif name == "attachment" and values.get("path"):
            # The stored path is made from the hash here, never taken from the file.
            values["path"] = stored_path(settings, values["sha256"])[0]
        prepared.append(values)
    new_ids: list[int] = []
    for start in range(0, len(prepared), 2000):
        chunk = prepared[start : start + 2000]
        result = session.execute(
            sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), chunk
        )
        new_ids += [row[0] for row in result]
    maps[name] = {row["id"]: new for row, new in zip(rows, new_ids, strict=True)}
    if later:
        mapping = maps["record"]
        updated_at = {row["id"]: row.get("updated_at") for row in rows}
        statement = (
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"))
            .values(merged_into_id=sa.bindparam("b_into"), updated_at=sa.bindparam("b_updated"))
        )
        params = [
            {
                "b_id": mapping[old],
                "b_into": mapping[into],
                "b_updated": _datetime(updated_at[old]) if updated_at[old] else None,
            }
            for old, into, _ in later
        ]
        for start in range(0, len(params), 2000):
            session.connection().execute(statement, params[start : start + 2000])


def _default(column: sa.Column) -> Any:
    default = column.default
    if default is None:
        return None
    if default.is_callable:
        return default.arg(None)
    return default.arg


def _remap_audit(values: dict[str, Any], review: Review, maps: dict[str, dict[int, int]]) -> None:
    """Point an audit entry at the restored row; keep the old id when it has no new one."""
    target_type, target_id = values.get("target_type"), values.get("target_id")
    if target_id is None:
        return
    if target_type == "review":
        values["target_id"] = review.id
        return
    table = AUDIT_TARGETS.get(target_type or "")
    new = maps.get(table, {}).get(target_id) if table else None
    if new is None:
        details = dict(values.get("details") or {})
        details["restored_from_target_id"] = target_id
        values["details"] = details
    values["target_id"] = new
