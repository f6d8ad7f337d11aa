"""Blind dual screening through every face: one outcome rule, one visibility rule.

The lead includes a record that reviewer Rita has not decided yet. In blind dual mode
that is one decision of the two the record needs: it has no outcome, and nothing Rita
can open, filter, search, download or ask for by command tells her how the lead
decided. Once Rita decides too, the outcome (here a conflict) shows the same on every
face. In single mode the same include is the outcome at once, everywhere: the tests
below would notice a face that hid too much as well as one that leaked.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from litreview import screening
from litreview.library import reviews
from tests.webapp import TEAM, make_site

TA = "title_abstract"
CONSENT = "Consent and data protection when councils share case records"


@pytest.fixture
def site(env, database_url):
    with make_site(database_url) as site:
        yield site


@pytest.fixture
def blind(site, cli):
    """Dual mode; the lead included ``included``; ``other`` nobody decided."""
    session, review = site.session, site.review
    reviews.update_settings(session, review, actor="setup", screening_mode="dual")
    reviews.add_question(
        session, review, "Q4", "Data protection", "setup", query='consent OR "data protection"'
    )
    included, other = site.add_records(2, title=CONSENT, abstract="Consent for data sharing.")
    lead = site.users["lead@example.org"]
    screening.decide(session, review, included, lead, TA, "include")
    session.commit()
    return site, cli, included, other


def hits(html: str) -> dict[int, str]:
    """Search results or question suggestions on a page: record id -> decision shown."""
    found = {
        int(i): meta.strip()
        for i, meta in re.findall(
            r'<li class="result" id="result-(\d+)">.*?<p class="meta">([^<·]*)', html, re.S
        )
    }
    for i, shown in re.findall(
        r'<li><a href="/r/ai-sw/records/(\d+)">[^<]*</a>[^·]*· ([^\n<]*)', html
    ):
        found[int(i)] = shown.strip()
    return found


def table_rows(html: str) -> dict[int, str]:
    """Records table rows: record id -> the decision cell's text (after the row's
    selection box, which reviewers and leads have)."""
    rows = re.findall(
        r'<tr>(?:<td class="pick">.*?</td>)?<td>(\d+)</td>'
        r'.*?<td class="decision-[^"]*">([^<]*)</td>',
        html,
        re.S,
    )
    return {int(i): text for i, text in rows}


def csv_ids(text: str) -> set[int]:
    return {int(row["id"]) for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}


def exported_ids(cli, client) -> tuple[set[int], set[int]]:
    """The records included at title/abstract, as a CSV export says: (command, download).
    An empty selection is refused (no file), and then holds no record."""
    result = cli("export", "ai-sw", "records", "--format", "csv", "--decision", "include",
                 "--stage", TA, "-o", "-", ok=False)  # fmt: skip
    download = client.get("/r/ai-sw/exports/records?format=csv&decision=include&stage=" + TA)
    assert download.status_code == 200
    if result.exit_code == 1:
        assert "nothing to export" in result.stderr and not result.stdout
        assert "Content-Disposition" not in download.headers
        assert "nothing to export" in download.get_data(as_text=True)
        return set(), set()
    assert result.exit_code == 0, result.output
    header = "id,key,type,title"
    assert result.stdout.lstrip("\ufeff").startswith(header)
    return csv_ids(result.stdout), csv_ids(download.get_data(as_text=True))


def test_a_lone_decision_shows_on_no_face_in_blind_dual_mode(blind):
    site, cli, included, other = blind
    rita = site.client("rita@example.org")

    # Web search: the hit is pending, and the decision filter agrees.
    page = rita.page("/r/ai-sw/search?q=consent")
    shown = hits(page)
    assert set(shown) == {included, other}
    assert "Include" not in shown[included]
    assert included not in hits(rita.page("/r/ai-sw/search?q=consent&decision=include"))
    pending = hits(rita.page("/r/ai-sw/search?q=consent&decision=pending"))
    assert set(pending) == {included, other}

    # CLI search, with and without the filter.
    out = cli.json("search", "ai-sw", "consent")
    assert {r["id"]: r["decision"] for r in out["results"]} == {
        included: "pending",
        other: "pending",
    }
    out = cli.json("search", "ai-sw", "consent", "--decision", "include")
    assert out["results"] == []

    # Stats and the dashboard: one of two decisions, nothing included yet.
    stats = cli.json("stats", "ai-sw")["stages"][TA]
    assert (stats["included"], stats["in_progress"], stats["screened"]) == (0, 1, 0)
    dashboard = rita.page("/r/ai-sw/")
    assert re.search(r'<td class="included">0</td>', dashboard)
    assert "1 waiting for a second reviewer" in dashboard

    # The records table, its decision filter, and its reviewer filter.
    assert table_rows(rita.page("/r/ai-sw/records"))[included] == ""
    assert included not in table_rows(rita.page("/r/ai-sw/records?decision=include"))
    assert included in table_rows(rita.page("/r/ai-sw/records?decision=undecided"))
    lead_id = site.users["lead@example.org"].id
    refused = rita.page(f"/r/ai-sw/records?reviewer={lead_id}")
    assert "there is no such reviewer to choose" in refused

    # The record page: the lead's decision is not in its history for Rita.
    record = rita.page(f"/r/ai-sw/records/{included}")
    assert "lead@example.org" not in record
    assert re.search(r'class="outcome-title_abstract">not decided<', record)

    # The record's history on the command line, as Rita and as the lead.
    rows = cli.json("history", "ai-sw", str(included), "--as", "rita@example.org")
    assert rows == []
    rows = cli.json("history", "ai-sw", str(included), "--as", "lead@example.org")
    assert [(r["by"], r["decision"]) for r in rows] == [("lead@example.org", "include")]

    # Exports: command line and download.
    assert exported_ids(cli, rita) == (set(), set())

    # Question suggestions: command line and the question page.
    out = cli.json("question", "suggest", "ai-sw", "Q4")
    assert {r["id"]: r["decision"] for r in out["results"]} == {
        included: "pending",
        other: "pending",
    }
    question_id = site.review.questions[0].id
    suggested = hits(rita.page(f"/r/ai-sw/questions/{question_id}"))
    assert included in suggested and "Include" not in suggested[included]


def test_once_both_decided_every_face_shows_the_same_outcome(blind):
    site, cli, included, other = blind
    rita = site.users["rita@example.org"]
    screening.decide(site.session, site.review, included, rita, TA, "exclude")
    site.session.commit()
    client = site.client("rob@example.org")  # a third reviewer, who did not decide it

    assert hits(client.page("/r/ai-sw/search?q=consent"))[included] == "Conflict"
    assert set(hits(client.page("/r/ai-sw/search?q=consent&decision=conflict"))) == {included}
    out = cli.json("search", "ai-sw", "consent", "--decision", "conflict")
    assert [r["id"] for r in out["results"]] == [included]
    assert cli.json("stats", "ai-sw")["stages"][TA]["conflicts"] == 1
    assert table_rows(client.page("/r/ai-sw/records?decision=conflict")) == {included: "Conflict"}
    # The conflict is settled: both decisions show, to a third reviewer too.
    record = client.page(f"/r/ai-sw/records/{included}")
    assert "lead@example.org" in record and "rita@example.org" in record
    assert included in {c["record"] for c in cli.json("conflicts", "ai-sw")["conflicts"]}


def test_in_single_mode_a_decision_is_the_outcome_on_every_face(site, cli):
    session, review = site.session, site.review
    reviews.add_question(session, review, "Q4", "Data protection", "setup", query="consent")
    included, other = site.add_records(2, title=CONSENT)
    screening.decide(session, review, included, site.users["lead@example.org"], TA, "include")
    session.commit()
    rita = site.client("rita@example.org")

    assert hits(rita.page("/r/ai-sw/search?q=consent"))[included] == "Include"
    assert set(hits(rita.page("/r/ai-sw/search?q=consent&decision=include"))) == {included}
    out = cli.json("search", "ai-sw", "consent", "--decision", "include")
    assert [r["id"] for r in out["results"]] == [included]
    assert cli.json("stats", "ai-sw")["stages"][TA]["included"] == 1
    assert re.search(r'<td class="included">1</td>', rita.page("/r/ai-sw/"))
    assert table_rows(rita.page("/r/ai-sw/records?decision=include")) == {included: "Include"}
    assert exported_ids(cli, rita) == ({included}, {included})
    out = cli.json("question", "suggest", "ai-sw", "Q4")
    assert {r["id"]: r["decision"] for r in out["results"]}[included] == "include"


def test_who_a_person_may_filter_the_records_table_by(site):
    session, review = site.session, site.review
    lead, rita = site.users["lead@example.org"], site.users["rita@example.org"]
    viewer = next(u for e, u in site.users.items() if TEAM[e] == "viewer")
    screeners = {e for e, role in TEAM.items() if role in ("lead", "reviewer")}

    def emails(user):
        return {m.user.email for m in screening.reviewers_to_filter_by(session, review, user)}

    for user in (lead, rita, viewer):  # single mode hides nothing
        assert emails(user) == screeners
    reviews.update_settings(session, review, actor="setup", screening_mode="dual")
    assert emails(lead) == screeners
    assert emails(rita) == {"rita@example.org"}
    assert emails(viewer) == set()
