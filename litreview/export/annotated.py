"""The annotated bibliography: one section per review question, citations and annotations.

The model here is what every format (DOCX, HTML, Markdown) renders, so that they say
the same thing: sections in the questions' order, each with its title and description;
under each, the records tagged to it, sorted as the style's bibliography sorts
(author, then year: by the citation's text, case and accents aside), each followed by
its annotations (for this question, or notes for the record in general: a quote
only under its own question) with who wrote them, and optionally its screening
decision and exclusion reason. A record tagged to a question with no annotation still
says who tagged it, and when: the tag is the claim that it is evidence for that
question.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, load_only

from litreview.errors import Invalid
from litreview.export import csl
from litreview.library.fields import CITED
from litreview.models import Annotation, Record, RecordTag, Review, ReviewQuestion, User, utcnow
from litreview.models.screening import DECISIONS, STAGES
from litreview.screening.outcomes import FULL_TEXT, TITLE_ABSTRACT, Outcome
from litreview.screening.outcomes import outcomes_with_reasons as outcomes

log = logging.getLogger(__name__)

STAGE_NAMES = {TITLE_ABSTRACT: "title/abstract", FULL_TEXT: "full text"}
UNTAGGED_TITLE = "Included records not tagged to a review question"
# Only what a citation shows is loaded: abstracts can be long.
_CITED_COLUMNS = (Record.id, *(getattr(Record, f.name) for f in CITED))
_CHUNK = 5000


@dataclass(frozen=True)
class AnnotationView:
    """One annotation as a reader sees it: note, quoted passage and page, who and when."""

    note: str | None
    quote: str | None
    page: str | None
    by: str
    at: datetime | None


@dataclass(frozen=True)
class TagView:
    """Who tagged a record to a section's question, and when."""

    code: str
    by: str
    at: datetime | None


@dataclass
class Entry:
    """One record in a section: its citation, its annotations, its outcome if shown."""

    record_id: int
    citation: csl.Formatted
    annotations: list[AnnotationView] = field(default_factory=list)
    decision: str | None = None
    reason: str | None = None
    stage: str | None = None
    tag: TagView | None = None


@dataclass
class Section:
    """One review question (or the untagged records) with its entries, in order."""

    code: str | None
    title: str
    description: str | None
    entries: list[Entry]

    @property
    def heading(self) -> str:
        return f"{self.code}. {self.title}" if self.code else self.title


@dataclass
class AnnotatedBibliography:
    """Everything a renderer needs, and nothing it has to look up."""

    review_title: str
    style: csl.StyleInfo
    numbered: bool
    sections: list[Section]
    generated_at: datetime
    filters: list[str]

    @property
    def record_count(self) -> int:
        return len({e.record_id for s in self.sections for e in s.entries})


def build(
    session: Session,
    review: Review,
    *,
    style: str | None = None,
    questions: Sequence[str] = (),
    stage: str | None = None,
    decision: str | None = None,
    include_untagged: bool = False,
    show_decisions: bool = False,
) -> AnnotatedBibliography:
    """The annotated bibliography of a review, with its citations in ``style``.

    ``questions``: codes of the questions to include (all when empty). ``stage`` and
    ``decision``: only records with that outcome at that stage (a stage alone means
    its includes; a decision alone is taken at full text). ``include_untagged``: a
    last section of included records tagged to no question. Citations come from the
    citation cache, and those formatted anew are cached (flushed, not committed).
    """
    info = csl.resolve_style(style)
    loaded = csl.load_style(info.name)
    chosen = _questions(session, review, questions)
    filter_stage, filter_decision = _filter(stage, decision)
    included_stage = filter_stage or FULL_TEXT

    stage_outcomes: dict[str, dict[int, Outcome]] = {}

    def outcomes_at(at: str) -> dict[int, Outcome]:
        if at not in stage_outcomes:
            stage_outcomes[at] = outcomes(session, review, at)
        return stage_outcomes[at]

    live = sa.select(Record.id).where(
        Record.review_id == review.id,
        Record.merged_into_id.is_(None),
        Record.withdrawn_at.is_(None),
    )
    tag_rows = session.execute(
        sa.select(
            RecordTag.record_id,
            RecordTag.question_id,
            RecordTag.created_by,
            RecordTag.created_at,
            User.name,
        )
        .outerjoin(User, User.email == RecordTag.created_by)
        .where(RecordTag.review_id == review.id, RecordTag.record_id.in_(live))
    ).all()
    tagged: dict[int, list[int]] = defaultdict(list)  # question id -> record ids
    tag_by: dict[tuple[int, int], tuple[str, datetime | None]] = {}
    any_tag: set[int] = set()
    for record_id, question_id, by, at, name in tag_rows:
        tagged[question_id].append(record_id)
        tag_by[record_id, question_id] = (name or by, at)
        any_tag.add(record_id)
    codes = {q.id: q.code for q in chosen}

    keep = None
    if filter_stage:
        keep = {
            rid for rid, o in outcomes_at(filter_stage).items() if o.decision == filter_decision
        }
    untagged: list[int] = []
    if include_untagged:
        untagged = sorted(
            rid
            for rid, o in outcomes_at(included_stage).items()
            if o.decision == "include" and rid not in any_tag
        )
        if keep is not None:
            untagged = [rid for rid in untagged if rid in keep]

    members = {q.id: [r for r in tagged.get(q.id, []) if keep is None or r in keep] for q in chosen}
    wanted = sorted({r for ids in members.values() for r in ids} | set(untagged))
    citations = csl.citations(session, _load_records(session, wanted), info.name)
    notes = _annotations(session, review, wanted)

    def entry(record_id: int, question_id: int | None) -> Entry:
        # Under a question: its own annotations, and the record's general notes; a quote
        # only under its own question (a general one, from before quotes needed a
        # question, is left out of the questions' sections). Untagged: all.
        made = Entry(record_id, citations[record_id])
        made.annotations = [
            view
            for qid, view in notes.get(record_id, [])
            if question_id is None or qid == question_id or (qid is None and not view.quote)
        ]
        if question_id is not None and (record_id, question_id) in tag_by:
            by, at = tag_by[record_id, question_id]
            made.tag = TagView(codes[question_id], by, at)
        if show_decisions:
            at = filter_stage
            if at is None:
                at = FULL_TEXT if record_id in outcomes_at(FULL_TEXT) else TITLE_ABSTRACT
            outcome = outcomes_at(at).get(record_id)
            if outcome:
                made.decision, made.reason, made.stage = outcome.decision, outcome.reason, at
        return made

    sections = [
        Section(q.code, q.title, q.description, _sorted([entry(r, q.id) for r in members[q.id]]))
        for q in chosen
    ]
    if include_untagged:
        description = f"Records included at {STAGE_NAMES[included_stage]} with no review question."
        sections.append(
            Section(None, UNTAGGED_TITLE, description, _sorted([entry(r, None) for r in untagged]))
        )
    return AnnotatedBibliography(
        review_title=review.title,
        style=info,
        numbered=loaded.numbered,
        sections=sections,
        generated_at=utcnow(),
        filters=_describe(questions, chosen, filter_stage, filter_decision, include_untagged),
    )


def _questions(session: Session, review: Review, codes: Sequence[str]) -> list[ReviewQuestion]:
    questions = list(
        session.scalars(
            sa.select(ReviewQuestion)
            .where(ReviewQuestion.review_id == review.id)
            .order_by(ReviewQuestion.position, ReviewQuestion.id)
        )
    )
    if not codes:
        return questions
    by_code = {q.code.lower(): q for q in questions}
    unknown = [c for c in codes if c.strip().lower() not in by_code]
    if unknown:
        known = ", ".join(q.code for q in questions) or "none yet"
        raise Invalid(
            f"no review question {', '.join(repr(c) for c in unknown)} in review "
            f"{review.slug} (its questions: {known})"
        )
    wanted = {c.strip().lower() for c in codes}
    return [q for q in questions if q.code.lower() in wanted]  # always in the review's order


def _filter(stage: str | None, decision: str | None) -> tuple[str | None, str | None]:
    if stage is not None and stage not in STAGES:
        raise Invalid(f"stage {stage!r}: choose {' or '.join(STAGES)}")
    if decision is not None and decision not in DECISIONS:
        raise Invalid(f"decision {decision!r}: choose {', '.join(DECISIONS)}")
    if stage is None and decision is None:
        return None, None
    return stage or FULL_TEXT, decision or "include"


def _describe(
    codes: Sequence[str],
    chosen: list[ReviewQuestion],
    stage: str | None,
    decision: str | None,
    untagged: bool,
) -> list[str]:
    said = []
    if codes:
        said.append("Review questions: " + ", ".join(q.code for q in chosen))
    if stage:
        said.append(f"Records with decision {decision} at {STAGE_NAMES[stage]}")
    if untagged:
        said.append("With included records not tagged to a question")
    return said


def _load_records(session: Session, ids: list[int]) -> list[Record]:
    records: list[Record] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        records += session.scalars(
            sa.select(Record).options(load_only(*_CITED_COLUMNS)).where(Record.id.in_(chunk))
        )
    return records


def _annotations(
    session: Session, review: Review, record_ids: Iterable[int]
) -> dict[int, list[tuple[int | None, AnnotationView]]]:
    wanted = set(record_ids)
    if not wanted:
        return {}
    rows = session.execute(
        sa.select(
            Annotation.record_id,
            Annotation.question_id,
            Annotation.note,
            Annotation.quote,
            Annotation.page,
            Annotation.created_by,
            Annotation.created_at,
            User.name,
        )
        .outerjoin(User, User.email == Annotation.created_by)
        .where(Annotation.review_id == review.id)
        .order_by(Annotation.created_at, Annotation.id)
    )
    found: dict[int, list[tuple[int | None, AnnotationView]]] = defaultdict(list)
    for row in rows:
        if row.record_id in wanted:
            by = row.name or row.created_by
            view = AnnotationView(row.note, row.quote, row.page, by, row.created_at)
            found[row.record_id].append((row.question_id, view))
    return found


def _sorted(entries: list[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (csl.sort_key(e.citation.text), e.record_id))


# ---------------------------------------------------------------- words every format shares


def page_label(page: str) -> str:
    """'p. 7' or 'pp. 7-8'."""
    return f"pp. {page}" if any(c in page for c in "-–,") else f"p. {page}"


def quote_text(view: AnnotationView) -> str:
    """The quoted passage in quotation marks, with its page."""
    text = f"“{(view.quote or '').strip()}”"
    return f"{text} ({page_label(view.page)})" if view.page else text


def attribution(view: AnnotationView) -> str:
    """Who wrote an annotation, and when."""
    when = f", {view.at.date().isoformat()}" if view.at else ""
    return f"— {view.by}{when}"


def tag_text(entry: Entry) -> str | None:
    """'Tagged to Q3 by Rita, 2025-03-02' for an entry with no annotation to show it by."""
    if entry.tag is None or entry.annotations:
        return None
    when = f", {entry.tag.at.date().isoformat()}" if entry.tag.at else ""
    return f"Tagged to {entry.tag.code} by {entry.tag.by}{when}"


def decision_text(entry: Entry) -> str | None:
    """'Decision at full text: exclude (reason)', when decisions are shown."""
    if not entry.decision or not entry.stage:
        return None
    text = f"Decision at {STAGE_NAMES[entry.stage]}: {entry.decision}"
    return f"{text} ({entry.reason})" if entry.reason else text


def heading_line(bib: AnnotatedBibliography) -> str:
    """The line under the title: style, how many records, when."""
    count = bib.record_count
    noun = "record" if count == 1 else "records"
    return (
        f"Citation style: {bib.style.title} · {count} {noun} · "
        f"generated {bib.generated_at.date().isoformat()}"
    )
