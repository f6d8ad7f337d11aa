"""Full-text search through the real CLI, on SQLite and PostgreSQL, with the embedded
default engine (a real tantivy index; tests/test_search_conformance.py runs the same
queries on every engine)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from litreview import screening, search
from litreview.accounts import users as accounts
from litreview.config import load_settings
from litreview.db import make_session_factory
from litreview.library import reviews
from litreview.models import Decision, Record, Review, SearchOutbox, User
from litreview.search import analysis
from litreview.search.query import parse
from tests.evidence import csl_item, ids_by_key, search_ids, write_library, write_pdf


@pytest.fixture(autouse=True)
def tantivy_everywhere(monkeypatch):
    # The embedded default, on PostgreSQL too (where LITREVIEW_SEARCH would default to
    # PostgreSQL's own full-text search).
    monkeypatch.setenv("LITREVIEW_SEARCH", "tantivy")


LIBRARY = [
    csl_item(
        "consent-title",
        "Consent and data protection in AI-assisted case recording",
        2021,
        abstract="How social workers explain recording to families.",
        authors=[("Müller", "Jörg")],
        keyword="GDPR, recording",
    ),
    csl_item(
        "bias",
        "Algorithmic bias in child welfare risk scores",
        2019,
        abstract="Risk scores reproduce the behaviour of past decisions.",
        authors=[("Smith", "Ann")],
    ),
    csl_item(
        "summaries",
        "Automated summarisation of home visit notes",
        2023,
        abstract="Opportunities and risks of transcription tools for the organisation.",
        authors=[("Lindqvist", "Åsa")],
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
        2018,
        abstract="Chatbots & <b>ethics</b>.",
        authors=[("Doe", "Jane")],
    ),
]
SURVEY_PAGES = [
    "A survey of practitioners\nIntroduction to the survey of tools in practice.",
    "Methods. We asked about consent in home visits and the tools used.",
    "Results. Data protection officers were rarely consulted; consent forms were missing.\n"
    "Practitioners described the behavior of the tools as unpredictable.",
]


@pytest.fixture
def library(review_cli, tmp_path):
    """The review `ai-sw` with five records, two questions, and a PDF on one record."""
    review_cli("import", "ai-sw", str(write_library(tmp_path, LIBRARY)))
    review_cli(
        "question", "add", "ai-sw", "Q3", "Bias", "--query", "bias* OR discriminat* OR fairness"
    )
    review_cli(
        "question", "add", "ai-sw", "Q4", "Data protection", "--query",
        '"data protection" OR GDPR OR confidential* OR consent',
    )  # fmt: skip
    ids = ids_by_key(review_cli)
    pdf = write_pdf(tmp_path, "survey.pdf", SURVEY_PAGES)
    review_cli("attach", "ai-sw", str(pdf), "--record", str(ids["fulltext-only"]))
    return ids


def test_search_json_has_records_snippets_and_pages(library, review_cli):
    out = review_cli.json("search", "ai-sw", '"data protection" AND consent')
    assert out["total"] == 2
    first, second = out["results"]
    # The title match ranks first; the full-text match says which page it is on.
    assert first["id"] == library["consent-title"]
    assert first["title"] == "Consent and data protection in AI-assisted case recording"
    assert first["year"] == 2021
    assert first["questions"] == [] and first["decision"] == "pending"
    assert first["score"] > second["score"] > 0
    assert first["snippets"][0] == {
        "field": "title",
        "page": None,
        "text": "<b>Consent</b> and <b>data</b> <b>protection</b> in AI-assisted case recording",
    }
    assert second["id"] == library["fulltext-only"]
    pages = [(s["field"], s["page"]) for s in second["snippets"]]
    assert pages == [("fulltext", 3), ("fulltext", 2)]
    assert second["snippets"][0]["text"].startswith(
        "Results. <b>Data</b> <b>protection</b> officers were rarely consulted; <b>consent</b>"
    )
    assert "<b>consent</b> in home visits" in second["snippets"][1]["text"]
    _human_output_marks_words_and_pages(library, review_cli)

    # Snippets are HTML: marks in <b>, everything else escaped (titles may hold markup).
    out = review_cli.json("search", "ai-sw", "ethics")
    [hit] = out["results"]
    texts = {s["field"]: s["text"] for s in hit["snippets"]}
    assert texts["title"] == (
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; <b>ethics</b> of chatbots"
    )
    assert texts["abstract"] == "Chatbots &amp; &lt;b&gt;<b>ethics</b>&lt;/b&gt;."


OPERATOR_CASES = [
    ("consent OR bias", (), ["consent-title", "bias", "fulltext-only"]),
    ("consent NOT survey", (), ["consent-title"]),
    ('"home visit"', (), ["summaries", "fulltext-only"]),
    ("summaris*", (), ["summaries"]),
    ("opportunit*", (), ["summaries"]),
    ("author:muller", (), ["consent-title"]),
    ("au:Lindqvist", (), ["summaries"]),
    ("title:bias", (), ["bias"]),
    ("fulltext:unpredictable", (), ["fulltext-only"]),
    ("year:[2019 TO 2021]", (), ["consent-title", "bias"]),
    ("year:[2023 TO]", (), ["summaries", "fulltext-only"]),
    ("risk*", ("--year", "2019-2020"), ["bias"]),
    ("risk* OR consent", ("--year", "2021-"), ["consent-title", "summaries", "fulltext-only"]),
    ("consent", ("--has-fulltext",), ["fulltext-only"]),
    ("consent", ("--no-fulltext",), ["consent-title"]),
    ("keywords:gdpr", (), ["consent-title"]),
]


def test_operators_fields_and_filters(library, review_cli):
    # One library for all cases: building it (import, PDF) costs more than the searches.
    for query, options, expected in OPERATOR_CASES:
        found = sorted(search_ids(review_cli, query, *options))
        assert found == sorted(library[k] for k in expected), (query, options)
    _spelling_and_accents_are_folded(library, review_cli)


BAD_QUERIES = [
    ("", "the query is empty"),
    ("   ", "the query is empty"),
    ("the of and", "the query has no words to search for"),
    ('"data protection', "unbalanced quotes"),
    ("(consent OR gdpr", "unbalanced brackets: the '(' at character 1 is never closed"),
    ("consent)", "unbalanced brackets: the ')' at character 8 closes nothing"),
    ("*", "'*' alone would match everything"),
    ("c*", "put at least 2 letters before a * or ?"),
    ("x" * 10_000, "the query is 10,000 characters long; at most 1,000 are allowed"),
    ("colour:red", "unknown field 'colour'"),
    ("consent AND", "the query has AND with nothing after it"),
    ("OR consent", "the query starts with OR with nothing before it"),
    ("year:recent", "year: write a year"),
    ("decision:include", "decision:... is not part of a query: choose the decision in the"),
    ("question:Q4", "question:... is not part of a query: choose the review question in"),
]


def test_bad_queries_say_what_is_wrong(library, review_cli):
    for query, message in BAD_QUERIES:
        for command in (("search", "ai-sw", query), ("search", "ai-sw", query, "--json")):
            result = review_cli(*command, ok=False)
            assert result.exit_code == 1, query
            assert result.stdout == "", query
            [line] = result.stderr.strip().splitlines()
            assert line.startswith("Error: ") and message in line, (query, line)
    _bad_filters_say_what_is_wrong(library, review_cli)
    _suggest_without_a_theme_query_says_so(library, review_cli)


BAD_FILTERS = [
    (("--question", "Q9"), "no review question 'Q9' in review ai-sw (its questions: Q3, Q4)"),
    (("--year", "2025-2019"), "the first year comes after the last"),
    (("--year", "lately"), "write 2019-2025, 2019-, -2025 or 2020"),
    (("--limit", "0"), "limit 0: give a number from 1 to 1000"),
]


def _bad_filters_say_what_is_wrong(library, review_cli):
    for options, message in BAD_FILTERS:
        result = review_cli("search", "ai-sw", "consent", *options, ok=False)
        assert result.exit_code == 1
        assert message in result.stderr, (options, result.stderr)


def test_a_search_never_shows_another_reviews_records(library, review_cli, tmp_path):
    review_cli("review", "create", "other", "--title", "Another review")
    other = [csl_item("o1", "Consent and data protection elsewhere", 2021)]
    review_cli("import", "other", str(write_library(tmp_path, other, "other.json")))
    [other_id] = ids_by_key(review_cli, "other").values()
    in_ai_sw = search_ids(review_cli, "consent")
    assert other_id not in in_ai_sw
    assert sorted(in_ai_sw) == sorted([library["consent-title"], library["fulltext-only"]])
    assert search_ids(review_cli, "consent", slug="other") == [other_id]


FOLDED = [
    ("behavior", "bias"),  # the abstract says "behaviour"
    ("behaviour", "fulltext-only"),  # page 3 says "behavior"
    ("Muller", "consent-title"),
    ("müller", "consent-title"),
    ("organization", "summaries"),
    ("lindqvist", "summaries"),  # Åsa Lindqvist
    ("asa", "summaries"),
]


def _spelling_and_accents_are_folded(library, review_cli):
    for query, key in FOLDED:
        assert library[key] in search_ids(review_cli, query), query


def test_british_and_american_spellings_meet():
    def meet(a: str, b: str) -> bool:
        return bool(set(analysis.terms(a)) & set(analysis.terms(b)))

    assert meet("behaviour", "behavior") and meet("behavioural", "behavioral")
    assert meet("organisations", "organizations") and meet("analysed", "analyzed")
    assert meet("centre", "center") and meet("paediatric", "pediatric")
    assert meet("programme", "program")
    assert not meet("analysis", "analyze")  # not a verb in -yse
    assert not meet("hour", "hor")


def test_title_matches_rank_above_full_text_matches(review_cli, tmp_path):
    items = [
        csl_item("deep", "A survey of tools", 2020),
        csl_item("titled", "Surveillance", 2020),
    ]
    review_cli("import", "ai-sw", str(write_library(tmp_path, items)))
    ids = ids_by_key(review_cli)
    dense = ["surveillance " * 40 + "\nsurveillance everywhere"] * 5
    review_cli(
        "attach", "ai-sw", str(write_pdf(tmp_path, "d.pdf", dense)), "--record", str(ids["deep"])
    )
    assert search_ids(review_cli, "surveillance") == [ids["titled"], ids["deep"]]


def test_suggest_lists_theme_matches_not_yet_tagged(library, review_cli):
    out = review_cli.json("question", "suggest", "ai-sw", "Q4")
    assert out["question"] == "Q4"
    assert sorted(r["id"] for r in out["results"]) == sorted(
        [library["consent-title"], library["fulltext-only"]]
    )
    review_cli("tag", "ai-sw", str(library["consent-title"]), "Q4")
    out = review_cli.json("question", "suggest", "ai-sw", "q4")
    assert [r["id"] for r in out["results"]] == [library["fulltext-only"]]
    # The tag is in the index at once: the question filter and the result show it.
    tagged = review_cli.json("search", "ai-sw", "consent", "--question", "Q4")
    assert [(r["id"], r["questions"]) for r in tagged["results"]] == [
        (library["consent-title"], ["Q4"])
    ]


def _suggest_without_a_theme_query_says_so(library, review_cli):
    review_cli("question", "add", "ai-sw", "Q6", "Education")
    result = review_cli("question", "suggest", "ai-sw", "Q6", ok=False)
    assert result.exit_code == 1
    assert "review question Q6 has no theme query" in result.stderr


def _settings_and_factory(env):
    settings = load_settings()  # the environment: env, and LITREVIEW_SEARCH above
    engine = sa.create_engine(env["LITREVIEW_DATABASE_URL"])
    return settings, engine, make_session_factory(engine)


def test_a_change_committed_without_an_index_update_is_caught_up_by_the_next_search(
    library, review_cli, env
):
    settings, engine, factory = _settings_and_factory(env)
    try:
        with factory() as session:
            # As if the process died right after its commit: the outbox holds the change.
            record = session.get(Record, library["bias"])
            record.title = "Algorithmic bias and fairness in child welfare risk scores"
            session.commit()
            assert session.scalars(sa.select(SearchOutbox.record_id)).all() == [library["bias"]]
        # The index does not know yet ...
        backend = search.open_backend(settings)
        with factory() as session:
            review = session.get(Record, library["bias"]).review_id
        with factory() as session:
            found = backend.search(session, review, parse("fairness"), search.SearchFilters(), 10)
        assert found.total == 0
        # ... and the next search catches up first.
        assert search_ids(review_cli, "fairness") == [library["bias"]]
        with factory() as session:
            assert session.scalar(sa.select(sa.func.count(SearchOutbox.id))) == 0
    finally:
        engine.dispose()
    _merging_a_duplicate_takes_it_out_of_the_index(library, review_cli)


def test_decision_filters_and_labels_are_screenings_outcomes(library, review_cli, env):
    """Hits show, and the decision filter finds, the outcome screening keeps: a lone
    decision in dual mode is no outcome yet (pending), a resolution settles a conflict."""
    settings, engine, factory = _settings_and_factory(env)
    try:
        with factory() as session:
            review = session.get(Review, session.get(Record, library["bias"]).review_id)
            alice = accounts.create_user(session, "alice@example.org", "a-long-password", actor="t")
            bob = accounts.create_user(session, "bob@example.org", "a-long-password", actor="t")
            accounts.add_member(session, review, alice, "lead", actor="t")
            accounts.add_member(session, review, bob, "reviewer", actor="t")
            reviews.update_settings(session, review, actor="t", screening_mode="dual")
            ta, ft = "title_abstract", "full_text"

            def decide(key, user, stage, decision):
                screening.decide(session, review, library[key], user, stage, decision)

            decide("bias", alice, ta, "include")
            decide("bias", bob, ta, "include")
            decide("bias", alice, ft, "include")
            decide("bias", bob, ft, "include")
            decide("consent-title", alice, ta, "include")
            decide("consent-title", bob, ta, "exclude")
            decide("summaries", alice, ta, "include")
            decide("summaries", bob, ta, "exclude")
            screening.resolve(session, review, library["summaries"], alice, ta, "exclude")
            decide("escape", alice, ta, "include")  # one of two: no outcome yet
            session.commit()
    finally:
        engine.dispose()
    everything = "risk* OR consent OR summaris* OR ethics"
    out = review_cli.json("search", "ai-sw", everything, "--limit", "50")
    decisions = {r["id"]: r["decision"] for r in out["results"]}
    assert decisions == {
        library["bias"]: "include",
        library["consent-title"]: "conflict",
        library["summaries"]: "exclude",
        library["fulltext-only"]: "pending",
        library["escape"]: "pending",
    }
    assert search_ids(review_cli, everything, "--decision", "include") == [library["bias"]]
    assert search_ids(review_cli, everything, "--stage", "full_text") == [library["bias"]]
    assert search_ids(
        review_cli, everything, "--decision", "exclude", "--stage", "title_abstract"
    ) == [library["summaries"]]
    assert search_ids(review_cli, everything, "--decision", "conflict") == [
        library["consent-title"]
    ]
    assert sorted(search_ids(review_cli, everything, "--decision", "pending")) == sorted(
        [library["fulltext-only"], library["escape"]]
    )


def test_reindex_rebuilds_and_a_missing_index_is_rebuilt(library, review_cli, env):
    result = review_cli("reindex", "ai-sw")
    assert "indexed 5 records of ai-sw" in result.stdout
    assert review_cli.json("reindex") == {"review": None, "records": 5}
    shutil.rmtree(load_settings(env).index_dir)
    # A lost index is rebuilt from the database on the next search.
    assert sorted(search_ids(review_cli, "consent")) == sorted(
        [library["consent-title"], library["fulltext-only"]]
    )


def test_a_busy_index_leaves_changes_queued_and_never_fails(library, review_cli, env):
    settings, engine, factory = _settings_and_factory(env)
    backend = search.open_backend(settings)
    try:
        with factory() as session:
            session.get(Record, library["bias"]).title = "Fairness audits"
            session.commit()
        with backend.writer(timeout=1.0):  # another process is writing
            assert search.apply_outbox(factory, backend, timeout=0.2) == 0
            assert search.pending_count(factory) == 1
            # A search still answers meanwhile, from the last committed index.
            assert search_ids(review_cli, "algorithmic") == [library["bias"]]
        assert search.apply_outbox(factory, backend, timeout=1.0) == 1
        assert search_ids(review_cli, "fairness") == [library["bias"]]
    finally:
        engine.dispose()


def _merging_a_duplicate_takes_it_out_of_the_index(library, review_cli):
    review_cli("duplicates", "ai-sw", "--merge", str(library["bias"]), str(library["escape"]))
    # The lead's hook calls sync_after_commit after `duplicates`; a search catches up anyway.
    assert search_ids(review_cli, "chatbots") == []


def _human_output_marks_words_and_pages(library, review_cli):
    result = review_cli("search", "ai-sw", "unpredictable")
    assert f"{library['fulltext-only']}\t2024\tA survey of practitioners" in result.stdout
    assert "    p. 3: " in result.stdout and "*unpredictable*" in result.stdout
    assert "1 of 1 records" in result.stderr


def test_outbox_listener_queues_each_record_once_per_transaction(engine):
    from litreview.library import reviews

    with make_session_factory(engine)() as session:
        review = reviews.create_review(session, "r", "R", "me")
        records = [Record(review_id=review.id, title=f"T{i}") for i in range(3)]
        session.add_all(records)
        session.flush()
        records[0].title = "changed"
        session.flush()
        queued = session.scalars(sa.select(SearchOutbox.record_id).order_by("record_id")).all()
        assert queued == [r.id for r in records]
        session.rollback()  # the changes and their outbox rows go together
        assert session.scalar(sa.select(sa.func.count(SearchOutbox.id))) == 0


def test_bulk_statements_queue_the_records_they_touch(engine):
    from litreview.library import reviews

    with make_session_factory(engine)() as session:
        review = reviews.create_review(session, "r", "R", "me")
        user = User(email="u@example.org")
        records = [Record(review_id=review.id, title=f"T{i}") for i in range(3)]
        session.add_all([user, *records])
        session.flush()
        session.add(
            Decision(
                review_id=review.id,
                record_id=records[1].id,
                user_id=user.id,
                stage="title_abstract",
                decision="include",
            )
        )
        session.commit()
        session.execute(sa.delete(SearchOutbox))
        session.commit()
        # A decision is not in the index: withdrawing one in bulk queues nothing.
        session.execute(
            sa.update(Decision).where(Decision.record_id == records[1].id).values(current=False)
        )
        # What a sync does: many records updated by primary key at once.
        session.execute(sa.update(Record), [{"id": records[2].id, "zotero_key": "ABCD1234"}])
        session.execute(sa.update(Record).where(Record.id == records[0].id).values(title="New"))
        queued = sorted(session.scalars(sa.select(SearchOutbox.record_id)))
        assert queued == [records[0].id, records[2].id]
        session.rollback()


SCRIPT = """
import sys
from pathlib import Path

from litreview.config import load_settings
from litreview.db import make_engine, make_session_factory
from litreview.library import reviews
from litreview.library.imports import import_file

settings = load_settings()
engine = make_engine(settings.database_url)
factory = make_session_factory(engine)
with factory() as session:
    review = reviews.create_review(session, "script", "From a script", "me")
    import_file(session, review, Path(sys.argv[1]), actor="me")
    session.commit()
from litreview import search  # only now: nothing was installed by importing it

with factory() as session:
    review = reviews.get_review(session, "script")
    found = search.search_review(session, search.open_backend(settings), review, "welfare")
    print(found.total)
"""


def test_a_script_that_imports_through_the_domain_alone_is_found_by_search(
    review_cli, env, tmp_path
):
    # A fresh process that never imports litreview.search before its commit, nor the
    # CLI nor the web app: the session factory alone must queue the records. The index
    # exists already (a rebuild from the database would find them whatever was queued).
    review_cli("reindex")
    assert list(Path(env["LITREVIEW_DATA_DIR"]).rglob("meta.json"))
    library = write_library(tmp_path, [csl_item("w", "Child welfare risk scores", 2020)])
    root = Path(__file__).resolve().parents[1]
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script), str(library)],
        capture_output=True,
        text=True,
        env={**os.environ, **env, "PYTHONPATH": str(root)},
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1"]


def test_every_session_factory_queues_for_the_index_however_many_were_made(engine):
    """The outbox wiring holds for each new factory, also after earlier ones were
    garbage collected (SQLAlchemy keys event targets by id(), so listening on each
    sessionmaker once missed about nine factories in ten made this way)."""
    import gc

    with make_session_factory(engine)() as session:
        review_id = reviews.create_review(session, "r", "R", "me").id
        session.commit()
    missed = 0
    for n in range(60):
        factory = make_session_factory(engine)
        with factory() as session:
            session.add(Record(review_id=review_id, title=f"T{n}"))
            session.flush()
            missed += session.scalar(sa.select(sa.func.count(SearchOutbox.id))) == 0
            session.rollback()
        del factory
        if n % 3 == 0:
            gc.collect()
    assert missed == 0
