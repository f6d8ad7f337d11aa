"""The PRISMA 2020 flow diagram, computed from the database: numbers, SVG, PNG.

Every number comes from what is stored, and each box is the box above it less what
left on the way, so the numbers add up by construction:

* identified: one per source (the import batches' source labels, or file names),
  counting the entries that landed (RecordSource rows), plus any record that has no
  source row at all ("other");
* removed before screening: duplicates (identified less the records that remain
  after merging) and records withdrawn from their Zotero library;
* screened: the records that remain; excluded at title/abstract (effective decision
  exclude); awaiting screening (no decision yet, or reviewers in conflict);
* reports sought: the records that passed title/abstract (include or maybe); of
  them, awaiting full text: no full text attached, no full-text decision and not
  marked as not retrievable (their text may still come);
* not retrieved: the reports a person marked as not retrievable
  (:mod:`litreview.evidence.retrieval`) that have no full-text decision (a record
  with one was read, however its text reached the reviewer). A record merely
  without a PDF is never counted here;
* assessed for eligibility: sought less not retrieved less awaiting full text;
  excluded at full text, with each reason and its count; awaiting a decision;
  included.

The diagram itself (layout, SVG, PNG) is drawn by :mod:`litreview.export.prisma_diagram`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.errors import Invalid
from litreview.export.citation_markup import clean_text
from litreview.export.prisma_diagram import to_png, to_svg
from litreview.models import Attachment, ImportBatch, Record, RecordSource, Review
from litreview.screening.outcomes import FULL_TEXT, PASSES, TITLE_ABSTRACT
from litreview.screening.outcomes import outcomes_with_reasons as outcomes

NO_REASON = "No reason given"
FORMATS = ("svg", "png", "json")


@dataclass
class SourceCount:
    source: str
    records: int


@dataclass
class ReasonCount:
    reason: str
    records: int


@dataclass
class PrismaNumbers:
    """The numbers of each box of the flow diagram."""

    identified: list[SourceCount]
    identified_total: int
    duplicates_removed: int
    removed_other: int
    screened: int
    excluded_screening: int
    awaiting_screening: int
    sought: int
    not_retrieved: int
    assessed: int
    awaiting_retrieval: int = 0
    excluded_reasons: list[ReasonCount] = field(default_factory=list)
    excluded_eligibility: int = 0
    awaiting_assessment: int = 0
    included: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def numbers(session: Session, review: Review) -> PrismaNumbers:
    """The PRISMA 2020 numbers of a review (see the module docstring for each box)."""
    by_source = Counter[str]()
    rows = session.execute(
        sa.select(
            sa.func.coalesce(ImportBatch.source_label, ImportBatch.file_name),
            sa.func.count(RecordSource.id),
        )
        .join(RecordSource, RecordSource.batch_id == ImportBatch.id)
        .where(ImportBatch.review_id == review.id)
        .group_by(ImportBatch.id, ImportBatch.source_label, ImportBatch.file_name)
        .order_by(ImportBatch.id)
    )
    for label, count in rows:
        by_source[label or "Unnamed import"] += count
    unmerged = sa.and_(Record.review_id == review.id, Record.merged_into_id.is_(None))
    no_source = session.scalar(
        sa.select(sa.func.count(Record.id)).where(
            unmerged, ~sa.exists().where(RecordSource.record_id == Record.id)
        )
    )
    if no_source:
        by_source["Other (no import recorded)"] += no_source
    identified_total = sum(by_source.values())
    remaining = session.scalar(sa.select(sa.func.count(Record.id)).where(unmerged)) or 0
    withdrawn = (
        session.scalar(
            sa.select(sa.func.count(Record.id)).where(unmerged, Record.withdrawn_at.is_not(None))
        )
        or 0
    )
    screened = remaining - withdrawn

    ta = outcomes(session, review, TITLE_ABSTRACT)
    ft = outcomes(session, review, FULL_TEXT)
    excluded_screening = sum(1 for o in ta.values() if o.decision == "exclude")
    passed = {rid for rid, o in ta.items() if o.decision in PASSES}
    with_text = set(
        session.scalars(
            sa.select(Attachment.record_id).where(Attachment.review_id == review.id).distinct()
        )
    )
    marked = set(
        session.scalars(
            sa.select(Record.id).where(unmerged, Record.not_retrievable_at.is_not(None))
        )
    )
    not_retrieved = {rid for rid in passed if rid in marked and rid not in ft}
    awaiting_retrieval = {
        rid for rid in passed - not_retrieved if rid not in with_text and rid not in ft
    }
    assessed_ids = passed - not_retrieved - awaiting_retrieval
    reasons = Counter[str]()
    included = 0
    for rid in assessed_ids:
        outcome = ft.get(rid)
        if outcome is None:
            continue
        if outcome.decision == "exclude":
            reasons[outcome.reason or NO_REASON] += 1
        elif outcome.decision == "include":
            included += 1
    excluded_eligibility = sum(reasons.values())
    return PrismaNumbers(
        identified=[SourceCount(s, n) for s, n in by_source.items()],
        identified_total=identified_total,
        duplicates_removed=identified_total - remaining,
        removed_other=withdrawn,
        screened=screened,
        excluded_screening=excluded_screening,
        awaiting_screening=screened - excluded_screening - len(passed),
        sought=len(passed),
        not_retrieved=len(not_retrieved),
        assessed=len(assessed_ids),
        awaiting_retrieval=len(awaiting_retrieval),
        excluded_reasons=[
            ReasonCount(r, n) for r, n in sorted(reasons.items(), key=lambda x: (-x[1], x[0]))
        ],
        excluded_eligibility=excluded_eligibility,
        awaiting_assessment=len(assessed_ids) - excluded_eligibility - included,
        included=included,
    )


def _title(review: Review) -> str:
    return f"PRISMA 2020 flow diagram: {clean_text(review.title)}"


def export_prisma(session: Session, review: Review, format: str) -> tuple[bytes, PrismaNumbers]:
    """The diagram in ``format`` (svg, png or json) and the numbers it shows."""
    if format not in FORMATS:
        raise Invalid(f"format {format!r}: choose {', '.join(FORMATS)}")
    n = numbers(session, review)
    title = _title(review)
    if format == "svg":
        return to_svg(n, title).encode("utf-8"), n
    if format == "png":
        return to_png(n, title), n
    return (json.dumps(n.to_json(), ensure_ascii=False, indent=2) + "\n").encode("utf-8"), n
