"""Checking all of a backup before anything is written.

Every row of the right shape for its table, every reference pointing at a row of
the file, no duplicate where the database wants one, every attachment file present.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from litreview.backup.contents import (
    REVIEW_COLUMNS,
    TABLES,
    USER_COLUMNS,
    BackupRefused,
    backup_columns,
    files_folder_for,
    parse_datetime,
    table_of,
)
from litreview.models.accounts import ROLES
from litreview.models.screening import DECISIONS, STAGES

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

# ---------------------------------------------------------------- reading and checking


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


def check_document(document: dict[str, Any], path: Path) -> None:
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
        column = table_of("review").c[name]
        if name in review:
            _check_value(problems, "review", 0, column, review[name])
        elif not column.nullable and column.default is None and column.server_default is None:
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
    user_columns = {c: table_of("user_account").c[c] for c in USER_COLUMNS}
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
        columns = {c.name: c for c in backup_columns(name)}
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
        ok = isinstance(value, str) and parse_datetime(value) is not None
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


def check_files(
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
