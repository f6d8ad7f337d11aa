"""The CSL-JSON reader (Zotero, Better BibTeX): files of our own, written from the CSL
data schema, and the shapes real exports take."""

from __future__ import annotations

import io
import json
from itertools import islice
from pathlib import Path

import pytest

from litreview.ingest import csljson, medline, wos
from litreview.ingest.record_data import Author, EntryError, RecordData, UnreadableFile
from tests.golden import check_golden

DATA = Path(__file__).parent / "data"
HERE = DATA / "csljson"
# Real files from other projects (origins in data/README.md).
REAL_FILES = [*(DATA / "fixtures").iterdir(), *(DATA / "zotero").iterdir()]
FILES = ["zotero.json", "messy.json"]
BIBTEX_HEAD = "@article{smith2020,\n  title = {A title},\n  author = {Smith, Jane},\n}\n"
RIS_HEAD = "TY  - JOUR\nAU  - Smith, Jane\nTI  - A title\nPY  - 2020\nER  - \n"
# What the Zotero web API returns is JSON too, but not CSL-JSON.
ZOTERO_API_HEAD = (
    '[{"key": "X42A7DEE", "version": 1, "library": {"type": "user", "id": 436},'
    ' "data": {"key": "X42A7DEE", "itemType": "journalArticle", "title": "A title"}}]'
)


def read(name: str) -> list:
    with open(HERE / name, encoding="utf-8") as stream:
        return list(csljson.read(stream, name))


def read_text(text: str) -> list:
    return list(csljson.read(io.StringIO(text), "test.json"))


@pytest.mark.parametrize("name", FILES)
def test_golden(name: str) -> None:
    check_golden(read(name), HERE / (Path(name).stem + ".expected.json"))


@pytest.mark.parametrize("name", FILES)
def test_line_and_raw_of_each_item(name: str) -> None:
    """``line`` is where the item's '{' is; ``raw`` its JSON text exactly as in the file."""
    text = (HERE / name).read_text(encoding="utf-8")
    lines = text.splitlines()
    for item in read(name):
        if isinstance(item, RecordData):
            assert lines[item.line - 1].lstrip().startswith("{")
            assert item.raw in text and item.raw.startswith("{") and item.raw.endswith("}")
            assert text.count("\n", 0, text.index(item.raw)) + 1 == item.line
            json.loads(item.raw)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_chunk_seams_change_nothing(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """The file is read a chunk at a time; where the chunks end must not matter."""
    texts = [(HERE / name).read_text(encoding="utf-8") for name in FILES]
    texts.append('{"items": [\n{"id": "a", "type": "book", "title": "A"},\n 12.5e3, true\n]}')
    texts.append('[1234567890, -0.5, "x", null, {"id": "b", "type": "book", "title": "B"}]')
    expected = [[(i.to_json(), getattr(i, "raw", None)) for i in read_text(t)] for t in texts]
    monkeypatch.setattr(csljson, "_CHUNK", chunk)
    for text, want in zip(texts, expected, strict=True):
        assert [(i.to_json(), getattr(i, "raw", None)) for i in read_text(text)] == want


def test_zotero_export() -> None:
    article, book, paper = read("zotero.json")
    assert article.type == "article"
    assert article.title == "Deep learning"
    assert article.authors == [
        Author("LeCun", "Yann"),
        Author("Bengio", "Yoshua"),
        Author("Hinton", "Geoffrey"),
    ]
    assert article.year == 2015  # date-parts [["2015", 5]]: Zotero writes strings
    assert (article.venue, article.volume, article.issue, article.pages) == (
        "Nature",
        "521",
        "7553",
        "436-444",
    )
    assert article.doi == "10.1038/nature14539"
    assert article.url == "https://www.nature.com/articles/nature14539"
    assert article.entry_key == "http://zotero.org/users/local/q2Zr8Dbn/items/7KZ3PQ2M"
    assert (article.line, book.line, paper.line) == (2, 49, 77)
    assert (book.type, book.year, book.isbn, book.publisher) == (
        "book",
        2018,
        "978-0-262-03384-8",
        "MIT Press",
    )
    assert (paper.type, paper.year, paper.pages) == ("conference", 2017, "5998–6008")


def test_messy_file() -> None:
    items = read("messy.json")
    assert [type(i).__name__ for i in items] == [
        "RecordData",
        "RecordData",
        "RecordData",
        "EntryError",
        "RecordData",
        "EntryError",
        "RecordData",
        "RecordData",
        "RecordData",
        "EntryError",
    ]
    names, raw_year, season, broken, edited, not_object, page, crossref, odd, bad_date = items
    assert names.authors == [
        Author("van Gogh", "Vincent"),  # non-dropping particle
        Author("van Beethoven", "Ludwig"),  # dropping particle
        Author("King Jr.", "Martin Luther"),  # suffix, as split_name keeps it
        Author("World Health Organization"),  # literal
        Author("Müller", "Jörg"),  # decomposed in the file, NFC here
    ]
    assert names.doi == "10.5555/names.2021.7"  # from a doi.org URL
    assert (names.year, names.volume, names.pmid) == (2021, "7", "33300001")
    assert names.keywords == ["names", "parsing", "particles"]  # ';' and ','
    assert (names.abstract, names.language, names.note) == (
        "Names with particles.",
        "en-US",
        "A note.",
    )
    assert (raw_year.year, raw_year.type, raw_year.entry_key) == (2021, "report", "smith2021raw")
    assert (season.year, season.type) == (2021, "conference")  # {"literal": "Spring 2021"}
    assert isinstance(broken, EntryError)
    assert (broken.line, broken.entry) == (5, "broken")
    assert '"author" should be a list of names' in broken.message
    assert edited.authors == [Author("Editor", "Erin")]  # a book with editors only
    assert (edited.year, edited.entry_key) == (2021, "42")  # date-parts [["2021"]]; id 42
    assert isinstance(not_object, EntryError) and not_object.line == 7
    assert (page.type, page.entry_key, page.url) == ("webpage", "7", "https://example.org/page")
    assert page.keywords == ["web", "pages"]
    assert page.year is None  # accessed is not issued
    assert (crossref.title, crossref.venue, crossref.year) == (
        "A title given as a list",
        "Crossref Journal",
        None,
    )
    assert odd.type == "other"
    assert isinstance(bad_date, EntryError) and bad_date.entry == "bad-issued"


def test_empty_array_and_items_object() -> None:
    assert read_text("[]") == []
    assert read_text("\ufeff  [ \n ]\n") == []
    assert read_text('{"items": []}') == []
    items = read_text(
        '{"version": 1,\n "items": [\n  {"id": "a", "type": "book", "title": "A"}\n]}'
    )
    assert [(i.entry_key, i.line, i.type) for i in items] == [("a", 3, "book")]
    [lone] = read_text('\n{"id": "x", "type": "chapter", "title": "Alone"}\n')
    assert (lone.entry_key, lone.line, lone.type, lone.title) == ("x", 2, "chapter", "Alone")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty file"),
        ("this is not JSON\n", "line 1 column 1: not valid JSON"),
        ('[\n  {"id": "a", "type": "book"},\n  {"id": "b" "type": "book"}\n]', "line 3 column 14"),
        ('[{"id": "a", "type": "book"}', "line 1 column 29"),
        ('[{"id": "a", "type": "book"}] trailing', "line 1 column 31"),
        ("42", "a JSON number"),
        ('"items"', "a JSON string"),
        ('{"title": "no type"}', 'no "items" array'),
    ],
)
def test_unreadable(text: str, message: str) -> None:
    with pytest.raises(UnreadableFile, match="test.json") as caught:
        read_text(text)
    assert message in str(caught.value)


def test_syntax_error_position_far_into_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Line and column agree with json's own, after the reader dropped what it read."""
    monkeypatch.setattr(csljson, "_CHUNK", 50)
    item = '  {"id": "k%d", "type": "book", "title": "T"},\n'
    text = "[\n" + "".join(item % n for n in range(200)) + '  {"id": "bad", "type": "book",, }\n]'
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(UnreadableFile) as caught:
        read_text(text)
    where = f"line {expected.value.lineno} column {expected.value.colno}"
    assert where == "line 202 column 32"
    assert where in str(caught.value)


def test_items_before_a_syntax_error_are_yielded() -> None:
    reader = csljson.read(io.StringIO('[{"id": "a", "type": "book", "title": "A"}, {oops'), "t")
    assert next(reader).entry_key == "a"
    with pytest.raises(UnreadableFile):
        next(reader)


def test_reads_one_item_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Items come out before the text ends: an endless array gives its first three."""
    monkeypatch.setattr(csljson, "_CHUNK", 100)

    class Endless(io.TextIOBase):
        def __init__(self) -> None:
            self.n = 0
            self.buffer = "["

        def read(self, size: int = -1) -> str:
            assert size > 0, "the reader must not ask for everything"
            while len(self.buffer) < size:
                self.n += 1
                self.buffer += f'{{"id": "i{self.n}", "type": "book", "title": "T{self.n}"}},\n'
            out, self.buffer = self.buffer[:size], self.buffer[size:]
            return out

    first = list(islice(csljson.read(Endless(), "endless.json"), 3))
    assert [(r.entry_key, r.line) for r in first] == [("i1", 1), ("i2", 2), ("i3", 3)]


def test_wrong_field_types() -> None:
    items = read_text(
        json.dumps(
            [
                {"id": "a", "type": "book", "title": {"x": 1}},
                {"id": "b", "type": "book", "author": [{"family": ["Smith"]}]},
                {"id": "c", "type": "book", "author": ["Smith"]},
                {"id": "d", "type": "book", "keyword": 5},
                {"id": "e", "type": "book", "issued": [2020]},
                {"id": "f", "type": "book", "title": True},
                {"id": "g", "type": "book", "title": "Fine", "volume": 3.0, "issued": "2020-01-02"},
            ]
        )
    )
    assert [i.entry for i in items[:6]] == ["a", "b", "c", "d", "e", "f"]
    assert all(isinstance(i, EntryError) for i in items[:6])
    assert (items[6].volume, items[6].year) == ("3", 2020)


def test_json_oddities() -> None:
    """What Python's json reads beyond the standard is an entry error or an unreadable
    file, never another exception."""
    [nan, inf] = read_text(
        '[{"id": "n", "type": "book", "title": "N", "issued": {"date-parts": [[NaN]]}},'
        ' {"id": "i", "type": "book", "title": "I", "volume": Infinity,'
        ' "issued": {"date-parts": [[-Infinity]]}}]'
    )
    assert (nan.year, inf.year, inf.volume) == (None, None, "inf")
    with pytest.raises(UnreadableFile, match="cannot be read as JSON"):
        read_text('[{"id": "a", "type": "book", "volume": ' + "9" * 5000 + "}]")
    with pytest.raises(UnreadableFile, match="cannot be read as JSON"):
        read_text("[" * 100_000 + "]" * 100_000)


def test_looks_like() -> None:
    for name in FILES:
        text = (HERE / name).read_text(encoding="utf-8")
        assert csljson.looks_like(text[:4096]), name
        assert csljson.looks_like(text[:300]), name  # cut inside the first item
        assert not medline.looks_like(text[:4096]), name
        assert not wos.looks_like(text[:4096]), name
    assert csljson.looks_like("[]")
    assert not csljson.looks_like('{"a": ' + "[" * 100_000)
    assert not csljson.looks_like('[{"a": ' + "9" * 5000 + ', "type": "book", "id": "x"}]')
    assert csljson.looks_like('{"items": [{"id": "a", "type": "book"}]}')
    assert csljson.looks_like('{"type": "book", "title": "Alone"}')
    for head in (
        BIBTEX_HEAD,
        RIS_HEAD,
        ZOTERO_API_HEAD,
        "",
        "[1, 2, 3]",
        '{"foo": 1}',
        '[{"title": "no type"}]',
        '{"items": {"id": "a", "type": "book"}}',
    ):
        assert not csljson.looks_like(head), head
    for path in [*(DATA / "medline").glob("*"), *(DATA / "wos").glob("*")]:
        if not path.name.endswith(".expected.json"):
            assert not csljson.looks_like(path.read_text(encoding="utf-8")[:4096]), path


def test_real_files() -> None:
    """No real file is CSL-JSON (the Zotero ones are web API answers); given to
    the reader, each is read or refused as unreadable, never an exception."""
    for path in sorted(REAL_FILES):
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not csljson.looks_like(text[:4096]), path
        try:
            list(csljson.read(io.StringIO(text), path.name))
        except UnreadableFile:
            pass
