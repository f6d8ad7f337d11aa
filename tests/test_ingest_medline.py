"""The PubMed/MEDLINE (.nbib) reader: fixtures from other projects, messy files of our own."""

from __future__ import annotations

import io
from itertools import islice
from pathlib import Path

import pytest

from litreview.ingest import csljson, medline, wos
from litreview.ingest.record_data import Author, EntryError, RecordData, UnreadableFile
from tests.golden import check_golden

DATA = Path(__file__).parent / "data"
HERE = DATA / "medline"
# Real files from other projects (origins in data/README.md).
REAL_FILES = [*(DATA / "fixtures").iterdir(), *(DATA / "zotero").iterdir()]
FILES = [
    "biopython_pubmed_result2.txt",
    "pybtexnbib_marcelis-20301770.nbib",
    "jabref_MedlinePlainImporterTestMultipleEntries.txt",
    "messy.nbib",
    "eric.nbib",
]
# Heads of other formats: none of them is MEDLINE.
BIBTEX_HEAD = "@article{smith2020,\n  title = {A title},\n  author = {Smith, Jane},\n}\n"
RIS_HEAD = "TY  - JOUR\nAU  - Smith, Jane\nTI  - A title\nPY  - 2020\nER  - \n"
PUBMED_RIS_HEAD = "\nTY  - JOUR\nDB  - PubMed\nAN  - 16403221\nAU  - Casbon, J. A.\n"


def read(name: str, newline: str | None = None) -> list:
    with open(HERE / name, encoding="utf-8", newline=newline) as stream:
        return list(medline.read(stream, name))


def records(name: str) -> list[RecordData]:
    return [item for item in read(name) if isinstance(item, RecordData)]


@pytest.mark.parametrize("name", FILES)
def test_golden(name: str) -> None:
    check_golden(read(name), HERE / (Path(name).stem + ".expected.json"))


@pytest.mark.parametrize("name", FILES)
def test_raw_is_the_records_lines_exactly(name: str) -> None:
    lines = (HERE / name).read_text(encoding="utf-8").splitlines(keepends=True)
    for record in records(name):
        n = len(record.raw.splitlines())
        assert record.raw == "".join(lines[record.line - 1 : record.line - 1 + n])
        assert record.raw.endswith("\n")


@pytest.mark.parametrize("name", FILES)
def test_crlf_lines_read_the_same(name: str) -> None:
    """A stream opened with newline='' keeps '\\r\\n': nothing but raw may change."""
    text = (HERE / name).read_text(encoding="utf-8").replace("\r\n", "\n")
    crlf = io.StringIO(text.replace("\n", "\r\n"), newline="")
    lf = list(medline.read(io.StringIO(text), name))
    got = list(medline.read(crlf, name))
    assert [item.to_json() for item in got] == [item.to_json() for item in lf]


def test_biopython_pubmed_records() -> None:
    first, second, third, fourth = read("biopython_pubmed_result2.txt")
    assert first.title == "A high level interface to SCOP and ASTRAL implemented in python."
    assert first.authors == [
        Author("Casbon", "James A"),
        Author("Crooks", "Gavin E"),
        Author("Saqi", "Mansoor A S"),
    ]
    assert (first.pmid, first.entry_key, first.line) == ("16403221", "16403221", 2)
    assert first.doi == "10.1186/1471-2105-7-10"  # the [doi] AID, not the [pii] one
    assert (first.year, first.volume, first.pages) == (2006, "7", "10")
    assert first.venue == "BMC bioinformatics"  # JT, not TA
    assert first.type == "article"
    assert first.language == "eng"
    assert first.keywords[:3] == [
        "Database Management Systems",
        "Databases, Protein",
        "Information Storage and Retrieval/methods",
    ]
    assert first.abstract.startswith("BACKGROUND: Benchmarking algorithms in structural")
    assert "The ASTRAL compendium provides" in first.abstract  # continuation joined
    assert second.title == (
        "GenomeDiagram: a python package for the visualization of large-scale genomic data."
    )
    assert (second.volume, second.issue, second.pages) == ("22", "5", "616-7")
    assert [a.family for a in third.authors] == ["de Hoon", "Imoto", "Nolan", "Miyano"]
    assert third.authors[0].given == "M J L"
    assert "Information Storage and Retrieval/methods/standards" in fourth.keywords
    assert fourth.doi is None  # no AID at all


def test_nbib_book_chapter() -> None:
    [chapter] = read("pybtexnbib_marcelis-20301770.nbib")
    assert chapter.type == "chapter"
    assert chapter.title == "Feingold Syndrome 1."
    assert chapter.venue == "GeneReviews(®)"  # the book (BTI)
    assert chapter.authors == [Author("Marcelis", "Carlo LM"), Author("de Brouwer", "Arjan PM")]
    assert chapter.publisher == "University of Washington, Seattle"
    assert (chapter.year, chapter.pmid) == (1993, "20301770")
    # OT terms repeat in the file; each is kept once.
    assert chapter.keywords == [
        "Oculodigitoesophagoduodenal Syndrome",
        "ODED Syndrome",
        "N-myc proto-oncogene protein",
        "MYCN",
        "Feingold Syndrome 1",
    ]
    assert chapter.raw.endswith("AID - NBK7050 [bookaccession]\n")  # CRLF read as text


def test_jabref_odd_records() -> None:
    items = read("jabref_MedlinePlainImporterTestMultipleEntries.txt")
    assert [type(i).__name__ for i in items] == ["RecordData", "EntryError"] + ["RecordData"] * 6
    stray = items[1]
    assert stray.line == 53 and "outside any MEDLINE record" in stray.message
    no_pmid = items[2]  # starts with 'PMC -22664230', empty TI-, BTI, FAU
    assert (no_pmid.pmid, no_pmid.title, no_pmid.authors) == (None, None, [])
    assert no_pmid.entry_key == "2"  # its position
    assert no_pmid.type == "article"  # an empty BTI does not make a book
    assert no_pmid.abstract == "Old Abstract new abstract"
    assert (no_pmid.year, no_pmid.venue) == (2013, "Test Journal")
    book = items[3]
    assert book.type == "book"
    assert book.title.startswith("This is a Testtitle This title should be appended:")
    report = items[4]  # 'PMID-22664220' with no space, an AID with no [doi]
    assert (report.pmid, report.type) == ("22664220", "report")
    assert report.doi == "10.1016/j.cpr.2005.02.002"
    assert [i.pmid for i in items[5:]] == ["22664238", "96578310", "45984220"]


def test_messy_file() -> None:
    items = read("messy.nbib")
    lancet, old, stray, book, glued, empty = items
    # Continuation lines; the [doi] LID/AID (DOIs are lower-cased); MeSH stars dropped.
    assert lancet.title == (
        "Global burden of stroke and its risk factors, 1990-2016: a systematic "
        "analysis for the Global Burden of Disease Study."
    )
    assert lancet.doi == "10.1016/s0140-6736(18)32203-7"
    assert lancet.authors == [
        Author("Jörgensen", "Märta"),  # written decomposed in the file, NFC here
        Author("GBD 2016 Stroke Collaborators"),  # CN, in its place
        Author("O'Donnell", "Martin J"),
    ]
    assert lancet.authors[0].family == "J\u00f6rgensen"
    assert lancet.keywords == [
        "Global Burden of Disease/statistics & numerical data",
        "Humans",
        "Stroke/epidemiology/mortality",
        "stroke burden",  # OT 'humans' is MH 'Humans' again
    ]
    assert lancet.abstract == (
        "BACKGROUND: Stroke is a leading cause of death. METHODS: We used estimates "
        "from 195 countries. FINDINGS: Stroke was the second leading cause of death."
    )
    assert (lancet.year, lancet.isbn) == (2019, None)  # ISSNs are not ISBNs
    # No TI: still a record; AU only ('Family Initials'), a suffix kept with the family.
    assert (old.title, old.pmid, old.year, old.line) == (None, "8000002", 1994, 38)
    assert old.authors == [Author("Cooper Jr", "GS"), Author("van der Berg", "A"), Author("Plato")]
    assert old.doi == "10.5555/old.1994.2"
    assert old.type == "article"  # PT Letter
    assert isinstance(stray, EntryError) and stray.line == 49
    assert (book.type, book.title, book.isbn) == (
        "book",
        "Invented Handbook of Testing",
        "978-0-306-40615-7",
    )
    assert book.publisher == "Invented Press, Seattle"
    # A PMID right after the previous record, with no blank line: a record of its own.
    assert (glued.pmid, glued.line, glued.type) == ("22000004", 62, "conference")
    assert glued.raw.startswith("PMID- 22000004\n")
    assert "22000004" not in book.raw
    assert isinstance(empty, EntryError) and empty.line == 69


def test_empty_and_blank_files() -> None:
    assert list(medline.read(io.StringIO(""), "empty.nbib")) == []
    assert list(medline.read(io.StringIO("\n\n  \n"), "blank.nbib")) == []
    assert list(medline.read(io.StringIO("\ufeff"), "bom.nbib")) == []


def test_byte_order_mark() -> None:
    [record] = medline.read(io.StringIO("\ufeffPMID- 1\nTI  - A title\n"), "bom.nbib")
    assert (record.pmid, record.title, record.line) == ("1", "A title", 1)


def test_reads_one_record_at_a_time() -> None:
    """Records come out before the stream ends: an endless stream gives its first three."""

    def endless():
        n = 0
        while True:
            n += 1
            yield f"PMID- {n}\n"
            yield f"TI  - Record {n}\n"
            yield "\n"

    first = list(islice(medline.read(endless(), "endless.nbib"), 3))
    assert [r.pmid for r in first] == ["1", "2", "3"]


def test_looks_like() -> None:
    for name in FILES:
        head = (HERE / name).read_text(encoding="utf-8")[:4096]
        assert medline.looks_like(head), name
        assert not wos.looks_like(head), name
        assert not csljson.looks_like(head), name
    for head in (BIBTEX_HEAD, RIS_HEAD, PUBMED_RIS_HEAD, "", "PMID list follows\n"):
        assert not medline.looks_like(head)
    for path in [*(DATA / "wos").glob("*"), *(DATA / "csljson").glob("*")]:
        assert not medline.looks_like(path.read_text(encoding="utf-8")[:4096]), path


def test_real_files() -> None:
    """Only the MEDLINE files among all the real files look like MEDLINE; those read
    without an error; any other file given to the reader gives errors, not exceptions."""
    medline_files = {
        "biopython_pubmed_result2.txt",
        "pybtexnbib_marcelis-20301770.nbib",
        "jabref_MedlinePlainImporterTestMultipleEntries.txt",
    }
    for path in sorted(REAL_FILES):
        text = path.read_text(encoding="utf-8", errors="replace")
        assert medline.looks_like(text[:4096]) == (path.name in medline_files), path
        try:
            items = list(medline.read(io.StringIO(text), path.name))
        except UnreadableFile:
            continue
        if path.name in medline_files:
            assert items and any(isinstance(i, RecordData) for i in items)
