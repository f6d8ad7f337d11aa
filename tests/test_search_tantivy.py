"""What is tantivy's own: its lock across processes (and after kill -9), its folders,
its analysis against litreview's, and the indexing flow around it: imports that do not
wait for the index, --wait-index, "not yet searchable", catching up.

The behaviours every engine shares are in tests/test_search_conformance.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
import tantivy

from litreview import search
from litreview.config import load_settings
from litreview.db import make_engine, make_session_factory
from litreview.errors import Invalid
from litreview.library import reviews
from litreview.models import Record, SearchOutbox
from litreview.search import analysis, outbox
from litreview.search.documents import RecordDoc
from litreview.search.query import parse
from litreview.search.tantivy_backend import TantivyBackend
from tests.evidence import csl_item, search_ids, write_library
from tests.webapp import make_site

ROOT = Path(__file__).resolve().parents[1]
WORDS = (
    "care risk family child social work data consent record practice assessment "
    "protection service support decision worker model study evidence outcome"
).split()


@pytest.fixture(autouse=True)
def tantivy_everywhere(monkeypatch):
    monkeypatch.setenv("LITREVIEW_SEARCH", "tantivy")


@pytest.fixture
def backend(tmp_path):
    found = TantivyBackend(tmp_path / "index")
    yield found
    found.close()


def _search(backend, review_id, text, limit=1000):
    return backend.search(None, review_id, parse(text), search.SearchFilters(), limit)


# --- the engine ------------------------------------------------------------------------


def test_totals_are_exact_over_many_segments(backend):
    for batch in range(4):  # four commits: four segments
        with backend.writer(timeout=5) as writer:
            for n in range(60):
                title = "regulation " * (1 + n % 7) + f"study {batch}-{n}"
                writer.add(RecordDoc(record_id=batch * 100 + n, review_id=1, title=title))
    result = backend.search(None, 1, parse("regulation"), search.SearchFilters(), 5)
    assert (result.total, len(result.hits)) == (240, 5)
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)
    assert _search(backend, 2, "regulation").total == 0
    assert sorted(backend.record_ids(1)) == sorted(b * 100 + n for b in range(4) for n in range(60))


# Words as the text has them, and as a person may type them.
SPELLINGS = [
    ("COVID-19", ["covid", "19", '"covid 19"', "COVID-19"]),
    ("children's", ["children", "children's"]),
    ("don’t", ["don"]),
    ("3D-printed", ["3d", "printed"]),
    ("Müller", ["muller", "Müller", "MÜLLER"]),
    ("Mu\u0308ller", ["mu", "ller"]),  # a decomposed accent splits the word, as WORD does
    ("Straße", ["strasse", "Straße"]),
    ("İstanbul", ["istanbul", "İstanbul"]),
    ("Łódź", ["lodz", "Łódź"]),
    ("ﬁnance", ["finance", "ﬁnance"]),
    ("Ærø", ["aero", "Ærø"]),
    ("naïve", ["naive", "naïve"]),
    ("Ħal Far", ["Ħal"]),
    ("x² 1,000", ["x2", "1", "000"]),
]


def test_words_split_and_fold_as_litreviews_analysis_says(backend):
    docs = [
        RecordDoc(record_id=n, review_id=1, title=text) for n, (text, _) in enumerate(SPELLINGS)
    ]
    with backend.writer(timeout=5) as writer:
        for doc in docs:
            writer.add(doc)
    for n, (text, typed) in enumerate(SPELLINGS):
        assert [w for w in analysis.WORD.findall(text)] == analysis.words(text)
        for query in typed:
            found = [h.record_id for h in _search(backend, 1, query).hits]
            assert n in found, (text, query, found)


def test_every_latin_letter_is_found_typed_as_it_stands_or_folded(backend):
    # Latin-1, Latin Extended-A and -B, Latin Extended Additional (Vietnamese, Welsh...)
    codes = [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]
    letters = [chr(c) for c in codes if chr(c).isalpha()]
    with backend.writer(timeout=5) as writer:
        for n, letter in enumerate(letters):
            writer.add(RecordDoc(record_id=n, review_id=1, title=f"x{letter}x"))
    missed = []
    for n, letter in enumerate(letters):
        for typed in {f"x{letter}x", analysis.fold(f"x{letter}x")}:
            if n not in [h.record_id for h in _search(backend, 1, f"title:{typed}").hits]:
                missed.append((letter, typed))
    assert missed == []


def test_a_prefix_matching_too_many_words_is_refused(backend):
    with backend.writer(timeout=5) as writer:
        for n in range(600):
            writer.add(RecordDoc(record_id=n, review_id=1, title=f"zq{n:04d} study"))
    assert _search(backend, 1, "zq000*").total == 10
    with pytest.raises(Invalid, match=r"zq\* matches more than 500 different words"):
        _search(backend, 1, "zq*")


def test_a_writer_that_fails_changes_nothing_and_a_rebuild_replaces_at_its_commit(backend):
    with backend.writer(timeout=5) as writer:
        writer.add(RecordDoc(record_id=1, review_id=1, title="kinship care"))
    with pytest.raises(RuntimeError), backend.writer(timeout=5) as writer:
        writer.delete_record(1)
        writer.add(RecordDoc(record_id=2, review_id=1, title="kinship foster care"))
        raise RuntimeError("the process fails mid-way")
    assert [h.record_id for h in _search(backend, 1, "kinship").hits] == [1]
    # A rebuild: searches see the old index until the new one is committed whole.
    backend.create()
    with pytest.raises(RuntimeError), backend.writer(timeout=5) as writer:
        writer.add(RecordDoc(record_id=3, review_id=1, title="kinship"))
        raise RuntimeError("the rebuild dies")
    assert [h.record_id for h in _search(backend, 1, "kinship").hits] == [1]
    with backend.writer(timeout=5) as writer:  # the next block (an update) keeps it all
        writer.add(RecordDoc(record_id=4, review_id=1, title="kinship"))
    assert sorted(h.record_id for h in _search(backend, 1, "kinship").hits) == [1, 4]
    backend.create()
    with backend.writer(timeout=5) as writer:  # a rebuild that commits replaces it
        writer.add(RecordDoc(record_id=5, review_id=1, title="kinship"))
    assert [h.record_id for h in _search(backend, 1, "kinship").hits] == [5]


def test_an_index_of_another_schema_version_is_left_for_a_new_one(tmp_path):
    old = tmp_path / "index" / "v0"
    old.mkdir(parents=True)
    (old / "meta.json").write_text("{}", encoding="utf-8")
    backend = TantivyBackend(tmp_path / "index")
    assert not backend.exists()
    backend.create()
    assert backend.exists() and not old.exists()
    backend.close()


def test_one_writer_at_a_time_and_a_busy_index_is_said_so(backend):
    with backend.writer(timeout=5):
        other = TantivyBackend(backend.root)  # as another process would open it
        started = time.monotonic()
        with pytest.raises(search.IndexBusy, match="being written by another process"):
            with other.writer(timeout=0.3):
                pass
        assert time.monotonic() - started >= 0.3
    with other.writer(timeout=0.3) as writer:  # free again once the block is over
        writer.add(RecordDoc(record_id=1, review_id=1, title="free"))
    assert _search(backend, 1, "free").total == 1


# --- processes killed mid-write --------------------------------------------------------


def _bulk_records(engine: sa.Engine, review_id: int, count: int, *, queue: bool) -> None:
    """``count`` records with abstracts of 150 words, inserted in bulk (and queued for
    the index when ``queue``, as the outbox listener would)."""
    rows = [
        {
            "review_id": review_id,
            "title": f"Bulk record {n}: " + " ".join(WORDS[(n + k) % len(WORDS)] for k in range(8)),
            "abstract": " ".join(WORDS[(n * 7 + k * 3) % len(WORDS)] for k in range(150)),
            "year": 2000 + n % 25,
            "authors": [{"family": f"Author{n}", "given": "A."}],
            "keywords": [],
            "type": "article-journal",
        }
        for n in range(count)
    ]
    with make_session_factory(engine)() as session:
        session.execute(sa.insert(Record.__table__), rows)
        if queue:
            ids = session.scalars(sa.select(Record.id).where(Record.review_id == review_id))
            outbox.queue_records(session, review_id, ids)
        session.commit()


def _writer_held(path: Path) -> bool:
    """Whether some process holds the index's write lock now (asked as tantivy asks)."""
    if not (path / "meta.json").is_file():
        return False
    try:
        writer = tantivy.Index.open(str(path)).writer(15_000_000, 1)
    except ValueError as exc:
        assert "LockBusy" in str(exc)
        return True
    writer.rollback()
    del writer
    return False


def _kill_when_writing(process: subprocess.Popen, path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not _writer_held(path):
        assert process.poll() is None, "it finished before it was caught writing"
        assert time.monotonic() < deadline, "it never started writing"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(30)


def _spawn(env: dict[str, str], *args: str) -> subprocess.Popen:
    code = "import sys\nfrom litreview.cli.main import cli\nsys.exit(cli())"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _live_ids(engine: sa.Engine, review_id: int) -> list[int]:
    with engine.connect() as conn:
        return sorted(
            conn.scalars(
                sa.select(Record.id).where(
                    Record.review_id == review_id, Record.merged_into_id.is_(None)
                )
            )
        )


def _import_and_find_at_once(review_cli, tmp_path, word: str) -> dict:
    """Import one record and search for it; both must be done in seconds, not wait."""
    library = write_library(
        tmp_path, [csl_item(word, f"A study of {word} care", 2024)], f"{word}.json"
    )
    started = time.monotonic()
    review_cli("import", "ai-sw", str(library))
    found = review_cli.json("search", "ai-sw", word)
    assert time.monotonic() - started < 15
    return found


@pytest.mark.parametrize("index_before", [True, False], ids=["rebuild", "first-build"])
def test_a_reindex_killed_mid_build_never_leaves_the_index_locked(
    review_cli, env, tmp_path, index_before
):
    settings = load_settings(env)
    engine = make_engine(env["LITREVIEW_DATABASE_URL"])
    backend = TantivyBackend(settings.index_dir / "tantivy")
    try:
        with make_session_factory(engine)() as session:
            review_id = reviews.get_review(session, "ai-sw").id
        _bulk_records(engine, review_id, 6000, queue=False)
        if index_before:
            review_cli("reindex")
        else:
            shutil.rmtree(settings.index_dir)  # no index yet: this build is the first
        reindex = _spawn(env, "reindex")
        _kill_when_writing(reindex, backend.path)
        assert reindex.returncode == -signal.SIGKILL

        found = _import_and_find_at_once(review_cli, tmp_path, "kinship")
        if index_before:  # the old index stands, whole: the new record is found at once
            assert [r["title"] for r in found["results"]] == ["A study of kinship care"]
            assert found["not_searchable"] == 0
        else:  # the records the build did not commit wait in the outbox, and it says so
            assert found["not_searchable"] > 0
        assert "records queued" not in review_cli("reindex", "--catch-up").stdout
        assert search_ids(review_cli, "kinship")
        assert review_cli.json("search", "ai-sw", "kinship")["not_searchable"] == 0
        assert list(backend.record_ids(review_id)) == _live_ids(engine, review_id)
    finally:
        backend.close()
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_web_worker_killed_while_it_indexes_never_leaves_the_index_locked(
    review_cli, env, tmp_path
):
    settings = load_settings(env)
    engine = make_engine(env["LITREVIEW_DATABASE_URL"])
    backend = TantivyBackend(settings.index_dir / "tantivy")
    port = _free_port()
    server = _spawn(env, "serve", "--port", str(port))
    try:
        review_cli("reindex")
        with make_session_factory(engine)() as session:
            review_id = reviews.get_review(session, "ai-sw").id
        _bulk_records(engine, review_id, 8000, queue=True)  # as a large import leaves them
        deadline = time.monotonic() + 60
        while True:  # the server's first request starts its indexer on the outbox
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/signin", timeout=5).read()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        _kill_when_writing(server, backend.path)

        found = _import_and_find_at_once(review_cli, tmp_path, "guardianship")
        assert found["not_searchable"] > 0  # what the killed worker had not applied yet
        review_cli("reindex", "--catch-up")
        assert search_ids(review_cli, "guardianship")
        assert list(backend.record_ids(review_id)) == _live_ids(engine, review_id)
        with make_session_factory(engine)() as session:
            assert session.scalar(sa.select(sa.func.count(SearchOutbox.id))) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(30)
        backend.close()
        engine.dispose()


# --- imports that do not wait for the index --------------------------------------------


def _items(prefix: str, count: int) -> list[dict]:
    return [
        csl_item(f"{prefix}{n}", f"Foster care placement study {prefix}{n}", 2020)
        for n in range(count)
    ]


def test_a_large_import_returns_before_its_records_are_all_searchable(
    review_cli, tmp_path, monkeypatch
):
    monkeypatch.setattr(outbox, "CATCH_UP_LIMIT", 10)  # "large" for a test
    result = review_cli("import", "ai-sw", str(write_library(tmp_path, _items("a", 60))))
    assert "the search index is catching up: 50 records queued, not searchable yet" in (
        result.stdout
    )
    # Each search applies a bounded part more, and says how much is still missing.
    out = review_cli.json("search", "ai-sw", "foster")
    assert (out["total"], out["not_searchable"]) == (20, 40)
    result = review_cli("search", "ai-sw", "foster")
    assert "30 records not yet searchable: the index is catching up" in result.stderr
    result = review_cli("reindex", "--catch-up")
    assert result.stdout.strip() == "indexed 30 queued records"
    out = review_cli.json("search", "ai-sw", "foster", "--limit", "100")
    assert (out["total"], out["not_searchable"]) == (60, 0)

    # --wait-index: everything searchable when the command returns; a bar on stderr.
    result = review_cli(
        "import", "ai-sw", str(write_library(tmp_path, _items("b", 40), "b.json")), "--wait-index"
    )
    assert "catching up" not in result.stdout and "indexing" in result.stderr
    summary = review_cli.json(
        "import", "ai-sw", str(write_library(tmp_path, _items("c", 40), "c.json")), "--wait-index"
    )
    assert (summary["imported"], summary["not_searchable"]) == (40, 0)
    out = review_cli.json("search", "ai-sw", "foster", "--limit", "1")
    assert (out["total"], out["not_searchable"]) == (140, 0)


def test_the_search_page_says_what_is_not_searchable_yet(env, database_url, monkeypatch):
    monkeypatch.setattr(outbox, "CATCH_UP_LIMIT", 5)
    with make_site(database_url) as site:
        site.add_records(30, title="Kinship care placements")
        lead = site.client("lead@example.org")
        page = lead.page("/r/ai-sw/search?q=kinship")
        assert "records are not searchable yet" in page
        assert '<strong id="hit-count">5</strong>' in page
        # The page nudged the indexer: it applies the rest in the background.
        assert site.app.extensions["litreview.indexer"].wait_idle(60)
        page = lead.page("/r/ai-sw/search?q=kinship")
        assert "not searchable yet" not in page
        assert '<strong id="hit-count">30</strong>' in page
