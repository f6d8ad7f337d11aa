"""ERIC's exports (MEDLINE-style tagged text and RIS) import with their ERIC numbers as entry keys;
a RIS DA date counts before the deprecated Y1 (issue 15)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from litreview.ingest import ris
from litreview.ingest.decoding import read_file
from litreview.ingest.record_data import Author, RecordData

DATA = Path(__file__).parent / "data"
ERIC_NBIB = DATA / "medline" / "eric.nbib"
ERIC_RIS = DATA / "ris" / "eric.ris"


def test_an_eric_medline_export_is_found_and_read_whatever_its_name(tmp_path):
    copy = tmp_path / "eric-export.txt"  # ERIC's file name says nothing of its format
    shutil.copy(ERIC_NBIB, copy)
    fmt, items = read_file(copy)
    assert fmt == "medline"
    assert [(r.entry_key, r.type, r.year) for r in items] == [
        ("EJ1234567", "article", 2021),
        ("ED612345", "report", 2020),
        ("ED600001", "book", 2019),  # no blank line before it: OWN starts it
    ]
    article = items[0]
    assert article.pmid is None
    assert article.venue == "Journal of Social Work Education"  # from SO
    assert article.authors == [Author("Okafor", "Adaeze"), Author("Lindqvist", "Erik M.")]
    assert article.doi == "10.5555/jswe.2021.0042"
    assert items[1].isbn == "978-1-23456-789-7"  # "ISBN-" prefix dropped


def test_an_eric_record_that_does_not_start_with_its_number_is_found(tmp_path):
    path = tmp_path / "eric.txt"
    path.write_text("TI  - Data Ethics\nAU  - Haddad, Rami\nOID - EJ1300001\nDP  - 2022\n")
    fmt, [record] = read_file(path)
    assert (fmt, record.entry_key, record.year) == ("medline", "EJ1300001", 2022)


def test_an_eric_ris_export_keeps_its_eric_numbers():
    fmt, items = read_file(ERIC_RIS)
    assert fmt == "ris"
    # From AN (EBSCOhost), from an eric.ed.gov link, from a link with other parameters.
    assert [r.entry_key for r in items] == ["EJ1234567", "ED612345", "EJ1300001"]
    assert all(isinstance(r, RecordData) and r.pmid is None for r in items)


def test_ris_id_still_wins_and_other_links_are_not_eric_numbers():
    text = (
        "TY  - JOUR\nID  - mine\nAN  - EJ1234567\nTI  - A\nER  - \n"
        "TY  - JOUR\nTI  - B\nUR  - https://example.org/?id=EJ1234567\nER  - \n"
        "TY  - JOUR\nTI  - C\nAN  - WOS:000123\nER  - \n"
    )
    items = list(ris.read(io.StringIO(text), "x.ris"))
    assert [r.entry_key for r in items] == ["mine", "2", "3"]


def test_ris_da_counts_before_the_deprecated_y1():
    text = "TY  - JOUR\nTI  - T\nY1  - 1999///\nDA  - 2001/05/03\nER  - \n"
    [record] = ris.read(io.StringIO(text), "x.ris")
    assert record.year == 2001
    text = "TY  - JOUR\nTI  - T\nPY  - 2003\nDA  - 2001/05/03\nY1  - 1999\nER  - \n"
    [record] = ris.read(io.StringIO(text), "x.ris")
    assert record.year == 2003  # PY, the year, first


def test_eric_files_import_and_the_same_paper_from_both_is_one_record(review_cli):
    review_cli("import", "ai-sw", str(ERIC_NBIB), str(ERIC_RIS))
    records = review_cli.json("records", "ai-sw")
    entries = sorted(
        (source["file"], source["entry"]) for record in records for source in record["sources"]
    )
    assert entries == [
        ("eric.nbib", "ED600001"),
        ("eric.nbib", "ED612345"),
        ("eric.nbib", "EJ1234567"),
        ("eric.ris", "ED612345"),
        ("eric.ris", "EJ1234567"),
        ("eric.ris", "EJ1300001"),
    ]
    by_entry = {s["entry"]: r for r in records for s in r["sources"]}
    assert len(by_entry["EJ1234567"]["sources"]) == 2  # the nbib and the RIS record merged
    assert len(records) == 4
