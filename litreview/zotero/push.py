"""Write a review's results back to Zotero as tags: decisions and review questions.

For every live record with a Zotero item, the item should carry

- ``<prefix>include``, ``<prefix>exclude`` or ``<prefix>maybe``: the record's effective
  decision at full text if it has one there, else at title/abstract (a conflict not yet
  resolved gives no decision tag);
- ``RQ:<code> <title>`` for each review question the record is tagged to
  (``RQ:Q3 Bias and discrimination``).

Tags are added as Zotero "automatic" tags (type 1), which is how they are told apart
from a person's: tags are only ever added, except our own automatic tags in those
two namespaces that no longer apply (a decision changed from maybe to include, a
question untagged), which are removed. A tag a person added by hand is never removed,
even one that looks like ours.

Each item is changed with a PATCH of its tags only, under Zotero's version
precondition (If-Unmodified-Since-Version); when the item changed meanwhile (HTTP 412),
it is read again and the tags worked out again from what it now has.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit, screening
from litreview.errors import Invalid
from litreview.models import Record, RecordTag, Review, ReviewQuestion
from litreview.models.screening import DECISIONS
from litreview.zotero.client import ZoteroClient, ZoteroConflict, ZoteroNotFound
from litreview.zotero.links import RQ_PREFIX, get_link, is_own_tag, target_of

__all__ = ["PushReport", "plan_tags", "push_tags", "wanted_tags"]

log = logging.getLogger(__name__)

ATTEMPTS = 3  # reads and writes of one item when it keeps changing under us
MAX_TAG = 255  # Zotero's longest tag


@dataclass
class PushReport:
    """What a push did (or, for a dry run, would do)."""

    library: str
    dry_run: bool
    items: int = 0  # items looked at
    changed: int = 0
    unchanged: int = 0
    tags_added: int = 0
    tags_removed: int = 0
    conflicts: int = 0  # 412s met and retried
    changes: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def wanted_tags(session: Session, review: Review, prefix: str) -> dict[str, set[str]]:
    """Zotero item key -> the tags the review wants on it, for live records with a key."""
    records = dict(
        session.execute(
            sa.select(Record.id, Record.zotero_key).where(
                Record.review_id == review.id,
                Record.merged_into_id.is_(None),
                Record.withdrawn_at.is_(None),
                Record.zotero_key.is_not(None),
            )
        ).all()
    )
    wanted: dict[int, set[str]] = defaultdict(set)
    full_text = screening.outcomes_at(session, review, "full_text")
    title_abstract = screening.outcomes_at(session, review, "title_abstract")
    for record_id in records:
        outcome = full_text.get(record_id, title_abstract.get(record_id))
        if outcome in DECISIONS:
            wanted[record_id].add(f"{prefix}{outcome}")
    rows = session.execute(
        sa.select(RecordTag.record_id, ReviewQuestion.code, ReviewQuestion.title)
        .join(ReviewQuestion, RecordTag.question_id == ReviewQuestion.id)
        .where(RecordTag.review_id == review.id)
    )
    for record_id, code, title in rows:
        if record_id in records:
            wanted[record_id].add(f"{RQ_PREFIX}{code} {title}".strip()[:MAX_TAG])
    return {key: wanted.get(record_id, set()) for record_id, key in records.items()}


def plan_tags(
    tags: list[dict[str, Any]], wanted: set[str], prefix: str
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """The item's new tag list, with the tags added and removed to get there.

    Every tag already there stays, except our own automatic tags no longer wanted.
    """
    names = {t.get("tag") for t in tags}
    removed = sorted({t["tag"] for t in tags if is_own_tag(t, prefix) and t["tag"] not in wanted})
    added = sorted(wanted - names)
    kept = [t for t in tags if not (is_own_tag(t, prefix) and t["tag"] in removed)]
    return kept + [{"tag": tag, "type": 1} for tag in added], added, removed


def push_tags(
    session: Session,
    review: Review,
    client: ZoteroClient,
    *,
    actor: str,
    dry_run: bool = False,
) -> PushReport:
    """Tag the review's Zotero items with their decisions and review questions.

    With ``dry_run``, items are read and the changes reported, nothing is written.
    Writes only the audit entry to the database; flushes, never commits.
    """
    link = get_link(session, review)
    if client.target != target_of(link):
        raise Invalid(f"review {review.slug} is linked to {target_of(link).label}")
    requests_before = client.requests
    report = PushReport(library=client.target.label, dry_run=dry_run)
    wanted = wanted_tags(session, review, link.tag_prefix)
    records = dict(
        session.execute(
            sa.select(Record.zotero_key, Record.id).where(
                Record.review_id == review.id,
                Record.merged_into_id.is_(None),
                Record.withdrawn_at.is_(None),
                Record.zotero_key.is_not(None),
            )
        ).all()
    )
    found = {obj["data"].get("key"): obj for obj in client.items_by_key(sorted(wanted))}
    for key in sorted(wanted):
        obj = found.get(key)
        if obj is None or obj["data"].get("deleted"):
            report.problems.append(
                {"item": key, "message": "no longer in Zotero (or in its trash): run sync"}
            )
            continue
        report.items += 1
        _push_one(client, report, key, records[key], obj, wanted[key], link.tag_prefix, dry_run)
    report.requests = client.requests - requests_before
    audit.log(
        session,
        actor,
        "zotero.push",
        review_id=review.id,
        target_type="zotero_link",
        target_id=link.id,
        dry_run=dry_run,
        changed=report.changed,
        tags_added=report.tags_added,
        tags_removed=report.tags_removed,
        conflicts=report.conflicts,
        changes=report.changes,
    )
    session.flush()
    return report


def _push_one(
    client: ZoteroClient,
    report: PushReport,
    key: str,
    record_id: int,
    obj: dict[str, Any],
    wanted: set[str],
    prefix: str,
    dry_run: bool,
) -> None:
    for _ in range(ATTEMPTS):
        tags = obj["data"].get("tags") or []
        new_tags, added, removed = plan_tags(tags, wanted, prefix)
        if not added and not removed:
            report.unchanged += 1
            return
        if not dry_run:
            try:
                client.set_tags(key, _version(obj), new_tags)
            except ZoteroConflict:
                # A person changed the item since we read it: read it again, redo the tags.
                report.conflicts += 1
                log.info("zotero item %s changed meanwhile; reading it again", key)
                try:
                    obj = client.item(key)
                except ZoteroNotFound:
                    break
                continue
            except ZoteroNotFound:
                break
        report.changed += 1
        report.tags_added += len(added)
        report.tags_removed += len(removed)
        report.changes.append({"item": key, "record": record_id, "add": added, "remove": removed})
        return
    report.problems.append(
        {"item": key, "message": "kept changing in Zotero (or was deleted): not tagged"}
    )


def _version(obj: dict[str, Any]) -> int:
    version = obj.get("version", obj["data"].get("version"))
    if not isinstance(version, int):
        raise Invalid(f"Zotero sent item {obj['data'].get('key')} without a version")
    return version
