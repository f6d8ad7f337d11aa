"""What is PostgreSQL's own in its search backend: the words are searchable in the
transaction that writes them, whatever writes them, on every app server at once.

The behaviours every backend shares are in test_search_conformance.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import search
from litreview.config import load_settings
from litreview.db import Base, make_engine, make_session_factory
from litreview.library import reviews
from litreview.migrations import runner as schema
from litreview.models import Attachment, AttachmentPage, Record, Review, SearchOutbox
from litreview.search.postgres_backend import PostgresBackend
from litreview.search.query import parse
from tests.conftest import BACKENDS

pytestmark = pytest.mark.skipif(
    "postgresql" not in BACKENDS, reason="PostgreSQL is skipped (LITREVIEW_TEST_SKIP_POSTGRES)"
)


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    """The run's PostgreSQL database, emptied."""
    engine = sa.create_engine(postgres_url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()
    return postgres_url


@pytest.fixture
def pg(pg_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def review_id(pg: sa.Engine) -> int:
    with make_session_factory(pg, search_outbox=False)() as session:
        review = reviews.create_review(session, "ai-sw", "AI in social work", "t@example.org")
        session.commit()
        return review.id


def found(session: Session, query: str, **options) -> list[str]:
    """The titles a reviewer sees for ``query``, best first."""
    review = session.scalar(sa.select(Review).where(Review.slug == "ai-sw"))
    result = search.search_review(session, PostgresBackend(), review, query, limit=100, **options)
    return [hit.title for hit in result.hits]


def add_fulltext(session: Session, record: Record, pages: list[str]) -> None:
    session.add(
        Attachment(
            review_id=record.review_id,
            record_id=record.id,
            sha256=f"{record.id:064d}",
            created_by="t@example.org",
            pages=[AttachmentPage(page=n, text=text) for n, text in enumerate(pages, start=1)],
        )
    )
    session.flush()


def test_a_record_is_searchable_in_the_transaction_that_writes_it(pg, review_id):
    factory = make_session_factory(pg, search_outbox=False)
    with factory() as session:
        record = Record(review_id=review_id, title="Kinship care and algorithmic triage")
        session.add(record)
        session.flush()
        add_fulltext(session, record, ["Nothing here.", "Foster placements were predicted."])
        # Not committed: the same transaction already finds it, by title and by page.
        assert found(session, "kinship") == ["Kinship care and algorithmic triage"]
        assert found(session, '"foster placements"') == ["Kinship care and algorithmic triage"]
        record.title = "Respite care and algorithmic triage"
        session.flush()
        assert found(session, "kinship") == []
        assert found(session, "respite") == ["Respite care and algorithmic triage"]
        session.rollback()
        # Rolled back: nothing of it is left to find, and nothing waits to be indexed.
        assert found(session, "respite") == []
        assert found(session, "foster") == []
        assert session.scalar(sa.select(sa.func.count(SearchOutbox.id))) == 0


def test_two_app_servers_see_the_same_at_once(pg_url, review_id):
    # Two engines: two app servers (or a web worker and a command) on one database.
    first, second = make_engine(pg_url), make_engine(pg_url)
    try:
        with make_session_factory(first, search_outbox=False)() as session:
            session.add(Record(review_id=review_id, title="Chatbots in duty social work"))
            session.commit()
        with make_session_factory(second, search_outbox=False)() as session:
            assert found(session, "chatbot") == ["Chatbots in duty social work"]
        with make_session_factory(second, search_outbox=False)() as session:
            session.execute(sa.update(Record).values(title="Voice assistants in duty work"))
            session.commit()
        with make_session_factory(first, search_outbox=False)() as session:
            assert found(session, "chatbot") == []
            assert found(session, "voice assistants") == ["Voice assistants in duty work"]
    finally:
        first.dispose()
        second.dispose()


def test_core_inserts_are_searchable_without_the_orm(pg, review_id):
    # What a fast import or a restore does: plain INSERTs, no session, no listener.
    with pg.begin() as conn:
        conn.execute(
            sa.insert(Record.__table__),
            [
                {"review_id": review_id, "title": f"Record {n} on care leavers", "year": 2020,
                 "authors": [{"family": "Ó Súilleabháin", "given": "Seán"}],
                 "keywords": ["leaving care", "GDPR"], "abstract": "Housing after care."}
                for n in range(3)
            ],
        )  # fmt: skip
        [record_id] = conn.execute(
            sa.insert(Record.__table__).returning(Record.id),
            [{"review_id": review_id, "title": "A survey", "authors": [], "keywords": []}],
        ).scalars()
        attachment = conn.execute(
            sa.insert(Attachment.__table__).returning(Attachment.id),
            [{"review_id": review_id, "record_id": record_id, "sha256": "0" * 64,
              "kind": "pdf", "status": "ok", "origin": "upload", "created_by": "t"}],
        ).scalar_one()  # fmt: skip
        conn.execute(
            sa.insert(AttachmentPage.__table__),
            [{"attachment_id": attachment, "page": 7, "text": "Care leavers need housing."}],
        )
    with make_session_factory(pg, search_outbox=False)() as session:
        assert len(found(session, "author:Suilleabhain")) == 3
        assert len(found(session, "keywords:gdpr AND seán")) == 3
        assert found(session, "fulltext:housing") == ["A survey"]
        review = session.get(Review, review_id)
        [hit] = search.search_review(session, PostgresBackend(), review, "fulltext:housing").hits
        assert [(s.field, s.page) for s in hit.snippets] == [("fulltext", 7)]


def test_words_split_as_every_backend_splits_them(pg, review_id):
    with make_session_factory(pg, search_outbox=False)() as session:
        for title in (
            "COVID-19 and remote child protection visits",
            "Risk scores 3.5 times higher: see www.example.org/report or ask info@example.org",
            "Children’s views on AI-assisted recording",
            "Chatbots & <i>ethics</i> in C++/Python tools",
        ):
            session.add(Record(review_id=review_id, title=title))
        session.flush()
        # A hyphen, a point, a slash, an @ split words: no "-19", "3.5" or host name token.
        assert found(session, "covid-19") == ["COVID-19 and remote child protection visits"]
        assert found(session, '"covid 19"') == ["COVID-19 and remote child protection visits"]
        assert found(session, "title:19") == ["COVID-19 and remote child protection visits"]
        scores = "Risk scores 3.5 times higher: see www.example.org/report or ask info@example.org"
        assert found(session, "3.5") == [scores]
        assert found(session, "example") == [scores]
        assert found(session, "report AND info") == [scores]
        assert found(session, "children's") == ["Children’s views on AI-assisted recording"]
        assert found(session, '"ai assisted"') == ["Children’s views on AI-assisted recording"]
        assert found(session, "ethics AND python") == [
            "Chatbots & <i>ethics</i> in C++/Python tools"
        ]


def test_query_text_never_reaches_postgresql_as_syntax(pg, review_id):
    # tsquery's own operators and quotes in what a reviewer types are words or nothing.
    with make_session_factory(pg, search_outbox=False)() as session:
        session.add(Record(review_id=review_id, title="O'Brien's notes on care & control"))
        session.flush()
        queries = ["O'Brien", "care & control", "care | control", "care&control", "!care"]
        queries += ["care <-> control", "'care'", "\\care", "care*", '"o brien s"', "(care)"]
        for query in queries:
            assert found(session, query) == ["O'Brien's notes on care & control"], query


def test_a_phrase_never_runs_from_one_page_into_the_next(pg, review_id):
    with make_session_factory(pg, search_outbox=False)() as session:
        record = Record(review_id=review_id, title="A long report")
        session.add(record)
        session.flush()
        filler = " ".join(["practice"] * 500)
        pages = [filler] * 59
        pages[0] = f"{filler} data"  # page 1 ends with "data"
        pages[1] = f"protection {filler}"  # page 2 begins with "protection"
        pages[58] = f"{filler} duty of care {filler}"  # past 16,383 words of the report
        add_fulltext(session, record, pages)
        assert found(session, '"data protection"') == []
        assert found(session, "data AND protection") == ["A long report"]
        review = session.get(Review, review_id)
        [hit] = search.search_review(session, PostgresBackend(), review, '"duty of care"').hits
        assert [(s.field, s.page) for s in hit.snippets] == [("fulltext", 59)]


def test_phrases_in_abstracts_and_pages_are_words_in_a_row(pg, review_id):
    # Two words are one term of the abstract's and the pages' vectors; three are their
    # pairs and their positions; spellings count in both.
    with make_session_factory(pg, search_outbox=False)() as session:
        record = Record(
            review_id=review_id,
            title="Officers",
            abstract="Data protection, then protection officers; behavior change.",
        )
        session.add(record)
        session.flush()
        add_fulltext(session, record, ["Informed consent forms.", "Consent informed them."])
        assert found(session, '"data protection"') == ["Officers"]
        assert found(session, 'abstract:"behaviour change"') == ["Officers"]
        assert found(session, '"protection officers"') == ["Officers"]
        assert found(session, '"data protection officers"') == []  # both pairs, not in a row
        assert found(session, '"protection data"') == []
        assert found(session, 'fulltext:"informed consent forms"') == ["Officers"]
        assert found(session, 'fulltext:"consent informed"') == ["Officers"]
        assert found(session, 'fulltext:"forms consent"') == []  # across pages


def test_merged_records_are_left_out_and_the_rank_follows_the_field(pg, review_id):
    with make_session_factory(pg, search_outbox=False)() as session:
        kept = Record(review_id=review_id, title="Safeguarding audits")
        in_abstract = Record(review_id=review_id, title="Audits", abstract="Safeguarding leads.")
        in_text = Record(review_id=review_id, title="Audit practice")
        session.add_all([kept, in_abstract, in_text])
        session.flush()
        merged = Record(review_id=review_id, title="Safeguarding audits.", merged_into_id=kept.id)
        session.add(merged)
        add_fulltext(session, in_text, ["Safeguarding was discussed.", "Safeguarding again."])
        assert found(session, "safeguarding") == [
            "Safeguarding audits",
            "Audits",
            "Audit practice",
        ]


def test_large_id_filters_compose_with_the_query(pg, review_id):
    with make_session_factory(pg, search_outbox=False)() as session:
        records = [Record(review_id=review_id, title=f"Respite care {n}") for n in range(3000)]
        session.add_all(records)
        session.flush()
        ids = [r.id for r in records]
        review = session.get(Review, review_id)
        backend = PostgresBackend()
        only = search.SearchFilters(only_ids=frozenset(ids[:2500]))
        assert backend.search(session, review.id, parse("respite"), only, 5).total == 2500
        both = search.SearchFilters(
            only_ids=frozenset(ids[:2500]), except_ids=frozenset(ids[:2000])
        )
        result = backend.search(session, review.id, parse("respite"), both, 1000)
        assert result.total == 500 and {h.record_id for h in result.hits} == set(ids[2000:2500])
        assert sorted(backend.record_ids(review.id, session=session)) == ids


def test_records_written_before_the_migration_are_searchable_after_it(pg_url, pg, review_id):
    schema.downgrade(pg_url, "0003")  # the revision before the search migration
    try:
        with Session(pg) as session:
            session.add(Record(review_id=review_id, title="Written before search existed"))
            session.commit()
    finally:
        schema.upgrade(pg_url)
    with make_session_factory(pg, search_outbox=False)() as session:
        assert found(session, "existed") == ["Written before search existed"]


def test_with_postgres_search_nothing_is_queued_and_no_index_folder_is_made(
    pg_url, tmp_path, monkeypatch
):
    from click.testing import CliRunner

    from litreview.cli.main import cli
    from tests.conftest import add_admin
    from tests.evidence import csl_item, write_library

    env = {
        "LITREVIEW_DATABASE_URL": pg_url,
        "LITREVIEW_DATA_DIR": str(tmp_path / "data"),
        "LITREVIEW_USER": "tester@example.org",
    }  # LITREVIEW_SEARCH left out: postgres is the default on PostgreSQL
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert load_settings().search == "postgres" and not load_settings().search_outbox
    runner = CliRunner()
    add_admin(pg_url, env["LITREVIEW_USER"])
    for args in (
        ["review", "create", "ai-sw", "--title", "AI"],
        ["import", "ai-sw", str(write_library(tmp_path, [csl_item("a", "Kinship care", 2020)]))],
    ):
        result = runner.invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(sa.select(sa.func.count(SearchOutbox.id))) == 0
    finally:
        engine.dispose()
    out = runner.invoke(cli, ["search", "ai-sw", "kinship", "--json"], catch_exceptions=False)
    answer = json.loads(out.stdout)
    assert [r["title"] for r in answer["results"]] == ["Kinship care"]
    assert answer["not_searchable"] == 0
    assert not (tmp_path / "data" / "index").exists()
