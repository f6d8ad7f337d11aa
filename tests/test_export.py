"""Annotated bibliographies in CSL styles and record files, through the real CLI."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from docx import Document

from litreview.export import _citeproc_memo, annotated, csl
from litreview.ingest.decoding import read_file
from litreview.ingest.record_data import RecordData
from litreview.models import Annotation, CitationCache, Record, Review
from tests import exporting
from tests.conftest import DATA

SAMPLE = Path(__file__).parents[1] / "litreview" / "library" / "sample_data"
STYLE_NAMES = ("apa", "harvard", "vancouver", "chicago-author-date")


def records_from(*paths: Path) -> list[Record]:
    """Unsaved Record objects from bibliography files, numbered from 1."""
    found = []
    for path in paths:
        _, items = read_file(path)
        for item in items:
            if isinstance(item, RecordData):
                found.append(
                    Record(
                        id=len(found) + 1,
                        type=item.type,
                        title=item.title,
                        authors=[{"family": a.family, "given": a.given} for a in item.authors],
                        year=item.year,
                        venue=item.venue,
                        volume=item.volume,
                        issue=item.issue,
                        pages=item.pages,
                        doi=item.doi,
                        url=item.url,
                        isbn=item.isbn,
                        publisher=item.publisher,
                    )
                )
    return found


# ---------------------------------------------------------------- styles and formatting


def test_the_styles_ship_with_their_licence():
    folder = Path(csl.__file__).parent / "styles"
    licence = (folder / "LICENSE").read_text(encoding="utf-8")
    assert "Creative Commons Attribution-ShareAlike 3.0" in licence
    for info in csl.STYLES.values():
        text = (folder / info.file).read_text(encoding="utf-8")
        assert 'license="http://creativecommons.org/licenses/by-sa/3.0/"' in text
        assert info.file in licence
        assert csl.load_style(info.name).info is info


def test_a_style_that_does_not_exist_lists_the_styles_there_are(review_cli):
    result = review_cli("export", "ai-sw", "annotated", "--style", "mla", "-o", "x.md", ok=False)
    assert result.exit_code == 1
    message = result.stderr.strip()
    assert message.startswith("Error: unknown citation style 'mla'; the styles there are:")
    for name in STYLE_NAMES:
        assert name in message
    assert "Traceback" not in result.output
    assert not Path("x.md").exists()


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_a_record_with_missing_fields_still_formats_without_none(style):
    bare = [
        Record(id=1, type="other", title="Only a title", authors=[]),
        Record(id=2, type="article", title=None, authors=[{"family": "Okafor", "given": None}]),
        Record(id=3, type="book", title=None, authors=[], year=2020),
        Record(id=4, type="other", title=None, authors=[]),
    ]
    formatted = csl.format_items(style, [csl.cited_item(r) for r in bare])
    for citation in formatted:
        assert citation.text.strip()
        assert "None" not in citation.text and "None" not in citation.html
    assert "only a title" in formatted[0].text.lower()  # Chicago title-cases it
    assert "Okafor" in formatted[1].text
    assert "2020" in formatted[2].text


def test_remembering_citeprocs_lookups_changes_no_citation(monkeypatch):
    records = records_from(
        DATA / "export" / "special.ris",
        DATA / "import" / "wos.bib",
        SAMPLE / "library.ris",
    )
    items = [csl.cited_item(r) for r in records]
    fast = {style: csl.format_items(style, items) for style in STYLE_NAMES}
    assert _citeproc_memo.installed()
    _citeproc_memo.uninstall()
    csl._load_style.cache_clear()
    monkeypatch.setattr(_citeproc_memo, "install", lambda: False)
    try:
        plain = {style: csl.format_items(style, items) for style in STYLE_NAMES}
    finally:
        csl._load_style.cache_clear()
    assert not _citeproc_memo.installed()
    assert plain == fast
    assert len(fast["apa"]) == len(records) > 30


def test_citation_html_is_rebuilt_from_text_runs_so_markup_in_fields_is_text():
    record = Record(
        id=1,
        type="article",
        title='<script>alert("x")</script> & <b>bold</b>',
        authors=[{"family": "O'Brien <i>", "given": "Sophie"}],
        year=2021,
        venue="Journal <img src=x onerror=alert(1)>",
    )
    [citation] = csl.format_items("apa", [csl.cited_item(record)])
    assert "<script" not in citation.html and "<img" not in citation.html
    assert "&lt;script&gt;" in citation.html
    assert '<script>alert("x")</script>' in citation.text
    assert set(tag for tag in _tags(citation.html)) <= {"i", "b", "u", "sup", "sub", "span"}


def _tags(markup: str) -> list[str]:
    found: list[str] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append(tag)

    parser = Tags()
    parser.feed(markup)
    parser.close()
    return found


# ---------------------------------------------------------------- the annotated bibliography


def test_annotated_docx_has_real_headings_hanging_indents_and_the_annotations(
    review_cli, session, tmp_path
):
    exporting.build(review_cli, session)
    out = tmp_path / "bib.docx"
    report = review_cli.json("export", "ai-sw", "annotated", "--format", "docx", "-o", str(out))
    assert report["file"] == str(out) and report["style"] == "apa"
    assert [(s["code"], s["records"]) for s in report["sections"]] == [
        ("Q1", 2),
        ("Q2", 1),
        ("Q3", 2),
    ]

    document = Document(str(out))
    paragraphs = document.paragraphs
    assert paragraphs[0].style.name == "Title"
    assert paragraphs[0].text == "Annotated bibliography: AI in social work"
    headings = [p.text for p in paragraphs if p.style.name == "Heading 1"]
    assert headings == [
        "Q1. Types of AI in use",
        "Q2. Opportunities and risks",
        "Q3. Bias and discrimination",
    ]
    texts = [p.text for p in paragraphs]
    q1 = texts.index("Q1. Types of AI in use")
    assert texts[q1 + 1] == "What AI is used, and how."
    # Sorted as APA sorts: Nakamura before Okafor.
    nakamura = texts.index(
        "Nakamura, H., & Svensson, L. (2019). Digital literacy in social work education. "
        "In Social Work in a Digital Age (pp. 45–67). Invented Academic Publishers. "
        "https://doi.org/10.5555/export.0005"
    )
    okafor = next(i for i, t in enumerate(texts) if t.startswith("Okafor, C., & Lindqvist, Å."))
    assert q1 < nakamura < okafor < texts.index("Q2. Opportunities and risks")
    citation = paragraphs[okafor]
    assert citation.paragraph_format.first_line_indent < 0 < citation.paragraph_format.left_indent
    italic = [run.text for run in citation.runs if run.italic]
    assert "Journal of Invented Social Work Studies" in "".join(italic)
    # Its annotations follow it: the quote with its page, the note, who wrote them.
    assert texts[okafor + 1 : okafor + 6] == [
        "“models were deployed in 12 local authorities” (p. 104)",
        "Describes four deployed risk models.",
        "— Alice Reviewer, 2025-03-01",
        "Read for every question: a key review.",
        "— bob@example.org, 2025-03-01",
    ]
    assert paragraphs[okafor + 1].style.name == "Quote"
    # The same record under Q3 shows its Q3 annotation and the general one, not Q1's.
    q3_okafor = next(
        i for i, t in enumerate(texts) if i > okafor + 5 and t.startswith("Okafor, C., & L")
    )
    # One author before two, as APA sorts: the <script> paper (Okafor alone) comes first.
    assert texts[q3_okafor - 3].startswith("Okafor, C. (2021). <script>alert")
    assert texts[q3_okafor + 1 : q3_okafor + 5] == [
        "Read for every question: a key review.",
        "— bob@example.org, 2025-03-01",
        "“false positives fell on poorer families” (pp. 110-111)",
        "— Alice Reviewer, 2025-03-01",
    ]
    assert "Describes four deployed risk models." not in texts[q3_okafor:]


def test_annotated_html_is_one_escaped_printable_page(review_cli, session, tmp_path):
    exporting.build(review_cli, session)
    out = tmp_path / "bib.html"
    review_cli("export", "ai-sw", "annotated", "--format", "html", "-o", str(out))
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert '&lt;script&gt;alert("x")&lt;/script&gt; Algorithmic bias' in page
    assert "&lt;script&gt;alert(&quot;note&quot;)&lt;/script&gt; &amp; more" in page
    assert "&lt;b&gt;Invented&lt;/b&gt; Journal of Equity" in page
    assert "http" not in page.split("<body>")[0]  # nothing loaded from elsewhere
    assert "@media print" in page and "text-indent: -2em" in page
    assert page.count("<h2>") == 3


def test_annotated_markdown_options(review_cli, session):
    scenario = exporting.build(review_cli, session)
    text = review_cli(
        "export",
        "ai-sw",
        "annotated",
        "--format",
        "md",
        "--style",
        "vancouver",
        "--question",
        "Q3,Q1",
        "--stage",
        "full_text",
        "--untagged",
        "--show-decisions",
        "-o",
        "-",
    ).stdout
    # Questions in the review's order whatever order they were asked in; the excluded
    # chapter is filtered out of Q1; included but untagged records come last.
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Q1. Types of AI in use",
        "## Q3. Bias and discrimination",
        "## Included records not tagged to a review question",
    ]
    q1 = text.split("## Q1")[1].split("## Q3")[0]
    assert "Digital literacy" not in q1
    assert "1. Okafor C, Lindqvist Å. Predictive risk modelling" in q1
    assert "*Decision at full text: include*" in q1
    untagged = text.split("## Included records not tagged")[1]
    assert "Costs" not in untagged  # tagged to Q2, which was not asked for
    assert untagged.count("\n1. ") == 0  # no included record is left untagged...
    session.execute(
        sa.delete(annotated.RecordTag).where(annotated.RecordTag.record_id == scenario.ids["costs"])
    )
    session.commit()
    again = review_cli(
        "export", "ai-sw", "annotated", "--format", "md", "--untagged", "-o", "-"
    ).stdout
    untagged = again.split("## Included records not tagged")[1]
    assert (
        "Müller, J., Øster-Dahl, Å., & de la Cruz, M. J. (2022). Costs & benefits: "
        "50% of $ spent on \\#AI\\_tools \\{in\\} care" in untagged
    )
    # Markdown specials and raw HTML from the records are escaped.
    assert '\\<script\\>alert("x")\\</script\\>' in again
    assert not re.search(r"(?<!\\)<", again)  # no "<" that a Markdown renderer would keep


def test_citations_are_cached_until_the_record_changes(review_cli, session, monkeypatch):
    scenario = exporting.build(review_cli, session)
    review = session.get(Review, scenario.review_id)
    formatted: list[int] = []
    real = csl.format_many

    def counting(style, items):
        formatted.append(len(items))
        return real(style, items)

    monkeypatch.setattr(csl, "format_many", counting)
    first = annotated.build(session, review, style="chicago-author-date")
    session.commit()
    assert formatted == [4]
    assert session.scalar(sa.select(sa.func.count(CitationCache.id))) == 4

    # An annotation changes: every citation comes from the cache.
    note = session.scalar(sa.select(Annotation).where(Annotation.page == "104"))
    note.note = "Four deployed models, two withdrawn since."
    session.commit()
    second = annotated.build(session, review, style="chicago-author-date")
    assert formatted == [4]
    assert [e.citation for s in second.sections for e in s.entries] == [
        e.citation for s in first.sections for e in s.entries
    ]
    assert "Four deployed models, two withdrawn since." in [
        a.note for s in second.sections for e in s.entries for a in e.annotations
    ]

    # The record changes: only its citation is formatted again, and replaced in the cache.
    session.get(Record, scenario.ids["okafor"]).title = "Predictive risk models revisited"
    session.commit()
    third = annotated.build(session, review, style="chicago-author-date")
    session.commit()
    assert formatted == [4, 1]
    texts = [e.citation.text for s in third.sections for e in s.entries]
    assert sum("Predictive Risk Models Revisited" in t for t in texts) == 2
    assert session.scalar(sa.select(sa.func.count(CitationCache.id))) == 4

    # Another style is cached apart.
    annotated.build(session, review, style="apa")
    assert formatted == [4, 1, 4]


# ---------------------------------------------------------------- record files


ROUND_TRIP_FIELDS = ("title", "authors", "year", "doi", "venue", "abstract")


def test_ris_bibtex_and_csljson_import_back_to_the_same_records(review_cli, tmp_path):
    for path, label in exporting.IMPORTS:
        review_cli("import", "ai-sw", str(path), "--source", label)
    original = review_cli.json("records", "ai-sw")
    for fmt, ext in (("ris", "ris"), ("bibtex", "bib"), ("csljson", "json")):
        out = tmp_path / f"all.{ext}"
        report = review_cli.json("export", "ai-sw", "records", "--format", fmt, "-o", str(out))
        assert report["records"] == len(original) == 12
        copy = f"copy-{fmt}"
        review_cli("review", "create", copy, "--title", "Copy")
        imported = review_cli.json("import", copy, str(out))
        assert imported["files"][0]["format"] == fmt
        assert imported["imported"] == 12 and imported["errors"] == 0
        back = review_cli.json("records", copy)
        for before, after in zip(original, back, strict=True):
            for name in ROUND_TRIP_FIELDS:
                assert after[name] == before[name], (fmt, name, before["title"])
    special = next(r for r in original if (r["title"] or "").startswith("Costs & benefits"))
    assert special["title"] == (
        "Costs & benefits: 50% of $ spent on #AI_tools {in} care — Müller's “view”"
    )
    assert special["abstract"].startswith("Back\\slash, tilde~, caret^2, double--hyphen")
    assert special["venue"] == "Journal of Data_Science & Society #7"
    bib = (tmp_path / "all.bib").read_text(encoding="utf-8")
    assert r"Costs \& benefits: 50\% of \$ spent on \#AI\_tools \{in\} care — Müller" in bib
    assert "author = {{British Association of Social Workers}}" in bib


def test_csv_has_one_row_per_record_with_decisions_questions_and_notes(review_cli, session):
    scenario = exporting.build(review_cli, session)
    text = review_cli("export", "ai-sw", "records", "--format", "csv", "-o", "-").stdout
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 11  # the withdrawn record is not exported
    by_id = {int(r["id"]): r for r in rows}
    okafor = by_id[scenario.ids["okafor"]]
    assert okafor["authors"] == "Okafor, Chidi; Lindqvist, Åsa"
    assert okafor["review_questions"] == "Q1; Q3"
    assert (okafor["title_abstract_decision"], okafor["full_text_decision"]) == (
        "include",
        "include",
    )
    assert "Q1: “models were deployed in 12 local authorities” (p. 104)" in okafor["annotations"]
    assert okafor["notes"] == "Invented record for the litreview tests."
    chapter = by_id[scenario.ids["chapter"]]
    assert (chapter["full_text_decision"], chapter["full_text_reason"]) == (
        "exclude",
        "Wrong population",
    )
    mueller = by_id[scenario.ids["mueller"]]
    assert mueller["title_abstract_reason"] == "Wrong topic"


def test_record_files_filter_by_decision_stage_and_question(review_cli, session, tmp_path):
    exporting.build(review_cli, session)
    out = tmp_path / "included.json"
    report = review_cli.json(
        "export", "ai-sw", "records", "--decision", "include", "-o", str(out)
    )  # the format from the extension; full text by default
    assert report["records"] == 3
    items = json.loads(out.read_text(encoding="utf-8"))
    assert sorted(i["title"][:20] for i in items) == [
        '<script>alert("x")</',
        "Costs & benefits: 50",
        "Predictive risk mode",
    ]
    ris = review_cli(
        "export",
        "ai-sw",
        "records",
        "--format",
        "ris",
        "--question",
        "Q1",
        "--decision",
        "include",
        "--stage",
        "title_abstract",
        "-o",
        "-",
    ).stdout
    assert ris.count("TY  - ") == 2
    assert "ID  - okafor2021predictive" in ris and "Digital literacy" in ris
    bad = review_cli("export", "ai-sw", "records", "--question", "Q9", "-o", "x.ris", ok=False)
    assert bad.exit_code == 1
    assert "no review question 'Q9' in review ai-sw (its questions: Q1, Q2, Q3)" in bad.stderr
