"""Round trips through the real CLI and the real databases."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tests.conftest import DATA

IMPORT = DATA / "import"


def by_title(records: list[dict], start: str) -> dict:
    [found] = [r for r in records if (r["title"] or "").lower().startswith(start.lower())]
    return found


def test_three_files_with_overlapping_records_become_one_record_each(review_cli):
    report = review_cli.json(
        "import",
        "ai-sw",
        str(IMPORT / "scopus.ris"),
        str(IMPORT / "wos.bib"),
        str(IMPORT / "pubmed.nbib"),
        str(IMPORT / "zotero.json"),
        "--source",
        "Test searches",
    )
    files = {Path(f["file"]).name: f for f in report["files"]}
    assert [
        files[n]["format"] for n in ("scopus.ris", "wos.bib", "pubmed.nbib", "zotero.json")
    ] == ["ris", "bibtex", "medline", "csljson"]
    assert (files["scopus.ris"]["imported"], files["scopus.ris"]["merged_duplicates"]) == (3, 0)
    assert (files["wos.bib"]["imported"], files["wos.bib"]["merged_duplicates"]) == (1, 2)
    assert (files["pubmed.nbib"]["imported"], files["pubmed.nbib"]["merged_duplicates"]) == (1, 1)
    assert (files["zotero.json"]["imported"], files["zotero.json"]["merged_duplicates"]) == (1, 1)
    assert report["imported"] == 6 and report["merged_duplicates"] == 4

    # The broken BibTeX entry is reported with its line and key, and skipped.
    [error] = files["wos.bib"]["errors"]
    assert error["line"] == 23
    assert error["entry"] == "broken2022"
    assert report["errors"] == 1

    records = review_cli.json("records", "ai-sw")
    assert len(records) == 6
    okafor = by_title(records, "Predictive risk modelling")
    assert okafor["doi"] == "10.5555/test.0001"
    assert okafor["pmid"] == "99000001"  # filled in from PubMed
    assert okafor["authors"] == [
        {"family": "Okafor", "given": "Chidi"},
        {"family": "Lindqvist", "given": "Åsa"},
    ]
    assert sorted((s["file"], s["entry"]) for s in okafor["sources"]) == [
        ("pubmed.nbib", "99000001"),
        ("scopus.ris", "scopus-1"),
        ("wos.bib", "okafor2021"),
    ]
    # Merged by title + year + first author (no DOI on either), gaps filled from BibTeX.
    survey = by_title(records, "Generative AI and case notes")
    assert survey["volume"] == "7" and survey["pages"] == "1-20"
    assert len(survey["sources"]) == 2
    # Scopus had no abstract for the chatbot paper; Zotero's fills it.
    chatbots = by_title(records, "Chatbots for social care")
    assert chatbots["abstract"].startswith("Chatbots answering the first call")
    mueller = by_title(records, "Algorithmic bias")
    assert mueller["authors"] == [
        {"family": "Müller", "given": "Jörg"},
        {"family": "British Association of Social Workers", "given": None},
    ]
    assert mueller["venue"] == "Invented Journal of Equity"
    regulator = by_title(records, "Professional standards")
    assert regulator["authors"] == [{"family": "Invented Regulator", "given": None}]
    assert regulator["year"] == 2025


def test_the_same_file_twice_adds_nothing_and_says_so(review_cli):
    first = review_cli.json("import", "ai-sw", str(IMPORT / "scopus.ris"))
    again = review_cli.json("import", "ai-sw", str(IMPORT / "scopus.ris"))
    assert first["imported"] == 3
    assert again["files"][0]["unchanged"] == 3
    assert (again["imported"], again["merged_duplicates"]) == (0, 0)
    assert len(review_cli.json("records", "ai-sw")) == 3
    out = review_cli("import", "ai-sw", str(IMPORT / "scopus.ris")).output
    assert "3 unchanged" in out


def test_dry_run_reports_exactly_and_writes_nothing(review_cli):
    review_cli("import", "ai-sw", str(IMPORT / "scopus.ris"))
    dry = review_cli.json("import", "ai-sw", str(IMPORT / "wos.bib"), "--dry-run")
    assert dry["dry_run"] is True
    assert (dry["imported"], dry["merged_duplicates"], dry["errors"]) == (1, 2, 1)
    assert len(review_cli.json("records", "ai-sw")) == 3
    real = review_cli.json("import", "ai-sw", str(IMPORT / "wos.bib"))
    assert (real["imported"], real["merged_duplicates"], real["errors"]) == (1, 2, 1)


def test_unreadable_file_fails_with_one_line_and_keeps_the_others(review_cli, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("Just some notes about papers I should read.\n")
    latin1 = tmp_path / "latin1.ris"
    latin1.write_bytes("TY  - JOUR\nTI  - Caf\xe9 culture\nER  - \n".encode("latin-1"))
    result = review_cli(
        "import",
        "ai-sw",
        str(bad),
        str(IMPORT / "scopus.ris"),
        str(latin1),
        str(tmp_path / "missing.bib"),
        ok=False,
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    errors = result.stderr.strip().splitlines()
    assert errors == [
        f"Error: {bad}: not a bibliography file (no BibTeX, RIS, PubMed/MEDLINE, "
        "Web of Science or CSL-JSON entries, nor a table with a title column, found)",
        f"Error: {latin1}: line 2: not valid utf-8 (byte 0xe9); "
        "save the file as UTF-8 and import it again",
        f"Error: {tmp_path / 'missing.bib'}: no such file",
    ]
    # The readable file in the middle still landed.
    assert len(review_cli.json("records", "ai-sw")) == 3


def test_utf16_and_bom_files_are_decoded(review_cli, tmp_path):
    text = (IMPORT / "scopus.ris").read_text(encoding="utf-8")
    utf16 = tmp_path / "endnote.ris"
    utf16.write_bytes(text.replace("\n", "\r\n").encode("utf-16"))  # with BOM, as EndNote
    bom = tmp_path / "bom.ris"
    bom.write_bytes(b"\xef\xbb\xbf" + text.replace("scopus-", "bom-").encode("utf-8"))
    report = review_cli.json("import", "ai-sw", str(utf16))
    assert report["imported"] == 3
    titles = {r["title"] for r in review_cli.json("records", "ai-sw")}
    assert "Chatbots for social care triage" in titles
    assert review_cli.json("records", "ai-sw")[0]["authors"][1]["given"] == "Åsa"
    # The same records again, from a UTF-8 file with a BOM: merged, none new.
    again = review_cli.json("import", "ai-sw", str(bom))
    assert (again["imported"], again["merged_duplicates"]) == (0, 3)


def test_unknown_review_and_uninitialised_database_are_one_line_errors(cli, tmp_path):
    result = cli("records", "nope", ok=False)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    cli("init")
    result = cli("records", "nope", ok=False)
    assert result.stderr.strip() == "Error: no review named 'nope'"


def test_review_and_questions_from_the_cli(review_cli):
    review_cli(
        "question",
        "add",
        "ai-sw",
        "Q3",
        "Bias and discrimination",
        "--query",
        '"algorithmic bias" OR discriminat*',
    )
    review_cli("question", "add", "ai-sw", "Q4", "Data protection and confidentiality")
    questions = review_cli.json("question", "list", "ai-sw")
    assert [(q["code"], q["title"]) for q in questions] == [
        ("Q3", "Bias and discrimination"),
        ("Q4", "Data protection and confidentiality"),
    ]
    assert questions[0]["query"] == '"algorithmic bias" OR discriminat*'
    dup = review_cli("review", "create", "ai-sw", "--title", "Again", ok=False)
    assert dup.stderr.strip() == "Error: a review named 'ai-sw' already exists"


FIXTURES = sorted((DATA / "fixtures").iterdir())
NOT_OURS = {"jabref_Endnote.entries.enw", "jabref_MedlineImporterTestArticleItalics.xml"}


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_every_real_fixture_imports_without_a_traceback(review_cli, path, tmp_path):
    # Copy: the file name must not matter, only the content.
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    result = review_cli("import", "ai-sw", str(copy), "--json", ok=False)
    assert "Traceback" not in result.output
    if path.name in NOT_OURS:
        assert result.exit_code == 1
        assert "not a bibliography file" in result.stderr
        return
    assert result.exit_code == 0, result.output
    records = review_cli.json("records", "ai-sw")
    assert records, f"{path.name}: nothing imported"
    assert all(r["sources"] for r in records)


def test_imported_records_are_searchable_at_once_or_after_no_index(review_cli, session):
    from litreview.config import load_settings
    from litreview.models import SearchOutbox

    review_cli("import", "ai-sw", str(IMPORT / "scopus.ris"))
    found = review_cli.json("search", "ai-sw", "chatbots")
    assert [r["title"] for r in found["results"]] == ["Chatbots for social care triage"]
    assert session.query(SearchOutbox).count() == 0

    review_cli("import", "ai-sw", str(IMPORT / "pubmed.nbib"), "--no-index")
    if load_settings().search_outbox:
        assert session.query(SearchOutbox).count() > 0
        # The next search catches the index up with what the import left in the outbox.
    else:  # PostgreSQL's own search: searchable in the import's transaction, no outbox
        assert session.query(SearchOutbox).count() == 0
    found = review_cli.json("search", "ai-sw", "GDPR")
    assert [r["title"] for r in found["results"]] == [
        "Data protection and consent in digital social work records."
    ]


HEAVY = {"whoosh", "alembic", "pyzotero", "flask", "docx", "citeproc", "argon2", "pypdfium2"}


def _modules_loaded_by(*args: str) -> list[str]:
    """Run `litreview ARGS` in a fresh interpreter; the heavy packages it imported."""
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from litreview.cli.main import cli\n"
        f"result = CliRunner().invoke(cli, {list(args)!r})\n"
        "assert result.exit_code == 0, result.output\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(HEAVY)!r}))\n"
    )
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().replace("'", '"'))


def test_the_cli_starts_without_loading_what_a_command_does_not_use(review_cli, tmp_path):
    """Guards start-up time without timing it: each command imports only what it needs."""
    path = tmp_path / "one.ris"
    path.write_text("TY  - JOUR\nTI  - A record\nPY  - 2024\nER  - \n", encoding="utf-8")
    review_cli("import", "ai-sw", str(path))
    assert _modules_loaded_by("--version") == []
    assert _modules_loaded_by("--help") == []
    assert _modules_loaded_by("records", "ai-sw", "--json") == []


def test_the_help_table_says_what_each_command_says():
    """The static short help of --help matches each command's own docstring."""
    from litreview.cli.main import cli as root

    def check(group: click.Group, ctx: click.Context) -> None:
        for name, (_target, text) in group.lazy.items():
            command = group.get_command(ctx, name)
            assert command is not None, name
            assert command.get_short_help_str(300) == text, name
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None, name
            if isinstance(command, click.Group) and hasattr(command, "lazy"):
                check(command, click.Context(command, parent=ctx, info_name=name))

    check(root, click.Context(root, info_name="litreview"))


def test_entries_without_a_title_are_listed_with_their_lines(review_cli, tmp_path):
    path = tmp_path / "untitled.ris"
    path.write_text(
        "TY  - JOUR\nID  - t1\nTI  - A titled paper\nAU  - Able, A.\nPY  - 2020\nER  - \n\n"
        "TY  - JOUR\nID  - u1\nAU  - Baker, B.\nPY  - 2021\nER  - \n",
        encoding="utf-8",
    )
    report = review_cli.json("import", "ai-sw", str(path))
    [file] = report["files"]
    assert report["untitled"] == 1 and file["untitled_count"] == 1
    [entry] = file["untitled"]
    assert (entry["entry"], entry["line"]) == ("u1", 8)
    shown = review_cli("import", "ai-sw", str(path), "--dry-run").stdout
    assert "without a title" not in shown  # nothing new: the same file is unchanged
    path.write_text(path.read_text(encoding="utf-8").replace("u1", "u2"), encoding="utf-8")
    text = review_cli("import", "ai-sw", str(path)).stdout
    assert "u2" in text and "no title" in text
