"""Tags to review questions and annotations: who, when, and history kept in the audit log."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.errors import Invalid, NotFound
from litreview.evidence import tags as tagging
from litreview.library import reviews
from litreview.models import Annotation, AuditEntry, Record, RecordTag, SearchOutbox
from tests.evidence import csl_item, ids_by_key, write_library


@pytest.fixture
def ids(review_cli, tmp_path):
    items = [
        csl_item("a", "Consent in home visits", 2021),
        csl_item("b", "Bias in risk scores", 2020),
    ]
    review_cli("import", "ai-sw", str(write_library(tmp_path, items)))
    review_cli("question", "add", "ai-sw", "Q3", "Bias")
    review_cli("question", "add", "ai-sw", "Q4", "Data protection")
    return ids_by_key(review_cli)


def _audit(env, action):
    engine = sa.create_engine(env["LITREVIEW_DATABASE_URL"])
    try:
        with Session(engine) as session:
            return [
                (e.actor, e.target_id, e.details)
                for e in session.scalars(
                    sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
                )
            ]
    finally:
        engine.dispose()


def test_tag_and_untag_keep_their_history_in_the_audit_log(ids, review_cli, env):
    a = str(ids["a"])
    out = review_cli.json("tag", "ai-sw", a, "Q4", "q3", "--as", "alice@example.org")
    assert [(t["question"], t["by"]) for t in out["tags"]] == [
        ("Q3", "alice@example.org"),
        ("Q4", "alice@example.org"),
    ]
    assert all(t["at"] for t in out["tags"])
    # Tagging again changes nothing and keeps who tagged it first.
    again = review_cli.json("tag", "ai-sw", a, "Q4", "--as", "bob@example.org")
    assert [t["by"] for t in again["tags"]] == ["alice@example.org", "alice@example.org"]
    out = review_cli.json("untag", "ai-sw", a, "Q4", "--as", "bob@example.org")
    assert [t["question"] for t in out["tags"]] == ["Q3"]

    assert [(who, target, d["question"]) for who, target, d in _audit(env, "record.tag")] == [
        ("alice@example.org", ids["a"], "Q4"),
        ("alice@example.org", ids["a"], "Q3"),
    ]
    [(who, target, details)] = _audit(env, "record.untag")
    assert (who, target, details["question"]) == ("bob@example.org", ids["a"], "Q4")
    assert details["tagged_by"] == "alice@example.org" and details["tagged_at"]
    # The search index follows: Q3 only.
    [hit] = review_cli.json("search", "ai-sw", "consent")["results"]
    assert hit["questions"] == ["Q3"]


def test_tag_with_a_quote_and_page_adds_an_annotation(ids, review_cli, env):
    b = str(ids["b"])
    review_cli(
        "tag", "ai-sw", b, "Q3", "--note", "Key evidence", "--quote", "scores mirror past bias",
        "--page", "7", "--as", "carol@example.org",
    )  # fmt: skip
    shown = review_cli.json("tags", "ai-sw", b)
    [note] = shown["annotations"]
    assert (note["question"], note["note"], note["quote"], note["page"], note["by"]) == (
        "Q3",
        "Key evidence",
        "scores mirror past bias",
        "7",
        "carol@example.org",
    )
    assert note["at"]
    [(who, _, details)] = _audit(env, "annotation.add")
    assert who == "carol@example.org" and details["quote"] == "scores mirror past bias"
    text = review_cli("tags", "ai-sw", b).stdout
    assert 'Q3\tKey evidence "scores mirror past bias" (p. 7)\tcarol@example.org' in text


def test_annotate_alone_for_the_record_or_a_question(ids, review_cli):
    out = review_cli.json("annotate", "ai-sw", str(ids["a"]), "--note", "Check the sample size")
    assert (out["question"], out["note"], out["quote"]) == (None, "Check the sample size", None)
    out = review_cli.json(
        "annotate", "ai-sw", str(ids["a"]), "--question", "Q4", "--quote", "No forms", "--page", "3"
    )
    assert (out["question"], out["quote"], out["page"]) == ("Q4", "No forms", "3")


BAD_INPUT = [
    (("tag", "ai-sw", "{a}", "Q9"), "no review question 'Q9' in review ai-sw"),
    (("tag", "ai-sw", "999", "Q4"), "no record 999 in review ai-sw"),
    (("tag", "ai-sw", "{a}", "Q4", "--page", "3"), "--page goes with a quote (or a note)"),
    (("untag", "ai-sw", "{a}", "Q4"), "record {a} is not tagged to Q4"),
    (("annotate", "ai-sw", "{a}"), "an annotation needs a note or a quote"),
    (("annotate", "ai-sw", "{a}", "--quote", "x", "--page", "1" * 40), "at most 32 characters"),
    (("tag", "nope", "{a}", "Q4"), "no review named 'nope'"),
]  # fmt: skip


def test_bad_tagging_input_says_what_is_wrong(ids, review_cli):
    for args, message in BAD_INPUT:
        result = review_cli(*[a.format(a=ids["a"]) for a in args], ok=False)
        assert result.exit_code == 1, args
        assert message.format(a=ids["a"]) in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output


def test_a_merged_record_cannot_be_tagged(ids, review_cli):
    review_cli("duplicates", "ai-sw", "--merge", str(ids["a"]), str(ids["b"]))
    result = review_cli("tag", "ai-sw", str(ids["b"]), "Q4", ok=False)
    assert f"record {ids['b']} was merged into record {ids['a']}" in result.stderr


def test_editing_and_deleting_an_annotation_keep_the_old_text(session):
    review = reviews.create_review(session, "r", "R", "lead@example.org")
    reviews.add_question(session, review, "Q1", "Types", "lead@example.org")
    record = Record(review_id=review.id, title="A paper")
    session.add(record)
    session.flush()
    note = tagging.annotate(
        session, review, record.id, "ann@example.org", question="Q1", quote="first", page=2
    )
    tagging.edit_annotation(session, review, note.id, "ben@example.org", quote="second")
    assert (note.quote, note.page) == ("second", "2")
    tagging.delete_annotation(session, review, note.id, "cat@example.org")
    assert session.get(Annotation, note.id) is None
    entries = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action.like("annotation.%")).order_by(AuditEntry.id)
    ).all()
    assert [(e.action, e.actor) for e in entries] == [
        ("annotation.add", "ann@example.org"),
        ("annotation.edit", "ben@example.org"),
        ("annotation.delete", "cat@example.org"),
    ]
    assert entries[1].details["before"] == {"note": None, "quote": "first", "page": "2"}
    kept = entries[2].details["annotation"]
    assert (kept["quote"], kept["question"], kept["by"]) == ("second", "Q1", "ann@example.org")
    with pytest.raises(NotFound, match=f"no annotation {note.id} in review r"):
        tagging.delete_annotation(session, review, note.id, "cat@example.org")
    with pytest.raises(Invalid, match="an annotation needs a note or a quote"):
        tagging.annotate(session, review, record.id, "ann@example.org", note="  ")
    session.rollback()


def test_tagging_costs_no_index_update(session):
    """Tags are not in the index (a search's question filter reads them from the
    database), so tagging queues nothing for it."""
    review = reviews.create_review(session, "r", "R", "lead@example.org")
    reviews.add_question(session, review, "Q1", "Types", "lead@example.org")
    record = Record(review_id=review.id, title="A paper")
    session.add(record)
    session.commit()
    session.execute(sa.delete(SearchOutbox))
    session.commit()
    tagging.tag_record(session, review, record.id, ["Q1"], "ann@example.org")
    session.flush()
    assert session.scalar(sa.select(sa.func.count(RecordTag.id))) == 1
    assert session.scalar(sa.select(sa.func.count(SearchOutbox.id))) == 0
