"""Screening pages (test client): the sample review's keys work on first try, the switch
to dual mode asks first and does what was chosen, "Mark not retrievable" from the
full-text page, and the conflicts page's blind rule."""

from __future__ import annotations

import pytest

from litreview import screening
from litreview.library import reviews
from litreview.library.sample import SAMPLE_DIR
from litreview.models import Record
from tests.webapp import make_site

TA, FT = "title_abstract", "full_text"


@pytest.fixture
def site(env, database_url):
    with make_site(database_url) as site:
        yield site


def test_the_sample_review_ships_reasons_criteria_and_highlights(cli, database_url):
    import json

    cli("init")
    cli.json("load-sample")
    shipped = json.loads((SAMPLE_DIR / "settings.json").read_text(encoding="utf-8"))
    with make_site(database_url) as site:
        review = reviews.get_review(site.session, "ai-sw")
        assert review.exclusion_reasons == shipped["exclusion_reasons"]
        assert len(review.exclusion_reasons) >= 4 and review.criteria
        html = site.client("lead@example.org").page("/r/ai-sw/screen/title_abstract/")
        for n, reason in enumerate(shipped["exclusion_reasons"], start=1):
            assert f"<kbd>{n}</kbd> {reason}" in html
        assert 'id="criteria-toggle"' in html and 'id="key-legend"' in html
        # The highlight words mark the records they are about.
        radiology = next(
            r.id for r in review_records(site) if "pulmonary" in (r.title or "").lower()
        )
        page = site.client("lead@example.org").page(f"/r/ai-sw/screen/title_abstract/{radiology}")
        assert '<mark class="hl-exc">' in page


def review_records(site):
    import sqlalchemy as sa

    return site.session.scalars(sa.select(Record).where(Record.review_id == site.review.id))


def test_switching_to_dual_asks_first_and_does_what_was_chosen(site):
    ids = site.add_records(3)
    rita = site.users["rita@example.org"]
    screening.decide(site.session, site.review, ids[0], rita, TA, "include")
    screening.decide(site.session, site.review, ids[1], rita, TA, "exclude")
    site.session.commit()
    lead = site.client("lead@example.org")
    form = {
        "title": "AI in social work",
        "screening_mode": "dual",
        "screening_order": "relevance",
        "exclusion_reasons": "Not about AI",
    }
    asked = lead.post("/r/ai-sw/settings", form)
    assert asked.status_code == 200
    html = asked.get_data(as_text=True)
    assert "<strong>2 records</strong> have a decision by one reviewer" in html
    assert 'value="keep" id="on-switch-keep" checked' in html
    site.session.expire_all()
    assert site.review.screening_mode == "single"  # nothing changed yet
    assert site.review.exclusion_reasons == []
    # The lead sends them to a second reviewer.
    done = lead.post("/r/ai-sw/settings", {**form, "on_switch": "second"})
    assert done.status_code == 303
    page = lead.page(done.location)
    assert "records one reviewer decided before now wait for a second reviewer" in page
    site.session.expire_all()
    assert site.review.screening_mode == "dual"
    assert site.review.exclusion_reasons == ["Not about AI"]
    assert screening.outcomes_at(site.session, site.review, TA) == {}
    # Back to single (nothing to ask), then dual again keeping them: settled.
    assert lead.post("/r/ai-sw/settings", {**form, "screening_mode": "single"}).status_code == 303
    again = lead.post("/r/ai-sw/settings", {**form, "on_switch": "keep"})
    assert again.status_code == 303
    site.session.expire_all()
    assert screening.outcomes_at(site.session, site.review, TA) == {
        ids[0]: "include",
        ids[1]: "exclude",
    }


def test_no_question_when_nothing_was_decided(site):
    site.add_records(2)
    lead = site.client("lead@example.org")
    form = {"title": "AI in social work", "screening_mode": "dual"}
    assert lead.post("/r/ai-sw/settings", form).status_code == 303
    site.session.expire_all()
    assert site.review.screening_mode == "dual"


def test_mark_not_retrievable_from_full_text_screening(site):
    ids = site.add_records(2)
    rob = site.users["rob@example.org"]
    screening.decide(site.session, site.review, ids[0], rob, TA, "include")
    site.session.commit()
    rita = site.client("rita@example.org")
    html = rita.page(f"/r/ai-sw/screen/full_text/{ids[0]}")
    assert 'id="mark-not-retrievable"' in html
    # A record that did not pass title/abstract is refused, named, and nothing is marked.
    refused = rita.post(f"/r/ai-sw/screen/full_text/{ids[1]}/not-retrievable", {"note": "x"})
    assert refused.status_code == 303
    message = rita.page(refused.location)
    assert f"Record {ids[1]} is not sought for retrieval" in message
    marked = rita.post(
        f"/r/ai-sw/screen/full_text/{ids[0]}/not-retrievable", {"note": "author did not reply"}
    )
    page = rita.page(marked.location)
    assert f"The report of record {ids[0]} is marked as not retrievable." in page
    site.session.expire_all()
    record = site.session.get(Record, ids[0])
    assert record.not_retrievable_note == "author did not reply"
    assert "Nothing left to screen" in page  # it left the full-text queue
    assert rita.post("/r/ai-sw/screen/full_text/999999/not-retrievable").status_code == 404
    vera = site.client("vera@example.org")
    assert vera.post(f"/r/ai-sw/screen/full_text/{ids[0]}/not-retrievable").status_code == 403


def test_conflicts_page_blind_to_who_may_not_resolve(site):
    reviews.update_settings(site.session, site.review, actor="setup", screening_mode="dual")
    [record] = site.add_records(1, title="<script>alert(1)</script> Risk tools")
    rita, rob = site.users["rita@example.org"], site.users["rob@example.org"]
    screening.decide(site.session, site.review, record, rita, TA, "include", note="rita's view")
    screening.decide(site.session, site.review, record, rob, TA, "exclude", note="rob's view")
    site.session.commit()
    lead_html = site.client("lead@example.org").page("/r/ai-sw/conflicts")
    assert "rita&#39;s view" in lead_html and "rob&#39;s view" in lead_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Risk tools" in lead_html
    assert "<script>alert" not in lead_html
    rita_html = site.client("rita@example.org").page("/r/ai-sw/conflicts")
    assert "rita&#39;s view" in rita_html and "rob&#39;s view" not in rita_html
    assert "The other reviewer decided differently." in rita_html
    vera_html = site.client("vera@example.org").page("/r/ai-sw/conflicts")
    assert "rita&#39;s view" not in vera_html and "rob&#39;s view" not in vera_html
    assert 'class="decision-include"' not in vera_html
    assert 'class="decision-exclude"' not in vera_html
    assert "2 reviewers decided differently." in vera_html
