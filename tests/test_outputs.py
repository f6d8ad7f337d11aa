"""What a commissioner reads: the PRISMA diagram's numbers (reports marked not retrievable,
records per database), exclusion reasons as given, the DOCX's paper, tags without notes,
RIS pages, and a records export that says what it holds or refuses to be empty."""

from __future__ import annotations

import csv
import io
import re

import docx
import sqlalchemy as sa
from docx.shared import Inches, Mm

from litreview.models import AuditEntry, Record, Review
from litreview.screening.queue import to_screen
from tests import exporting
from tests.test_prisma import boxes, count
from tests.webapp import make_site


def _prisma(cli, folder) -> dict:
    return cli.json("export", "ai-sw", "prisma", "--format", "json", "-o", str(folder / "p.json"))


# ---------------------------------------------------------------- PRISMA


def test_a_report_is_not_retrieved_only_when_a_person_says_so(
    review_cli, session, tmp_path, database_url
):
    scenario = exporting.build(review_cli, session)
    basw = scenario.ids["basw"]
    out = str(tmp_path / "p.json")
    numbers = review_cli.json("export", "ai-sw", "prisma", "-o", out)
    # Mid-review: two reports sought have no PDF yet; neither is "not retrieved".
    assert (numbers["not_retrieved"], numbers["awaiting_retrieval"]) == (0, 2)
    marked = review_cli.json("not-retrievable", "ai-sw", str(basw), "--note", "Not held")
    assert marked == {"record": basw, "not_retrievable": True, "changed": True}
    again = review_cli("not-retrievable", "ai-sw", str(basw))
    assert again.stdout.strip() == f"record {basw}: was marked already"
    numbers = review_cli.json("export", "ai-sw", "prisma", "-o", out)
    assert (numbers["not_retrieved"], numbers["awaiting_retrieval"]) == (1, 1)
    assert numbers["sought"] == (
        numbers["not_retrieved"] + numbers["awaiting_retrieval"] + numbers["assessed"]
    )
    # A report nobody could obtain leaves full-text screening: not in the queue, not
    # counted as remaining, on every face; screening it is refused until the mark goes.
    full_text = review_cli.json("stats", "ai-sw")["stages"]["full_text"]
    assert full_text["not_retrieved"] == 1
    assert full_text["eligible"] == full_text["screened"] + full_text["remaining"]
    assert "1 not retrieved" in review_cli("stats", "ai-sw").stdout
    review = session.get(Review, session.get(Record, basw).review_id)
    queue = set(session.scalars(to_screen(review, None, "full_text")))
    assert basw not in queue and len(queue) == full_text["remaining"]
    refused = review_cli("screen", "ai-sw", str(basw), "include", "--stage", "full_text", ok=False)
    assert "marked not retrievable" in refused.stderr
    with make_site(database_url) as site:
        page = site.client("lead@example.org").get("/r/ai-sw/").get_data(as_text=True)
        assert re.search(r'"not-retrieved">1</span> report not retrieved \(not screened\)', page)
    listed = review_cli("not-retrievable", "ai-sw", "--list").stdout
    assert re.match(rf"{basw}\t\d{{4}}-\d\d-\d\d\ttester@example.org\tNot held\n", listed)

    # Only a report sought for retrieval, and not yet read, can be marked.
    refused = review_cli("not-retrievable", "ai-sw", str(scenario.ids["mueller"]), ok=False)
    assert refused.exit_code == 1
    assert "is not sought for retrieval" in refused.stderr
    read = review_cli("not-retrievable", "ai-sw", str(scenario.ids["okafor"]), ok=False)
    assert "was assessed at full text (include)" in read.stderr

    # It turned up after all: the mark goes; the audit log keeps who had made it.
    review_cli("not-retrievable", "ai-sw", str(basw), "--undo")
    numbers = review_cli.json("export", "ai-sw", "prisma", "-o", out)
    assert (numbers["not_retrieved"], numbers["awaiting_retrieval"]) == (0, 2)
    session.expire_all()
    entries = session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.target_id == basw, AuditEntry.action.like("record.%retrievable"))
        .order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["record.not_retrievable", "record.retrievable"]
    assert entries[1].details["marked_by"] == "tester@example.org"
    assert entries[1].details["note"] == "Not held"
    assert session.get(Record, basw).not_retrievable_at is None


def test_records_identified_per_database_with_a_source_per_file(review_cli):
    files = [str(path) for path, _label in exporting.IMPORTS[:3]]
    sources = ["--source", "Scopus", "--source", "Web of Science", "--source", "PubMed"]
    review_cli("import", "ai-sw", *files, *sources)
    svg = review_cli("export", "ai-sw", "prisma", "--format", "svg", "-o", "-").stdout
    found = boxes(svg)
    assert found["identified"] == [
        "Records identified (n = 8):",
        "Scopus (n = 3)",
        "Web of Science (n = 3)",
        "PubMed (n = 2)",
    ]
    # Nothing excluded at full text yet: no colon left hanging after the heading.
    assert found["excluded-eligibility"] == ["Reports excluded (n = 0)"]
    assert count(found["not-retrieved"]) == 0
    # Two labels for three files is a mistake, said before anything is imported.
    wrong = review_cli("import", "ai-sw", *files, "--source", "a", "--source", "b", ok=False)
    assert wrong.exit_code == 2
    assert "2 --source labels for 3 files" in wrong.stderr


def test_reviewers_different_exclusion_reasons_are_shown_not_hidden(review_cli, session, tmp_path):
    review_cli("import", "ai-sw", str(exporting.IMPORTS[0][0]), "--source", "Scopus")
    for email in ("ann@example.org", "ben@example.org"):
        review_cli("user", "create", email, "--generate-password")
        review_cli("member", "add", "ai-sw", email, "--role", "reviewer")
    review_cli("review", "set", "ai-sw", "--mode", "dual")
    record = str(min(session.scalars(sa.select(Record.id))))
    votes = (("ann@example.org", "Wrong population"), ("ben@example.org", "No AI"))
    for email, _reason in votes:
        review_cli("screen", "ai-sw", record, "include", "--as", email, "--stage", "title_abstract")
    for email, reason in votes:
        review_cli(
            "screen", "ai-sw", record, "exclude", "--reason", reason, "--as", email,
            "--stage", "full_text",
        )  # fmt: skip
    numbers = _prisma(review_cli, tmp_path)
    assert numbers["excluded_reasons"] == [{"reason": "No AI; Wrong population", "records": 1}]
    table = review_cli("export", "ai-sw", "records", "--format", "csv", "-o", "-").stdout
    rows = csv.DictReader(io.StringIO(table.lstrip("\ufeff")))  # the BOM is for Excel
    [row] = [r for r in rows if r["id"] == record]
    assert row["full_text_reason"] == "No AI; Wrong population"
    assert "(reasons differ)" not in table


# ---------------------------------------------------------------- the annotated bibliography


def test_docx_is_a4_unless_letter_is_asked_for(review_cli, session, tmp_path):
    exporting.build(review_cli, session)
    a4, letter = tmp_path / "a4.docx", tmp_path / "letter.docx"
    said = review_cli("export", "ai-sw", "annotated", "-o", str(a4)).stdout
    assert said.strip().endswith("A4 paper")
    review_cli("export", "ai-sw", "annotated", "-o", str(letter), "--page-size", "letter")
    for path, (width, height) in ((a4, (Mm(210), Mm(297))), (letter, (Inches(8.5), Inches(11)))):
        for section in docx.Document(str(path)).sections:
            assert abs(section.page_width - width) < Mm(0.1), path
            assert abs(section.page_height - height) < Mm(0.1), path
            assert section.left_margin + section.right_margin < width / 3
    bad = review_cli("export", "ai-sw", "annotated", "-o", str(a4), "--page-size", "a5", ok=False)
    assert bad.exit_code == 2


def test_a_record_tagged_without_a_note_still_shows_its_tag(review_cli, session, tmp_path):
    exporting.build(review_cli, session)  # the chapter is tagged to Q1 with no annotation
    text = review_cli("export", "ai-sw", "annotated", "--format", "md", "-o", "-").stdout
    q1 = text.split("## Q1.")[1].split("## Q2.")[0]
    assert re.search(r"\n> Tagged to Q1 by Alice Reviewer, \d{4}-\d\d-\d\d\n", q1), q1
    # An entry with annotations is shown by them, not by a tag line as well.
    assert q1.count("Tagged to Q1") == 1
    path = tmp_path / "a.docx"
    review_cli("export", "ai-sw", "annotated", "-o", str(path))
    lines = [p.text for p in docx.Document(str(path)).paragraphs]
    assert any(line.startswith("Tagged to Q1 by Alice Reviewer") for line in lines)
    html = review_cli("export", "ai-sw", "annotated", "--format", "html", "-o", "-").stdout
    assert '<p class="annotation tagged by">Tagged to Q1 by Alice Reviewer' in html


# ---------------------------------------------------------------- record files


RIS_WITH_PAGES = "\n".join(
    f"TY  - JOUR\nTI  - {title}\nAU  - {author}\nPY  - {year}\n{pages}\nER  - \n"
    for title, author, year, pages in (
        ("Risk models in child welfare", "Okafor, Ada", 2020, "SP  - 12\nEP  - 34"),
        ("An article number, not a range", "Lind, Bo", 2021, "SP  - e0815"),
        ("A last page written short", "Sato, Kei", 2019, "SP  - 349-69"),
    )
)


def test_ris_writes_start_and_end_pages_and_reads_back_the_same(review_cli, tmp_path):
    source = tmp_path / "pages.ris"
    source.write_text(RIS_WITH_PAGES, encoding="utf-8")
    review_cli("import", "ai-sw", str(source))
    before = {r["title"]: r["pages"] for r in review_cli.json("records", "ai-sw")}
    assert before == {
        "Risk models in child welfare": "12-34",
        "An article number, not a range": "e0815",
        "A last page written short": "349-69",
    }
    out = tmp_path / "out.ris"
    review_cli("export", "ai-sw", "records", "-o", str(out))
    text = out.read_text(encoding="utf-8")
    assert "SP  - 12\nEP  - 34\n" in text
    assert "SP  - e0815\nPY" not in text and "SP  - e0815\n" in text
    assert "SP  - 349\nEP  - 69\n" in text
    assert text.count("EP  - ") == 2
    review_cli("review", "create", "copy", "--title", "Copy")
    review_cli("import", "copy", str(out))
    after = {r["title"]: r["pages"] for r in review_cli.json("records", "copy")}
    assert after == before


def test_a_records_export_says_its_stage_and_refuses_an_empty_selection(
    review_cli, session, tmp_path
):
    exporting.build(review_cli, session)
    out = tmp_path / "included.ris"
    made = review_cli.json("export", "ai-sw", "records", "--decision", "include", "-o", str(out))
    assert (made["decision"], made["stage"], made["records"]) == ("include", "full_text", 3)
    said = review_cli("export", "ai-sw", "records", "--decision", "include", "-o", str(out))
    assert said.stdout.strip() == f"wrote {out}: 3 records with decision include at full text"
    # Nothing is "maybe" at full text; one record is, at title/abstract: no empty file.
    empty = tmp_path / "maybe.ris"
    refused = review_cli(
        "export", "ai-sw", "records", "--decision", "maybe", "-o", str(empty), ok=False
    )
    assert refused.exit_code == 1
    assert refused.stderr == (
        "Error: no records with decision maybe at full text in review ai-sw: nothing to "
        "export (1 has decision maybe at title/abstract: choose that stage)\n"
    )
    assert not empty.exists()
    tagged = review_cli(
        "export", "ai-sw", "records", "--question", "Q2", "--decision", "exclude",
        "-o", str(empty), ok=False,
    )  # fmt: skip
    assert "no records with decision exclude at full text, tagged to Q2" in tagged.stderr


def test_the_web_export_warns_instead_of_serving_an_empty_file(review_cli, session, database_url):
    exporting.build(review_cli, session)
    with make_site(database_url) as site:
        rita = site.client("rita@example.org")
        response = rita.get("/r/ai-sw/exports/records?format=ris&decision=maybe&stage=full_text")
        assert response.status_code == 200
        assert "Content-Disposition" not in response.headers
        html = response.get_data(as_text=True)
        assert (
            '<p class="flash warning" role="status">Records export: No records with decision '
            in html
        )
        assert "(1 has decision maybe at title/abstract: choose that stage)." in html
        # The form keeps what was chosen, and the table says what each choice holds.
        assert '<option value="maybe" selected>' in html
        table = re.search(r'<table class="counts" id="decision-counts">(.*?)</table>', html, re.S)
        assert "<th>maybe</th><td>1</td><td>0</td>" in table.group(1)
        made = rita.get("/r/ai-sw/exports/records?format=ris&decision=maybe&stage=title_abstract")
        assert made.headers["Content-Disposition"] == (
            'attachment; filename="ai-sw-maybe-title-abstract.ris"'
        )
        annotated = rita.get("/r/ai-sw/exports/annotated?format=docx&page_size=letter")
        section = docx.Document(io.BytesIO(annotated.get_data())).sections[0]
        assert abs(section.page_width - Inches(8.5)) < Mm(0.1)
