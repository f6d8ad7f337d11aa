"""The BibTeX reader: golden files, real-world fixtures, and the messy cases one by one."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from litreview.ingest.bibtex import read
from litreview.ingest.latex_text import from_latex, pylatexenc_text
from litreview.ingest.normalize import clean, nfc
from litreview.ingest.record_data import Author, EntryError, Item, RecordData, UnreadableFile
from tests.golden import check_golden

DATA = Path(__file__).parent / "data" / "bibtex"
MESSY = DATA / "messy.bib"
# Real files from other projects, copied into the checkout (origins in data/README.md).
FIXTURES = Path(__file__).parent / "data" / "fixtures"
# The caller decodes; these two are not UTF-8, so the test decodes them itself.
FIXTURE_ENCODINGS = {
    "jabref_encoding-utf-16BE-with-header.bib": "utf-16",
    "jabref_encoding-windows-1252-with-header.bib": "cp1252",
}


def read_text(text: str) -> list[Item]:
    return list(read(io.StringIO(text), "test.bib"))


def records(items: list[Item]) -> dict[str, RecordData]:
    return {item.entry_key: item for item in items if isinstance(item, RecordData)}


def errors(items: list[Item]) -> list[EntryError]:
    return [item for item in items if isinstance(item, EntryError)]


@pytest.fixture(scope="module")
def messy() -> list[Item]:
    with MESSY.open(encoding="utf-8") as stream:
        return list(read(stream, MESSY.name))


# --------------------------------------------------------------------------
# Golden files


@pytest.mark.parametrize("path", sorted(DATA.glob("*.bib")), ids=lambda path: path.name)
def test_golden(path: Path) -> None:
    with path.open(encoding="utf-8") as stream:
        items = list(read(stream, path.name))
    check_golden(items, path.with_suffix(".json"))


# --------------------------------------------------------------------------
# Every real-world fixture reads, and no entry is silently lost

_ENTRY_HEAD = re.compile(r"^[ \t]*@[ \t]*(\w+)[ \t]*[{(]", re.MULTILINE)


@pytest.mark.parametrize(
    "path",
    sorted(FIXTURES.glob("*.bib")),
    ids=lambda path: path.name,
)
def test_every_fixture_reads(path: Path) -> None:
    encoding = FIXTURE_ENCODINGS.get(path.name, "utf-8-sig")
    with path.open(encoding=encoding) as stream:
        items = list(read(stream, path.name))
    text = path.read_text(encoding=encoding)
    heads = [
        name
        for name in _ENTRY_HEAD.findall(text)
        if name.lower() not in ("string", "comment", "preamble")
    ]
    assert len(items) == len(heads)  # one item per entry: nothing dropped
    for item in items:
        assert isinstance(item, RecordData | EntryError)
        assert item.line and item.line >= 1
        if isinstance(item, RecordData):
            assert item.entry_key
            assert item.raw.startswith("@")
            assert item.raw in text  # verbatim


def test_fixture_with_one_broken_entry_among_988() -> None:
    path = FIXTURES / "bbt_Some_bibtex_entries_quietly_discarded_on_import_from_bib_file_873.bib"
    with path.open(encoding="utf-8") as stream:
        items = list(read(stream, path.name))
    assert sum(isinstance(item, RecordData) for item in items) == 987  # some keys repeat
    # AUTHOR = {Sylvie Thi\{'ebaux ...}: the escaped brace leaves the entry open.
    [error] = errors(items)
    assert (error.line, error.entry) == (6523, "Thiebaux:93")
    assert "unbalanced braces" in error.message
    assert records(items)["Wellman:WALRAS"].line == 6534  # the next entry is kept


def test_fixtures_in_other_encodings() -> None:
    utf16 = FIXTURES / "jabref_encoding-utf-16BE-with-header.bib"
    [record] = read_text(utf16.read_bytes().decode("utf-16"))  # old-Mac CR line ends
    assert (record.type, record.entry_key, record.line) == ("article", "1", 3)
    assert record.title == "Ü ist ein Umlaut"
    cp1252 = FIXTURES / "jabref_encoding-windows-1252-with-header.bib"
    [record] = read_text(cp1252.read_bytes().decode("cp1252"))
    assert (record.entry_key, record.abstract) == ("1", "25° C")


# --------------------------------------------------------------------------
# The messy file, value by value


def test_accents_names_and_title(messy: list[Item]) -> None:
    record = records(messy)["mueller2020"]
    assert record.authors == [
        Author("Müller", "Jörg"),
        Author("van der Berg", "Jan"),  # "Jan van der Berg": von part with the family
        Author("Straßer", "Anna"),  # after an upper-case AND
        Author("World Health Organization", None),  # corporate, in braces
    ]  # "and others" dropped
    assert record.title == "DNA Repair in École and été: a Review"
    assert record.type == "article"
    assert record.year == 2020
    assert (record.volume, record.issue, record.pages) == ("12", "3", "101-110")
    assert record.doi == "10.1234/abc.def"
    assert record.keywords == ["DNA repair", "cells", "ageing"]
    assert record.abstract == "We found 50% more cells & fewer α particles in 50% of cases."
    assert record.language == "english"


def test_editors_of_a_book_jr_and_von(messy: list[Item]) -> None:
    record = records(messy)["knuth1973"]
    assert record.type == "book"
    assert record.authors == [Author("van der Berg", "Jan"), Author("Knuth Jr.", "Donald E.")]
    assert record.title == "Fundamental Algorithms"
    assert record.venue == "The Art of Computer Programming"  # series
    assert record.publisher == "Addison-Wesley"  # "Addison" # "-" # "Wesley"
    assert record.isbn == "0-201-03809-9"


def test_macros_case_insensitive_and_nested(messy: list[Item]) -> None:
    assert records(messy)["mueller2020"].venue == "Journal of Gnats and Gnus"  # JGG used as jgg
    # acmconf = "Proceedings of the " # Acm # " Conference"
    assert records(messy)["fontaine2021"].venue == "Proceedings of the ACM Conference"


def test_broken_entry_reported_and_neighbours_kept(messy: list[Item]) -> None:
    broken = [error for error in errors(messy) if error.entry == "broken2019"]
    assert len(broken) == 1
    assert broken[0].line == 37
    assert "unbalanced braces" in broken[0].message and "line 44" in broken[0].message
    keys = [item.entry_key for item in messy if isinstance(item, RecordData)]
    assert keys.index("knuth1973") < keys.index("fontaine2021")  # before and after it
    assert records(messy)["fontaine2021"].line == 44


def test_field_syntax_error_names_entry_and_line(messy: list[Item]) -> None:
    [error] = [error for error in errors(messy) if error.entry == "badfield2018"]
    assert error.line == 59
    assert "line 62" in error.message and "--15" in error.message


def test_undefined_macro_kept_as_its_name(messy: list[Item]) -> None:
    record = records(messy)["fontaine2021"]
    assert record.publisher == "springerverlag"
    assert record.authors == [Author("de la Fontaine", "Jean"), Author("van Beethoven", "Ludwig")]


def test_entry_without_key_gets_its_position(messy: list[Item]) -> None:
    record = records(messy)["5"]
    assert record.title == "An Entry Without a Key"
    assert record.year is None  # a missing field is just missing
    assert record.line == 53


def test_crossref_to_a_later_entry(messy: list[Item]) -> None:
    record = records(messy)["chapter2000"]
    assert record.type == "chapter"
    assert record.title == "Indexing (and more)"  # a parenthesised entry, ")" in a value
    assert record.venue == "Readings in Database Systems"  # the collection's title
    assert (record.year, record.publisher) == (2000, "Morgan Kaufmann")
    assert record.authors == [Author("O'Neil", "Patrick")]  # not the collection's editor
    keys = [item.entry_key for item in messy if isinstance(item, RecordData)]
    assert keys.index("chapter2000") + 1 == keys.index("collection2000")  # file order kept


def test_web_page_pubmed_and_other_types(messy: list[Item]) -> None:
    homepage = records(messy)["homepage"]
    assert homepage.type == "webpage"
    assert homepage.url == "https://www.gnu.org/~gnu/index_en.html"
    assert homepage.authors == [Author("The Gnu Project", None)]
    online = records(messy)["pubmed2015"]
    assert (online.type, online.pmid, online.year) == ("webpage", "25123456", 2015)
    assert online.doi == "10.5555/xyz_123"  # from a doi.org URL, TeX escape removed
    assert records(messy)["patent1999"].type == "other"


def test_raw_is_the_entry_as_in_the_file(messy: list[Item]) -> None:
    text = MESSY.read_text(encoding="utf-8")
    raw = records(messy)["knuth1973"].raw
    assert raw.startswith("@book{knuth1973,") and raw.endswith("}")
    assert text.splitlines()[27] == "@book{knuth1973,"  # line 28
    assert raw in text
    assert records(messy)["chapter2000"].raw.endswith('"33--44",\n)')


def test_comments_and_junk_are_not_entries(messy: list[Item]) -> None:
    assert len(messy) == 11  # 11 entries; @string, @comment and junk are not items
    assert len(errors(messy)) == 2


# --------------------------------------------------------------------------
# Smaller cases


def test_month_macros_all_defined() -> None:
    months = "jan feb mar apr may jun jul aug sep oct nov dec".split()
    text = "".join(
        f"@article{{m{i}, title={{T}}, month = {month} # {{~1}}, year=2000}}\n"
        for i, month in enumerate(months)
    )
    items = read_text(text)
    assert not errors(items)
    assert len(items) == 12


def test_a_macro_applies_only_after_its_definition() -> None:
    items = read_text(
        "@article{a, journal = jj}\n@string{jj = {Journal}}\n@article{b, journal = JJ}\n"
    )
    assert records(items)["a"].venue == "jj"
    assert records(items)["b"].venue == "Journal"


def test_string_redefined_and_string_errors() -> None:
    items = read_text(
        "@string{j = {One}}\n@string{j = {Two}}\n@article{a, journal = j}\n"
        "@string{broken = }\n@article{b, journal = j}\n"
    )
    assert records(items)["a"].venue == "Two"
    assert records(items)["b"].venue == "Two"
    [error] = errors(items)
    assert (error.line, error.entry) == (4, "@string{broken}")


@pytest.mark.parametrize(
    ("entry_type", "expected"),
    [
        ("article", "article"),
        ("Book", "book"),
        ("booklet", "book"),
        ("manual", "book"),
        ("inbook", "chapter"),
        ("incollection", "chapter"),
        ("inproceedings", "conference"),
        ("conference", "conference"),
        ("proceedings", "conference"),
        ("phdthesis", "thesis"),
        ("mastersthesis", "thesis"),
        ("thesis", "thesis"),
        ("techreport", "report"),
        ("report", "report"),
        ("online", "webpage"),
        ("electronic", "webpage"),
        ("www", "webpage"),
        ("dataset", "dataset"),
        ("unpublished", "other"),
        ("misc", "other"),
        ("software", "other"),
    ],
)
def test_entry_types(entry_type: str, expected: str) -> None:
    [record] = read_text(f"@{entry_type}{{k, title = {{T}}}}")
    assert record.type == expected


def test_misc_with_url_is_a_web_page_unless_published() -> None:
    items = read_text(
        "@misc{web, url = {https://example.org}}\n"
        "@misc{preprint, url = {https://arxiv.org/abs/1}, eprint = {1}}\n"
    )
    assert records(items)["web"].type == "webpage"
    assert records(items)["preprint"].type == "other"


@pytest.mark.parametrize(
    ("author", "expected"),
    [
        ("Jan van der Berg", [Author("van der Berg", "Jan")]),
        ("van der Berg, Jan", [Author("van der Berg", "Jan")]),
        ("Berg, Jr., Jan", [Author("Berg Jr.", "Jan")]),
        ("Sherry, John F., Jr.", [Author("Sherry Jr.", "John F.")]),
        ("{Barnes and Noble, Inc.}", [Author("Barnes and Noble, Inc.", None)]),
        ("Aristotle", [Author("Aristotle", None)]),
        ("A. Smith AND B. Jones and others", [Author("Smith", "A."), Author("Jones", "B.")]),
        ("Smith,\n  John and\tDoe, Jane", [Author("Smith", "John"), Author("Doe", "Jane")]),
        (r"{\v R}eh{\r u}{\v r}ek, Radim", [Author("Řehůřek", "Radim")]),
        (
            r"Charles Louis Xavier Joseph de la Vall{\'e}e Poussin",
            [Author("de la Vallée Poussin", "Charles Louis Xavier Joseph")],
        ),
        ("Michael deBraga", [Author("deBraga", "Michael")]),
    ],
)
def test_names(author: str, expected: list[Author]) -> None:
    [record] = read_text(f"@article{{k, author = {{{author}}}}}")
    assert record.authors == expected


def test_editors_are_not_authors_of_a_chapter() -> None:
    [record] = read_text("@incollection{k, editor = {Gray, Jim}, title = {T}}")
    assert record.authors == []


def test_year_from_date_and_pages_and_keywords() -> None:
    [record] = read_text(
        "@article{k, date = {2019-03-01}, pages = {e101 -- e109}, keyword = {a;b , A; c}}"
    )
    assert record.year == 2019
    assert record.pages == "e101-e109"
    assert record.keywords == ["a", "b", "c"]


def test_crossref_cycle_missing_target_and_chain() -> None:
    items = read_text(
        "@inbook{a, title = {A}, crossref = {b}}\n"
        "@book{b, title = {B}, crossref = {a}, year = 1999}\n"
        "@inbook{c, title = {C}, crossref = {nowhere}}\n"
        "@inproceedings{d, title = {D}, crossref = {e}}\n"
        "@proceedings{e, title = {E}, crossref = {f}}\n"
        "@proceedings{f, title = {F}, publisher = {P}, year = 2001}\n"
    )
    got = records(items)
    assert [item.entry_key for item in items] == ["a", "b", "c", "d", "e", "f"]
    assert (got["a"].year, got["a"].venue) == (1999, "B")
    assert got["c"].venue is None
    assert (got["d"].venue, got["d"].publisher, got["d"].year) == ("E", "P", 2001)


def test_crossref_to_an_earlier_volume() -> None:
    items = read_text(
        "@proceedings{Conf, title = {Conf 2001}, year = 2001}\n"
        "@inproceedings{paper, title = {P}, crossref = {conf}}\n"
    )
    assert records(items)["paper"].venue == "Conf 2001"
    assert records(items)["paper"].year == 2001


def test_two_entries_on_one_line_and_junk_after() -> None:
    items = read_text("@article{a, title={A}} @article{b, title={B}} trailing junk\n")
    assert list(records(items)) == ["a", "b"]
    assert records(items)["b"].raw == "@article{b, title={B}}"


def test_entry_still_open_at_end_of_file() -> None:
    items = read_text("@article{ok, title={A}}\n\n@article{open, title = {B\n")
    assert list(records(items)) == ["ok"]
    [error] = errors(items)
    assert (error.line, error.entry) == (3, "open")
    assert "end of the file" in error.message


def test_entry_with_no_fields_and_missing_equals() -> None:
    items = read_text("@misc{lonely}\n@misc{bad, just some words}\n")
    assert records(items)["lonely"].title is None
    [error] = errors(items)
    assert error.entry == "bad"


def test_old_mac_line_ends() -> None:
    items = read_text("% comment\r\r@article{a,\r title = {A}}\r@article{b, title={B}}\r")
    assert [(item.entry_key, item.line) for item in items] == [("a", 3), ("b", 5)]


def test_reads_lazily() -> None:
    """A file is read entry by entry: the first record comes before the end is read."""
    consumed = []

    def lines() -> Iterator[str]:
        for i in range(1_000_000):
            consumed.append(i)
            yield f"@article{{k{i}, title = {{Title {i}}}}}\n"

    items = read(lines(), "endless.bib")  # type: ignore[arg-type]
    first = next(items)
    assert isinstance(first, RecordData) and first.title == "Title 0"
    assert len(consumed) < 10


def test_not_bibtex_is_unreadable() -> None:
    with pytest.raises(UnreadableFile):
        read_text("TY  - JOUR\nTI  - A RIS record\nER  -\n")
    assert read_text("") == []
    assert read_text("% only a comment\n\n@comment{nothing here}\n") == []


@pytest.mark.parametrize("cut", range(0, 3400, 37))
def test_never_a_traceback_on_a_truncated_file(cut: int) -> None:
    text = MESSY.read_text(encoding="utf-8")[:cut]
    for item in read_text(text):
        assert isinstance(item, RecordData | EntryError)


@pytest.mark.parametrize(
    "text",
    [
        "@",
        "@article",
        "@article{",
        "@article{}",
        "@article{,}",
        "@article{k,,,}",
        "@article{k, title = {a}}}}}",
        '@article{k, title = "a" # }',
        '@article(k, title = "a)"',
        "@article{k, title = {\\}",
        "@article{k, author = { and and , , {}}}",
        "@article{k, author = {,,,}, title = {$}",
        "@article{k, title = {\\'}}",
        "@string{}",
        "@string{x = y # z}\n@article{k, title = x}",
        "\x00@\x00a\x00r\x00t",
    ],
)
def test_never_a_traceback_on_garbage(text: str) -> None:
    try:
        items = read_text(text)
    except UnreadableFile:
        return
    for item in items:
        assert isinstance(item, RecordData | EntryError)


# --------------------------------------------------------------------------
# The fast LaTeX decoder agrees with pylatexenc


@pytest.mark.parametrize(
    "latex",
    [
        r"{\"o}",
        r"\"{o}",
        r"\"o",
        r"{\'e}",
        r"\'{e}",
        r"{\ss}",
        r"\ss{}",
        r"Ma\ss e",
        r"A \& B",
        r"{\v R}eh{\r u}{\v r}ek",
        r"\c{c}",
        r"{\c c}",
        r"\AA{}ngstr\"om",
        r"{\o}",
        r"\'{\i}",
        r"Garc{\'\i}a",
        r"\L{}\'od\'z",
        r"\~n and \={a} and \.{z} and \u{g} and \H{o} and \k{a}",
        r"{\ae} and \OE{}uvre",
        r"n.s.~2 and 10--20 and ---",
        r"50\% of a\_b and \#1",
        r"We found $\alpha$ cells in M{\"u}ller's \textit{in vitro} data, 5\% of them",
        r"\mbox{G-Animal's} Journal",
        r"Price in \$ and \$5",
        r"{\bf Bold} and \emph{here} and {\sc Conniver}",
        r"The \textit{in vitro} effect of $\beta$-blockers",
        r"{\em Drosophila} and {\it E. coli} and \textsc{Sc} and \textbf {B}",
        r"$\alpha$-helix and $\Delta G$ and $a \times b \leq c$",
        r"\foo{x} and \frac{a}{b} and \ldots{} and \textregistered",
    ],
)
def test_fast_latex_agrees_with_pylatexenc(latex: str) -> None:
    fast = clean(nfc(from_latex(latex)))
    assert fast == clean(nfc(pylatexenc_text(latex)))
