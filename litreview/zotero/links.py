"""A review's link to one Zotero library or collection (a ZoteroLink row: the library,
the collection, the tag prefix, how far the last sync got; never the API key), and
the tags litreview writes there.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.errors import Invalid, NotFound
from litreview.models import (
    Review,
    ZoteroLink,
)
from litreview.zotero.client import Target

FORMAT = "zotero"  # ImportBatch.format of Zotero imports
RQ_PREFIX = "RQ:"  # tags for review questions: "RQ:Q3 Bias and discrimination"
DEFAULT_PREFIX = "litreview:"


def is_own_tag(tag: dict[str, Any], prefix: str) -> bool:
    """A tag litreview wrote: automatic (type 1) and in one of our namespaces.

    Tags a person adds by hand are type 0 (or have no type), so they are never ours,
    even when they look like ours.
    """
    text = tag.get("tag")
    return (
        tag.get("type") == 1
        and isinstance(text, str)
        and (text.startswith(prefix) or text.startswith(RQ_PREFIX))
    )


# ---------------------------------------------------------------- links


def target_of(link: ZoteroLink) -> Target:
    """The library (or collection) a link points at."""
    return Target(link.library_type, link.library_id, link.collection_key, link.local)


def get_link(session: Session, review: Review) -> ZoteroLink:
    """The review's Zotero link; NotFound when the review has none yet."""
    link = session.scalar(sa.select(ZoteroLink).where(ZoteroLink.review_id == review.id))
    if link is None:
        raise NotFound(
            f"review {review.slug} has no Zotero library yet: run `litreview zotero import` first"
        )
    return link


def link_library(
    session: Session,
    review: Review,
    target: Target,
    *,
    actor: str,
    api_key_hint: str | None = None,
    tag_prefix: str | None = None,
) -> ZoteroLink:
    """The review's link to ``target``, made on first use.

    A review links to one library or collection: Zotero keys name items within one
    library, and the records keep one key each. Linking another raises Invalid.
    """
    if target.library_type not in ("user", "group"):
        raise Invalid(f"library type {target.library_type!r}: use user or group")
    if not target.library_id.isdigit():
        raise Invalid(f"library id {target.library_id!r}: Zotero library ids are numbers")
    if tag_prefix is not None and (not tag_prefix.strip() or tag_prefix != tag_prefix.strip()):
        raise Invalid(f"tag prefix {tag_prefix!r}: give one without spaces around it")
    link = session.scalar(sa.select(ZoteroLink).where(ZoteroLink.review_id == review.id))
    if link is not None:
        if target_of(link) != target:
            raise Invalid(
                f"review {review.slug} is linked to {describe_target(target_of(link))}; "
                f"it cannot also take {describe_target(target)}"
            )
        link.api_key_hint = api_key_hint or link.api_key_hint
        if tag_prefix is not None and tag_prefix != link.tag_prefix:
            audit.log(
                session,
                actor,
                "zotero.tag_prefix",
                review_id=review.id,
                target_type="zotero_link",
                target_id=link.id,
                before=link.tag_prefix,
                after=tag_prefix,
            )
            link.tag_prefix = tag_prefix
        return link
    link = ZoteroLink(
        review_id=review.id,
        library_type=target.library_type,
        library_id=target.library_id,
        collection_key=target.collection_key,
        local=target.local,
        api_key_hint=api_key_hint,
        tag_prefix=tag_prefix or DEFAULT_PREFIX,
    )
    session.add(link)
    session.flush()
    audit.log(
        session,
        actor,
        "zotero.link",
        review_id=review.id,
        target_type="zotero_link",
        target_id=link.id,
        library=describe_target(target),
        tag_prefix=link.tag_prefix,
    )
    return link


def describe_target(target: Target) -> str:
    if target.collection_key:
        return f"collection {target.collection_key} of {target.label}"
    return target.label


def source_name(target: Target) -> str:
    base = "zotero:local" if target.local else f"zotero:{target.library_type}s/{target.library_id}"
    return f"{base}/collections/{target.collection_key}" if target.collection_key else base
