"""BibTeX as Zotero's translator reads it, at a cost in proportion to the file (issue 15).

Sub- and superscripts, a missing comma between fields, an accent escaped once too often
inside an @string; a 300 KB field reads right without pyparsing, and what reaches
pylatexenc (6-15 µs a character) stays within its budget.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from litreview.ingest import latex_text
from litreview.ingest.bibtex import read
from litreview.ingest.latex_text import display_text
from litreview.ingest.record_data import Author, EntryError, RecordData

QUIRKS = Path(__file__).parent / "data" / "bibtex" / "zotero_quirks.bib"
ROOT = Path(__file__).resolve().parents[1]


def read_text(text: str) -> list:
    return list(read(io.StringIO(text), "test.bib"))


def by_key(items: list) -> dict[str, RecordData]:
    return {item.entry_key: item for item in items if isinstance(item, RecordData)}


@pytest.fixture(scope="module")
def quirks() -> dict[str, RecordData]:
    with QUIRKS.open(encoding="utf-8") as stream:
        items = list(read(stream, QUIRKS.name))
    assert not [item for item in items if isinstance(item, EntryError)]
    return by_key(items)


def test_scripts_become_unicode_where_it_has_them(quirks) -> None:
    record = quirks["scripts2019"]
    assert record.title == (
        "Reducing CO₂ and H₂O at 20°C: 10⁻³ of xⁿ⁺¹ and T_c of Cu_(0.5)"
    )  # no subscript c, no subscript dot: readable as written, the extent kept
    assert record.venue == "Journal of ⁰ and ₂"


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        ("$_{2}$", "₂"),
        ("$^{0}$", "⁰"),
        ("CO$_2$ emissions", "CO₂ emissions"),
        ("$E = mc^2$", "E = mc²"),
        ("$\\alpha_{2}$-adrenergic", "α₂-adrenergic"),
        ("1\\textsuperscript{st} and H\\textsubscript{2}O", "1ˢᵗ and H₂O"),
        ("$\\mathrm{CO}_2$", "CO₂"),
        ("$^{99m}$Tc", "⁹⁹ᵐTc"),
        ("$T_{eff}$", "T_(eff)"),  # no subscript f
        ("$x^{i \\pi}$", "x^(i π)"),
        ("25$^\\circ$ C", "25° C"),
        ("$K^-$ over $K^+$", "K⁻ over K⁺"),
    ],
)
def test_scripts(latex: str, text: str) -> None:
    assert display_text(latex) == text


def test_a_doubled_backslash_before_an_accent_leaves_no_stray_mark(quirks) -> None:
    assert quirks["nocomma2003"].authors == [
        Author("Décoret", "Xavier"),
        Author("Sillion", "François"),
    ]
    assert quirks["scripts2019"].authors[0] == Author("Décoret", "Xavier")
    for record in quirks.values():
        for author in record.authors:
            assert "\u0301" not in author.family and "\u0327" not in (author.given or "")


def test_a_missing_comma_between_fields_is_recovered(quirks) -> None:
    record = quirks["nocomma2003"]
    assert record.title == "Billboard Clouds for Extreme Model Simplification"
    assert (record.venue, record.year, record.pages) == ("ACM SIGGRAPH", 2003, "689-696")
    items = read_text('@article{k, journal = jgg\n  year = 2001 title = "T"}')
    assert (by_key(items)["k"].venue, by_key(items)["k"].year) == ("jgg", 2001)
    assert by_key(items)["k"].title == "T"


def test_what_is_not_a_field_is_still_an_error() -> None:
    [error] = read_text("@article{k,\n  title = {T},\n  pages = 12--15,\n}")
    assert isinstance(error, EntryError) and "--15" in error.message
    assert "line 3" in error.message
    [error] = read_text("@article{k, title = {T} some words}")
    assert isinstance(error, EntryError) and "some words" in error.message


def test_the_first_of_a_repeated_field_counts(quirks) -> None:
    assert quirks["firstwins"].title == "The First Title"
    assert quirks["firstwins"].year == 2000  # 2000 # "a": a number in a concatenation


def test_a_300_kb_field_of_brace_groups_reads_right() -> None:
    groups = "".join("{" + "abcdefghij"[i % 10] + "}" for i in range(100_000))
    text = f"@article{{big,\n  title = {{{groups}}},\n  year = 2020\n}}\n"
    text += "@article{next, title={N}}\n"
    assert len(text) > 300_000
    items = read_text(text)
    assert [item.entry_key for item in items] == ["big", "next"]
    assert items[0].title == "abcdefghij" * 10_000 and items[0].year == 2020


def test_no_pyparsing_on_the_way() -> None:
    """BibTeX is read without bibtexparser's pyparsing grammar (2 s a 100 KB of braces)."""
    code = (
        "import io, sys\n"
        "from litreview.ingest.decoding import READERS\n"
        "items = list(READERS['bibtex'](io.StringIO('@article{k, title={{A}{B}} # x}'), 'x'))\n"
        "assert items[0].title == 'ABx', items\n"
        "print(sorted(m for m in sys.modules if 'pyparsing' in m or 'bibtexparser' in m))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_what_reaches_pylatexenc_is_bounded(monkeypatch) -> None:
    """A value gives pylatexenc at most its floor plus one character in _BUDGET_SHARE."""
    given: list[int] = []
    real = latex_text._latex

    class Counting:
        def latex_to_text(self, value: str) -> str:
            given.append(len(value))
            return real.latex_to_text(value)

    monkeypatch.setattr(latex_text, "_latex", Counting())
    value = " ".join(f"\\unknown{{w{i}}} \\frac{{a}}{{b}}" for i in range(20_000))
    assert len(value) > 300_000
    [record] = read_text(f"@article{{k, abstract = {{{value}}}}}")
    budget = latex_text._BUDGET_FLOOR + len(value) // latex_text._BUDGET_SHARE
    assert 0 < sum(given) <= budget
    words = record.abstract.split()
    assert words[:4] == ["w0", "a/b", "w1", "a/b"]  # pylatexenc's reading while in budget
    assert words[-2:] == ["w19999", "ab"]  # then the rough one: arguments kept, no LaTeX
    assert "\\" not in record.abstract


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        ("The \\texttt{grep} tool", "The grep tool"),  # pylatexenc drops the argument
        ("hy\\-phen\\-ation", "hyphenation"),  # not soft hyphens that break search
        ("\\LaTeX{} and \\copyright{} 2020", "LaTeX and © 2020"),
        ("$\\mathbb{R}^n$ and $\\mathbf{x}$", "Rⁿ and x"),
        ("Costs $5 a month", "Costs $5 a month"),  # one $: a dollar sign
        ("{\\em Drosophila}{\\bf X}", "DrosophilaX"),  # a declaration eats its space
        ("A$\\beta$ plaques", "Aβ plaques"),
    ],
)
def test_readings_beyond_pylatexenc(latex: str, text: str) -> None:
    assert display_text(latex) == text
