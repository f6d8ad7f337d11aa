"""Restoring a checked backup as a new review: every row inserted with a new id and every
reference remapped, in one transaction (the caller commits).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.backup.contents import (
    AUDIT_TARGETS,
    REVIEW_COLUMNS,
    TABLES,
    backup_columns,
    parse_datetime,
    table_of,
)
from litreview.backup.reader import Backup
from litreview.config import Settings
from litreview.ingest.text_clean import storable_value
from litreview.models import Review, SearchOutbox, User
from litreview.screening import outcomes

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
    cleaned: int = 0  # values whose NULs were removed (see ingest.text_clean)

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "review": self.review_id,
            "counts": self.counts,
            "users_created": self.users_created,
            "files_restored": self.files_restored,
            "migrated_from": self.migrated_from,
            "cleaned": self.cleaned,
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

    document = backup.document
    data = storable_value(document["review"])
    review = reviews.create_review(session, slug, data["title"], actor, data.get("description"))
    for name in REVIEW_COLUMNS:
        if name in data and name not in ("title", "description"):
            value = data[name]
            setattr(review, name, parse_datetime(value) if name == "created_at" else value)
    session.flush()

    maps: dict[str, dict[int, int]] = {"review": {}}
    source = document.get("source") or {}
    users_created = _restore_users(session, storable_value(document["users"]), maps)
    counts: dict[str, int] = {}
    tables = document["tables"]
    cleaned = 0
    for name in TABLES:
        rows = tables.get(name, [])
        counts[name] = len(rows)
        if rows:
            cleaned += _insert(session, review, settings, name, rows, maps)
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
        cleaned=cleaned,
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
) -> int:
    """Insert one table's rows with new ids; returns how many values needed cleaning."""
    from litreview.evidence.attachments import stored_path

    table = table_of(name)
    columns = [c for c in backup_columns(name) if c.name != "id"]
    references = TABLES[name]
    has_review = "review_id" in table.c
    prepared = []
    later: list[tuple[int, int, Any]] = []  # record: (old id, old merged_into id, updated_at)
    cleaned = 0
    for row in rows:
        values: dict[str, Any] = {}
        for column in columns:
            cname = column.name
            if cname not in row:
                values[cname] = _default(column)
                continue
            value = row[cname]
            if isinstance(value, str | list | dict):
                clean = storable_value(value)
                cleaned += clean is not value
                value = clean
            if value is not None and isinstance(column.type, sa.DateTime):
                value = parse_datetime(value)
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
                "b_updated": parse_datetime(updated_at[old]) if updated_at[old] else None,
            }
            for old, into, _ in later
        ]
        for start in range(0, len(params), 2000):
            session.connection().execute(statement, params[start : start + 2000])
    return cleaned


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
