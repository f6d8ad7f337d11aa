"""Import a Zotero library or collection into a review, and keep it in sync.

Import reads every item of the linked library (:mod:`litreview.zotero.links`); sync
reads only what changed since the library version the last import or sync reached.
Both then apply what they read (:mod:`litreview.zotero.changes`) and bring the files
in (:mod:`litreview.zotero.downloads`).

Nothing is committed here: the caller commits once, after everything worked, so a
failure leaves the review (and the stored library version) as it was, and the next
sync starts again from there. Files written to the data folder before a failure stay
there; they are named by their content, so the next run finds them.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy.orm import Session

from litreview import audit
from litreview.config import Settings
from litreview.errors import Invalid
from litreview.models import (
    Review,
    ZoteroLink,
    utcnow,
)
from litreview.zotero.changes import ApplyChanges
from litreview.zotero.client import ZoteroClient, ZoteroError, key_hint
from litreview.zotero.links import (
    FORMAT,
    RQ_PREFIX,
    describe_target,
    get_link,
    is_own_tag,
    link_library,
    target_of,
)
from litreview.zotero.report import Progress, SyncReport

__all__ = [
    "FORMAT",
    "RQ_PREFIX",
    "SyncReport",
    "ZoteroError",
    "get_link",
    "import_library",
    "is_own_tag",
    "key_hint",
    "link_library",
    "sync_library",
    "target_of",
]

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- import and sync


def import_library(
    session: Session,
    review: Review,
    client: ZoteroClient,
    *,
    actor: str,
    settings: Settings,
    tag_prefix: str | None = None,
    files: bool = True,
    progress: Progress | None = None,
) -> SyncReport:
    """Read every item of the client's library (or collection) into the review.

    Links the review to it on first use. Run again, it reads everything again and
    changes only what changed (and withdraws what was deleted since the last run).
    Flushes, never commits.
    """
    link = link_library(
        session,
        review,
        client.target,
        actor=actor,
        api_key_hint=client.hint,
        tag_prefix=tag_prefix,
    )
    return _run(session, review, link, client, "import", None, actor, settings, files, progress)


def sync_library(
    session: Session,
    review: Review,
    client: ZoteroClient,
    *,
    actor: str,
    settings: Settings,
    files: bool = True,
    progress: Progress | None = None,
) -> SyncReport:
    """Bring in what changed in the linked library since the last import or sync.

    Asks Zotero only for items changed, items deleted and full texts indexed since the
    stored library version; with nothing changed, that is three requests. The stored
    version advances with the caller's commit, so a sync that fails is run again from
    where it was. Flushes, never commits.
    """
    link = get_link(session, review)
    if client.target != target_of(link):
        raise Invalid(f"review {review.slug} is linked to {describe_target(target_of(link))}")
    if client.hint:
        link.api_key_hint = client.hint
    since = link.library_version
    return _run(session, review, link, client, "sync", since, actor, settings, files, progress)


def _run(
    session: Session,
    review: Review,
    link: ZoteroLink,
    client: ZoteroClient,
    action: str,
    since: int | None,
    actor: str,
    settings: Settings,
    files: bool,
    progress: Progress | None,
) -> SyncReport:
    started = time.perf_counter()
    requests_before, http_before = client.requests, client.seconds
    target = target_of(link)
    report = SyncReport(
        library=target.label,
        collection=target.collection_key,
        api_key=link.api_key_hint,
        since=since,
    )
    page = client.items(
        since=since,
        progress=(lambda done, total: progress("items", done, total)) if progress else None,
    )
    # On a re-import, deletions since the last run are caught up too.
    deleted_since = link.library_version
    deleted = client.deleted(deleted_since) if deleted_since is not None else []
    fulltext_versions = client.fulltext_versions(since or 0) if files else {}
    report.read = len(page.items)

    applier = ApplyChanges(session, review, link, client, report, actor, settings, progress)
    applier.run(page.items, deleted, fulltext_versions, files, seen_version=deleted_since)

    if page.version is not None:
        link.library_version = page.version
    link.last_synced_at = utcnow()
    report.library_version = link.library_version
    report.requests = client.requests - requests_before
    total = time.perf_counter() - started
    http = client.seconds - http_before
    report.seconds = {
        "total": round(total, 3),
        "http": round(http, 3),
        "mapping": round(applier.mapping, 3),
        "files": round(applier.files.writing, 3),
        "database": round(max(0.0, total - http - applier.mapping - applier.files.writing), 3),
    }
    summary = report.to_json()
    for name in ("errors", "warnings", "problems", "seconds", "api_key", "library", "collection"):
        summary.pop(name)
    audit.log(
        session,
        actor,
        f"zotero.{action}",
        review_id=review.id,
        target_type="zotero_link",
        target_id=link.id,
        errors=len(report.errors),
        warnings=len(report.warnings),
        problems=len(report.problems),
        **summary,
    )
    session.flush()
    log.info("zotero %s of %s: %s", action, target.label, summary)
    return report
