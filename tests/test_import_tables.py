"""`litreview import TABLE --decisions-from COLUMN`: records and earlier screening decisions
from ASReview/SYNERGY and Rayyan exports, through the real CLI on SQLite and PostgreSQL;
the decisions show on the dashboard and the screening page as the reviewer's."""

from __future__ import annotations

import io
import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.db import make_engine
from litreview.models import AuditEntry, Decision, Record, User
from tests.conftest import DATA
from tests.webapp import make_site

TABLES = DATA / "tables"
KITCHENHAM = str(TABLES / "Kitchenham_2010_sample.csv")
RAYYAN = str(TABLES / "rayyan.csv")


def add_person(cli, email: str, name: str, role: str = "reviewer") -> None:
    cli("user", "create", email, "--name", name, "--generate-password")
    cli("member", "add", "ai-sw", email, "--role", role)


def by_title(records: list[dict], start: str) -> dict:
    [found] = [r for r in records if r["title"].lower().startswith(start.lower())]
    return found


def decisions(database_url: str) -> list[tuple[str, str, str, str | None, str | None]]:
    """(title, reviewer, decision, reason, note) of every current decision."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            rows = session.execute(
                sa.select(
                    Record.title, User.email, Decision.decision, Decision.reason, Decision.note
                )
                .join(Record, Record.id == Decision.record_id)
                .join(User, User.id == Decision.user_id)
                .where(Decision.current)
            ).all()
            return sorted(tuple(row) for row in rows)
    finally:
        engine.dispose()


def test_asreview_labels_become_the_reviewers_decisions(review_cli, database_url):
    with make_site(database_url) as site:  # the team: rita is a reviewer, lead the lead
        report = review_cli.json(
            "import", "ai-sw", KITCHENHAM, "--decisions-from", "label_included",
            "--as", "rita@example.org",
        )  # fmt: skip
        [file] = report["files"]
        # Records 229 and 230 of Kitchenham's set are one paper, but without authors they
        # are only a probable duplicate: both stay, until someone merges them.
        assert (file["format"], file["read"], file["imported"], file["merged_duplicates"]) == (
            "csv",
            10,
            10,
            0,
        )
        carried = file["decisions"]
        assert (carried["decided"], carried["merged_rows"], carried["errors"]) == (10, 0, [])
        assert carried["reviewer"] == "rita@example.org"
        assert carried["stage"] == "title_abstract"
        assert report["decided"] == 10

        stats = review_cli.json("stats", "ai-sw")["stages"]["title_abstract"]
        assert (stats["screened"], stats["included"], stats["excluded"], stats["remaining"]) == (
            10,
            3,
            7,
            0,
        )
        audit = site.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "screen.imported")
        ).all()
        assert len(audit) == 10
        assert {a.actor for a in audit} == {"rita@example.org"}
        assert {a.details["imported_from"] for a in audit} == {
            "Kitchenham_2010_sample.csv, column label_included"
        }
        # The dashboard counts them; the screening page shows each as Rita's own.
        rita = site.client("rita@example.org")
        dashboard = rita.page("/r/ai-sw/")
        assert '<td class="included">3</td>' in dashboard
        assert '<td class="excluded">7</td>' in dashboard
        record = by_title(review_cli.json("records", "ai-sw"), "A Conceptual Model of ICT")
        url = f"/r/ai-sw/screen/title_abstract/{record['id']}"
        assert 'Your decision: <strong class="decision-include">' in rita.page(url)
        lead_page = site.client("lead@example.org").page(url)
        assert re.search(r"rita@example.org: <strong>Include", lead_page)


def test_rayyan_notes_carry_one_reviewers_decisions(review_cli, database_url):
    add_person(review_cli, "alice@example.org", "Alice Martin")
    report = review_cli.json(
        "import", "ai-sw", RAYYAN, "--decisions-from", "NOTES", "--as", "alice@example.org"
    )
    [file] = report["files"]
    assert (file["imported"], file["merged_duplicates"]) == (5, 1)  # rows 1 and 5: one DOI
    carried = file["decisions"]
    assert (carried["decided"], carried["undecided"], carried["merged_rows"]) == (3, 2, 1)
    assert decisions(database_url) == [
        ("Case notes written with generative AI", "alice@example.org", "maybe", None, None),
        (
            'Chatbots answering calls to social care: a "first contact" trial',
            "alice@example.org",
            "exclude",
            "wrong population; foreign language",
            None,
        ),
        (
            # Row 1 included it, row 5 (the same paper) excluded it: the inclusion stands.
            "Predictive risk models in child protection: a scoping review",
            "alice@example.org",
            "include",
            None,
            "rayyan.csv had this record 2 times (row 1: include, row 5: exclude)",
        ),
    ]
    # Bob's decisions in the notes are not shown as the record's note.
    for record in review_cli.json("records", "ai-sw"):
        assert "RAYYAN" not in (record["note"] or "")

    # Importing again changes nothing; a decision Alice changed since is kept.
    chatbots = by_title(review_cli.json("records", "ai-sw"), "Chatbots")
    review_cli("screen", "ai-sw", str(chatbots["id"]), "include", "--as", "alice@example.org")
    again = review_cli.json(
        "import", "ai-sw", RAYYAN, "--decisions-from", "notes", "--as", "alice@example.org"
    )
    carried = again["files"][0]["decisions"]
    assert (carried["decided"], carried["unchanged"], carried["kept"]) == (0, 2, 1)
    assert again["files"][0]["unchanged"] == 6
    assert ("include", None) in {(d[2], d[3]) for d in decisions(database_url) if "Chat" in d[0]}


def test_rayyan_reasons_follow_the_reviews_list(review_cli, database_url):
    add_person(review_cli, "alice@example.org", "Alice")
    review_cli("review", "set", "ai-sw", "--reasons", "Wrong population;Not English")
    review_cli(
        "import", "ai-sw", RAYYAN, "--decisions-from", "notes", "--as", "alice@example.org",
        "--reviewer-name", "Alice Martin",
    )  # fmt: skip
    [chatbots] = [d for d in decisions(database_url) if d[0].startswith("Chatbots")]
    assert chatbots[2:] == (
        "exclude",
        "Wrong population",
        "reasons given: wrong population, foreign language",
    )


def test_refusals_leave_the_review_as_it_was(review_cli, database_url):
    add_person(review_cli, "val@example.org", "Val", role="viewer")
    add_person(review_cli, "carl@example.org", "Carl")
    cases = [
        (
            ("--decisions-from", "label_included", "--as", "val@example.org"),
            "Error: val@example.org is a viewer of ai-sw; this needs a lead or reviewer\n",
        ),
        (
            ("--decisions-from", "decision", "--as", "carl@example.org"),
            f"Error: {KITCHENHAM}: no column 'decision' to read decisions from; its columns "
            "are: record_id, title, abstract, year, label_included, duplicate_record_id\n",
        ),
    ]
    for options, message in cases:
        result = review_cli("import", "ai-sw", KITCHENHAM, *options, ok=False)
        assert result.exit_code == 1 and result.stderr == message
    result = review_cli(
        "import", "ai-sw", RAYYAN, "--decisions-from", "notes", "--as", "carl@example.org",
        ok=False,
    )  # fmt: skip
    assert result.stderr == (
        f"Error: {RAYYAN}: the Rayyan decisions in column 'notes' are by Alice Martin, Bob; "
        "none is by Carl / carl@example.org / carl: give the name Rayyan shows for this person\n"
    )
    assert review_cli.json("records", "ai-sw") == []
    assert decisions(database_url) == []


def test_bad_labels_are_row_errors_and_full_text_needs_title_abstract(
    review_cli, database_url, tmp_path: Path
):
    add_person(review_cli, "rhea@example.org", "Rhea")
    path = tmp_path / "screened.csv"
    path.write_text(
        "Title,Year,Decision\nFirst,2020,yes\nSecond,2021,perhaps\nThird,2022,\n",
        encoding="utf-8",
    )
    report = review_cli.json(
        "import", "ai-sw", str(path), "--decisions-from", "decision", "--as", "rhea@example.org"
    )
    carried = report["files"][0]["decisions"]
    assert (carried["decided"], carried["undecided"]) == (1, 1)
    assert carried["errors"] == [
        {
            "line": 3,
            "entry": "row 2",
            "message": "row 2: Decision: 'perhaps' is not a decision "
            "(include/exclude/maybe, 1/0, yes/no)",
        }
    ]
    text = review_cli(
        "import", "ai-sw", str(path), "--decisions-from", "decision", "--as", "rhea@example.org",
        "--stage", "full_text",
    ).stdout  # fmt: skip
    # "First" passed title/abstract (Rhea included it): it takes a full-text decision.
    assert "column Decision: 1 decisions of rhea@example.org at full_text" in text
    assert f"{path}: line 3: row 2: Decision: 'perhaps' is not a decision" in text
    assert [d[:3] for d in decisions(database_url)] == [
        ("First", "rhea@example.org", "include"),
        ("First", "rhea@example.org", "include"),
    ]


def test_the_web_import_form_takes_a_csv(env, database_url):
    with make_site(database_url) as site:
        rita = site.client("rita@example.org")
        body = (TABLES / "rayyan.csv").read_bytes()
        response = rita.post(
            "/r/ai-sw/import",
            {"files": [(io.BytesIO(body), "rayyan.csv")]},
            content_type="multipart/form-data",
        )
        assert response.status_code == 303
        status = site.wait_for_import(rita, response.location)
        assert status["files"] == [{"name": "rayyan.csv", "state": "done"}]
        row = re.search(r'<tr class="file-done">(.*?)</tr>', rita.page(response.location), re.S)
        # read, imported, merged, unchanged, errors
        assert re.findall(r"<td>(\d+)</td>", row.group(1)) == ["6", "5", "1", "0", "0"]
        html = rita.page("/r/ai-sw/records")
        assert "&lt;script&gt;alert(&#39;rayyan&#39;)&lt;/script&gt; Professional" in html
        assert "<script>alert('rayyan')" not in html
