"""Whole-review backups: restore gives the same review; a backup that does not fit is refused
before anything is written."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from litreview import backup as backup_ops
from litreview.backup import contents as backup_contents
from litreview.backup import reader as backup_reader
from litreview.config import load_settings
from litreview.models import (
    Annotation,
    AuditEntry,
    Decision,
    KeepApart,
    Membership,
    Record,
    RecordNote,
    RecordTag,
    Resolution,
    Review,
    SearchOutbox,
    User,
    ZoteroLink,
)
from litreview.screening import outcomes
from tests import exporting


def build(cli, session) -> exporting.Scenario:
    """The export scenario, plus a resolution, a keep-apart pair, a note, a member, Zotero."""
    scenario = exporting.build(cli, session)
    ids, rid = scenario.ids, scenario.review_id
    session.add(
        Resolution(
            review_id=rid,
            record_id=ids["regulator"],
            user_id=scenario.users[exporting.BOB],
            stage="title_abstract",
            decision="include",
            note="Settled at the team meeting",
        )
    )
    a, b = sorted((ids["mueller"], ids["costs"]))
    session.add(KeepApart(review_id=rid, record_a_id=a, record_b_id=b, created_by=exporting.ALICE))
    session.add(
        RecordNote(review_id=rid, record_id=ids["okafor"], origin="zotero", text="Child note")
    )
    session.add(Membership(review_id=rid, user_id=scenario.users[exporting.ALICE], role="lead"))
    session.add(ZoteroLink(review_id=rid, library_type="group", library_id="12345"))
    outcomes.refresh(session, session.get(Review, rid))
    session.commit()
    return scenario


def without_date(markdown: str) -> str:
    return "\n".join(line for line in markdown.splitlines() if "· generated " not in line)


def snapshot(cli, slug: str) -> dict:
    """What a reader of the review sees: bibliography, PRISMA numbers, records."""
    bibliography = cli(
        "export", slug, "annotated", "--format", "md", "--untagged", "--show-decisions", "-o", "-"
    ).stdout
    prisma_numbers = json.loads(cli("export", slug, "prisma", "--format", "json", "-o", "-").stdout)
    table = cli("export", slug, "records", "--format", "csv", "-o", "-").stdout
    records = cli.json("records", slug)
    for r in records:
        del r["id"]
        for s in r["sources"]:
            del s["batch"]
    return {
        "bibliography": without_date(bibliography),
        "prisma": prisma_numbers,
        "records": records,
        "csv": [
            {k: v for k, v in row.items() if k != "id"}
            for row in csv.DictReader(io.StringIO(table.lstrip("\ufeff")))
        ],
    }


def table_counts(session, review_id: int) -> dict[str, int]:
    counts = {}
    for model in (Record, Decision, Resolution, RecordTag, Annotation, RecordNote, KeepApart):
        counts[model.__tablename__] = session.scalar(
            sa.select(sa.func.count(model.id)).where(model.review_id == review_id)
        )
    counts["current decisions"] = session.scalar(
        sa.select(sa.func.count(Decision.id)).where(
            Decision.review_id == review_id, Decision.current
        )
    )
    return counts


def test_a_restored_review_exports_the_same(review_cli, session, tmp_path):
    scenario = build(review_cli, session)
    before = snapshot(review_cli, "ai-sw")
    path = tmp_path / "ai-sw.litreview.json"
    made = review_cli.json("export", "ai-sw", "backup", "-o", str(path))
    assert made["counts"]["record"] == 12 and made["counts"]["decision"] == 18
    assert made["attachments_stored"] == 2
    assert sorted(p.name for p in (tmp_path / "ai-sw.litreview.files").iterdir()) == sorted(
        f"{hashlib.sha256(c).hexdigest()}.pdf" for c in (b"%PDF-1.4 okafor", b"%PDF-1.4 nakamura")
    )
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == "litreview-backup" and document["format_version"] == 1
    assert {u["email"] for u in document["users"]} == {exporting.ALICE, exporting.BOB}
    assert "password_hash" not in document["users"][0]

    restored = review_cli.json("restore", "ai-sw-copy", str(path))
    assert restored["slug"] == "ai-sw-copy" and restored["counts"]["record"] == 12
    assert restored["users_created"] == []  # the same people, matched by email
    assert snapshot(review_cli, "ai-sw-copy") == before

    copy = session.scalar(sa.select(Review).where(Review.slug == "ai-sw-copy"))
    assert table_counts(session, copy.id) == table_counts(session, scenario.review_id)
    # The decision history came along: the chatbot paper's first, replaced exclusion.
    old = session.scalars(
        sa.select(Decision).where(Decision.review_id == copy.id, Decision.current.is_(False))
    ).all()
    assert [(d.decision, d.reason) for d in old] == [("exclude", "Wrong topic")]
    # Merged duplicates point at their restored survivors.
    merged = session.scalars(
        sa.select(Record).where(Record.review_id == copy.id, Record.merged_into_id.is_not(None))
    ).all()
    assert all(session.get(Record, r.merged_into_id).review_id == copy.id for r in merged)
    # The audit log came along, its entries pointing at the restored rows.
    audit = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.review_id == copy.id).order_by(AuditEntry.id)
    ).all()
    original = session.scalar(
        sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.review_id == scenario.review_id)
    )
    assert len(audit) == original + 2  # and who created the copy, and the restore itself
    assert audit[-1].action == "review.restore" and audit[-1].details["from_slug"] == "ai-sw"
    batches = [e for e in audit if e.action == "import.file" and e.target_id]
    assert batches and all(e.target_id in _batch_ids(session, copy.id) for e in batches)
    # The restore's commit brought the search index up to date with every restored record.
    assert not session.scalars(
        sa.select(SearchOutbox.record_id).where(SearchOutbox.review_id == copy.id)
    ).all()
    query = "year:[1900 TO 2100]"
    found = review_cli.json("search", "ai-sw-copy", query, "--limit", "100")
    original_found = review_cli.json("search", "ai-sw", query, "--limit", "100")
    assert found["total"] == original_found["total"] >= 10
    assert sorted(r["title"] for r in found["results"]) == sorted(
        r["title"] for r in original_found["results"]
    )


def _batch_ids(session, review_id: int) -> set[int]:
    from litreview.models import ImportBatch

    return set(session.scalars(sa.select(ImportBatch.id).where(ImportBatch.review_id == review_id)))


def test_a_zip_backup_restores_into_an_empty_database(review_cli, session, tmp_path, monkeypatch):
    build(review_cli, session)
    before = snapshot(review_cli, "ai-sw")
    path = tmp_path / "ai-sw.zip"
    review_cli("export", "ai-sw", "backup", "-o", str(path))
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
    assert names[0] == "backup.json" and len(names) == 3
    assert not (tmp_path / "ai-sw.files").exists()

    # Another installation: a new SQLite database and data folder (from PostgreSQL too).
    other = tmp_path / "other"
    monkeypatch.setenv("LITREVIEW_DATABASE_URL", f"sqlite:///{other / 'db.sqlite3'}")
    monkeypatch.setenv("LITREVIEW_DATA_DIR", str(other))
    review_cli("init")
    restored = review_cli.json("restore", "ai-sw", str(path))
    assert sorted(restored["users_created"]) == [exporting.ALICE, exporting.BOB]
    assert restored["files_restored"] == 2
    assert snapshot(review_cli, "ai-sw") == before
    for content in (b"%PDF-1.4 okafor", b"%PDF-1.4 nakamura"):
        sha = hashlib.sha256(content).hexdigest()
        assert (other / "files" / sha[:2] / f"{sha}.pdf").read_bytes() == content


@pytest.fixture
def small_backup(review_cli, session, tmp_path) -> Path:
    build(review_cli, session)
    path = tmp_path / "b.json"
    review_cli("export", "ai-sw", "backup", "-o", str(path))
    return path


def edited(path: Path, change) -> Path:
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def everything(session) -> dict[str, int]:
    return {
        model.__tablename__: session.scalar(sa.select(sa.func.count(model.id)))
        for model in (Review, Record, Decision, AuditEntry, User, RecordTag)
    }


def test_a_backup_that_does_not_fit_is_refused_before_anything_is_written(
    review_cli, session, small_backup
):
    text = small_backup.read_text(encoding="utf-8")
    files = small_backup.with_suffix(".files")
    cases = []

    def case(name: str, expected: str, change=None, raw: str | None = None) -> None:
        cases.append((name, expected, change, raw))

    case(
        "truncated",
        "not complete JSON (the file ends too early: truncated?)",
        raw=text[: len(text) // 2],
    )
    case(
        "not json", "not a litreview backup: not JSON (byte 0x68) (line 1 of the file)", raw="hello"
    )
    case(
        "bad json", "not complete JSON: line 1 column 9: Expecting ',' delimiter", raw='{"a": 1 2}'
    )
    case("not ours", 'not a litreview backup (no "format": "litreview-backup")', raw='{"a": 1}')
    case(
        "future",
        "made by a newer litreview (backup format 2); this one reads formats up to 1",
        lambda d: d.update(format_version=2),
    )
    case("version", "format_version '1' is not a version", lambda d: d.update(format_version="1"))
    case(
        "dangling",
        "record_tag row 1: record_id 999999 is not a record of the backup",
        lambda d: d["tables"]["record_tag"][0].update(record_id=999999),
    )
    case(
        "type",
        'record row 1: year "2021" is not a whole number',
        lambda d: d["tables"]["record"][0].update(year="2021"),
    )
    case(
        "duplicate id",
        "appears twice",
        lambda d: d["tables"]["record"][1].update(id=d["tables"]["record"][0]["id"]),
    )
    case(
        "choice",
        "decision row 1: decision 'yes' is not one of include, exclude, maybe",
        lambda d: d["tables"]["decision"][0].update(decision="yes"),
    )
    case(
        "shape",
        "record row 1: authors should be a list of names with a family name",
        lambda d: d["tables"]["record"][0].update(authors="Okafor, C."),
    )
    case(
        "unknown column",
        "annotation row 1: unknown column(s) colour",
        lambda d: d["tables"]["annotation"][0].update(colour="red"),
    )
    case(
        "empty",
        "record row 1: type cannot be empty",
        lambda d: d["tables"]["record"][0].update(type=None),
    )

    before = everything(session)
    for name, expected, change, raw in cases:
        path = small_backup.with_name(f"{name.replace(' ', '-')}.json")
        if raw is not None:
            path.write_text(raw, encoding="utf-8")
        else:
            path.write_text(text, encoding="utf-8")
            edited(path, change)
        if path.with_suffix(".files") != files and files.exists():
            path.with_suffix(".files").symlink_to(files)
        result = review_cli("restore", "ai-sw-copy", str(path), ok=False)
        assert result.exit_code == 1, name
        message = result.stderr.strip()
        assert message.startswith(f"Error: {path}: "), (name, message)
        assert expected in message, (name, message)
        assert len(message.splitlines()) == 1 and "Traceback" not in result.output
        session.expire_all()
        assert everything(session) == before, name

    # A slug that is taken is refused by name.
    taken = review_cli("restore", "ai-sw", str(edited(small_backup, lambda d: None)), ok=False)
    assert "a review named 'ai-sw' already exists" in taken.stderr
    # A missing or altered attachment file is refused too, and nothing is copied.
    [first, second] = sorted(files.iterdir())
    first.write_bytes(b"something else")
    second.unlink()
    result = review_cli("restore", "ai-sw-copy", str(small_backup), ok=False)
    assert (
        f"attachment file {first.name} does not have the hash it is stored under" in result.stderr
    )
    assert f"attachment file {second.name} is missing in {files}" in result.stderr
    assert "its attachment files do not match it" in result.stderr
    session.expire_all()
    assert everything(session) == before


def test_a_backup_of_an_older_format_is_migrated_on_restore(
    review_cli, session, small_backup, monkeypatch
):
    # This litreview pretends to write format 2, in which "record_note" was once "notes".
    def upgrade(document):
        document["tables"]["record_note"] = document["tables"].pop("notes")
        return document

    monkeypatch.setattr(backup_reader, "FORMAT_VERSION", 2)
    monkeypatch.setitem(backup_contents.MIGRATIONS, 1, upgrade)
    edited(small_backup, lambda d: d["tables"].update(notes=d["tables"].pop("record_note")))
    checked = backup_ops.read_backup(small_backup)
    assert checked.migrated_from == 1 and checked.document["format_version"] == 2
    report = backup_ops.restore(
        session, checked, "ai-sw-old", load_settings(), actor="tester@example.org"
    )
    session.commit()
    assert report.migrated_from == 1 and report.counts["record_note"] == 1
    copy = session.scalar(sa.select(Review).where(Review.slug == "ai-sw-old"))
    [note] = session.scalars(sa.select(RecordNote).where(RecordNote.review_id == copy.id))
    assert note.text == "Child note"
    entry = session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.review_id == copy.id, AuditEntry.action == "review.restore"
        )
    )
    assert entry.details["migrated_from"] == 1


def test_a_backup_with_characters_no_database_stores_restores_the_same_everywhere(
    review_cli, session, small_backup
):
    # A backup written by an older version, or edited by hand: NUL characters in a title,
    # a note and a JSON field. PostgreSQL refuses them; SQLite would take them.
    def poison(document):
        record = document["tables"]["record"][0]
        record["title"] = "Consent\u0000 in home visits"
        record["authors"][0]["family"] += "\u0000"
        document["tables"]["decision"][0]["note"] = "\u0000checked twice"

    path = edited(small_backup, poison)
    restored = review_cli.json("restore", "ai-sw-copy", str(path))
    assert restored["counts"]["record"] == 12
    assert restored["cleaned"] == 3
    said = review_cli("restore", "ai-sw-copy2", str(path)).stdout
    assert "3 texts had NUL characters, removed" in said
    copy = session.scalar(sa.select(Review).where(Review.slug == "ai-sw-copy"))
    titles = session.scalars(sa.select(Record.title).where(Record.review_id == copy.id)).all()
    assert "Consent in home visits" in titles
    assert not any("\x00" in t for t in titles)
    notes = session.scalars(sa.select(Decision.note).where(Decision.review_id == copy.id)).all()
    assert "checked twice" in notes
