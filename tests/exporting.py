"""A small review with everything the exports show: sources with duplicates, decisions with
history, tags, annotations, full texts; built through the real CLI and, for what has no
command in these tests, rows added through the session (test set-up).

What the scenario holds (single-reviewer mode):

* 16 entries from five imports (one broken entry skipped), 4 of them duplicates: 12
  records; "Data protection and consent..." withdrawn from the library.
* Title/abstract: 8 included, 2 excluded (one "Wrong topic"), 1 maybe; the chatbot
  paper was excluded first and then included (the old decision stays, not current).
* Full texts attached to the Okafor and Nakamura papers.
* Full text: 3 included (Okafor, Müller "Costs & benefits", the <script> paper),
  3 excluded (2 "Wrong population", 1 "Not empirical"); Nakamura still to assess.
* Tags: Okafor to Q1 and Q3, "Costs & benefits" to Q2, the <script> paper to Q3, the
  chapter (excluded at full text) to Q1; annotations with quotes, pages and authors.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.config import load_settings
from litreview.evidence.attachments import stored_path
from litreview.models import (
    Annotation,
    Attachment,
    AttachmentPage,
    Decision,
    Record,
    RecordTag,
    Review,
    ReviewQuestion,
    User,
)
from litreview.screening import outcomes
from tests.conftest import DATA

IMPORTS = (
    (DATA / "import" / "scopus.ris", "Scopus"),
    (DATA / "import" / "wos.bib", "Web of Science"),
    (DATA / "import" / "pubmed.nbib", "PubMed"),
    (DATA / "import" / "zotero.json", "Zotero library"),
    (DATA / "export" / "special.ris", "Hand search"),
)
QUESTIONS = (
    ("Q1", "Types of AI in use", "What AI is used, and how."),
    ("Q2", "Opportunities and risks", "Time saved, reliability, ethics."),
    ("Q3", "Bias and discrimination", "Risks of bias; equality & inclusion."),
)
ALICE, BOB = "alice@example.org", "bob@example.org"


@dataclass
class Scenario:
    review_id: int
    ids: dict[str, int]  # short name -> record id
    questions: dict[str, int]  # code -> question id
    users: dict[str, int]  # email -> user id


def record_ids(session: Session, review_id: int) -> dict[str, int]:
    """The scenario's records by a short name, found by their titles."""
    names = {
        "okafor": "predictive risk modelling",
        "chatbots": "chatbots for social care",
        "generative": "generative ai and case notes",
        "mueller": "algorithmic bias against",
        "regulator": "professional standards for ai",
        "consent": "data protection and consent",
        "costs": "costs & benefits",
        "basw": "professional standards and the use",
        "script": "<script>",
        "bare": "a record with a title",
        "chapter": "digital literacy",
        "book": "artificial intelligence and the caring",
    }
    rows = session.execute(
        sa.select(Record.id, Record.title).where(
            Record.review_id == review_id, Record.merged_into_id.is_(None)
        )
    ).all()
    found = {}
    for name, start in names.items():
        [match] = [rid for rid, title in rows if (title or "").lower().startswith(start)]
        found[name] = match
    return found


def build(cli, session: Session, slug: str = "ai-sw") -> Scenario:
    """The scenario in review ``slug`` (which ``review_cli`` made): see the module docstring."""
    for code, title, description in QUESTIONS:
        cli("question", "add", slug, code, title, "--description", description)
    for path, label in IMPORTS:
        cli("import", slug, str(path), "--source", label)
    review = session.scalar(sa.select(Review).where(Review.slug == slug))
    ids = record_ids(session, review.id)
    questions = dict(
        session.execute(
            sa.select(ReviewQuestion.code, ReviewQuestion.id).where(
                ReviewQuestion.review_id == review.id
            )
        ).all()
    )
    users = {}
    for email, name in ((ALICE, "Alice Reviewer"), (BOB, None)):
        user = session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name=name)
            session.add(user)
            session.flush()
        users[email] = user.id

    def decide(name: str, stage: str, decision: str, reason: str | None = None, **kw) -> None:
        session.add(
            Decision(
                review_id=review.id,
                record_id=ids[name],
                user_id=users[ALICE],
                stage=stage,
                decision=decision,
                reason=reason,
                **kw,
            )
        )

    session.get(Record, ids["consent"]).withdrawn_at = datetime(2025, 1, 2, tzinfo=UTC)
    decide("chatbots", "title_abstract", "exclude", "Wrong topic", current=False)
    for name in ("okafor", "chatbots", "generative", "costs", "basw", "script", "chapter", "book"):
        decide(name, "title_abstract", "include")
    decide("mueller", "title_abstract", "exclude", "Wrong topic")
    decide("bare", "title_abstract", "exclude")
    decide("regulator", "title_abstract", "maybe")
    for name in ("okafor", "costs", "script"):
        decide(name, "full_text", "include")
    decide("chapter", "full_text", "exclude", "Wrong population")
    decide("chatbots", "full_text", "exclude", "Wrong population")
    decide("book", "full_text", "exclude", "Not empirical")
    # Rows written directly, as a restore writes them: the kept outcomes are rebuilt.
    outcomes.refresh(session, review)

    for name, content in (("okafor", b"%PDF-1.4 okafor"), ("generative", b"%PDF-1.4 nakamura")):
        attach(session, review.id, ids[name], content)

    def tag(name: str, code: str) -> None:
        session.add(
            RecordTag(
                review_id=review.id,
                record_id=ids[name],
                question_id=questions[code],
                created_by=ALICE,
            )
        )

    for name, code in (("okafor", "Q1"), ("okafor", "Q3"), ("costs", "Q2"), ("script", "Q3")):
        tag(name, code)
    tag("chapter", "Q1")

    def annotate(name: str, code: str | None, by: str, **fields) -> None:
        session.add(
            Annotation(
                review_id=review.id,
                record_id=ids[name],
                question_id=questions[code] if code else None,
                created_by=by,
                created_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
                **fields,
            )
        )

    annotate(
        "okafor",
        "Q1",
        ALICE,
        note="Describes four deployed risk models.",
        quote="models were deployed in 12 local authorities",
        page="104",
    )
    annotate("okafor", None, BOB, note="Read for every question: a key review.")
    annotate("okafor", "Q3", ALICE, quote="false positives fell on poorer families", page="110-111")
    annotate("script", "Q3", ALICE, note='Title holds <script>alert("note")</script> & more')
    session.commit()
    return Scenario(review.id, ids, questions, users)


def attach(session: Session, review_id: int, record_id: int, content: bytes) -> str:
    """A full text stored as the attachments module stores it, with one page of text."""
    sha = hashlib.sha256(content).hexdigest()
    settings = load_settings()
    relative, target = stored_path(settings, sha)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    attachment = Attachment(
        review_id=review_id,
        record_id=record_id,
        sha256=sha,
        path=relative,
        filename="paper.pdf",
        size=len(content),
        page_count=1,
        status="ok",
        created_by=ALICE,
    )
    attachment.pages = [AttachmentPage(page=1, text=f"The text of {content.decode()}.")]
    session.add(attachment)
    return sha
