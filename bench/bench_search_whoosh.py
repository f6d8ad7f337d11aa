"""Whoosh backend benchmark (issue 11): index build and query latency, beside SQLite FTS5.

    .venv/bin/python bench/bench_search_whoosh.py     # 50,000 records, 1,000 full texts
    .venv/bin/python bench/bench_search_whoosh.py --records 5000 --fulltexts 100 --queries 60

The corpus and the queries are bench/bench_search.py's (deterministic, synthetic), in a
temporary SQLite data folder deleted at the end unless --keep. Measured in one run:

1. build: ``search.rebuild`` of the whole index with ``LITREVIEW_SEARCH=whoosh`` (rows
   read included), every record and every full text at once; the index's size on disk;
2. the same corpus into SQLite FTS5 (bench_search's ``fts5_build``): the anchor;
3. queries: bench_search's mixed list, each through ``search_review`` (parse, filters
   from the database, the backend, titles, outcomes and snippets from the database: what
   a search page costs), top 20, after two warm-up searches; and the same list on FTS5.

Wall and CPU time of this process; medians and 95th percentiles. Report (Markdown) to
stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from bench_search import (  # noqa: E402
    SEED,
    WORDS_PER_PAGE,
    Corpus,
    fts5_build,
    fts5_queries,
    log,
    make_queries,
    pct,
    timed,
)

from litreview import search  # noqa: E402
from litreview.config import load_settings  # noqa: E402
from litreview.db import make_engine, make_session_factory  # noqa: E402
from litreview.library import reviews  # noqa: E402
from litreview.migrations import runner as schema  # noqa: E402
from litreview.models import (  # noqa: E402
    Attachment,
    AttachmentPage,
    Decision,
    Record,
    RecordTag,
    SearchOutbox,
    User,
)


def _settings(work: Path):
    url = f"sqlite:///{work / 'litreview.sqlite3'}"
    return load_settings(
        {
            "LITREVIEW_DATA_DIR": str(work),
            "LITREVIEW_DATABASE_URL": url,
            "LITREVIEW_SEARCH": "whoosh",
        }
    )


def open_corpus(work: Path):
    """What write_corpus made in ``work`` (kept by --keep)."""
    settings = _settings(work)
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    with factory() as session:
        review_id = reviews.get_review(session, "bench").id
    return settings, engine, factory, review_id


def write_corpus(args, work: Path, corpus: Corpus):
    """The review, its records, tags, decisions and full-text pages (Core inserts: set
    up, not measured); the outbox left empty."""
    url = f"sqlite:///{work / 'litreview.sqlite3'}"
    schema.upgrade(url)
    settings = load_settings(
        {
            "LITREVIEW_DATA_DIR": str(work),
            "LITREVIEW_DATABASE_URL": url,
            "LITREVIEW_SEARCH": "whoosh",
        }
    )
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session:
        rv = reviews.create_review(session, "bench", "Bench", "bench@example.org")
        reviews.add_question(
            session, rv, "Q4", "Data protection", "bench@example.org", query='"data protection"'
        )
        user = User(email="u0@example.org")
        session.add(user)
        session.commit()
        review_id, question_id, user_id = rv.id, rv.questions[0].id, user.id
    log(f"writing {args.records} records, {args.fulltexts} full texts x {args.pages} pages")
    with engine.begin() as conn:
        for start in range(0, args.records, 5000):
            rows = [
                corpus.record(i, review_id) for i in range(start, min(args.records, start + 5000))
            ]
            conn.execute(sa.insert(Record.__table__), rows)
        ids = list(conn.scalars(sa.select(Record.id).order_by(Record.id)))
        rng = random.Random(SEED + 3)
        conn.execute(
            sa.insert(RecordTag.__table__),
            [{"review_id": review_id, "record_id": r, "question_id": question_id,
              "created_by": "bench"} for r in rng.sample(ids, len(ids) // 20)],
        )  # fmt: skip
        conn.execute(
            sa.insert(Decision.__table__),
            [{"review_id": review_id, "record_id": r, "user_id": user_id,
              "stage": "title_abstract", "decision": rng.choice(["include", "exclude"])}
             for r in rng.sample(ids, len(ids) // 5)],
        )  # fmt: skip
        for n, record_id in enumerate(random.Random(SEED + 4).sample(ids, args.fulltexts)):
            att = conn.execute(
                sa.insert(Attachment.__table__).returning(Attachment.id),
                [{"review_id": review_id, "record_id": record_id, "kind": "pdf",
                  "sha256": f"{n:064d}", "status": "ok", "page_count": args.pages,
                  "created_by": "bench", "origin": "upload"}],
            ).scalar_one()  # fmt: skip
            conn.execute(
                sa.insert(AttachmentPage.__table__),
                [{"attachment_id": att, "page": p, "text": corpus.page()}
                 for p in range(1, args.pages + 1)],
            )  # fmt: skip
        conn.execute(sa.delete(SearchOutbox))
    return settings, engine, factory, review_id


def run_queries(queries, factory, backend) -> list[tuple[str, float, float, float, int]]:
    """(kind, wall, CPU, CPU without snippets, total) of each query through
    search_review: as a search page runs it, and again without snippets (the backend's
    share)."""
    timings = []
    with factory() as session:
        rv = reviews.get_review(session, "bench")
        for _ in range(2):  # open the searcher, warm the OS cache
            search.search_review(session, backend, rv, "care", limit=20)
        for kind, text, filters in queries:
            wall, cpu = time.perf_counter(), time.process_time()
            result = search.search_review(session, backend, rv, text, limit=20, **filters)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            bare = time.process_time()
            search.search_review(session, backend, rv, text, limit=20, snippets=False, **filters)
            timings.append((kind, wall, cpu, time.process_time() - bare, result.total))
    return timings


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def report(args, results, whoosh, fts) -> str:
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the end, Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}; {time.strftime('%Y-%m-%d')}",
        f"Corpus: {args.records:,} records, {args.fulltexts:,} full texts x {args.pages} pages "
        f"(~{WORDS_PER_PAGE} words a page), {len(whoosh)} queries",
        "",
        "| build (rows read included) | wall | CPU | on disk |",
        "|---|---|---|---|",
    ]
    wall, cpu = results["build"]
    lines.append(f"| Whoosh | {wall:.1f} s | {cpu:.1f} s | {results['whoosh_mb']:.0f} MB |")
    f_wall, f_cpu = results["fts5_build"]
    lines.append(
        f"| SQLite FTS5 (anchor) | {f_wall:.1f} s | {f_cpu:.1f} s | {results['fts5_mb']:.0f} MB |"
    )
    lines.append(f"| Whoosh / FTS5 | {wall / f_wall:.1f}x | {cpu / f_cpu:.1f}x | |")
    lines += [
        "",
        "| queries, top 20 | Whoosh p50 | p95 | CPU p50 | CPU p95 | CPU without snippets"
        " p50 | p95 | FTS5 p50 | FTS5 p95 | p50 / FTS5 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in ["all"] + sorted({row[0] for row in whoosh}):
        rows = [row for row in whoosh if kind in ("all", row[0])]
        w, c, b = ([row[n] for row in rows] for n in (1, 2, 3))
        f = [t for k, t, _ in fts if kind in ("all", k)]
        lines.append(
            f"| {kind} ({len(w)}) | {_ms(statistics.median(w))} | {_ms(pct(w, 95))}"
            f" | {_ms(statistics.median(c))} | {_ms(pct(c, 95))}"
            f" | {_ms(statistics.median(b))} | {_ms(pct(b, 95))}"
            f" | {_ms(statistics.median(f))} | {_ms(pct(f, 95))}"
            f" | {statistics.median(w) / statistics.median(f):.1f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--fulltexts", type=int, default=1_000)
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--queries", type=int, default=240)
    parser.add_argument("--keep", action="store_true", help="Keep the temporary data folder.")
    parser.add_argument(
        "--reuse", type=Path, help="A data folder kept by --keep: build again, in it."
    )
    args = parser.parse_args(argv)
    corpus = Corpus()
    results: dict = {}
    work = args.reuse or Path(tempfile.mkdtemp(prefix="bench-whoosh-"))
    args.keep = args.keep or bool(args.reuse)
    log(f"data folder {work}")
    try:
        if args.reuse:
            settings, engine, factory, review_id = open_corpus(work)
            (work / "fts5.sqlite3").unlink(missing_ok=True)
        else:
            settings, engine, factory, review_id = write_corpus(args, work, corpus)
        backend = search.open_backend(settings)
        with timed(results, "build"):
            search.rebuild(factory, backend)
        results["whoosh_mb"] = size_mb(settings.index_dir)
        fts = fts5_build(work, engine, review_id, results)
        results["fts5_mb"] = (work / "fts5.sqlite3").stat().st_size / 2**20
        queries = make_queries(corpus, args.queries)
        log(f"{len(queries)} queries on Whoosh")
        whoosh = run_queries(queries, factory, backend)
        log(f"{len(queries)} queries on FTS5")
        fts_timings = fts5_queries(fts, queries)
        fts.close()
        backend.close()
        engine.dispose()
        print(report(args, results, whoosh, fts_timings))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
