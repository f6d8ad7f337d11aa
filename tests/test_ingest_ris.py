"""The RIS reader: golden files, real-world fixtures, and the messy cases one by one."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from litreview.ingest.record_data import Author, EntryError, Item, RecordData, UnreadableFile
from litreview.ingest.ris import read
from tests.golden import check_golden

DATA = Path(__file__).parent / "data" / "ris"
# Real files from other projects, copied into the checkout (origins in data/README.md).
FIXTURES = Path(__file__).parent / "data" / "fixtures"

# Record counts as the fixtures README gives them.
FIXTURE_COUNTS = {
    "asreview_baseline_empty_values.ris": 4,
    "asreview_baseline_tag-notes_labels.ris": 32,
    "asreview_faulty_year.ris": 1,
    "asreview_ovid_zotero.ris": 6,
    "asreview_pubmed_endnote.txt": 6,
    "asreview_ris_issue_1099.txt": 7,
    "asreview_ris_many_authors.ris": 1,
    "asreview_web_of_science.txt": 10,
    "jabref_RisImporterCorrupted.ris": 1,  # a record that lost its TY line
    "jabref_RisImporterTestDate1.1.ris": 1,
    "jabref_RisImporterTestScopus.ris": 1,
    "rispy_example_empty_tag.ris": 1,
    "rispy_example_full.ris": 2,
    "rispy_example_multiline.ris": 3,
    "rispy_example_urls.ris": 4,
    "srd_schoot-lgmm-ptsd-included-1.ris": 363,
    "srd_schoot-lgmm-ptsd-included-3.ris": 8,
}
# Problems reported by fixtures that do read.
FIXTURE_ERRORS = {"jabref_RisImporterCorrupted.ris": 1}
# In the fixtures folder but not RIS: other readers' formats.
NOT_RIS = {
    "rispy_example_wos.ris": "Web of Science tagged text",
    "biopython_pubmed_result2.txt": "MEDLINE",
    "jabref_MedlinePlainImporterTestMultipleEntries.txt": "MEDLINE",
    "pybtexnbib_marcelis-20301770.nbib": "MEDLINE",
    "jabref_Endnote.entries.enw": "EndNote tagged (%A %T)",
}


def read_text(text: str) -> list[Item]:
    return list(read(io.StringIO(text), "test.ris"))


def records(items: list[Item]) -> list[RecordData]:
    return [item for item in items if isinstance(item, RecordData)]


def errors(items: list[Item]) -> list[EntryError]:
    return [item for item in items if isinstance(item, EntryError)]


def only_record(text: str) -> RecordData:
    items = read_text(text)
    assert errors(items) == []
    [record] = records(items)
    return record


# --------------------------------------------------------------------------
# Golden files


@pytest.mark.parametrize("path", sorted(DATA.glob("*.ris")), ids=lambda path: path.name)
def test_golden(path: Path) -> None:
    with path.open(encoding="utf-8") as stream:
        items = list(read(stream, path.name))
    check_golden(items, path.with_suffix(".json"))


def test_golden_raw_is_the_record_as_in_the_file() -> None:
    path = DATA / "rispy_example_full.ris"
    lines = path.read_text(encoding="utf-8").splitlines()
    with path.open(encoding="utf-8") as stream:
        first, second = records(list(read(stream, path.name)))
    # Between the TY and the ER, both included; the "1." and "2." before them are not.
    assert first.raw == "\n".join(lines[1:24])
    assert second.raw == "\n".join(lines[26:49])
    assert first.raw.startswith("TY  - JOUR\nID  - 12345")
    assert second.raw.endswith("UR  - http://example_url.com\nER  - ")


def test_corrupted_file_without_ty_keeps_its_record() -> None:
    # JabRef's RisImporterCorrupted.ris: a BOM line, then a record's tags and ER, no TY.
    path = DATA / "jabref_RisImporterCorrupted.ris"
    with path.open(encoding="utf-8") as stream:
        record, error = read(stream, path.name)
    assert isinstance(record, RecordData)
    assert record.type == "other"
    assert record.title == "Editorial: Open Source and Empirical Software Engineering"
    assert record.authors == [Author("Harrison", "Warren")]
    assert (record.year, record.venue, record.pages) == (
        2001,
        "Empirical Software Engineering",
        "193-194",
    )
    assert record.doi == "10.1023/a:1017379030770"  # from the dx.doi.org URL
    assert record.line == 2
    assert record.raw.startswith("JF  - Empirical Software Engineering\n")
    assert record.raw.endswith("\nER  -")
    assert error == EntryError(
        2,
        "Editorial: Open Source and Empirical Software Engineering",
        "record has no TY line; it was imported with type 'other': check it",
    )


# --------------------------------------------------------------------------
# Every real-world fixture reads, with the record count its README gives


def test_every_fixture_is_listed() -> None:
    candidates = {
        path.name
        for path in FIXTURES.iterdir()
        if path.suffix in (".ris", ".nbib", ".enw") or path.name.endswith(".txt")
    }
    assert candidates == set(FIXTURE_COUNTS) | set(NOT_RIS)


@pytest.mark.parametrize("name", sorted(FIXTURE_COUNTS))
def test_every_fixture_reads(name: str) -> None:
    path = FIXTURES / name
    # Plain UTF-8, not utf-8-sig: a BOM left in by the caller must not matter.
    with path.open(encoding="utf-8") as stream:
        items = list(read(stream, name))
    assert len(errors(items)) == FIXTURE_ERRORS.get(name, 0)
    found = records(items)
    assert len(found) == FIXTURE_COUNTS[name]
    text = path.read_text(encoding="utf-8")
    for record in found:
        assert record.raw.startswith("TY  - ") or name in FIXTURE_ERRORS
        assert record.raw.rstrip().endswith("ER  -")
        assert record.raw in text
    assert [record.line for record in found] == sorted(record.line for record in found)


@pytest.mark.parametrize("name", sorted(NOT_RIS))
def test_other_formats_are_unreadable_not_garbage(name: str) -> None:
    with (FIXTURES / name).open(encoding="utf-8") as stream, pytest.raises(UnreadableFile):
        list(read(stream, name))


def test_endnote_library_fields() -> None:
    # A real EndNote library of Scopus, Embase, PsycINFO and PubMed records
    # (van de Schoot PTSD review).
    path = FIXTURES / "srd_schoot-lgmm-ptsd-included-1.ris"
    with path.open(encoding="utf-8") as stream:
        found = records(list(read(stream, path.name)))
    assert all(record.title for record in found)
    assert all(record.authors for record in found)
    assert sum(record.doi is not None for record in found) == 125
    # A PsycINFO dissertation: ISSN on the SN line, ISBN on its continuation.
    [thesis] = [record for record in found if record.entry_key == "100"]
    assert thesis.isbn == "9781267727848"
    assert thesis.pages is None  # "SP  - No-Specified"
    # PubMed records via EndNote (DP - NLM): AN is the PMID, T2 the abbreviated journal.
    [pubmed] = [record for record in found if record.pmid == "25630586"]
    assert pubmed.venue == "Journal of traumatic stress"  # J2, not T2 "J Trauma Stress"
    assert sum(record.pmid is not None for record in found) == 61


def test_embase_record_fields() -> None:
    path = FIXTURES / "srd_schoot-lgmm-ptsd-included-3.ris"
    with path.open(encoding="utf-8") as stream:
        first = records(list(read(stream, path.name)))[0]
    assert first.title == (
        "Psychopathology and Resilience Following Traumatic Injury: "
        "A Latent Growth Mixture Model Analysis"
    )
    assert first.authors == [
        Author("deRoon-Cassini", "T. A."),
        Author("Mancini", "A. D."),
        Author("Rusch", "M. D."),
        Author("Bonanno", "G. A."),
    ]
    assert (first.year, first.venue, first.volume, first.issue, first.pages) == (
        2010,
        "Rehabilitation Psychology",
        "55",
        "1",
        "1-11",
    )
    # Embase writes several URLs on continuation lines; the DOI is in a dx.doi.org one.
    assert first.doi == "10.1037/a0018601"
    assert first.url == (
        "http://www.embase.com/search/results?subaction=viewrecord&from=export&id=L358376263"
    )
    # EndNote keywords: one per continuation line.
    assert first.keywords[:3] == [
        "acute stress disorder",
        "Acute Stress Disorder Interview",
        "adult",
    ]
    assert first.keywords[-1] == "survivor"
    assert len(first.keywords) == 30
    assert first.entry_key == "1506"


def test_web_of_science_ris_export() -> None:
    path = FIXTURES / "asreview_web_of_science.txt"
    with path.open(encoding="utf-8") as stream:
        first = records(list(read(stream, path.name)))[0]
    assert first.title == (
        "Holding Yourself Captive: Perceptions of Custody During Interviews and Interrogations"
    )
    assert first.authors == [Author("Alceste", "F"), Author("Luke", "TJ"), Author("Kassin", "SM")]
    assert first.doi == "10.1016/j.jarmac.2018.03.001"
    assert first.pmid is None  # AN - WOS:000444108200009 is not a PMID
    assert first.publisher == "ELSEVIER SCIENCE INC"  # WoS writes PU, not PB
    assert first.note == (
        "Times Cited in Web of Science Core Collection: 5\n"
        "Total Times Cited: 7\n"
        "Cited Reference Count: 30"
    )


def test_pubmed_via_endnote() -> None:
    path = FIXTURES / "asreview_pubmed_endnote.txt"
    with path.open(encoding="utf-8") as stream:
        first = records(list(read(stream, path.name)))[0]
    assert first.line == 2  # after a leading blank line
    assert first.pmid == "21553931"
    assert first.doi == "10.2165/11586800-000000000-00000"
    assert first.keywords[:3] == [
        "Animals",
        "Anti-Inflammatory Agents/adverse effects/pharmacokinetics/*pharmacology",
        "Boswellia/*chemistry",
    ]
    assert first.language == "eng"
    assert first.entry_key == "369"


def test_many_authors() -> None:
    path = FIXTURES / "asreview_ris_many_authors.ris"
    with path.open(encoding="utf-8") as stream:
        [record] = records(list(read(stream, path.name)))
    expected = path.read_text(encoding="utf-8").count("\nAU  - ")
    assert expected > 1000
    assert len(record.authors) == expected


# --------------------------------------------------------------------------
# Messy files, written by hand

MESSY = """\
TY - JOUR
ti  - Lower-case tags and a one-space TY
au  - Müller, Jörg
AU  - World Health Organization
AU  - Dupont, Élise
A1  - O'Brien, Seán
AB  - First line of the abstract,
  continued on a second line
and a third without indent.
PY  - 2021/05/03
N2  -
KW  - alpha; beta
KW  - gamma
ER  -
"""


def test_messy_tags_are_read() -> None:
    record = only_record(MESSY)
    assert record.type == "article"
    assert record.title == "Lower-case tags and a one-space TY"
    assert record.authors == [
        Author("Müller", "Jörg"),
        Author("World Health Organization"),  # corporate: family only
        Author("Dupont", "Élise"),
        Author("O'Brien", "Seán"),  # A1 is an author tag too, in file order
    ]
    assert record.abstract == (
        "First line of the abstract, continued on a second line and a third without indent."
    )
    assert record.year == 2021
    assert record.keywords == ["alpha", "beta", "gamma"]
    assert record.entry_key == "1"
    assert record.line == 1
    assert record.raw == MESSY.rstrip("\n")


def test_missing_er_between_two_records() -> None:
    items = read_text(
        "TY  - JOUR\nTI  - First\nAU  - Smith, Anna\n\nTY  - BOOK\nTI  - Second\nER  -\n"
    )
    first, second = records(items)
    assert (first.title, first.type, first.authors) == (
        "First",
        "article",
        [Author("Smith", "Anna")],
    )
    assert (second.title, second.type, second.line) == ("Second", "book", 5)
    assert first.raw == "TY  - JOUR\nTI  - First\nAU  - Smith, Anna"
    [error] = errors(items)
    assert error.line == 1
    assert error.entry == "First"
    assert "no ER line" in error.message and "line 5" in error.message
    assert "imported" in error.message
    # The error comes right after the record it is about.
    assert items == [first, error, second]


def test_missing_er_at_end_of_file() -> None:
    items = read_text("TY  - JOUR\nTI  - Cut off\nAU  - Smith, Anna\n\n\n")
    [record] = records(items)
    assert record.title == "Cut off"
    assert record.raw == "TY  - JOUR\nTI  - Cut off\nAU  - Smith, Anna"
    [error] = errors(items)
    assert (error.line, error.entry) == (1, "Cut off")
    assert "end of the file" in error.message


def test_accents_are_nfc() -> None:
    decomposed = "Gödel—Escher: é".replace("ö", "o\u0308").replace("é", "e\u0301")
    assert decomposed != "Gödel—Escher: é"
    record = only_record(f"TY  - JOUR\nTI  - {decomposed}\nAU  - Gödel, Kurt\nER  -\n")
    assert record.title == "Gödel—Escher: é"
    assert record.authors == [Author("Gödel", "Kurt")]


def test_empty_tags_and_no_title() -> None:
    record = only_record("TY  - JOUR\nTI  -\nAU  -\nPY  -\nDO  -\nUR  -\nAB  - Something\nER  -\n")
    assert record.title is None
    assert record.authors == []
    assert (record.year, record.doi, record.url) == (None, None, None)
    assert record.abstract == "Something"


def test_garbage_year_is_none_not_an_error() -> None:
    record = only_record("TY  - JOUR\nTI  - T\nPY  - 10 15\nER  -\n")
    assert record.year is None
    # The next date tag is used when PY has no year.
    assert only_record("TY  - JOUR\nTI  - T\nPY  - n.d.\nY1  - 1999///\nER  -\n").year == 1999


def test_endnote_utf16_export_decoded_by_caller() -> None:
    # EndNote writes UTF-16 with CRLF; the caller decodes, a BOM character may remain.
    text = (
        "\ufeffTY  - CHAP\r\n"
        "AU  - Žižek, Slavoj\r\n"
        "ED  - Ödön, Horváth\r\n"
        "T1  - Über das Ende — ein Kapitel\r\n"
        "T2  - Sammelband\r\n"
        "PY  - 2009\r\n"
        "SN  - 978-3-16-148410-0\r\n"
        "SP  - 12-20\r\n"
        "EP  - 20\r\n"
        "PB  - Verlag\r\n"
        "LA  - German\r\n"
        "ER  - \r\n"
    )
    for stream in (io.StringIO(text, newline=""), io.StringIO(text)):
        [record] = records(list(read(stream, "endnote.txt")))
        assert record.type == "chapter"
        assert record.title == "Über das Ende — ein Kapitel"
        assert record.authors == [Author("Žižek", "Slavoj")]  # editors only for a book
        assert record.venue == "Sammelband"
        assert record.isbn == "9783161484100"
        assert record.pages == "12-20"  # SP already has both ends
        assert (record.year, record.publisher, record.language) == (2009, "Verlag", "German")
        assert not record.raw.startswith("\ufeff")
        assert "\r" not in record.raw


def test_stray_bom_and_lines_before_the_first_record() -> None:
    items = read_text("\ufeff\n1.\nProvider: Somewhere\nTY  - JOUR\nTI  - One\nER  -\n")
    [record] = records(items)
    assert (record.title, record.line) == ("One", 4)
    assert errors(items) == []


def test_tags_without_ty_between_records() -> None:
    items = read_text(
        "TY  - JOUR\nTI  - Good one\nER  -\n\n"
        "T1  - Lost its TY\nAU  - Smith, A.\nER  -\n\n"
        "N1  - A stray note\nER  -\n\n"
        "KW  - stray\n"
        "TY  - JOUR\nTI  - Good two\nER  -\n"
    )
    good_one, lost, lost_error, stray_note, stray_keyword, good_two = items
    assert (good_one.title, good_two.title) == ("Good one", "Good two")
    # Tags ended by ER, with a title: a record that lost its TY line, kept and reported.
    assert (lost.title, lost.type, lost.authors) == (
        "Lost its TY",
        "other",
        [Author("Smith", "A.")],
    )
    assert (lost.line, lost.entry_key) == (5, "2")
    assert lost_error == EntryError(5, "Lost its TY", lost_error.message)
    assert "no TY line" in lost_error.message
    # Tags with nothing to make a record of, or not ended by ER: reported, skipped.
    assert stray_note == EntryError(
        9,
        "N1 - A stray note",
        "tags without a 'TY  - ' line before them: not a RIS record, skipped",
    )
    assert isinstance(stray_keyword, EntryError)
    assert stray_keyword.line == 12
    assert good_two.entry_key == "3"


def test_tags_without_ty_before_the_first_record_are_reported() -> None:
    items = read_text("N1  - stray\nER  -\nTY  - JOUR\nTI  - Good\nER  -\n")
    assert [type(item) for item in items] == [EntryError, RecordData]
    assert items[0].line == 1


def test_block_without_ty_too_long_to_be_a_record(monkeypatch: pytest.MonkeyPatch) -> None:
    # Memory stays bounded when a file without TY (another format) goes on and on.
    monkeypatch.setattr("litreview.ingest.ris._MAX_ORPHAN_LINES", 5)
    lines = "".join(f"AU  - Author{n}, A.\n" for n in range(20))
    items = read_text(f"TI  - Long\n{lines}ER  -\nTY  - JOUR\nTI  - Fine\nER  -\n")
    assert [type(item) for item in items] == [EntryError, RecordData]
    assert items[0].entry == "Long"


def test_record_with_only_ty_is_an_error() -> None:
    items = read_text("TY  - JOUR\nID  - 7\nER  -\nTY  - JOUR\nTI  - Real\nER  -\n")
    [record] = records(items)
    assert (record.title, record.entry_key) == ("Real", "2")
    [error] = errors(items)
    assert (error.line, error.entry) == (1, "7")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n",
        "\ufeff",
        "Just some notes\nabout nothing\n",
        "%A Smith\n%T Title\n",
        "PMID- 1\nTI  - A MEDLINE record\nAU  - Smith J\n",  # no TY, no ER
        "N1  - Only a note\nER  -\n",  # ended by ER, but nothing to make a record of
    ],
)
def test_file_without_ty_is_unreadable(text: str) -> None:
    with pytest.raises(UnreadableFile, match="no RIS records found in test.ris"):
        read_text(text)


def test_undecodable_bytes_are_unreadable_file() -> None:
    stream = io.TextIOWrapper(io.BytesIO(b"TY  - JOUR\nTI  - \xff\xfe\nER  -\n"), encoding="utf-8")
    with pytest.raises(UnreadableFile, match="cannot decode"):
        list(read(stream, "bad.ris"))


def test_wrapped_text_is_not_taken_for_tags() -> None:
    record = only_record(
        "TY  - JOUR\n"
        "AB  - We studied\n"
        "co-occurring disorders; the effect\n"
        "is - as argued - small, an\n"
        "ad-hoc and ID-based analysis.\n"
        "ER  -\n"
    )
    assert record.abstract == (
        "We studied co-occurring disorders; the effect is - as argued - small, an "
        "ad-hoc and ID-based analysis."
    )


def test_a_failing_record_does_not_stop_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(value: str) -> int:
        raise ValueError(value)

    monkeypatch.setattr("litreview.ingest.ris_record._year", broken)
    items = read_text("TY  - JOUR\nTI  - A\nPY  - 2001\nER  -\nTY  - JOUR\nTI  - B\nER  -\n")
    error, record = items
    assert isinstance(error, EntryError)
    assert (error.line, error.entry) == (1, "1")
    assert "cannot read record" in error.message
    assert isinstance(record, RecordData) and record.title == "B"


def test_bare_er_line_ends_the_record() -> None:
    items = read_text("TY  - JOUR\nTI  - One\nER\nTY  - JOUR\nTI  - Two\nER  -\n")
    assert [record.title for record in records(items)] == ["One", "Two"]
    assert errors(items) == []


# --------------------------------------------------------------------------
# Field mapping


@pytest.mark.parametrize(
    ("ty", "expected"),
    [
        ("JOUR", "article"),
        ("JFULL", "article"),
        ("MGZN", "article"),
        ("NEWS", "article"),
        ("EJOUR", "article"),
        ("BOOK", "book"),
        ("EBOOK", "book"),
        ("CHAP", "chapter"),
        ("ECHAP", "chapter"),
        ("CONF", "conference"),
        ("CPAPER", "conference"),
        ("THES", "thesis"),
        ("RPRT", "report"),
        ("ELEC", "webpage"),
        ("WEB", "webpage"),
        ("DATA", "dataset"),
        ("GEN", "other"),
        ("PAT", "other"),
        ("", "other"),
        ("jour", "article"),
    ],
)
def test_types(ty: str, expected: str) -> None:
    assert only_record(f"TY  - {ty}\nTI  - T\nER  -\n").type == expected


def test_title_tags_in_order_and_book_title() -> None:
    assert only_record("TY  - JOUR\nT1  - From T1\nTI  - From TI\nER  -\n").title == "From TI"
    assert only_record("TY  - JOUR\nCT  - From CT\nER  -\n").title == "From CT"
    book = only_record("TY  - BOOK\nBT  - The Book\nA2  - Editor, Ed\nER  -\n")
    assert (book.title, book.authors) == ("The Book", [Author("Editor", "Ed")])
    chapter = only_record("TY  - CHAP\nTI  - A Chapter\nBT  - The Book\nA2  - Ed, E.\nER  -\n")
    assert (chapter.title, chapter.venue, chapter.authors) == ("A Chapter", "The Book", [])


def test_author_name_forms() -> None:
    record = only_record(
        "TY  - JOUR\nTI  - T\n"
        "AU  - Shannon,Claude E.\n"
        "AU  - Fanning E.\n"
        "AU  - van Acker B.\n"
        "AU  - King, Jr., Martin Luther\n"
        "AU  - WHO\n"
        "AU  - Cancer Research UK\n"
        "AU  - Doe, J.; Roe, R.\n"
        "AU  - ,\n"
        "ER  -\n"
    )
    assert record.authors == [
        Author("Shannon", "Claude E."),
        Author("Fanning", "E."),  # Embase "Family I."
        Author("van Acker", "B."),
        Author("King Jr.", "Martin Luther"),
        Author("WHO"),
        Author("Cancer Research UK"),
        Author("Doe", "J."),
        Author("Roe", "R."),
    ]


def test_venue_prefers_the_full_name() -> None:
    def venue(tags: str) -> str | None:
        return only_record(f"TY  - JOUR\nTI  - T\n{tags}ER  -\n").venue

    assert venue("JA  - J. Chem. Phys.\nJF  - The Journal of Chemical Physics\n") == (
        "The Journal of Chemical Physics"
    )
    assert venue("JO  - J. Chem. Phys.\nT2  - Journal of Chemical Physics\n") == (
        "Journal of Chemical Physics"
    )
    # EndNote's PubMed import: abbreviation in T2, full name in J2.
    assert venue("T2  - J Trauma Stress\nJ2  - Journal of traumatic stress\n") == (
        "Journal of traumatic stress"
    )
    # J2 that is not the expansion of T2 does not replace it.
    assert venue("T2  - JAMA\nJ2  - Journal of the American Medical Association\n") == "JAMA"
    assert venue("J2  - J Only Abbrev\n") == "J Only Abbrev"
    assert venue("SO  - SOURCE TITLE\n") == "SOURCE TITLE"
    assert venue("") is None


def test_pages() -> None:
    def pages(tags: str) -> str | None:
        return only_record(f"TY  - JOUR\nTI  - T\n{tags}ER  -\n").pages

    assert pages("SP  - 379\nEP  - 423\n") == "379-423"
    assert pages("SP  - 349-69\n") == "349-69"
    assert pages("SP  - 12-20\nEP  - 20\n") == "12-20"
    assert pages("SP  - e0815\n") == "e0815"
    assert pages("SP  - No\nEP  - Specified\n") is None
    assert pages("SP  -\nEP  -\n") is None


def test_volume_issue_language_publisher_note() -> None:
    record = only_record(
        "TY  - JOUR\nTI  - T\nVL  - 12\nCP  - 3\nLA  - English\nPB  - Wiley\n"
        "N1  - First note\nN1  - Second note\n  on two lines\nER  -\n"
    )
    assert (record.volume, record.issue) == ("12", "3")
    assert (record.language, record.publisher) == ("English", "Wiley")
    assert record.note == "First note\nSecond note\non two lines"


def test_doi() -> None:
    def doi(tags: str) -> str | None:
        return only_record(f"TY  - JOUR\nTI  - T\n{tags}ER  -\n").doi

    assert doi("DO  - 10.1016/J.JMPS.2004.03.010\n") == "10.1016/j.jmps.2004.03.010"
    assert doi("DO  - http://dx.doi.org/10.1177/2325967120950040\n") == "10.1177/2325967120950040"
    assert doi("UR  - https://doi.org/10.1063/1.1954747\n") == "10.1063/1.1954747"
    # Only a doi.org URL, not a DOI inside another URL or in a note.
    assert doi("UR  - https://www.scopus.com/record.uri?doi=10.15598%2faeee\n") is None
    assert doi("N1  - doi: 10.1063/1.1954747\nM3  - doi: 10.1063/1.1954747\n") is None
    assert doi("DO  - not a doi\n") is None


def test_urls() -> None:
    def url(tags: str) -> str | None:
        return only_record(f"TY  - JOUR\nTI  - T\n{tags}ER  -\n").url

    assert url("UR  - http://example.com; http://www.example.com\n") == "http://example.com"
    assert url("UR  - http://example.com;http://www.example.com\n") == "http://example.com"
    assert url("UR  - internal-pdf://1/a.pdf http://b.org\n") == "http://b.org"
    assert url("L2  - http://l2.org\nUR  - https://ur.org\n") == "https://ur.org"
    assert url("L1  - internal-pdf://4265905641/x.pdf\nLK  - https://lk.org\n") == "https://lk.org"
    assert url("L1  - internal-pdf://4265905641/x.pdf\n") is None


def test_pmid_is_conservative() -> None:
    def pmid(tags: str) -> str | None:
        return only_record(f"TY  - JOUR\nTI  - T\n{tags}ER  -\n").pmid

    assert pmid("AN  - 21553931\nDP  - NLM\n") == "21553931"
    assert pmid("AN  - 21553931\nDB  - PubMed\n") == "21553931"
    assert pmid("AN  - 21553931\nDB  - Ovid MEDLINE(R)\n") == "21553931"
    assert pmid("AN  - 26176500\nC2  - PMC4567890\n") == "26176500"
    assert pmid("AN  - PMID: 21553931\n") == "21553931"
    assert pmid("AN  - 21553931\n") is None  # digits alone could be any database's
    assert pmid("AN  - 2011123456\nDB  - Embase\n") is None
    assert pmid("AN  - 613482250\nDB  - Scopus\n") is None
    assert pmid("AN  - WOS:000444108200009\n") is None


def test_isbn_from_sn() -> None:
    def isbn(ty: str, sn: str) -> str | None:
        return only_record(f"TY  - {ty}\nTI  - T\nSN  - {sn}\nER  -\n").isbn

    assert isbn("BOOK", "978-3-030-58167-1") == "9783030581671"
    assert isbn("BOOK", "0-19-852663-X (pbk.)") == "019852663X"
    assert isbn("CHAP", "ISBN 978-0-12-345678-9") == "9780123456789"
    assert isbn("JOUR", "0312-5963") is None  # an ISSN
    assert isbn("BOOK", "18650929") is None  # a book series' ISSN, not an ISBN
    assert isbn("JOUR", "2325-9671 (electronic)") is None


def test_entry_key_is_id_else_position() -> None:
    items = read_text(
        "TY  - JOUR\nTI  - A\nER  -\n"
        "TY  - JOUR\nID  - my-key\nTI  - B\nER  -\n"
        "TY  - JOUR\nTI  - C\nER  -\n"
    )
    assert [record.entry_key for record in records(items)] == ["1", "my-key", "3"]
    assert [record.line for record in records(items)] == [1, 4, 8]


# --------------------------------------------------------------------------
# Streaming


class EndlessStream(io.StringIO):
    """A stream that never ends, so a reader that reads it all would hang."""

    def __iter__(self) -> Iterator[str]:
        for number in itertools.count(1):
            yield from ("TY  - JOUR\n", f"TI  - Record {number}\n", "ER  -\n")


def test_reader_streams() -> None:
    items = read(EndlessStream(), "endless.ris")
    first_three = list(itertools.islice(items, 3))
    assert [record.title for record in first_three] == ["Record 1", "Record 2", "Record 3"]
