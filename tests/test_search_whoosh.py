"""What is the Whoosh backend's own: its lock after a kill -9, its schema versions, its
analyzer, exact totals and top hits over several segments, Whoosh's public API only.

What every backend must do alike is in tests/test_search_conformance.py.
"""

from __future__ import annotations

import ast
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from whoosh import fields
from whoosh import index as whoosh_index
from whoosh.collectors import UnlimitedCollector

from litreview.db import make_engine
from litreview.errors import Invalid
from litreview.models import SearchOutbox
from litreview.search import analysis
from litreview.search import query as ql
from litreview.search.backend import SearchFilters
from litreview.search.documents import RecordDoc
from litreview.search.whoosh_backend import WhooshBackend
from litreview.search.whoosh_query import translate
from litreview.search.whoosh_schema import (
    INDEX_NAME,
    folding_analyzer,
    index_words,
    stemming_analyzer,
)
from tests.evidence import csl_item, search_ids, write_library
from tests.test_search_tantivy import SPELLINGS

ROOT = Path(__file__).resolve().parents[1]
SEARCH = ROOT / "litreview" / "search"


@pytest.fixture
def backend(tmp_path):
    backend = WhooshBackend(tmp_path / "whoosh")
    yield backend
    backend.close()


def found(backend, text, review_id=1, limit=20, **filters):
    result = backend.search(None, review_id, ql.parse(text), SearchFilters(**filters), limit)
    return result.total, [hit.record_id for hit in result.hits]


# ------------------------------------------------------------------ a killed writer

WRITER = """
import os, sys, time
from pathlib import Path
from litreview.search.documents import RecordDoc
from litreview.search.whoosh_backend import WhooshBackend

backend = WhooshBackend(Path(sys.argv[1]))
with backend.writer(timeout=10) as writer:
    if sys.argv[2] == "fork":  # a worker forked while the lock is held, outliving us
        child = os.fork()
        if child == 0:
            time.sleep(120)
            os._exit(0)
        print(child, flush=True)
    n = 0
    while True:  # writing until killed
        writer.add(RecordDoc(record_id=1000 + n, review_id=1, title=f"unfinished {n}"))
        n += 1
        if n == 300:
            print("writing", flush=True)
"""


def _killed_mid_write(backend: WhooshBackend, tmp_path: Path, mode: str) -> int | None:
    """Run a writer in another process and kill -9 it while it holds the lock; the pid
    of the child it forked, if any."""
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(WRITER), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(backend.index_dir), mode],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    child = int(proc.stdout.readline()) if mode == "fork" else None
    assert proc.stdout.readline().strip() == "writing"
    lock = backend.index_dir / f"{INDEX_NAME}_WRITELOCK"
    assert lock.read_text().strip() == str(proc.pid)  # it holds the lock right now
    with pytest.raises(Exception, match=f"busy: process {proc.pid} is writing it"):
        with backend.writer(timeout=0.2):
            pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    return child


@pytest.mark.parametrize("mode", ["alone", "fork"])
def test_a_writer_killed_mid_write_leaves_the_index_to_the_next_within_seconds(
    backend, tmp_path, mode
):
    with backend.writer(timeout=5) as writer:
        writer.add(RecordDoc(record_id=1, review_id=1, title="Finished before the kill"))
    child = _killed_mid_write(backend, tmp_path, mode)
    try:
        if child is not None:
            os.kill(child, 0)  # the forked child lives on (raises if it does not)
        start = time.monotonic()
        with backend.writer(timeout=30) as writer:
            waited = time.monotonic() - start
            writer.add(RecordDoc(record_id=2, review_id=1, title="Written after the kill"))
        assert waited < 3, f"the next writer waited {waited:.1f} s for the lock"
    finally:
        if child is not None:
            os.kill(child, signal.SIGKILL)
    # What was committed is whole; what the killed writer had not committed is not there,
    # and its leftovers went with the next commit.
    assert found(backend, "finished OR written") == (2, [1, 2])
    assert found(backend, "unfinished") == (0, [])
    assert not [p for p in backend.index_dir.iterdir() if p.name.endswith(".tmp")]


RECORDS = 1500


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_kill_9_of_reindex_leaves_import_and_search_working_within_seconds(
    review_cli, env, tmp_path, monkeypatch
):
    monkeypatch.setenv("LITREVIEW_SEARCH", "whoosh")
    items = [
        csl_item(f"r{n}", f"Risk scores in child welfare, study {n}", 2000 + n % 25,
                 abstract="Caseworkers and algorithms. " * 20)
        for n in range(RECORDS)
    ]  # fmt: skip
    review_cli("import", "ai-sw", str(write_library(tmp_path, items)))
    assert len(search_ids(review_cli, "caseworkers")) == 100
    index_dir = Path(env["LITREVIEW_DATA_DIR"]) / "index" / "whoosh"
    lock = index_dir / f"{INDEX_NAME}_WRITELOCK"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from litreview.cli.main import cli; cli()", "reindex"],
        env={**os.environ, **env, "LITREVIEW_SEARCH": "whoosh", "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while lock.read_text().strip() != str(proc.pid):  # the reindex is writing
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    start = time.monotonic()
    more = [csl_item("new", "Chatbots for caseworkers", 2024)]
    review_cli("import", "ai-sw", str(write_library(tmp_path, more, "more.json")))
    # The import's own index update had the lock (it waits 5 s at most, then leaves
    # its records queued for later).
    engine = make_engine(env["LITREVIEW_DATABASE_URL"])
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count(SearchOutbox.id))) == 0
    engine.dispose()
    out = review_cli.json("search", "ai-sw", "caseworkers", "--limit", "5")
    took = time.monotonic() - start
    # The index the reindex was replacing is whole, and the new record is in it.
    assert (out["total"], out["not_searchable"]) == (RECORDS + 1, 0)
    assert out["results"][0]["title"] == "Chatbots for caseworkers"
    assert took < 60, f"import and search after the kill took {took:.1f} s"


# ------------------------------------------------------------------ schema versions


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_index_of_another_schema_version_is_rebuilt_and_its_files_removed(
    review_cli, env, tmp_path, monkeypatch
):
    monkeypatch.setenv("LITREVIEW_SEARCH", "whoosh")
    items = [csl_item("a", "Consent in case recording", 2021), csl_item("b", "Bias", 2019)]
    review_cli("import", "ai-sw", str(write_library(tmp_path, items)))
    index_dir = Path(env["LITREVIEW_DATA_DIR"]) / "index" / "whoosh"
    # As an older litreview left it: its index (another name, another schema) alone.
    for path in index_dir.iterdir():
        path.unlink()
    old = whoosh_index.create_in(index_dir, fields.Schema(title=fields.TEXT), "litreview_v5")
    with old.writer() as writer:
        writer.add_document(title="Consent in case recording")
    old.close()
    assert not WhooshBackend(index_dir).exists()

    assert len(search_ids(review_cli, "consent")) == 1  # rebuilt from the database
    assert WhooshBackend(index_dir).exists()
    assert not [p.name for p in index_dir.iterdir() if "litreview_v5" in p.name]


# ------------------------------------------------------------------ analysis, ranking


def test_the_index_analyzers_make_the_terms_the_analysis_module_makes():
    text = "Müller's STRASSE-straße, naïve Æsir 2nd_edition behaviours; Łódź élan 3.5 ﬁnal"
    stems = [token.text for token in stemming_analyzer()(text)]
    folded = [token.text for token in folding_analyzer()(text)]
    assert stems == [analysis.term(w) for w in analysis.words(text)]
    assert stems[:4] == ["muller", "s", "strass", "strass"]
    assert folded[:5] == ["muller", "s", "strasse", "strasse", "naive"]
    # What the writer gives Whoosh instead of running the analyzers: the same tokens.
    assert index_words(text) == (stems, folded)


def test_top_hits_and_totals_are_exact_over_several_segments(backend):
    # Whoosh's default collector (searcher.search(q, limit=5)) skips blocks it thinks
    # cannot reach the top: on this index it returns five hits that are not the five
    # best. The backend's collector scores and counts every match.
    rng = random.Random(1)
    words = ["data", "care", "risk", "social", "work"]
    n = 0
    for size in (400, 300, 200, 5):  # four commits: four segments
        with backend.writer(timeout=5) as writer:
            for _ in range(size):
                n += 1
                title = "regulation " * rng.randint(1, 5) + " ".join(
                    rng.choice(words) for _ in range(rng.randint(2, 30))
                )
                abstract = "regulation data " * rng.randint(0, 3)
                writer.add(RecordDoc(record_id=n, review_id=1, title=title, abstract=abstract))
    query = ql.parse("regulation OR data")
    ix = whoosh_index.open_dir(backend.index_dir, indexname=INDEX_NAME, schema=backend.schema)
    with ix.searcher() as s:
        q = translate(query, s)
        everything = UnlimitedCollector()
        s.search_with_collector(q, everything)
        ranked = [int(hit["record_id"]) for hit in everything.results()]
        exact = len(list(s.docs_for_query(q)))
        whooshs = [int(hit["record_id"]) for hit in s.search(q, limit=5)]
    ix.close()
    assert exact == 905 == len(ranked)
    assert whooshs != ranked[:5]  # the case this test is for
    assert found(backend, "regulation OR data", limit=5) == (905, ranked[:5])
    assert found(backend, "regulation OR data", limit=5, except_ids=frozenset(ranked[:2])) == (
        903,
        ranked[2:7],
    )


def test_a_prefix_of_too_many_words_is_refused_with_a_message(backend):
    with backend.writer(timeout=5) as writer:
        for n in range(600):
            writer.add(RecordDoc(record_id=n, review_id=1, title=f"zq{n:04d} study"))
    assert found(backend, "zq000*", limit=100)[0] == 10
    with pytest.raises(Invalid, match=r"zq\* matches more than 500 different words"):
        found(backend, "zq*")


def test_words_split_and_fold_as_litreviews_analysis_says(backend):
    # The spellings tantivy's tests hold it to, on Whoosh.
    with backend.writer(timeout=5) as writer:
        for n, (text, _) in enumerate(SPELLINGS):
            writer.add(RecordDoc(record_id=n, review_id=1, title=text))
    for n, (text, typed) in enumerate(SPELLINGS):
        for query in typed:
            hits = found(backend, query, limit=100)[1]
            assert n in hits, (text, query, hits)


def test_every_latin_letter_is_found_typed_as_it_stands_or_folded(backend):
    codes = [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]
    letters = [chr(c) for c in codes if chr(c).isalpha()]
    with backend.writer(timeout=5) as writer:
        for n, letter in enumerate(letters):
            writer.add(RecordDoc(record_id=n, review_id=1, title=f"x{letter}x"))
    missed = []
    for n, letter in enumerate(letters):
        for typed in {f"x{letter}x", analysis.fold(f"x{letter}x")}:
            if n not in found(backend, f"title:{typed}", limit=1000)[1]:
                missed.append((letter, typed))
    assert missed == []


# ------------------------------------------------------------------ public API only


def _private_uses(path: Path) -> list[str]:
    """Underscore names reached on anything but our own objects and modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    ours = {"self", "cls"}
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("whoosh"):
            bad += [
                f"from {node.module} import {a.name}" for a in node.names if a.name.startswith("_")
            ]
            if any(part.startswith("_") for part in node.module.split(".")):
                bad.append(f"from {node.module}")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            if not node.attr.startswith("__") and not (
                isinstance(node.value, ast.Name) and node.value.id in ours
            ):
                bad.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.keyword) and (node.arg or "").startswith("_"):
            bad.append(f"line {node.lineno}: {node.arg}=")
    return bad


def test_the_whoosh_backend_uses_only_whooshs_public_names():
    modules = sorted(SEARCH.glob("whoosh_*.py"))
    assert len(modules) == 3
    assert {m.name: _private_uses(m) for m in modules} == {m.name: [] for m in modules}
    assert not (SEARCH / "evaluate.py").exists()


def test_the_private_name_check_finds_one(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from whoosh.index import _DEF_INDEX_NAME\n"
        "results._char_cache.clear()\n"
        "SegmentWriter(ix, _lk=False)\n"
        "self._own = 1\n"
    )
    assert sorted(_private_uses(sample)) == [
        "from whoosh.index import _DEF_INDEX_NAME",
        "line 2: ._char_cache",
        "line 3: _lk=",
    ]
