"""One conformance suite for every search backend: tantivy, PostgreSQL and Whoosh.

The same library, the same queries and the same expectations, run unchanged on each
backend (PostgreSQL's on the real PostgreSQL), through the real CLI and the domain
function the web pages call: what a reviewer types means the same whatever engine
answers it.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from litreview import search
from litreview.cli.main import cli as litreview_cli
from litreview.config import load_settings
from litreview.db import make_engine, make_session_factory
from litreview.errors import Invalid
from litreview.library import reviews
from litreview.migrations import runner as schema
from litreview.models import Record, SearchOutbox
from tests.conftest import BACKENDS, POSTGRES_ADMIN_URL, add_admin
from tests.evidence import csl_item, write_library, write_pdf

ENGINES = ["tantivy", "whoosh"] + (["postgres"] if "postgresql" in BACKENDS else [])

LIBRARY = [
    csl_item(
        "consent",
        "Consent and data protection in AI-assisted case recording",
        2021,
        abstract="How social workers explain recording to families.",
        authors=[("Müller", "Jörg")],
        keyword="GDPR, recording",
        DOI="10.1234/Consent.2021",
    ),
    csl_item(
        "bias",
        "Algorithmic bias in child welfare risk scores",
        2019,
        abstract="Risk scores reproduce the behaviour of past decisions.",
        authors=[("Smith", "Ann")],
    ),
    csl_item(
        "behavior",
        "Predicting caseworker behavior with machine learning",
        2020,
        abstract="An organization-wide study of decision support.",
        authors=[("Muller", "Hans")],
    ),
    csl_item(
        "summaries",
        "Automated summarisation of home visit notes",
        2023,
        abstract="Opportunities and risks of transcription tools for the organisation.",
        authors=[("Lindqvist", "Åsa")],
    ),
    csl_item(
        "confidence",
        "Practitioner confidence in chatbots",
        2022,
        abstract="Confident users trusted the tool.",
        authors=[("Osei", "Ama")],
    ),
    csl_item(
        "confidentiality",
        "Confidentiality of case files in the cloud",
        2018,
        abstract="Client records hold confidential information.",
        authors=[("Novak", "Petra")],
        **{"container-title": "Journal of Social Work Practice"},
    ),
    csl_item(
        "duty",
        "The duty of care and automated decisions",
        2017,
        abstract="Home care visits are scheduled by software.",
        authors=[("Byrne", "Liam")],
    ),
    csl_item(
        "transcription",
        "Transcription tools in social care",
        2015,
        abstract="A review of software for practitioners.",
        authors=[("Kaur", "Simran")],
    ),
    csl_item(
        "fulltext-only",
        "A survey of practitioners",
        2024,
        abstract="Practitioners answered questions about tools.",
        authors=[("Brennan", "Maeve")],
    ),
    csl_item(
        "escape",
        "<script>alert('x')</script> ethics of chatbots",
        2016,
        abstract="Chatbots & <b>ethics</b>.",
        authors=[("Doe", "Jane")],
    ),
] + [
    csl_item(f"gen{i}", f"Generated record {i} on welfare services", 2000 + i % 10)
    for i in range(40)
]
SURVEY_PAGES = [
    "A survey of practitioners\nIntroduction to the survey of tools in practice.",
    "Methods. We asked about consent in home visits and the tools used.",
    "Results. Data protection officers were rarely consulted; consent forms were missing.\n"
    "Practitioners described the behavior of the tools as unpredictable.",
]


@dataclass
class Library:
    engine: str
    env: dict[str, str]
    ids: dict[str, int]
    other_id: int
    runner: CliRunner

    def cli(self, *args: str, ok: bool = True):
        result = self.runner.invoke(litreview_cli, list(args), env=self.env)
        if ok:
            assert result.exit_code == 0, f"litreview {' '.join(args)}: {result.output}"
        return result

    def json(self, *args: str):
        return json.loads(self.cli(*args, "--json").stdout)

    def find(self, query: str, *options: str, slug: str = "ai-sw") -> set[str]:
        results = self.json("search", slug, query, *options, "--limit", "100")["results"]
        keys = {v: k for k, v in self.ids.items()}
        return {keys.get(r["id"], f"#{r['id']}") for r in results}

    def settings(self):
        return load_settings(self.env)


@pytest.fixture(scope="module", params=ENGINES)
def lib(request, tmp_path_factory) -> Iterator[Library]:
    engine = request.param
    folder = tmp_path_factory.mktemp(f"conformance-{engine}")
    database, drop = _database(engine, folder)
    env = {
        "LITREVIEW_DATABASE_URL": database,
        "LITREVIEW_DATA_DIR": str(folder / "data"),
        "LITREVIEW_USER": "tester@example.org",
        "LITREVIEW_SEARCH": engine,
    }
    runner = CliRunner()
    library = Library(engine, env, {}, 0, runner)
    try:
        library.cli("init")
        add_admin(database, env["LITREVIEW_USER"])
        library.cli("review", "create", "ai-sw", "--title", "AI in social work")
        library.cli("import", "ai-sw", str(write_library(folder, LIBRARY)))
        library.ids = {r["sources"][0]["entry"]: r["id"] for r in library.json("records", "ai-sw")}
        pdf = write_pdf(folder, "survey.pdf", SURVEY_PAGES)
        library.cli("attach", "ai-sw", str(pdf), "--record", str(library.ids["fulltext-only"]))
        library.cli("review", "create", "other", "--title", "Another review")
        other = [csl_item("o1", "Consent and data protection elsewhere", 2021)]
        library.cli("import", "other", str(write_library(folder, other, "other.json")))
        [library.other_id] = [r["id"] for r in library.json("records", "other")]
        library.cli(
            "question", "add", "ai-sw", "Q4", "Data protection", "--query",
            '"data protection" OR GDPR OR confidential* OR consent',
        )  # fmt: skip
        yield library
    finally:
        drop()


def _database(engine: str, folder: Path):
    if engine != "postgres":
        return f"sqlite:///{folder / 'litreview.sqlite3'}", lambda: None
    name = f"litreview_conformance_{secrets.token_hex(4)}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    schema.upgrade(url)

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url, drop


def test_known_item_by_exact_title_comes_first(lib):
    for key in ("bias", "consent", "confidentiality", "escape"):
        title = next(i["title"] for i in LIBRARY if i["id"] == key)
        # Typed as it stands, punctuation and all (what a person pastes in).
        words = " ".join(w for w in title.replace("<", " ").replace(">", " ").split() if w)
        results = lib.json("search", "ai-sw", _plain(words))["results"]
        assert results and results[0]["id"] == lib.ids[key], (key, results[:2])


def _plain(text: str) -> str:
    # The query language's own characters (quotes, brackets, colons) read as words.
    return " ".join(
        "".join(c if c.isalnum() or c in "-'" else " " for c in w) for w in text.split()
    )


def test_a_title_match_ranks_above_the_same_word_in_an_abstract(lib):
    results = lib.json("search", "ai-sw", "transcription")["results"]
    assert [r["id"] for r in results] == [lib.ids["transcription"], lib.ids["summaries"]]
    assert results[0]["score"] > results[1]["score"] > 0


def test_stemming_and_british_and_american_spellings(lib):
    assert lib.find("behaviour") == {"bias", "behavior", "fulltext-only"}
    assert lib.find("behavior") == {"bias", "behavior", "fulltext-only"}
    assert lib.find("organisation") == {"summaries", "behavior"}
    assert lib.find("organization") == {"summaries", "behavior"}
    assert lib.find("decision") == {"bias", "behavior", "duty"}
    assert lib.find("visits") == {"summaries", "duty", "fulltext-only"}


def test_accents_are_folded_both_ways(lib):
    assert lib.find("Muller") == {"consent", "behavior"}
    assert lib.find("Müller") == {"consent", "behavior"}
    assert lib.find("author:asa") == {"summaries"}
    assert lib.find("Åsa") == {"summaries"}


def test_phrases_match_words_in_a_row(lib):
    assert lib.find('"home visit"') == {"summaries", "fulltext-only"}  # not "home care visits"
    assert lib.find('"duty of care"') == {"duty"}  # stop words inside a phrase count
    assert lib.find('"care of duty"') == set()
    assert lib.find('"data protection"') == {"consent", "fulltext-only"}
    assert lib.find("AI-assisted") == {"consent"}


def test_a_wildcard_matches_the_word_as_typed(lib):
    assert lib.find("summaris*") == {"summaries"}
    assert lib.find("opportunit*") == {"summaries"}
    # Not the stem: "confidential" and "confidence" share "confid".
    assert lib.find("confidential*") == {"confidentiality"}
    assert lib.find("confiden*") == {"confidence", "confidentiality"}
    assert lib.find("title:chat*") == {"confidence", "escape"}


def test_fields(lib):
    assert lib.find("title:bias") == {"bias"}
    assert lib.find("author:smith") == {"bias"}
    assert lib.find("au:Lindqvist") == {"summaries"}
    assert lib.find("keywords:gdpr") == {"consent"}
    assert lib.find('journal:"social work practice"') == {"confidentiality"}
    assert lib.find("venue:journal") == {"confidentiality"}
    assert lib.find("fulltext:unpredictable") == {"fulltext-only"}
    assert lib.find("abstract:software") == {"duty", "transcription"}
    assert lib.find("doi:10.1234/CONSENT.2021") == {"consent"}
    assert lib.find("title:(bias OR summarisation)") == {"bias", "summaries"}
    assert lib.find("title:scores") == {"bias"}
    assert lib.find("abstract:families") == {"consent"}
    assert lib.find("title:families") == set()  # in the abstract only


def test_operators(lib):
    assert lib.find("consent OR bias") == {"consent", "bias", "fulltext-only"}
    assert lib.find("consent NOT survey") == {"consent"}
    assert lib.find("(bias OR confidence) AND chatbots") == {"confidence"}
    # One word on page 3, the other on page 2 of the full text: still both.
    assert lib.find('consent AND "home visits"') == {"fulltext-only"}


def test_year_ranges(lib):
    assert lib.find("welfare year:[2000 TO 2004]") == {f"gen{i}" for i in range(40) if i % 10 < 5}
    assert lib.find("year:[2023 TO]") == {"summaries", "fulltext-only"}
    assert lib.find("ethics AND year:[TO 2016]") == {"escape"}
    assert lib.find("year:2020 AND caseworker") == {"behavior"}


def test_filters_compose_with_the_query(lib):
    assert lib.find("risk* OR consent", "--year", "2021-") == {
        "consent",
        "summaries",
        "fulltext-only",
    }
    assert lib.find("risk*", "--year", "2019-2020") == {"bias"}
    assert lib.find("consent", "--has-fulltext") == {"fulltext-only"}
    assert lib.find("consent", "--no-fulltext") == {"consent"}


def test_decision_and_question_filters_from_the_database(lib):
    before = _outbox_rows(lib)
    lib.cli("screen", "ai-sw", str(lib.ids["bias"]), "include")
    lib.cli("screen", "ai-sw", str(lib.ids["duty"]), "exclude", "--reason", "wrong population")
    lib.cli("tag", "ai-sw", str(lib.ids["consent"]), "Q4")
    # A decision or a tag costs the index nothing.
    assert _outbox_rows(lib) == before
    try:
        assert lib.find("decision", "--decision", "include") == {"bias"}
        assert lib.find("decision", "--decision", "exclude") == {"duty"}
        assert lib.find("decision", "--decision", "pending") == {"behavior"}
        assert lib.find("consent OR bias", "--question", "Q4") == {"consent"}
        found = lib.json("search", "ai-sw", "decisions")["results"]
        assert {r["id"]: r["decision"] for r in found}[lib.ids["bias"]] == "include"
        tagged = lib.json("search", "ai-sw", "consent", "--question", "Q4")["results"]
        assert tagged[0]["questions"] == ["Q4"]
        # Suggestions for Q4 leave out what is tagged to it already.
        suggested = lib.json("question", "suggest", "ai-sw", "Q4")["results"]
        ids = {r["id"] for r in suggested}
        assert lib.ids["consent"] not in ids
        assert {lib.ids["fulltext-only"], lib.ids["confidentiality"]} <= ids
        assert lib.ids["confidence"] not in ids  # confidential* is not confid*
    finally:
        lib.cli("untag", "ai-sw", str(lib.ids["consent"]), "Q4")


def _outbox_rows(lib) -> int:
    engine = make_engine(lib.env["LITREVIEW_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return conn.scalar(sa.select(sa.func.count(SearchOutbox.id)))
    finally:
        engine.dispose()


def test_snippets_mark_the_words_and_name_the_page(lib):
    out = lib.json("search", "ai-sw", '"data protection" AND consent')
    assert out["total"] == 2
    first, second = out["results"]
    assert first["id"] == lib.ids["consent"]
    assert first["snippets"][0] == {
        "field": "title",
        "page": None,
        "text": "<b>Consent</b> and <b>data</b> <b>protection</b> in AI-assisted case recording",
    }
    assert second["id"] == lib.ids["fulltext-only"]
    assert [(s["field"], s["page"]) for s in second["snippets"]] == [
        ("fulltext", 3),
        ("fulltext", 2),
    ]
    assert second["snippets"][0]["text"].startswith(
        "Results. <b>Data</b> <b>protection</b> officers were rarely consulted; <b>consent</b>"
    )
    # Snippets are HTML: the marks, everything else escaped (titles may hold markup).
    [hit] = lib.json("search", "ai-sw", "ethics")["results"]
    texts = {s["field"]: s["text"] for s in hit["snippets"]}
    assert (
        texts["title"]
        == "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; <b>ethics</b> of chatbots"
    )
    assert texts["abstract"] == "Chatbots &amp; &lt;b&gt;<b>ethics</b>&lt;/b&gt;."


def test_totals_are_exact(lib):
    out = lib.json("search", "ai-sw", "welfare", "--limit", "5")
    assert out["total"] == 41 and len(out["results"]) == 5
    out = lib.json("search", "ai-sw", "welfare", "--year", "2000-2001", "--limit", "3")
    assert out["total"] == 8 and len(out["results"]) == 3


def test_a_search_never_shows_another_reviews_records(lib):
    assert lib.other_id not in {r["id"] for r in lib.json("search", "ai-sw", "consent")["results"]}
    assert [r["id"] for r in lib.json("search", "other", "consent")["results"]] == [lib.other_id]


BAD_QUERIES = [
    ("", "the query is empty"),
    ("the of and", "the query has no words to search for"),
    ('"data protection', "unbalanced quotes"),
    ("(consent OR gdpr", "unbalanced brackets: the '(' at character 1 is never closed"),
    ("consent)", "unbalanced brackets: the ')' at character 8 closes nothing"),
    ("*", "'*' alone would match everything"),
    ("c*", "put at least 2 letters before a * or ?"),
    ("con*sent", "a * goes at the end of a word"),
    ("x" * 10_000, "the query is 10,000 characters long; at most 1,000 are allowed"),
    ("colour:red", "unknown field 'colour'"),
    ("consent AND", "the query has AND with nothing after it"),
    ("OR consent", "the query starts with OR with nothing before it"),
    ("NOT consent", "the query has only NOT parts"),
    ("year:recent", "year: write a year"),
    ("year:[2024 TO 2019]", "the first year comes after the last"),
    ("title: bias", "title: needs a value right after the colon"),
    ("decision:include", "decision:... is not part of a query: choose the decision in the"),
    ("question:Q4", "question:... is not part of a query: choose the review question in"),
]


@contextmanager
def _sessions(lib) -> Iterator[sessionmaker]:
    # Disposed at the end: psycopg warns of a connection left open for the collector.
    engine = make_engine(lib.env["LITREVIEW_DATABASE_URL"])
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def test_every_bad_query_gets_the_same_clear_message(lib):
    backend = search.open_backend(lib.settings())
    with _sessions(lib) as factory, factory() as session:
        review = reviews.get_review(session, "ai-sw")
        for query, message in BAD_QUERIES:
            with pytest.raises(Invalid) as caught:
                search.search_review(session, backend, review, query)
            assert message in str(caught.value), (query, str(caught.value))
            result = lib.cli("search", "ai-sw", query, "--json", ok=False)
            assert result.exit_code == 1 and result.stdout == ""
            [line] = result.stderr.strip().splitlines()
            assert line == f"Error: {caught.value}"


def test_what_a_crash_left_unindexed_is_caught_up_by_the_next_search(lib):
    # A process commits records and dies before it updates the index (no sync call).
    with _sessions(lib) as factory, factory() as session:
        review = reviews.get_review(session, "other")
        session.add(
            Record(review_id=review.id, title="Orphaned after a crash: kinship care", year=2020)
        )
        session.commit()
    out = lib.json("search", "other", "kinship")
    assert [r["title"] for r in out["results"]] == ["Orphaned after a crash: kinship care"]
    assert out["not_searchable"] == 0


QUERIES_TO_COMPARE = [
    '"data protection" AND consent',
    "welfare",
    "confiden*",
    "Müller",
    "year:[2019 TO 2021]",
]


def test_rebuilding_from_scratch_gives_the_same_results(lib):
    before = {q: lib.json("search", "ai-sw", q, "--limit", "100") for q in QUERIES_TO_COMPARE}
    settings = lib.settings()
    search.open_backend(settings).close()
    if lib.engine != "postgres":
        shutil.rmtree(settings.index_dir)  # the whole index gone
    lib.cli("reindex")
    after = {q: lib.json("search", "ai-sw", q, "--limit", "100") for q in QUERIES_TO_COMPARE}
    for q in QUERIES_TO_COMPARE:
        assert [r["id"] for r in after[q]["results"]] == [r["id"] for r in before[q]["results"]], q
        assert after[q]["total"] == before[q]["total"]
