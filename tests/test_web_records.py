"""The records table's bulk actions, editing a record, changing its full text, and the
tag form that ticks nothing in advance: through the real app, as the team uses them."""

from __future__ import annotations

import html
import io
import re

import pytest
import sqlalchemy as sa

from litreview import screening
from litreview.evidence import tags as tagging
from litreview.library import reviews
from litreview.models import Annotation, Attachment, AuditEntry, Decision, Record, RecordTag
from tests.pdfmaker import text_pdf
from tests.webapp import make_site

TA = "title_abstract"
SCRIPT_TITLE = '<script>alert("t")</script> Robotic lawn mowers and <b>risk</b>'


@pytest.fixture
def site(env, database_url):
    with make_site(database_url) as site:
        site.review.exclusion_reasons = ["Not social work", "Not AI"]
        site.session.commit()
        yield site


def flashes(page: str) -> list[str]:
    return [
        html.unescape(m)
        for m in re.findall(r'<p class="flash [^"]+" role="status">(.*?)</p>', page)
    ]


def test_bulk_exclude_with_a_reason_of_everything_matching_a_filter(site):
    mowers = site.add_records(55, title="Robotic lawn mowers")
    [scripted] = site.add_records(1, title=SCRIPT_TITLE)
    [other] = site.add_records(1, title="Risk scores in child protection")
    withdrawn = site.session.get(Record, mowers[-1])
    withdrawn.withdrawn_at = sa.func.now()
    site.session.commit()
    rita = site.client("rita@example.org")

    table = rita.page("/r/ai-sw/records?q=lawn+mowers&sort=-id")
    assert "all <strong>56</strong> records matching the filter, on all 2 pages" in table
    assert '<script>alert("t")</script>' not in table  # a title stays text
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;" in table
    # A viewer sees the table without the bulk form.
    assert 'id="bulk"' not in site.client("vera@example.org").page("/r/ai-sw/records")

    form = {
        "f-q": "lawn mowers",
        "f-sort": "-id",
        "scope": "all",
        "action": "exclude",
        "reason": "not ai",
    }
    asked = rita.post("/r/ai-sw/records/bulk", form)
    assert asked.status_code == 303 and "/records/bulk/confirm?" in asked.location
    page = rita.page(asked.location)
    assert "Exclude 56 records at title/abstract?" in page
    assert "all 56 records matching the filter" in page
    assert '<script>alert("t")</script>' not in page
    assert site.session.scalar(sa.select(sa.func.count(Decision.id))) == 0  # nothing yet

    # Confirming a count the filter no longer matches does nothing.
    stale = rita.post(
        "/r/ai-sw/records/bulk/decide",
        {
            "f-q": "lawn mowers",
            "scope": "all",
            "decision": "exclude",
            "reason": "Not AI",
            "count": "40",
        },
    )
    assert stale.status_code == 303
    assert "nothing was decided" in " ".join(flashes(rita.page(stale.location)))
    assert site.session.scalar(sa.select(sa.func.count(Decision.id))) == 0

    done = rita.post(
        "/r/ai-sw/records/bulk/decide",
        {
            "f-q": "lawn mowers",
            "scope": "all",
            "decision": "exclude",
            "reason": "Not AI",
            "count": "56",
        },
    )
    assert done.status_code == 303
    assert done.location.endswith("/r/ai-sw/records?q=lawn+mowers")
    said = flashes(rita.page(done.location))
    assert said[0] == "Excluded 55 records at title/abstract (reason: Not AI)."
    assert said[1].startswith(
        f"1 record refused: record {mowers[-1]}: record {mowers[-1]} was withdrawn"
    )
    site.session.expire_all()
    review = site.review
    assert screening.outcome_at(site.session, review, scripted, TA) == "exclude"
    assert screening.outcome_at(site.session, review, other, TA) is None
    reasons = set(site.session.scalars(sa.select(Decision.reason)))
    assert reasons == {"Not AI"}
    excluded = rita.page("/r/ai-sw/records?decision=exclude")
    assert '<span id="total">55</span>' in excluded
    [summary] = site.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "screen.bulk_decide")
    )
    assert summary.actor == "rita@example.org" and len(summary.details["decided"]) == 55


def test_bulk_on_ticked_rows_tag_export_and_who_may(site):
    reviews.add_question(site.session, site.review, "Q4", "Data protection", "setup")
    site.session.commit()
    a, b, c = site.add_records(3, title="Consent in case notes")
    rita = site.client("rita@example.org")
    tagged = rita.post(
        "/r/ai-sw/records/bulk",
        {"scope": "rows", "id": [str(a), str(c)], "action": "tag", "question": "Q4"},
    )
    assert tagged.status_code == 303
    assert "Tagged 2 records to Q4." in flashes(rita.page(tagged.location))
    assert set(site.session.scalars(sa.select(RecordTag.record_id))) == {a, c}

    exported = rita.post(
        "/r/ai-sw/records/bulk",
        {"scope": "rows", "id": [str(a), str(b)], "action": "export", "format": "ris"},
    )
    assert exported.status_code == 200
    assert exported.headers["Content-Disposition"] == 'attachment; filename="ai-sw-selected.ris"'
    text = exported.get_data(as_text=True)
    assert text.count("TY  - ") == 2

    # Ticking nothing is said; a viewer may not act in bulk at all.
    empty = rita.post("/r/ai-sw/records/bulk", {"scope": "rows", "action": "include"})
    assert "No records selected" in " ".join(flashes(rita.page(empty.location)))
    vera = site.client("vera@example.org")
    refused = vera.post(
        "/r/ai-sw/records/bulk/decide",
        {"scope": "rows", "id": str(a), "decision": "include", "count": "1"},
    )
    assert refused.status_code == 403
    assert site.session.scalar(sa.select(sa.func.count(Decision.id))) == 0


def test_edit_a_record_and_see_it_on_its_page_and_in_an_export(site):
    [record_id] = site.add_records(1, title="Algorithmic risk scores in chlid protection")
    rita = site.client("rita@example.org")
    form = rita.page(f"/r/ai-sw/records/{record_id}/edit")
    assert 'name="title"' in form and "Author0, A." in form
    saved = rita.post(
        f"/r/ai-sw/records/{record_id}/edit",
        {
            "title": SCRIPT_TITLE,
            "authors": "Okafor, Nkechi\nSmith, Jane",
            "year": "2021",
            "venue": "Journal of Social Work",
            "doi": "doi:10.1000/XYZ",
            "abstract": "Abstract 0.",
            "shown-title": "Algorithmic risk scores in chlid protection",
            "shown-year": "2010",
        },
    )
    assert saved.status_code == 303
    page = rita.page(saved.location)
    assert f"Record {record_id}: title, authors, year, venue, doi changed" in " ".join(
        flashes(page)
    )
    assert '<script>alert("t")</script>' not in page
    assert "&lt;script&gt;" in page
    assert 'class="edited-mark">edited</small>' in page
    assert "Okafor, N." in page or "Okafor" in page
    assert "Algorithmic risk scores in chlid protection" in page  # the value before
    assert "10.1000/xyz" in page
    # The edit form shows the markup as text too (escaped inside its textarea).
    again = rita.page(f"/r/ai-sw/records/{record_id}/edit")
    assert '<script>alert("t")</script>' not in again
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;" in again
    # The export writes the edited record.
    ris = rita.get("/r/ai-sw/exports/records?format=ris").get_data(as_text=True)
    assert "AU  - Okafor, Nkechi" in ris and "DO  - 10.1000/xyz" in ris
    # A year that is not one is named; what was typed stays in the form.
    bad = rita.post(f"/r/ai-sw/records/{record_id}/edit", {"year": "20x1", "venue": "JSW"})
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "year: &#39;20x1&#39; is not a year" in text and 'value="20x1"' in text
    site.session.expire_all()
    assert site.session.get(Record, record_id).venue == "Journal of Social Work"
    # Someone else's change since the form was opened is not overwritten.
    clash = rita.post(f"/r/ai-sw/records/{record_id}/edit", {"year": "2022", "shown-year": "2010"})
    assert clash.status_code == 409
    assert "changed by someone else" in clash.get_data(as_text=True)
    # A viewer may not edit.
    vera = site.client("vera@example.org")
    assert vera.get(f"/r/ai-sw/records/{record_id}/edit").status_code == 403


def test_remove_and_replace_a_full_text_from_the_record_page(site, tmp_path):
    [record_id] = site.add_records(1)
    rita = site.client("rita@example.org")
    first = text_pdf(["Safeguarding thresholds in the draft"])
    rita.post(
        f"/r/ai-sw/records/{record_id}/attachments",
        {"pdf": (io.BytesIO(first), "draft.pdf")},
        content_type="multipart/form-data",
    )
    [old] = site.session.scalars(sa.select(Attachment.id))
    page = rita.page(f"/r/ai-sw/records/{record_id}")
    assert f"/attachments/{old}/replace" in page and f"/attachments/{old}/remove" in page
    bad = rita.post(
        f"/r/ai-sw/records/{record_id}/attachments/{old}/replace",
        {"pdf": (io.BytesIO(b"not a pdf"), "notes.pdf")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400
    assert "notes.pdf: not a PDF" in bad.get_data(as_text=True)
    replaced = rita.post(
        f"/r/ai-sw/records/{record_id}/attachments/{old}/replace",
        {"pdf": (io.BytesIO(text_pdf(["Kinship placements, final"])), "final.pdf")},
        content_type="multipart/form-data",
    )
    assert replaced.status_code == 303
    site.session.expire_all()
    [(new, name)] = site.session.execute(sa.select(Attachment.id, Attachment.filename)).all()
    assert name == "final.pdf" and new != old
    removed = rita.post(f"/r/ai-sw/records/{record_id}/attachments/{new}/remove")
    assert removed.status_code == 303
    assert "final.pdf was removed" in " ".join(flashes(rita.page(removed.location)))
    site.session.expire_all()
    assert site.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0
    actions = list(
        site.session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.action.like("attachment.%"))
            .order_by(AuditEntry.id)
        )
    )
    assert actions == ["attachment.add", "attachment.add", "attachment.remove", "attachment.remove"]
    assert (
        site.client("vera@example.org")
        .post(f"/r/ai-sw/records/{record_id}/attachments/{old}/remove")
        .status_code
        == 403
    )


def test_the_tag_form_ticks_nothing_and_a_quote_is_stored_under_the_ticked_question(site):
    for code, title in (("Q3", "Bias and discrimination"), ("Q4", "Data protection")):
        reviews.add_question(site.session, site.review, code, title, "setup")
    [record_id] = site.add_records(1)
    tagging.tag_record(site.session, site.review, record_id, ["Q3"], "setup")
    site.session.commit()
    rita = site.client("rita@example.org")
    page = rita.page(f"/r/ai-sw/records/{record_id}")
    boxes = re.findall(r'<input type="checkbox" name="question" value="(Q\d)"([^>]*)>', page)
    assert boxes == [("Q3", ""), ("Q4", "")]  # none ticked in advance
    assert '<small class="tagged-mark">tagged</small>' in page
    saved = rita.post(
        f"/r/ai-sw/records/{record_id}/tags",
        {"question": "Q4", "quote": "notes shared without consent", "page": "12"},
    )
    assert saved.status_code == 303
    # A quote with no question ticked is refused, and stored nowhere.
    nowhere = rita.post(f"/r/ai-sw/records/{record_id}/tags", {"quote": "a passage"})
    assert "A quote goes under the review question it is evidence for" in " ".join(
        flashes(rita.page(nowhere.location))
    )
    rows = site.session.execute(sa.select(Annotation.question_id, Annotation.quote)).all()
    q4 = next(q.id for q in site.review.questions if q.code == "Q4")
    assert rows == [(q4, "notes shared without consent")]
    md = rita.get("/r/ai-sw/exports/annotated?format=md").get_data(as_text=True)
    q3_part, q4_part = md.split("Q4. Data protection")
    assert "notes shared without consent" not in q3_part
    assert "notes shared without consent" in q4_part


def test_bulk_decisions_and_edits_at_once_give_one_result_each_never_a_500(env, database_url):
    from tests.loopback import Browser, at_once, serve_in_thread

    # As in production: an error in a view is the app's 500, not an exception in the test.
    with make_site(database_url, {"PROPAGATE_EXCEPTIONS": False}) as site:
        ids = site.add_records(30, title="Robotic lawn mowers")
        first = ids[0]
        bulk = "/r/ai-sw/records/bulk/decide"
        with serve_in_thread(site.app) as base:
            people = {}
            for email in ("rita@example.org", "rob@example.org", "lead@example.org"):
                people[email] = Browser(base)
                assert people[email].sign_in(email).status == 302
            tabs = [people[e].copy() for e in ("rita@example.org", "rob@example.org")] * 2
            tabs += [people["lead@example.org"].copy() for _ in range(2)]

            def work(n: int):
                if n < 4:  # two reviewers, each in two tabs, over the same records
                    decision = "exclude" if n % 2 == 0 else "include"
                    return tabs[n].post(
                        bulk,
                        {"f-q": "mowers", "f-sort": "-id" if n < 2 else "id", "scope": "all",
                         "decision": decision, "count": "30"},
                    )  # fmt: skip
                # The lead corrects the same record's title in two tabs, differently.
                return tabs[n].post(
                    f"/r/ai-sw/records/{first}/edit",
                    {"title": f"Robotic lawn mowers, tab {n}",
                     "shown-title": "Robotic lawn mowers"},
                )  # fmt: skip

            answers = at_once(6, work)
        statuses = [a.status for a in answers]
        assert statuses[:4] == [303] * 4, [a.text[:300] for a in answers[:4]]
        assert sorted(statuses[4:]) == [303, 409], statuses
        site.session.expire_all()
        current = site.session.execute(
            sa.select(Decision.user_id, Decision.decision, sa.func.count())
            .where(Decision.current)
            .group_by(Decision.user_id, Decision.decision)
        ).all()
        rita, rob = site.users["rita@example.org"].id, site.users["rob@example.org"].id
        assert sorted(current) == sorted([(rita, "exclude", 30), (rob, "include", 30)])
        title = site.session.get(Record, first).title
        assert title in ("Robotic lawn mowers, tab 4", "Robotic lawn mowers, tab 5")
        edits = site.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "record.edit")
        ).all()
        assert len(edits) == 1 and edits[0].details["after"]["title"] == title


def test_a_bulk_exclusion_at_full_text_without_a_reason_is_refused_before_confirming(site):
    [record_id] = site.add_records(1)
    rita_user = site.users["rita@example.org"]
    screening.decide(site.session, site.review, record_id, rita_user, TA, "include")
    site.session.commit()
    rita = site.client("rita@example.org")
    asked = rita.post(
        "/r/ai-sw/records/bulk",
        {"f-stage": "full_text", "scope": "all", "action": "exclude", "reason": ""},
    )
    assert asked.status_code == 303
    answer = rita.get(asked.location)
    assert answer.status_code == 303  # back to the table, not to a confirmation
    said = " ".join(flashes(rita.page(answer.location)))
    assert "Nothing was decided: Excluding at full text needs a reason" in said
    assert "stage=full_text" in answer.location
