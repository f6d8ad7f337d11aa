"""Screening in the browser (test client): decide, skip, undo, full text, blind dual mode,
conflicts, agreement; imported markup stays text and highlight words are marked."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from litreview import screening
from litreview.evidence import attachments
from litreview.library import reviews
from litreview.models import Decision, Resolution
from tests.pdfmaker import text_pdf
from tests.webapp import make_site

TA, FT = "title_abstract", "full_text"


@pytest.fixture
def site(env, database_url):
    with make_site(database_url) as site:
        yield site


def shown_record(html: str) -> int:
    return int(re.search(r'<strong id="record-id">(\d+)</strong>', html).group(1))


def follow(client, response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return client.page(response.location)


def test_screen_records_one_after_another_with_skip_and_undo(site):
    ids = site.add_records(4)
    rita = site.client("rita@example.org")
    html = rita.page("/r/ai-sw/screen/title_abstract/")
    assert shown_record(html) == ids[0]
    html = follow(
        rita, rita.post(f"/r/ai-sw/screen/title_abstract/{ids[0]}", {"decision": "include"})
    )
    assert shown_record(html) == ids[1]
    # Skip the second: it comes back once the others are done.
    html = follow(rita, rita.post(f"/r/ai-sw/screen/title_abstract/{ids[1]}/skip"))
    assert shown_record(html) == ids[2]
    assert "1 skipped for later" in html
    html = follow(
        rita,
        rita.post(
            f"/r/ai-sw/screen/title_abstract/{ids[2]}",
            {"decision": "exclude", "reason": "Not about AI", "note": "sports"},
        ),
    )
    assert shown_record(html) == ids[3]
    html = follow(
        rita, rita.post(f"/r/ai-sw/screen/title_abstract/{ids[3]}", {"decision": "maybe"})
    )
    assert shown_record(html) == ids[1]
    assert "Back to the 1 record(s) you skipped." in html
    # Undo takes back the latest decision (the maybe) and shows that record again.
    html = follow(rita, rita.post("/r/ai-sw/screen/title_abstract/undo"))
    assert shown_record(html) == ids[3]
    assert f"Undone: your maybe on record {ids[3]}." in html
    html = follow(
        rita, rita.post(f"/r/ai-sw/screen/title_abstract/{ids[3]}", {"decision": "include"})
    )
    html = follow(
        rita, rita.post(f"/r/ai-sw/screen/title_abstract/{ids[1]}", {"decision": "include"})
    )
    assert "Nothing left to screen" in html
    assert "(4 decided)" in html
    effective = screening.outcomes_at(site.session, site.review, TA)
    assert effective == {ids[0]: "include", ids[1]: "include", ids[2]: "exclude", ids[3]: "include"}
    # The history keeps the withdrawn maybe.
    rows = site.session.scalars(
        sa.select(Decision.decision).where(Decision.record_id == ids[3]).order_by(Decision.id)
    ).all()
    assert rows == ["maybe", "include"]
    # Previous goes back to what Rita decided before a record.
    html = rita.page(f"/r/ai-sw/screen/title_abstract/{ids[3]}")
    assert f'href="/r/ai-sw/screen/title_abstract/{ids[2]}" ' in html or (
        f'href="/r/ai-sw/screen/title_abstract/{ids[2]}"' in html
    )
    assert 'Your decision: <strong class="decision-include">Include</strong>' in html


def test_a_viewer_cannot_screen_and_a_decision_needs_a_choice(site):
    [record] = site.add_records(1)
    vera = site.client("vera@example.org")
    assert (
        vera.post(f"/r/ai-sw/screen/title_abstract/{record}", {"decision": "include"}).status_code
        == 403
    )
    rita = site.client("rita@example.org")
    response = rita.post(f"/r/ai-sw/screen/title_abstract/{record}", {"note": "hmm"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose include, exclude or maybe." in html
    assert ">hmm</textarea>" in html
    bad = rita.post(f"/r/ai-sw/screen/title_abstract/{record}", {"decision": "perhaps"})
    assert bad.status_code == 400
    assert "Decision &#39;perhaps&#39;: choose include, exclude, maybe." in bad.get_data(
        as_text=True
    )
    assert rita.get("/r/ai-sw/screen/nowhere/").status_code == 404


def test_full_text_shows_the_pdf_and_its_text_and_needs_an_exclusion_reason(site, tmp_path):
    reviews.update_settings(
        site.session,
        site.review,
        actor="setup",
        exclusion_reasons="Not about AI\nNot social work",
        highlight_include="consent",
    )
    [record] = site.add_records(1, title="Consent in practice")
    pdf = tmp_path / "consent.pdf"
    pdf.write_bytes(text_pdf(["Page one on consent and data", "Page two: more consent"]))
    attachments.attach_pdf(
        site.session, site.app.config["LITREVIEW_SETTINGS"], site.review, record, pdf, "setup"
    )
    site.session.commit()
    rita = site.client("rita@example.org")
    follow(rita, rita.post(f"/r/ai-sw/screen/title_abstract/{record}", {"decision": "include"}))
    html = rita.page("/r/ai-sw/screen/full_text/")
    assert shown_record(html) == record
    assert '<iframe class="pdf" src="/r/ai-sw/records/' in html
    assert "<h3>Page 2</h3>" in html
    assert '<mark class="hl-inc">consent</mark>' in html
    assert 'data-reason-required="true"' in html
    refused = rita.post(
        f"/r/ai-sw/screen/full_text/{record}", {"decision": "exclude", "note": "read it all"}
    )
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "Excluding at full text needs a reason: one of Not about AI; Not social work." in text
    assert ">read it all</textarea>" in text
    done = rita.post(
        f"/r/ai-sw/screen/full_text/{record}",
        {"decision": "exclude", "reason": "not social work", "note": "read it all"},
    )
    assert done.status_code == 303
    [row] = site.session.scalars(sa.select(Decision).where(Decision.stage == FT)).all()
    assert (row.decision, row.reason, row.note) == ("exclude", "Not social work", "read it all")
    # The PDF itself: to members only, inline, from its generated path, not sniffable.
    src = re.search(r'<iframe class="pdf" src="([^"]+)"', html).group(1)
    with site.client("vera@example.org").get(src) as pdf_response:
        assert pdf_response.status_code == 200
        assert pdf_response.mimetype == "application/pdf"
        assert pdf_response.headers["Content-Disposition"] == "inline; filename=consent.pdf"
        assert pdf_response.headers["X-Content-Type-Options"] == "nosniff"
        assert pdf_response.get_data() == pdf.read_bytes()
    assert site.client("nina@example.org").get(src).status_code == 404


def test_blind_dual_screening_conflict_resolution_and_agreement(site):
    reviews.update_settings(site.session, site.review, actor="setup", screening_mode="dual")
    site.session.commit()
    ids = site.add_records(3)
    rita, rob, lead = (site.client(f"{n}@example.org") for n in ("rita", "rob", "lead"))
    for record, (a, b) in zip(
        ids, [("include", "exclude"), ("include", "include"), ("exclude", "exclude")], strict=True
    ):
        assert (
            rita.post(f"/r/ai-sw/screen/title_abstract/{record}", {"decision": a}).status_code
            == 303
        )
        # Rob does not see Rita's decision before deciding himself...
        html = rob.page(f"/r/ai-sw/screen/title_abstract/{record}")
        assert "rita@example.org" not in html
        assert "Blind screening" in html
        # ...nor on the record page.
        assert "rita@example.org" not in rob.page(f"/r/ai-sw/records/{record}")
        assert (
            rob.post(f"/r/ai-sw/screen/title_abstract/{record}", {"decision": b}).status_code == 303
        )
        assert "rita@example.org" in rob.page(f"/r/ai-sw/screen/title_abstract/{record}")
    html = lead.page("/r/ai-sw/conflicts")
    assert f'id="conflict-title_abstract-{ids[0]}"' in html
    assert f'id="conflict-title_abstract-{ids[1]}"' not in html
    # Rita decided it, so she may not resolve it; the lead may.
    assert "You decided this record" in rita.page("/r/ai-sw/conflicts")
    denied = rita.post(f"/r/ai-sw/conflicts/title_abstract/{ids[0]}", {"decision": "include"})
    assert denied.status_code == 403
    resolved = lead.post(
        f"/r/ai-sw/conflicts/title_abstract/{ids[0]}", {"decision": "include", "note": "fits Q1"}
    )
    assert resolved.status_code == 303
    assert "No conflicts waiting." in lead.page("/r/ai-sw/conflicts")
    [resolution] = site.session.scalars(sa.select(Resolution)).all()
    assert (resolution.record_id, resolution.decision, resolution.note) == (
        ids[0],
        "include",
        "fits Q1",
    )
    # Both original decisions stay as made.
    originals = site.session.scalars(
        sa.select(Decision.decision).where(Decision.record_id == ids[0]).order_by(Decision.id)
    ).all()
    assert originals == ["include", "exclude"]
    dashboard = lead.page("/r/ai-sw/")
    assert "rita@example.org &amp; rob@example.org" in dashboard or (
        "rob@example.org &amp; rita@example.org" in dashboard
    )
    stage = re.search(
        r'<section class="stage" id="stage-title_abstract">(.*?)</section>', dashboard, re.S
    ).group(1)
    assert '<span class="screened">3</span> of <span class="eligible">3</span>' in stage
    assert '<td class="included">2</td>' in stage
    assert '<td class="excluded">1</td>' in stage
    numbers = screening.stats(site.session, site.review)
    [pair] = numbers["agreement"][TA]
    kappa = f"{pair['kappa']:.2f}"
    assert f'<td class="kappa">{kappa}</td>' in dashboard
    csv = lead.get("/r/ai-sw/agreement.csv")
    assert csv.mimetype == "text/csv"
    assert csv.headers["Content-Disposition"] == 'attachment; filename="ai-sw-agreement.csv"'
    lines = csv.get_data(as_text=True).splitlines()
    assert lines[0].startswith("stage,reviewer_a,reviewer_b,records,agreed,")
    assert lines[1].startswith("title_abstract,") and ",3,2," in lines[1]


def test_imported_markup_is_text_on_the_screening_page_and_highlights_are_marked(site):
    reviews.update_settings(
        site.session,
        site.review,
        actor="setup",
        highlight_include="risk assessment\nalgorithm*",
        highlight_exclude="sport",
        criteria="<b>Include</b> studies of AI & social work",
    )
    site.session.commit()
    [record] = site.add_records(
        1,
        title='<script>alert("t")</script> Risk assessment algorithms',
        abstract="<img src=x onerror=alert(1)> sport & risk & amp",
    )
    html = site.client("rita@example.org").page(f"/r/ai-sw/screen/title_abstract/{record}")
    assert "<script>alert" not in html and "<img src=x" not in html
    assert (
        '&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt; <mark class="hl-inc">Risk assessment'
        '</mark> <mark class="hl-inc">algorithms</mark>' in html
    )
    assert '&lt;img src=x onerror=alert(1)&gt; <mark class="hl-exc">sport</mark> &amp; risk' in html
    assert "&lt;b&gt;Include&lt;/b&gt; studies of AI &amp; social work" in html


def test_a_busy_database_says_so_and_keeps_nothing_half_done(site, monkeypatch):
    [record] = site.add_records(1)

    def locked(*_args, **_kwargs):
        raise sa.exc.OperationalError("INSERT ...", {}, Exception("database is locked"))

    monkeypatch.setattr(screening, "decide", locked)
    rita = site.client("rita@example.org")
    response = rita.post(f"/r/ai-sw/screen/title_abstract/{record}", {"decision": "include"})
    assert response.status_code == 503
    assert "The database is busy (an import may be running); nothing was saved." in (
        response.get_data(as_text=True)
    )
    assert site.session.scalar(sa.select(sa.func.count(Decision.id))) == 0
