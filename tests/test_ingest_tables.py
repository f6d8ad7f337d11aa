"""The CSV/TSV reader on real exports (ASReview/SYNERGY, Embase) and hand-made ones in the
layouts of Rayyan and Covidence; bad tables; the labels other tools write."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from litreview.ingest import labels, tables
from litreview.ingest.decoding import detect_format, read_file
from litreview.ingest.labels import Label, UnknownLabel, parse_rayyan, read_label
from litreview.ingest.record_data import Author, EntryError, RecordData, UnreadableFile

HERE = Path(__file__).parent / "data" / "tables"


def records(items: list) -> list[RecordData]:
    return [i for i in items if isinstance(i, RecordData)]


def errors(items: list) -> list[EntryError]:
    return [i for i in items if isinstance(i, EntryError)]


def read_text(text: str, name: str = "t.csv") -> list:
    return list(tables.read(io.StringIO(text), name))


def test_asreview_labelled_dataset_keeps_its_labels_in_extra() -> None:
    fmt, items = read_file(HERE / "Kitchenham_2010_sample.csv")
    assert fmt == "csv" and not errors(items)
    got = records(items)
    assert [r.entry_key for r in got] == [
        "1",
        "2",
        "3",
        "100",
        "101",
        "102",
        "103",
        "104",
        "229",
        "230",
    ]
    first = got[0]
    assert first.title.startswith("A Conceptual Model of ICT-Supported Unified Process")
    assert first.year == 2006 and first.abstract.startswith("This is an ongoing research")
    assert first.extra == {"label_included": "1", "duplicate_record_id": ""}
    assert [r.extra["label_included"] for r in got] == ["1"] * 3 + ["0"] * 7
    assert got[8].extra["duplicate_record_id"] == "230"
    # Each record's raw text is its row as it stands in the file, line numbers included.
    lines = (HERE / "Kitchenham_2010_sample.csv").read_text(encoding="utf-8").splitlines(True)
    for r in got:
        assert r.raw == lines[r.line - 1]


def test_synergy_dataset_doi_urls_and_a_row_without_title() -> None:
    fmt, items = read_file(HERE / "SYNERGY_Smid_2020_sample.csv")
    assert fmt == "csv"
    got = records(items)
    assert len(got) == 6
    assert got[0].doi == "10.1002/9780470723586"  # https://doi.org/ taken off
    assert got[0].title == "Statistical Issues in Drug Development"
    assert got[0].extra == {"label_included": "0"}
    [error] = errors(items)
    assert (error.line, error.entry, error.message) == (7, "6", "row 6 has no title")


def test_embase_csv_family_initials_authors_and_bracketed_keywords() -> None:
    _fmt, items = read_file(HERE / "asreview_embase.csv")
    got = records(items)
    assert len(got) == 6 and not errors(items)
    first = got[0]
    assert first.authors == [Author("Liu", "R."), Author("Adler", "D.G.")]
    assert "bronchogenic duplication cyst (diagnosis, surgery)" in first.keywords
    assert first.extra["Source"].startswith("Endoscopic Ultrasound (2014)")
    assert "Title" not in first.extra and "Abstract" not in first.extra


def test_rayyan_export_crlf_multiline_fields_and_notes_kept_out_of_the_record() -> None:
    _fmt, items = read_file(HERE / "rayyan.csv")
    got = records(items)
    assert [r.entry_key for r in got] == ["101", "102", "103", "104", "105", "106"]
    # The first record's abstract runs over two lines: the next record starts on line 4.
    assert [r.line for r in got] == [2, 4, 5, 6, 7, 8]
    first = got[0]
    assert first.abstract == "Risk models are used in child protection. We map what was studied."
    assert first.authors == [Author("Martin", "A."), Author("Okafor", "C.")]
    assert (first.venue, first.year, first.pmid, first.pages) == (
        "Invented Journal of Social Work",
        2021,
        "99100001",
        "101-119",
    )
    # Rayyan's notes name every reviewer's decision: never the record's note (blind
    # screening would show them), kept verbatim for --decisions-from.
    assert first.note is None
    assert first.extra["notes"].startswith('RAYYAN-INCLUSION: {"Alice Martin"=>"Included"')
    assert got[1].title == 'Chatbots answering calls to social care: a "first contact" trial'
    assert got[4].doi == "10.5555/rayyan.101"
    assert "notes" not in got[5].extra  # an empty note is no marker


def test_covidence_export_with_byte_order_mark() -> None:
    fmt, items = read_file(HERE / "covidence.csv")
    assert fmt == "csv"
    first, second = records(items)
    assert first.title == "Predictive risk models in child protection: a scoping review"
    assert first.year == 2021 and first.entry_key == "#12"
    assert first.extra["Tags"] == "scoping; child protection"
    assert first.extra["Accession Number"] == "99100001"
    assert second.authors == [Author("Adeyemi", "F."), Author("van der Berg", "K.")]
    assert second.note == "checked the protocol"
    [error] = errors(items)
    assert (error.line, error.entry, error.message) == (4, "#14", "row 3 has no title")


def test_tsv_and_semicolon_tables_read_as_the_csv_does(tmp_path: Path) -> None:
    _fmt, expected = read_file(HERE / "rayyan.csv")
    with open(HERE / "rayyan.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    for delimiter, suffix, fmt in (("\t", ".tsv", "tsv"), (";", ".txt", "csv")):
        path = tmp_path / f"rayyan{suffix}"
        with open(path, "w", encoding="utf-8", newline="") as f:
            csv.writer(f, delimiter=delimiter).writerows(rows)
        got_fmt, items = read_file(path)
        assert got_fmt == fmt
        assert [r.to_json() for r in items] == [r.to_json() for r in expected]


def test_a_table_without_a_title_column_names_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("record_id,label_included\n1,0\n", encoding="utf-8")
    with pytest.raises(UnreadableFile) as exc:
        read_file(path)
    assert str(exc.value) == (
        f"{path}: no title column (looked for Title, Primary title, Article title or TI); "
        "its columns are: record_id, label_included"
    )


def test_an_excel_workbook_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(UnreadableFile, match=r"export.xlsx: is a zip file .*save it as CSV"):
        read_file(path)


def test_detection_from_content() -> None:
    assert detect_format(Path("x.txt"), "Title,Abstract\na,b\n") == "csv"
    assert detect_format(Path("x.txt"), "\ufeffPT\tAU\tTI\tSO\nJ\tA\tB\tC\n") == "tsv"
    assert detect_format(Path("x.csv"), "Title;Authors\n") == "csv"
    assert not tables.looks_like("TY  - JOUR\nTI  - A title\n")
    assert not tables.looks_like("@article{x,\n  title = {A}\n}\n")
    assert not tables.looks_like("PMID- 123\nTI  - A title\n")


def test_bad_rows_are_errors_naming_row_and_line() -> None:
    text = (
        "Title,Year\n"
        "Fine one,2020\n"
        "Has a NUL\x00 in it,2020\n"
        "Too,many,cells,here\n"
        '"Quoted"junk,2021\n'
        ",2022\n"
        '"A title over\ntwo lines",2023\n'
        "Short row\n"
    )
    items = read_text(text)
    assert [r.title for r in records(items)] == ["Fine one", "A title over two lines", "Short row"]
    assert [(e.line, e.message) for e in errors(items)] == [
        (3, "row 2 holds a NUL character (a binary file?)"),
        (4, "row 3 has 4 cells, the header 2 (a delimiter in an unquoted field?)"),
        (5, "row 4: ',' expected after '\"'"),
        (6, "row 5 has no title"),
    ]
    assert [r.line for r in records(items)] == [2, 7, 9]


def test_a_huge_field_or_an_open_quote_refuses_the_file_naming_row_and_line() -> None:
    huge = "Title,Abstract\nOne,short\nTwo," + "x" * 300_000 + "\nThree,short\n"
    with pytest.raises(UnreadableFile) as exc:
        read_text(huge, "big.csv")
    assert str(exc.value) == (
        "big.csv: row 2 (line 3): a field is longer than 128 KB "
        "(a quote left open, or not a table?)"
    )
    opened = 'Title,Abstract\nOne,short\nTwo,"never closed\nThree,short\n'
    with pytest.raises(UnreadableFile) as exc:
        read_text(opened, "cut.csv")
    assert str(exc.value) == (
        "cut.csv: row 2 (line 3): a quoted field is still open at the end of the file "
        "(a missing closing quote)"
    )


def test_column_names_are_matched_in_any_case_and_spelling() -> None:
    text = (
        "Primary_Title,AUTHOR FULL NAMES,Publication Year,Source title,Page start,Page end,"
        "PubMed ID,Link,Author Keywords,Document Type,Cited by\n"
        'A paper,"Smith, Jane; Doe, John",2019-05-03,J Tests,10,19,12345,https://x.org,"a; b",'
        "Conference Paper,3\n"
    )
    [r] = read_text(text)
    assert (r.title, r.year, r.venue, r.pages, r.pmid, r.url) == (
        "A paper",
        2019,
        "J Tests",
        "10-19",
        "12345",
        "https://x.org",
    )
    assert r.authors == [Author("Smith", "Jane"), Author("Doe", "John")]
    assert (r.keywords, r.type, r.extra) == (["a", "b"], "conference", {"Cited by": "3"})


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Smith, J; Doe, A", [Author("Smith", "J"), Author("Doe", "A")]),
        ("Smith J, Doe A", [Author("Smith", "J"), Author("Doe", "A")]),
        ("Smith, J. and Doe, A.", [Author("Smith", "J."), Author("Doe", "A.")]),
        ("Smith, John", [Author("Smith", "John")]),
        ("Jane Smith, John Doe", [Author("Smith", "Jane"), Author("Doe", "John")]),
        ("de Hoon MJ", [Author("de Hoon", "MJ")]),
        ("", []),
    ],
)
def test_author_cells(cell: str, expected: list[Author]) -> None:
    assert tables.split_authors(cell) == expected


def test_other_readers_json_has_no_extra() -> None:
    assert "extra" not in RecordData(title="x").to_json()
    assert RecordData(title="x", extra={"a": "1"}).to_json()["extra"] == {"a": "1"}


# ------------------------------------------------------------------ labels


@pytest.mark.parametrize(
    ("cell", "decision"),
    [
        ("1", "include"),
        ("1.0", "include"),
        ("0", "exclude"),
        ("Included", "include"),
        ("exclude", "exclude"),
        ("Yes", "include"),
        ("no", "exclude"),
        ("Maybe", "maybe"),
        ("-1", None),
        ("", None),
        (None, None),
    ],
)
def test_read_label(cell: str | None, decision: str | None) -> None:
    label = read_label(cell)
    assert (label.decision if label else None) == decision


def test_an_unknown_label_is_an_error() -> None:
    with pytest.raises(UnknownLabel, match="'perhaps' is not a decision"):
        read_label("perhaps")


def test_rayyan_markers() -> None:
    notes = (
        'RAYYAN-INCLUSION: {"Alice Martin"=>"Included", "Bob"=>"Excluded", "Cy"=>"Maybe"} | '
        "RAYYAN-LABELS: RCT,adults | RAYYAN-EXCLUSION-REASONS: wrong population,foreign "
        'language | USER-NOTES: {"Bob"=>["off topic"]}'
    )
    parsed = parse_rayyan(notes)
    assert parsed.decisions == {"Alice Martin": "include", "Bob": "exclude", "Cy": "maybe"}
    assert parsed.labels == ["RCT", "adults"]
    assert parsed.reasons == ["wrong population", "foreign language"]
    assert read_label(notes, ("alice martin",)) == Label("include")
    assert read_label(notes, ("nobody", "bob")) == Label(
        "exclude", ("wrong population", "foreign language")
    )
    assert read_label(notes, ("Dee",)) is None
    assert labels.rayyan_reviewers(notes) == ["Alice Martin", "Bob", "Cy"]
