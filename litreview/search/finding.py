"""Finding records in a review: the query, screening's and the tags' filters, the hits.

The index answers the text; the database answers the filters on decision and review
question (sets of record ids) and what each hit shows of its outcome and questions,
so a search shows exactly what every other page shows.
"""

from __future__ import annotations

import logging
import re

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from litreview.errors import Invalid
from litreview.evidence import tags
from litreview.evidence.tags import question_by_code
from litreview.models import STAGES, Record, Review, ReviewQuestion
from litreview.screening import outcomes
from litreview.search import outbox
from litreview.search import query as query_language
from litreview.search.backend import IndexBusy, SearchBackend, SearchFilters, SearchResult
from litreview.search.outbox import CATCH_UP_LIMIT, apply_outbox, pending_in_review
from litreview.search.snippets import snippets_for

log = logging.getLogger(__name__)

__all__ = [
    "CATCH_UP_LIMIT",
    "DECISION_VALUES",
    "MAX_LIMIT",
    "parse_years",
    "search_review",
    "suggest_for_question",
]

MAX_LIMIT = 1000
# What the decision filter takes: an outcome, or pending (none yet).
DECISION_VALUES = outcomes.OUTCOMES


def _catch_up_before_search(session: Session, backend: SearchBackend) -> None:
    # Any search first applies a little of what earlier commits queued (up to
    # CATCH_UP_LIMIT records), so a process that died between its commit and its index
    # update is caught up here; more is left to the indexer (the web app's thread,
    # `litreview reindex --catch-up`), and the search says how many of the review's
    # records are not searchable yet. Its own sessions: the caller's session only
    # reads. A busy index is not waited for: whoever holds it is applying the outbox.
    if not backend.uses_outbox:
        return
    try:
        factory = sessionmaker(session.get_bind())
        apply_outbox(factory, backend, timeout=0, limit=outbox.CATCH_UP_LIMIT)
    except IndexBusy as exc:
        log.info("searching the index as it is: %s", exc)
    except Exception:  # noqa: BLE001 - a search must still answer from the index it has
        log.exception("search index catch-up failed; searching the index as it is")


def parse_years(text: str | None) -> tuple[int | None, int | None]:
    """``2019-2025``, ``2019-``, ``-2025`` or ``2020`` as (from, to), both inclusive."""
    if text is None or not text.strip():
        return None, None
    match = re.fullmatch(r"\s*(\d{4})?\s*(-)?\s*(\d{4})?\s*", text)
    if not match or not (match.group(1) or match.group(3)):
        raise Invalid(f"years {text!r}: write 2019-2025, 2019-, -2025 or 2020")
    start = int(match.group(1)) if match.group(1) else None
    end = int(match.group(3)) if match.group(3) else None
    if not match.group(2):
        if start is None or end is not None:
            raise Invalid(f"years {text!r}: write 2019-2025, 2019-, -2025 or 2020")
        end = start
    if start is not None and end is not None and start > end:
        raise Invalid(f"years {text!r}: the first year comes after the last")
    return start, end


def search_review(
    session: Session,
    backend: SearchBackend,
    review: Review,
    text: str,
    *,
    question: str | None = None,
    decision: str | None = None,
    stage: str | None = None,
    years: str | None = None,
    has_fulltext: bool | None = None,
    limit: int = 20,
    snippets: bool = True,
) -> SearchResult:
    """The review's records matching ``text`` (:mod:`litreview.search.query`) and the
    filters, best first, with snippets. Raises Invalid/NotFound with a message for bad
    input.

    ``decision`` (an outcome, or ``pending``) at ``stage`` (or at the furthest stage
    that has one), and ``question``, are screening's and the tags' own answers, read
    from the database as sets of record ids; each hit carries its outcome and
    questions from there too. Whatever the outbox holds is applied first (see
    :mod:`litreview.search.outbox`).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit {limit}: give a number from 1 to {MAX_LIMIT}")
    if decision is not None and decision not in DECISION_VALUES:
        raise Invalid(f"decision {decision!r}: one of {', '.join(DECISION_VALUES)}")
    if stage is not None and stage not in STAGES:
        raise Invalid(f"stage {stage!r}: one of {', '.join(STAGES)}")
    start, end = parse_years(years)
    parsed = query_language.parse(text)
    only: set[int] | None = None
    if question:
        only = tags.tagged_ids(session, question_by_code(session, review, question))
    if decision is not None or stage is not None:
        chosen = (
            outcomes.record_ids_with(session, review, decision, stage)
            if decision is not None
            else outcomes.record_ids_decided(session, review, stage)
        )
        only = chosen if only is None else only & chosen
    filters = SearchFilters(
        only_ids=None if only is None else frozenset(only),
        year_from=start,
        year_to=end,
        has_fulltext=has_fulltext,
    )
    _catch_up_before_search(session, backend)
    result = backend.search(session, review.id, parsed, filters, limit)
    return _described(session, backend, review, parsed, result, snippets=snippets)


def _described(
    session: Session,
    backend: SearchBackend,
    review: Review,
    parsed: query_language.Node,
    result: SearchResult,
    *,
    snippets: bool = True,
) -> SearchResult:
    """The hits with their title, year, outcome, review questions and snippets, as the
    database has them now; and how many of the review's records wait to be indexed."""
    ids = [hit.record_id for hit in result.hits]
    rows = session.execute(
        sa.select(Record.id, Record.title, Record.year).where(Record.id.in_(ids))
    ).all()
    known = {r.id: r for r in rows}
    result.hits = [hit for hit in result.hits if hit.record_id in known]
    latest = outcomes.latest_outcomes(session, review, ids)
    tagged = tags.tagged_question_ids(session, review, ids)
    passages = snippets_for(session, parsed, ids, result.snippet_pages) if snippets else {}
    for hit in result.hits:
        hit.title = known[hit.record_id].title or ""
        hit.year = known[hit.record_id].year
        hit.decision = latest.get(hit.record_id, outcomes.PENDING)
        hit.questions = [q.code for q in review.questions if q.id in tagged[hit.record_id]]
        hit.snippets = passages.get(hit.record_id, [])
    if backend.uses_outbox:
        result.not_searchable = pending_in_review(session, review.id)
    return result


def suggest_for_question(
    session: Session, backend: SearchBackend, review: Review, code: str, *, limit: int = 50
) -> tuple[ReviewQuestion, SearchResult]:
    """Records matching the question's theme query that are not tagged to it yet."""
    q = question_by_code(session, review, code)
    if not (q.query or "").strip():
        raise Invalid(
            f"review question {q.code} has no theme query: set one with "
            f"`litreview question add {review.slug} {q.code} TITLE --query '...'`"
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit {limit}: give a number from 1 to {MAX_LIMIT}")
    try:
        parsed = query_language.parse(q.query)
    except Invalid as exc:
        raise Invalid(f"the theme query of {q.code} cannot be read: {exc}") from None
    _catch_up_before_search(session, backend)
    filters = SearchFilters(except_ids=frozenset(tags.tagged_ids(session, q)))
    result = backend.search(session, review.id, parsed, filters, limit)
    return q, _described(session, backend, review, parsed, result)
