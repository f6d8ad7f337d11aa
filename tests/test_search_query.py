"""The query language's tree: what a query means, before any engine sees it."""

from __future__ import annotations

import pytest

from litreview.errors import Invalid
from litreview.search import analysis
from litreview.search.query import (
    And,
    Doi,
    Not,
    Or,
    Phrase,
    Prefix,
    Term,
    YearRange,
    leaves,
    parse,
)

CASES = [
    ("consent", Term(None, "consent")),
    ("consent data", And((Term(None, "consent"), Term(None, "data")))),
    ("consent AND data", And((Term(None, "consent"), Term(None, "data")))),
    # NOT binds tighter than AND, AND than OR.
    (
        "a1 b1 OR c1 NOT d1",
        Or(
            (
                And((Term(None, "a1"), Term(None, "b1"))),
                And((Term(None, "c1"), Not(Term(None, "d1")))),
            )
        ),
    ),
    (
        "(bias OR fairness) AND algorithm*",
        And((Or((Term(None, "bias"), Term(None, "fairness"))), Prefix(None, "algorithm"))),
    ),
    ('"data protection"', Phrase(None, ("data", "protection"))),
    ('"duty of care"', Phrase(None, ("duty", "of", "care"))),
    ("AI-assisted", Phrase(None, ("AI", "assisted"))),
    ("au:Smith", Term("author", "Smith")),
    ("journal:lancet", Term("venue", "lancet")),
    ("TITLE:bias", Term("title", "bias")),
    ('title:"risk scores"', Phrase("title", ("risk", "scores"))),
    ("title:(bias OR fair*)", Or((Term("title", "bias"), Prefix("title", "fair")))),
    ("Müll*", Prefix(None, "mull")),
    ("year:2020", YearRange(2020, 2020)),
    ("year:[2019 TO 2024]", YearRange(2019, 2024)),
    ("year:[2019 TO]", YearRange(2019, None)),
    ("year:[TO 2019]", YearRange(None, 2019)),
    ("doi:10.1000/ABC", Doi("10.1000/abc")),
    # Stop words on their own are dropped; in a phrase they count.
    ("the consent of children", And((Term(None, "consent"), Term(None, "children")))),
    # Lower-case and/or are words (stop words), not operators.
    ("bias or fairness", And((Term(None, "bias"), Term(None, "fairness")))),
]


@pytest.mark.parametrize(("text", "tree"), CASES)
def test_what_a_query_means(text, tree):
    assert parse(text) == tree


def test_snippets_mark_only_what_is_searched_for():
    tree = parse('consent NOT "case files" OR title:bias*')
    assert list(leaves(tree)) == [Term(None, "consent"), Prefix("title", "bias")]
    assert Phrase(None, ("case", "files")) in list(leaves(tree, positive=False))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NOT bias", "the query has only NOT parts"),
        ("bias OR NOT fairness", "the query has only NOT parts"),
        ("a AND OR b", "the query has OR with nothing before it"),
        ("bias NOT", "the query has NOT with nothing after it"),
        ("[2019 TO 2020]", "a range [2019 TO 2020] needs a field: year:[2019 TO 2020]"),
        ("doi:(x)", "doi: write a DOI"),
        ("c?nsent", "a * goes at the end of a word"),
        ('""', "the phrase at character 1 has no words"),
        ("consent\x00", "NUL"),
    ],
)
def test_mistakes_get_one_line_saying_what_is_wrong(text, message):
    with pytest.raises(Invalid) as caught:
        parse(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_word_matches_its_spellings_stemmed():
    assert set(analysis.terms("behaviour")) == {"behaviour", "behavior"}
    assert set(analysis.terms("Organizations")) == {"organiz", "organis"}
    assert analysis.terms("Müller") == ("muller",)
    assert analysis.fold("Straße Åsa Øre") == "strasse asa ore"
    assert analysis.terms("children") == ("children",)
