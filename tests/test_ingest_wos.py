"""The Web of Science tagged-text reader: a fixture from rispy, messy files of our own."""

from __future__ import annotations

import io
from itertools import islice
from pathlib import Path

import pytest

from litreview.ingest import csljson, medline, wos
from litreview.ingest.record_data import Author, EntryError, RecordData, UnreadableFile
from tests.golden import check_golden

DATA = Path(__file__).parent / "data"
HERE = DATA / "wos"
# Real files from other projects (origins in data/README.md).
REAL_FILES = [*(DATA / "fixtures").iterdir(), *(DATA / "zotero").iterdir()]
FILES = ["rispy_example_wos.ris", "messy.txt"]
BIBTEX_HEAD = "@article{smith2020,\n  title = {A title},\n  author = {Smith, Jane},\n}\n"
# The RIS that Web of Science also exports (asreview's web_of_science.txt starts so).
WOS_RIS_HEAD = "TY  - JOUR\nAU  - Alceste, F\nAU  - Luke, TJ\nTI  - Holding Yourself Captive\n"
WOS_TAB_HEAD = "PT\tAU\tBA\tBE\tGP\tAF\tBF\tCA\tTI\tSO\nJ\tParkes-Loach, PS\t\t\t\n"


def read(name: str, newline: str | None = None) -> list:
    with open(HERE / name, encoding="utf-8", newline=newline) as stream:
        return list(wos.read(stream, name))


def read_text(text: str) -> list:
    return list(wos.read(io.StringIO(text), "test.txt"))


@pytest.mark.parametrize("name", FILES)
def test_golden(name: str) -> None:
    check_golden(read(name), HERE / (Path(name).stem + ".expected.json"))


@pytest.mark.parametrize("name", FILES)
def test_raw_is_the_records_lines_exactly(name: str) -> None:
    lines = (HERE / name).read_text(encoding="utf-8").splitlines(keepends=True)
    for record in read(name):
        if isinstance(record, RecordData):
            n = len(record.raw.splitlines())
            assert record.raw == "".join(lines[record.line - 1 : record.line - 1 + n])
            assert record.raw.startswith("PT ")


@pytest.mark.parametrize("name", FILES)
def test_crlf_lines_read_the_same(name: str) -> None:
    text = (HERE / name).read_text(encoding="utf-8")
    crlf = io.StringIO(text.replace("\n", "\r\n"), newline="")
    got = list(wos.read(crlf, name))
    assert [i.to_json() for i in got] == [i.to_json() for i in read_text(text)]


def test_rispy_example() -> None:
    first, second = read("rispy_example_wos.ris")
    assert first.title == (
        "Interactions stabilizing the structure of the core light-harvesting "
        "complex (LHl) of photosynthetic bacteria and its subunit (B820)"
    )
    assert first.authors == [
        Author("Parkes-Loach", "PS"),
        Author("Majeed", "AP"),
        Author("Law", "CJ"),
        Author("Loach", "PA"),
    ]
    assert first.venue == "BIOCHEMISTRY"  # as Web of Science writes it
    assert (first.year, first.volume, first.issue, first.pages) == (2004, "43", "22", "7003-7016")
    assert (first.doi, first.pmid) == ("10.1021/bi049798f", "15170338")
    assert (first.entry_key, first.line) == ("WOS:000221807500019", 3)
    assert (first.type, first.language, first.publisher) == (
        "article",
        "English",
        "AMER CHEMICAL SOC",
    )
    assert first.keywords[:3] == [
        "CHEMICALLY SYNTHESIZED POLYPEPTIDES",
        "IN-VITRO RECONSTITUTION",
        "AMINO-ACID-SEQUENCE",
    ]
    assert first.abstract.startswith("Reconstitution experiments with a chemically synthesized")
    assert first.raw.endswith("ER\n")
    assert len(second.authors) == 9 and second.authors[-1] == Author("Champion", "PM")
    # A keyword broken across two lines is one keyword.
    assert "CARBON-MONOXIDE BINDING" in second.keywords
    assert (second.entry_key, second.pages, second.line) == (
        "WOS:000221807500020",
        "7017-7027",
        112,
    )


def test_messy_file() -> None:
    items = read("messy.txt")
    assert [type(i).__name__ for i in items] == [
        "RecordData",
        "RecordData",
        "EntryError",
        "RecordData",
        "RecordData",
        "EntryError",
    ]
    stroke, no_er, no_er_error, chapter, cut, cut_error = items
    # Byte-order mark before FN; accents; AF over AU; the group author (CA) last.
    assert stroke.authors == [
        Author("Müller", "Jürgen"),
        Author("García-López", "María José"),
        Author("Ødegård", "Kari"),
        Author("European Stroke Study Group"),
    ]
    assert stroke.title == (
        "Stroke care in Norway, Spain and Germany: a comparison of outcomes after thrombolysis"
    )
    assert stroke.type == "article"  # DT 'Article; Proceedings Paper': in a journal
    assert stroke.pages == "e14123"  # AR, there being no BP
    assert stroke.doi == "10.1111/ene.14123"
    # DE first, then ID; split on ';' across lines; 'stroke' only once.
    assert stroke.keywords == [
        "stroke",
        "thrombolysis",
        "quality of care",
        "Europe",
        "ALTEPLASE",
        "OUTCOMES",
    ]
    assert (
        stroke.abstract
        == "We compare stroke outcomes across three countries. Outcomes differed little."
    )
    # No ER before the next PT: the record is read, and an error names the line.
    assert (no_er.title, no_er.line, no_er.year) == ("A record whose ER line is missing", 31, 2021)
    assert no_er.pages == "101"
    assert isinstance(no_er_error, EntryError)
    assert (no_er_error.line, no_er_error.entry) == (31, "WOS:000500000000002")
    assert "no ER line before line 41" in no_er_error.message
    assert not no_er.raw.rstrip("\n").endswith("PT B")
    assert (chapter.type, chapter.line, chapter.pages, chapter.isbn) == (
        "chapter",
        41,
        "55-78",
        "978-3-319-00000-0",
    )
    assert chapter.authors == [Author("Brown", "A"), Author("Schmidt", "B")]  # AU, no AF
    # EF where ER should be.
    assert (cut.title, cut.year) == ("The last record, cut off before its ER", 1999)
    assert "before line 61" in cut_error.message and cut_error.line == 55


def test_file_cut_off_mid_record() -> None:
    items = read_text(
        "FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nTI A title\n   going on"
    )
    record, error = items
    assert record.title == "A title going on"
    assert record.entry_key == "1"  # no UT: its position
    assert "before the end of the file" in error.message


def test_two_exports_run_together() -> None:
    """The second file's header where the first file's EF (and an ER) should be."""
    text = (
        "FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nTI First\nUT WOS:1\n\n"
        "FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nTI Second\nUT WOS:2\nER\n\nEF\n"
    )
    first, error, second = read_text(text)
    assert (first.title, first.raw) == ("First", "PT J\nTI First\nUT WOS:1\n")
    assert error.line == 3 and "before line 7" in error.message
    assert (second.title, second.line) == ("Second", 9)


def test_old_style_names_and_types() -> None:
    text = (
        "PT J\nAU PARKES-LOACH PS\n   Smith, J\nTI Old names\nDT Proceedings Paper\nPY 1990\nER\n"
        "PT B\nAU Doe, J\nTI A whole book\nDT Book\nER\n"
        "PT P\nAU Inventor, I\nTI A patent\nER\n"
        "PT S\nBA Editor, E\nTI In a series\nDT Article\nER\n"
        "PT J\nDT Review\nTI A review\nEA JAN 2021\nER\n"
    )
    old, book, patent, series, review = read_text(text)
    assert old.authors == [Author("PARKES-LOACH", "PS"), Author("Smith", "J")]
    assert old.type == "conference"
    assert (book.type, patent.type, series.type, review.type) == (
        "book",
        "other",
        "article",
        "article",
    )
    assert series.authors == [Author("Editor", "E")]  # BA, the only names there are
    assert review.year == 2021  # early access, no PY


def test_stray_text_and_empty_files() -> None:
    items = read_text("Some words first\nPT J\nTI A title\nER\n")
    assert isinstance(items[0], EntryError) and items[0].line == 1
    assert items[1].title == "A title" and items[1].line == 2
    assert read_text("") == []
    assert read_text("FN Clarivate Analytics Web of Science\nVR 1.0\nEF\n") == []
    [item] = read_text("PT J\nER\n")
    assert isinstance(item, EntryError) and item.line == 1


def test_reads_one_record_at_a_time() -> None:
    def endless():
        yield "FN Clarivate Analytics Web of Science\n"
        yield "VR 1.0\n"
        n = 0
        while True:
            n += 1
            yield from ("PT J\n", f"TI Record {n}\n", f"UT WOS:{n}\n", "ER\n", "\n")

    first = list(islice(wos.read(endless(), "endless.txt"), 3))
    assert [r.entry_key for r in first] == ["WOS:1", "WOS:2", "WOS:3"]


def test_looks_like() -> None:
    for name in FILES:
        head = (HERE / name).read_text(encoding="utf-8")[:4096]
        assert wos.looks_like(head), name
        assert not medline.looks_like(head), name
        assert not csljson.looks_like(head), name
    assert wos.looks_like("PT J\nAU Smith, J\n")  # no header
    for head in (BIBTEX_HEAD, WOS_RIS_HEAD, WOS_TAB_HEAD, "", "PT  - JOUR\n", "FN\n"):
        assert not wos.looks_like(head), head
    for path in [*(DATA / "medline").glob("*"), *(DATA / "csljson").glob("*")]:
        assert not wos.looks_like(path.read_text(encoding="utf-8")[:4096]), path


def test_real_files() -> None:
    """Only rispy's example_wos looks like WoS (asreview's web_of_science.txt is RIS); it
    reads without errors; other files given to the reader give errors, not exceptions."""
    for path in sorted(REAL_FILES):
        text = path.read_text(encoding="utf-8", errors="replace")
        is_wos = path.name == "rispy_example_wos.ris"
        assert wos.looks_like(text[:4096]) == is_wos, path
        try:
            items = list(wos.read(io.StringIO(text), path.name))
        except UnreadableFile:
            continue
        if is_wos:
            assert len(items) == 2 and all(isinstance(i, RecordData) for i in items)
