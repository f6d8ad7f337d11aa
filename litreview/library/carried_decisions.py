"""Screening done in another tool, carried over: `import FILE --decisions-from COLUMN`.

Two steps around the import of a table (CSV, TSV), which stays as it is:

1. :func:`read_decisions`, before the import: each row's decision in COLUMN, read by
   :func:`litreview.ingest.labels.read_label` (ASReview's 1/0/-1, Rayyan's markers for
   the person, include/exclude/maybe, yes/no). A wrong column or a Rayyan file in
   which the person never decided is refused here, before anything is stored.
2. :func:`carry_decisions`, after the import, in the same transaction: each row finds
   the record it became through its source fingerprint (a new record, the record it
   was merged into, or, for a file imported before, the record it landed on then,
   followed through later merges) and its decision becomes the person's decision at
   the stage through :func:`litreview.screening.decide`, audited as "screen.imported".

Rules chosen:

* Rows that dedup made one record: the most inclusive decision wins (include, then
  maybe, then exclude), so a record that one copy included is not screened out by
  another; when they disagree, the decision's note says which rows said what.
* A decision the person already has on the record is never replaced: the same one is
  counted "unchanged", a different one "kept" (what they decided here stands).
* An exclusion's reasons (Rayyan's) become its reason: all of them, joined, when the
  review takes free text; else the first the review lists, the others in the note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.accounts.users import require_role
from litreview.errors import Invalid, NotFound
from litreview.ingest.decoding import open_bibliography
from litreview.ingest.labels import EXCLUDE, INCLUDE, MAYBE, Label, UnknownLabel, read_label
from litreview.ingest.labels import rayyan_reviewers as rayyan_names
from litreview.ingest.record_data import EntryError
from litreview.ingest.tables import Table
from litreview.library.imports import fingerprint
from litreview.models import Decision, Record, RecordSource, Review, User
from litreview.screening import decide
from litreview.screening.decisions import review_reason
from litreview.screening.outcomes import check_stage
from litreview.screening.sql import current

TABLE_FORMATS = ("csv", "tsv")
_RANK = {INCLUDE: 0, MAYBE: 1, EXCLUDE: 2}  # the most inclusive first
_CHUNK = 500


@dataclass(frozen=True)
class CarriedRow:
    number: int
    line: int
    fingerprint: str
    label: Label


@dataclass
class CarriedFile:
    """The decisions read from one file's column, before the import."""

    file: str
    column: str
    rows: list[CarriedRow] = field(default_factory=list)
    undecided: int = 0  # rows with no decision of this person
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CarryReport:
    """What carrying the decisions did."""

    column: str
    stage: str
    reviewer: str
    decided: int = 0  # records given the person's decision
    unchanged: int = 0  # the person had the same decision already
    kept: int = 0  # the person had another decision already: theirs stands
    undecided: int = 0
    not_imported: int = 0  # rows the import skipped (no title, unreadable)
    merged_rows: int = 0  # rows that landed on a record another row landed on too
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def person_names(user: User, *more: str) -> tuple[str, ...]:
    """The names a person may go by in another tool's file: given ones, their account's
    name, their email and its part before the @."""
    names = [*more, user.name or "", user.email, user.email.split("@", 1)[0]]
    return tuple(n for n in names if n)


def read_decisions(
    path: Path, column: str, names: tuple[str, ...], format: str | None = None
) -> CarriedFile:
    """Each row's decision in ``column`` of a table; Invalid if the file cannot give any."""
    with open_bibliography(path, format) as (fmt, stream):
        if fmt not in TABLE_FORMATS:
            raise Invalid(f"{path}: decisions are read from a CSV or TSV table, not from {fmt}")
        table = Table(stream, str(path), "\t" if fmt == "tsv" else None)
        index = table.columns.find(column)
        if index is None:
            raise Invalid(
                f"{path}: no column {column!r} to read decisions from; its columns are: "
                + ", ".join(table.columns.names[:30])
            )
        carried = CarriedFile(file=path.name, column=table.columns.names[index])
        others: set[str] = set()
        for row in table.rows():
            if isinstance(row, EntryError):
                continue  # the import reports it
            value = row.cells[index] if index < len(row.cells) else ""
            try:
                label = read_label(value, names)
            except UnknownLabel as exc:
                carried.errors.append(_error(row.line, row.number, f"{carried.column}: {exc}"))
                continue
            if label is None:
                carried.undecided += 1
                others.update(rayyan_names(value))
            else:
                carried.rows.append(
                    CarriedRow(row.number, row.line, fingerprint(fmt, row.raw), label)
                )
    if others and not carried.rows:
        raise Invalid(
            f"{path}: the Rayyan decisions in column {carried.column!r} are by "
            f"{', '.join(sorted(others))}; none is by {' / '.join(names[:3])}: "
            "give the name Rayyan shows for this person"
        )
    return carried


def carry_decisions(
    session: Session, review: Review, user: User, stage: str, carried: CarriedFile
) -> CarryReport:
    """Make each row's decision the person's decision at ``stage`` (see the module)."""
    check_stage(stage)
    require_role(session, review, user, "lead", "reviewer")
    session.flush()
    report = CarryReport(
        column=carried.column,
        stage=stage,
        reviewer=user.email,
        undecided=carried.undecided,
        errors=list(carried.errors),
    )
    landed = _records_of(session, review, [r.fingerprint for r in carried.rows])
    by_record: dict[int, list[CarriedRow]] = {}
    for row in carried.rows:
        record_id = landed.get(row.fingerprint)
        if record_id is None:
            report.not_imported += 1
        else:
            by_record.setdefault(record_id, []).append(row)
    already = dict(
        session.execute(
            sa.select(Decision.record_id, Decision.decision).where(
                Decision.review_id == review.id,
                Decision.user_id == user.id,
                Decision.stage == stage,
                current(Decision),
            )
        ).all()
    )
    source = f"{carried.file}, column {carried.column}"
    for record_id, rows in by_record.items():
        report.merged_rows += len(rows) - 1
        chosen = min(rows, key=lambda r: (_RANK[r.label.decision], r.number))
        if record_id in already:
            if already[record_id] == chosen.label.decision:
                report.unchanged += 1
            else:
                report.kept += 1
            continue
        reason, notes = _reason(review, chosen.label)
        if len({r.label.decision for r in rows}) > 1:
            said = ", ".join(f"row {r.number}: {r.label.decision}" for r in rows)
            notes.append(f"{carried.file} had this record {len(rows)} times ({said})")
        try:
            decide(
                session,
                review,
                record_id,
                user,
                stage,
                chosen.label.decision,
                reason=reason,
                note="; ".join(notes) or None,
                imported_from=source,
            )
        except (Invalid, NotFound) as exc:
            report.errors.append(_error(chosen.line, chosen.number, str(exc)))
            continue
        report.decided += 1
    return report


def _reason(review: Review, label: Label) -> tuple[str | None, list[str]]:
    """The decision's reason, and a note for reasons the review does not list."""
    if label.decision != EXCLUDE or not label.reasons:
        return None, []
    if not review.exclusion_reasons:
        return "; ".join(label.reasons), []
    listed = [known for r in label.reasons if (known := review_reason(review, r)) is not None]
    if listed and len(listed) == len(label.reasons):
        return listed[0], [] if len(listed) == 1 else [f"reasons given: {', '.join(listed)}"]
    return (listed[0] if listed else None), [f"reasons given: {', '.join(label.reasons)}"]


def _records_of(session: Session, review: Review, prints: list[str]) -> dict[str, int]:
    """Fingerprint -> the live record its source is on (merges followed to the end)."""
    found: dict[str, int] = {}
    for start in range(0, len(prints), _CHUNK):
        chunk = prints[start : start + _CHUNK]
        found.update(
            session.execute(
                sa.select(RecordSource.fingerprint, RecordSource.record_id).where(
                    RecordSource.review_id == review.id, RecordSource.fingerprint.in_(chunk)
                )
            ).all()
        )
    merged = dict(
        session.execute(
            sa.select(Record.id, Record.merged_into_id).where(
                Record.review_id == review.id, Record.merged_into_id.is_not(None)
            )
        ).all()
    )
    result: dict[str, int] = {}
    for fp, record_id in found.items():
        seen = {record_id}
        while record_id in merged and merged[record_id] not in seen:
            record_id = merged[record_id]
            seen.add(record_id)
        result[fp] = record_id
    return result


def _error(line: int, number: int, message: str) -> dict[str, Any]:
    return {"line": line, "entry": f"row {number}", "message": f"row {number}: {message}"}
