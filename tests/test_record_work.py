"""Work on many records and on one record's details, on SQLite and PostgreSQL: a bulk
decision (through the one decision rule: refusals named, blind dual kept, audited), a
bulk tag, a metadata edit (audited, original kept, match key and search index
follow), removing and replacing a full text, the export of a selection, and a quote
printed under its own question only."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import screening
from litreview.accounts.users import NotAllowed
from litreview.config import load_settings
from litreview.errors import Invalid, NotFound
from litreview.evidence import attachments
from litreview.evidence import tags as tagging
from litreview.export import annotated
from litreview.export.outputs import chosen_records_file
from litreview.export.record_files import NothingSelected, export_chosen_records
from litreview.ingest.dedup import record_match_key
from litreview.library import duplicates, editing, imports
from litreview.library.record_table import TableQuery, fetch, matching_ids
from litreview.models import (
    Annotation,
    AttachmentPage,
    AuditEntry,
    Decision,
    ImportBatch,
    Record,
    RecordSource,
    SearchOutbox,
    StageOutcome,
    utcnow,
)
from litreview.screening.bulk import decide_many
from litreview.search import search_review
from tests.pdfmaker import text_pdf
from tests.test_screening import FT, TA, make_team


def audit_of(session: Session, action: str) -> list[AuditEntry]:
    return list(
        session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


def current(session: Session, record_id: int, stage: str = TA) -> list[tuple[str, str, str]]:
    return session.execute(
        sa.select(Decision.user_id, Decision.decision, Decision.reason).where(
            Decision.record_id == record_id, Decision.stage == stage, Decision.current
        )
    ).all()


# ------------------------------------------------------------------ bulk decisions


def test_bulk_exclude_of_everything_matching_a_filter(session):
    team = make_team(session, records=0)
    review = team.review
    review.exclusion_reasons = ["Not social work", "Not AI"]
    titles = [f"Robotic lawn mowers {n}" for n in range(60)] + ["Risk scores in child care"]
    rows = [Record(review_id=review.id, title=t, year=2020) for t in titles]
    session.add_all(rows)
    session.flush()
    ids = [r.id for r in rows]
    # One match is merged away (not listed at all), one withdrawn (listed, refused).
    duplicates.merge(session, review, ids[0], ids[1], "lead@example.org")
    session.get(Record, ids[2]).withdrawn_at = utcnow()
    session.commit()

    query = TableQuery(text="lawn mowers")
    matched = matching_ids(session, review, query)
    assert len(matched) == fetch(session, review, query).total == 59  # all pages
    assert ids[1] not in matched and ids[-1] not in matched

    done = decide_many(session, review, matched, team.ann, TA, "exclude", reason="not social WORK")
    session.commit()
    assert len(done.decided) == 58 and done.unchanged == []
    assert list(done.refused) == [ids[2]]
    assert "withdrawn" in done.refused[ids[2]]
    # Each is an ordinary decision: the review's spelling of the reason, an outcome.
    assert current(session, ids[5]) == [(team.ann.id, "exclude", "Not social work")]
    assert screening.outcome_at(session, review, ids[5], TA) == "exclude"
    assert current(session, ids[-1]) == []  # not matching: untouched
    assert len(audit_of(session, "screen.decide")) == 58
    [summary] = audit_of(session, "screen.bulk_decide")
    assert summary.actor == "ann@example.org"
    assert summary.details["refused"] == [ids[2]]
    assert len(summary.details["decided"]) == 58

    # The same again changes nothing; a different decision replaces, history kept.
    again = decide_many(session, review, matched, team.ann, TA, "exclude", reason="Not social work")
    assert (len(again.decided), len(again.unchanged)) == (0, 58)
    changed = decide_many(session, review, matched[2:5], team.ann, TA, "include")
    session.commit()
    assert len(changed.decided) == 3
    assert (
        session.scalar(
            sa.select(sa.func.count()).where(Decision.record_id == matched[2], Decision.stage == TA)
        )
        == 2
    )


def test_bulk_decisions_keep_the_rules_of_one_decision(session):
    team = make_team(session, records=4)
    review = team.review
    a, b, c, d = team.records
    review.exclusion_reasons = ["Not social work"]
    session.commit()
    # A viewer, or someone outside the review, decides nothing at all.
    with pytest.raises(NotAllowed):
        decide_many(session, review, [a, b], team.vic, TA, "include")
    session.rollback()
    # A reason not on the review's list, or a reason with include: refused before any record.
    with pytest.raises(Invalid, match="not one of this review's"):
        decide_many(session, review, [a, b], team.ann, TA, "exclude", reason="Too old")
    session.rollback()
    with pytest.raises(Invalid, match="no records selected"):
        decide_many(session, review, [], team.ann, TA, "include")
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(Decision.id))) == 0
    # Full text: only records included (or maybe) at title/abstract; a reason is needed.
    screening.decide(session, review, a, team.ann, TA, "include")
    screening.decide(session, review, b, team.ann, TA, "exclude")
    session.commit()
    with pytest.raises(Invalid, match="needs a reason"):
        decide_many(session, review, [a, b], team.ann, FT, "exclude")
    session.rollback()
    done = decide_many(
        session, review, [a, b, c, 987654], team.ann, FT, "exclude", reason="Not social work"
    )
    session.commit()
    assert done.decided == [a]
    assert set(done.refused) == {b, c, 987654}
    assert "excluded" in done.refused[b] and "not decided yet" in done.refused[c]
    assert "no record 987654" in done.refused[987654]
    assert current(session, b, FT) == [] and current(session, d) == []


def test_bulk_decisions_in_blind_dual_mode_are_each_reviewers_own(session):
    team = make_team(session, records=3, mode="dual")
    review = team.review
    ids = team.records
    decide_many(session, review, ids, team.ann, TA, "exclude")
    session.commit()
    # One reviewer's bulk decision is not the outcome: a second reviewer is awaited.
    assert {screening.outcome_at(session, review, i, TA) for i in ids} == {None}
    # Ben, blind, sees none of Ann's decisions, and his bulk decision is his own.
    assert screening.visible_decisions(session, review, ids[0], team.ben, TA) == []
    decide_many(session, review, ids[:2], team.ben, TA, "include")
    session.commit()
    assert screening.outcome_at(session, review, ids[0], TA) == screening.CONFLICT
    assert screening.outcome_at(session, review, ids[2], TA) is None
    outcomes = dict(
        session.execute(
            sa.select(StageOutcome.record_id, StageOutcome.outcome).where(StageOutcome.stage == TA)
        ).all()
    )
    assert outcomes.get(ids[0]) == screening.CONFLICT


def test_bulk_tagging_tags_once_and_names_refusals(session):
    team = make_team(session, records=3)
    review = team.review
    a, b, c = team.records
    from litreview.library import reviews

    reviews.add_question(session, review, "Q3", "Bias", "lead@example.org")
    tagging.tag_record(session, review, a, ["Q3"], "ann@example.org")
    duplicates.merge(session, review, b, c, "lead@example.org")
    session.commit()
    with pytest.raises(NotFound, match="its questions: Q3"):
        tagging.tag_many(session, review, [a, b], ["Q9"], "ann@example.org")
    session.rollback()
    tagged, already, refused = tagging.tag_many(
        session, review, [a, b, c], ["q3"], "ben@example.org"
    )
    session.commit()
    assert (tagged, already, list(refused)) == ([b], [a], [c])
    assert "merged into record" in refused[c]
    assert [e.target_id for e in audit_of(session, "record.tag")] == [a, b]


# ------------------------------------------------------------------ editing a record


def imported_record(session: Session, team) -> Record:
    """A record as an import makes it: its entry kept as read on a RecordSource."""
    batch = ImportBatch(
        review_id=team.review.id,
        file_name="scopus.ris",
        format="ris",
        source_label="Scopus",
        sha256="0" * 64,
        created_by="lead@example.org",
    )
    session.add(batch)
    session.flush()
    fields = {
        "title": "Algorithmic risk scores in chlid protection",
        "authors": [{"family": "Okafor", "given": "N."}],
        "year": 2012,
        "venue": "J. Soc. Wrk",
        "doi": None,
        "abstract": "We study risk scores.",
    }
    record = Record(
        review_id=team.review.id,
        match_key=record_match_key(fields["title"], fields["year"], fields["authors"]),
        **fields,
    )
    session.add(record)
    session.flush()
    raw = "TY  - JOUR\nTI  - Algorithmic risk scores in chlid protection\nER  - "
    session.add(
        RecordSource(
            review_id=team.review.id,
            record_id=record.id,
            batch_id=batch.id,
            entry_key="okafor12",
            line=1,
            fingerprint=imports.fingerprint("ris", raw),
            raw=raw,
            data=fields,
        )
    )
    session.commit()
    return record


def test_an_edit_is_audited_keeps_the_original_and_updates_the_match_key(session):
    team = make_team(session, records=0)
    review = team.review
    record = imported_record(session, team)
    session.execute(sa.delete(SearchOutbox))
    session.commit()
    changed = editing.edit_record(
        session,
        review,
        record.id,
        {
            "title": "  Algorithmic risk scores in child protection ",
            "authors": "Okafor, Nkechi\nJane Smith\n",
            "year": "2021",
            "venue": "Journal of Social Work",
            "doi": "https://doi.org/10.1000/ABC.1",
            "abstract": "We study risk scores.",  # unchanged
        },
        "ann@example.org",
    )
    session.commit()
    assert list(changed) == ["title", "authors", "year", "venue", "doi"]
    session.refresh(record)
    assert record.title == "Algorithmic risk scores in child protection"
    assert record.authors == [
        {"family": "Okafor", "given": "Nkechi"},
        {"family": "Smith", "given": "Jane"},
    ]
    assert (record.year, record.doi) == (2021, "10.1000/abc.1")
    # Deduplication compares the new key; the search index is told to re-read it.
    assert record.match_key == record_match_key(record.title, 2021, record.authors)
    assert "child protection|2021|okafor" in record.match_key
    if session.get_bind().dialect.name == "sqlite":
        assert session.scalar(sa.select(SearchOutbox.record_id)) == record.id
    [entry] = audit_of(session, "record.edit")
    assert (entry.actor, entry.target_id) == ("ann@example.org", record.id)
    assert entry.details["before"]["title"] == "Algorithmic risk scores in chlid protection"
    assert entry.details["after"]["year"] == 2021 and entry.details["before"]["year"] == 2012
    # The entry as imported is untouched, and shown beside the edit.
    [source] = session.scalars(sa.select(RecordSource).where(RecordSource.record_id == record.id))
    assert source.data["title"] == "Algorithmic risk scores in chlid protection"
    assert "chlid" in source.raw
    [(where, values)] = editing.imported_values(record, ["title", "year"])
    assert where == "Scopus, entry okafor12"
    assert values == {"title": "Algorithmic risk scores in chlid protection", "year": "2012"}
    [edit] = editing.record_edits(session, review, record.id)
    assert edit.fields == list(changed) and edit.by == "ann@example.org"
    # Nothing different: nothing changes, nothing is logged.
    assert editing.edit_record(session, review, record.id, {"year": "2021"}, "x") == {}
    assert len(audit_of(session, "record.edit")) == 1


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ({"year": "21"}, "year: '21' is not a year"),
        ({"doi": "see the PDF"}, "DOI: 'see the PDF' is not a DOI"),
        ({"title": "   "}, "title: a record needs a title"),
        ({"authors": "Okafor, N.\n , ;"}, "authors, line 2"),
        ({"pages": "1-9"}, "field 'pages' cannot be edited"),
    ],
)
def test_a_bad_value_is_named_and_nothing_changes(session, typed, message):
    team = make_team(session, records=0)
    record = imported_record(session, team)
    with pytest.raises(Invalid, match=message):
        editing.edit_record(
            session, team.review, record.id, {"venue": "Changed", **typed}, "ann@example.org"
        )
    session.rollback()
    assert session.get(Record, record.id).venue == "J. Soc. Wrk"
    assert audit_of(session, "record.edit") == []


def test_an_edit_over_someone_elses_is_refused(session):
    team = make_team(session, records=0)
    record = imported_record(session, team)
    shown = editing.form_values(record)
    editing.edit_record(session, team.review, record.id, {"year": "2013"}, "ben@example.org")
    session.commit()
    with pytest.raises(editing.EditedElsewhere, match="changed by someone else"):
        editing.edit_record(
            session, team.review, record.id, {"year": "2014"}, "ann@example.org", shown=shown
        )
    session.rollback()
    # A field nobody else changed may still be edited from the same form.
    changed = editing.edit_record(
        session, team.review, record.id, {"venue": "JSW"}, "ann@example.org", shown=shown
    )
    assert list(changed) == ["venue"]
    assert session.get(Record, record.id).year == 2013


def test_an_edited_title_is_what_search_and_exports_show(session, tmp_path):
    team = make_team(session, records=0)
    review = team.review
    record = imported_record(session, team)
    editing.edit_record(
        session, review, record.id, {"title": "Kinship care and <script>x</script> triage"}, "a"
    )
    session.commit()
    made = export_chosen_records(session, review, "ris", [record.id])
    assert "TI  - Kinship care and <script>x</script> triage" in made.text
    assert "chlid" not in made.text
    file = chosen_records_file(session, review, "bibtex", [record.id, 987654])
    assert file.filename == "ai-sw-selected.bib" and file.summary["records"] == 1
    with pytest.raises(NothingSelected, match="none of the 1 records"):
        export_chosen_records(session, review, "csv", [987654])
    found = _search(session, tmp_path, review, "kinship")
    assert found == [record.id]
    assert _search(session, tmp_path, review, "chlid") == []


def _search(session: Session, tmp_path: Path, review, text: str) -> list[int]:
    """What a search finds: PostgreSQL's own columns, or the tantivy index in the data
    folder brought up to date from the outbox."""
    settings = load_settings(
        {
            "LITREVIEW_DATABASE_URL": session.get_bind().url.render_as_string(hide_password=False),
            "LITREVIEW_DATA_DIR": str(tmp_path / "data"),
        }
    )
    from litreview.search import open_backend

    backend = open_backend(settings)
    result = search_review(session, backend, review, text, limit=50)
    return [hit.record_id for hit in result.hits]


# ------------------------------------------------------------------ attachments


def test_removing_and_replacing_a_full_text(session, tmp_path):
    team = make_team(session, records=1)
    review = team.review
    [record_id] = team.records
    settings = load_settings({"LITREVIEW_DATA_DIR": str(tmp_path / "data")})
    old_pdf = tmp_path / "draft.pdf"
    old_pdf.write_bytes(text_pdf(["Safeguarding thresholds in the first draft"]))
    new_pdf = tmp_path / "final.pdf"
    new_pdf.write_bytes(text_pdf(["Kinship placements in the published version"]))
    not_pdf = tmp_path / "notes.pdf"
    not_pdf.write_text("just notes")
    old = attachments.attach_pdf(session, settings, review, record_id, old_pdf, "ann").attachment
    session.commit()
    assert _search(session, tmp_path, review, "safeguarding") == [record_id]

    # A file that is not a PDF leaves the old one as it was.
    with pytest.raises(Invalid, match="notes.pdf: not a PDF"):
        attachments.replace_attachment(session, settings, review, record_id, old.id, not_pdf, "ben")
    session.rollback()
    assert [a.id for a in attachments.record_attachments(session, review, record_id)] == [old.id]

    new = attachments.replace_attachment(
        session, settings, review, record_id, old.id, new_pdf, "ben"
    )
    session.commit()
    assert new.created
    kept = attachments.record_attachments(session, review, record_id)
    assert [a.filename for a in kept] == ["final.pdf"]
    assert (
        session.scalar(
            sa.select(sa.func.count(AttachmentPage.id)).where(
                AttachmentPage.attachment_id == old.id
            )
        )
        == 0
    )
    assert _search(session, tmp_path, review, "safeguarding") == []
    assert _search(session, tmp_path, review, "kinship") == [record_id]
    [removed] = audit_of(session, "attachment.remove")
    assert removed.details["file"] == "draft.pdf" and removed.details["added_by"] == "ann"
    assert removed.actor == "ben"

    attachments.remove_attachment(session, review, record_id, new.attachment.id, "ann")
    session.commit()
    assert attachments.record_attachments(session, review, record_id) == []
    assert _search(session, tmp_path, review, "kinship") == []
    with pytest.raises(NotFound):
        attachments.remove_attachment(session, review, record_id, new.attachment.id, "ann")


# ------------------------------------------------------------------ a quote under its question


def test_a_quote_is_printed_under_its_own_question_only(session):
    team = make_team(session, records=1)
    review = team.review
    [record_id] = team.records
    from litreview.library import reviews

    reviews.add_question(session, review, "Q3", "Bias and discrimination", "lead")
    reviews.add_question(session, review, "Q4", "Data protection", "lead")
    tagging.tag_record(session, review, record_id, ["Q3"], "ann@example.org")
    # Later, a data-protection quote, ticked for Q4 only.
    tagging.tag_record(
        session,
        review,
        record_id,
        ["Q4"],
        "ann@example.org",
        quote="case notes were shared without consent",
        page="12",
    )
    session.commit()
    stored = session.execute(
        sa.text("SELECT question_id FROM annotation WHERE quote IS NOT NULL")
    ).all()
    assert len(stored) == 1  # stored once
    bib = annotated.build(session, review)
    quotes = {
        s.code: [a.quote for e in s.entries for a in e.annotations if a.quote] for s in bib.sections
    }
    assert quotes == {"Q3": [], "Q4": ["case notes were shared without consent"]}


def test_a_quote_needs_its_question_and_a_general_one_stays_out_of_the_sections(session):
    team = make_team(session, records=1)
    review = team.review
    [record_id] = team.records
    from litreview.library import reviews

    reviews.add_question(session, review, "Q3", "Bias and discrimination", "lead")
    tagging.tag_record(session, review, record_id, ["Q3"], "ann@example.org")
    session.commit()
    with pytest.raises(Invalid, match="a quote goes under the review question"):
        tagging.annotate(session, review, record_id, "ann", quote="shared without consent")
    session.rollback()
    note = tagging.annotate(session, review, record_id, "ann", note="A key review overall")
    session.commit()
    with pytest.raises(Invalid, match="a quote goes under the review question"):
        tagging.edit_annotation(session, review, note.id, "ann", quote="a passage")
    session.rollback()
    # A general quote written before the rule (or restored from an old backup).
    session.add(
        Annotation(
            review_id=review.id, record_id=record_id, quote="an old general quote", created_by="x"
        )
    )
    session.commit()
    screening.decide(session, review, record_id, team.ann, TA, "include")
    screening.decide(session, review, record_id, team.ann, FT, "include")
    session.commit()
    bib = annotated.build(session, review, include_untagged=True)
    [q3] = [s for s in bib.sections if s.code == "Q3"]
    [entry] = q3.entries
    assert [(a.note, a.quote) for a in entry.annotations] == [("A key review overall", None)]
