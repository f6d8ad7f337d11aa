"""PostgreSQL search benchmark (issue 11): build cost and query latency at 50,000 records.

    .venv/bin/python bench/bench_search_postgres.py            # 50,000 records, 1,000 full texts
    .venv/bin/python bench/bench_search_postgres.py --records 5000 --fulltexts 100 --queries 60

Runs on the local PostgreSQL (LITREVIEW_BENCH_POSTGRES_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres), in databases of its own that are
dropped at the end (--keep keeps them and prints their URLs). The corpus and the mixed
queries are bench/bench_search.py's (deterministic: the same records, pages and queries
as the other backends' runs); nothing is written to the repository.

Measured, side by side in one run:

1. build: the same corpus inserted with Core (records in chunks of 5,000, then the
   full texts: attachments and their pages) into a database migrated to head (the
   search columns generated in the same statements, GIN indexes kept up) and into one
   migrated to 0002 (no search columns): wall time, and CPU time of this process and of
   the PostgreSQL server process that did the work (/proc/PID/stat); then VACUUM
   ANALYZE (which also merges the GIN indexes' pending lists);
2. sizes: the GIN indexes, and the tables with their TOAST and indexes, with and
   without the search columns;
3. queries: each of the mixed queries through search_review (parse, filters from the
   database, the backend's SQL, then titles, outcomes, questions and snippets from the
   database), top 20 with snippets, three times (the first round reported apart: it
   reads pages from disk); the backend's statement alone beside it; median and p95 by
   kind, phrases apart; and the same queries on SQLite FTS5, built from the same rows
   (bench_search.py's anchor).

bench_search.py --postgres-url runs the same queries on PostgreSQL beside tantivy and
FTS5; this one adds what is PostgreSQL's own: the server process's CPU (where the
search columns are computed and the statements run), the write with and without the
search columns, the size of each index, and the statement alone.

The report (Markdown) goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from bench_search import SEED, Corpus, fts5_build, fts5_queries, make_queries  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

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
    User,
)
from litreview.search import query as query_language  # noqa: E402
from litreview.search.backend import SearchFilters  # noqa: E402

ADMIN_URL = os.environ.get(
    "LITREVIEW_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
CHUNK = 5000
TICK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one PostgreSQL server process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Clock:
    """Wall time, this process's CPU and the server process's CPU, summed over blocks."""

    def __init__(self, pid: int) -> None:
        self.pid, self.wall, self.cpu, self.server = pid, 0.0, 0.0, 0.0

    def __enter__(self) -> Clock:
        self._start = (time.perf_counter(), time.process_time(), server_cpu(self.pid))
        return self

    def __exit__(self, *exc) -> None:
        wall, cpu, server = self._start
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu
        self.server += server_cpu(self.pid) - server


# ---------------------------------------------------------------------- databases


def create_database(revision: str) -> str:
    name = f"litreview_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    schema.upgrade(url, revision)
    return url


def drop_database(url: str) -> None:
    name = make_url(url).database
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def build(args, url: str) -> dict:
    """The corpus into the database at ``url``; what it cost."""
    engine = make_engine(url)
    factory = make_session_factory(engine, search_outbox=False)
    with factory() as session:
        rv = reviews.create_review(session, "bench", "Bench", "bench@example.org")
        reviews.add_question(
            session, rv, "Q4", "Data protection", "bench@example.org", query='"data protection"'
        )
        users = [User(email=f"u{i}@example.org") for i in range(2)]
        session.add_all(users)
        session.commit()
        review_id, question_id, user_id = rv.id, rv.questions[0].id, users[0].id
    corpus = Corpus()
    out: dict = {"engine": engine, "url": url, "review_id": review_id}
    with engine.connect() as conn:
        pid = conn.scalar(sa.text("SELECT pg_backend_pid()"))
        records, pages = Clock(pid), Clock(pid)
        for start in range(0, args.records, CHUNK):
            rows = [
                corpus.record(i, review_id) for i in range(start, min(args.records, start + CHUNK))
            ]
            with records:
                conn.execute(sa.insert(Record.__table__), rows)
                conn.commit()
        log(f"{args.records:,} records: {records.wall:.1f} s, {records.server:.1f} s server CPU")
        ids = list(conn.scalars(sa.select(Record.id).order_by(Record.id)))
        rng = random.Random(SEED + 3)
        conn.execute(
            sa.insert(RecordTag.__table__),
            [
                {"review_id": review_id, "record_id": r, "question_id": question_id,
                 "created_by": "bench"}
                for r in rng.sample(ids, len(ids) // 20)
            ],
        )  # fmt: skip
        conn.execute(
            sa.insert(Decision.__table__),
            [
                {"review_id": review_id, "record_id": r, "user_id": user_id,
                 "stage": "title_abstract", "decision": rng.choice(["include", "exclude"])}
                for r in rng.sample(ids, len(ids) // 5)
            ],
        )  # fmt: skip
        conn.commit()
        fulltext_ids = random.Random(SEED + 4).sample(ids, args.fulltexts)
        page_texts = Corpus(SEED + 6)  # as bench_search.write_corpus draws them
        for n, record_id in enumerate(fulltext_ids):
            texts = [page_texts.page() for _ in range(args.pages)]
            with pages:
                att = conn.execute(
                    sa.insert(Attachment.__table__).returning(Attachment.id),
                    [{"review_id": review_id, "record_id": record_id, "kind": "pdf",
                      "sha256": f"{n:064d}", "status": "ok", "page_count": args.pages,
                      "created_by": "bench", "origin": "upload"}],
                ).scalar_one()  # fmt: skip
                conn.execute(
                    sa.insert(AttachmentPage.__table__),
                    [{"attachment_id": att, "page": p, "text": t} for p, t in enumerate(texts, 1)],
                )
                if n % 50 == 49 or n == len(fulltext_ids) - 1:
                    conn.commit()
        log(f"{args.fulltexts:,} full texts: {pages.wall:.1f} s, {pages.server:.1f} s server CPU")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        pid = conn.scalar(sa.text("SELECT pg_backend_pid()"))
        vacuum = Clock(pid)
        with vacuum:
            conn.exec_driver_sql("VACUUM ANALYZE")
        out["sizes"] = sizes(conn)
    out.update(records=records, pages=pages, vacuum=vacuum)
    return out


def sizes(conn) -> dict[str, int]:
    found = {
        f"index {name}": size
        for name, size in conn.execute(
            sa.text(
                "SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes"
                " WHERE indexrelname LIKE '%search%' ORDER BY indexrelname"
            )
        )
    }
    for table in ("record", "attachment_page"):
        found[f"table {table} (heap + TOAST)"] = conn.scalar(
            sa.text(f"SELECT pg_table_size('{table}')")
        )
        found[f"table {table} with its indexes"] = conn.scalar(
            sa.text(f"SELECT pg_total_relation_size('{table}')")
        )
    found["database"] = conn.scalar(sa.text("SELECT pg_database_size(current_database())"))
    return found


# ---------------------------------------------------------------------- queries


def run_queries(args, built: dict, queries) -> dict[str, list]:
    """Each query ``--rounds`` times through search_review (top 20, snippets); the
    backend's statement alone once per round, beside it."""
    url = built["engine"].url.render_as_string(hide_password=False)
    settings = load_settings({"LITREVIEW_DATABASE_URL": url, "LITREVIEW_SEARCH": "postgres"})
    factory = make_session_factory(built["engine"], search_outbox=False)
    backend = search.open_backend(settings)
    timings: dict[str, list] = {"full": [], "engine": [], "first": []}
    with factory() as session:
        rv = reviews.get_review(session, "bench")
        pid = session.scalar(sa.text("SELECT pg_backend_pid()"))
        for round_ in range(args.rounds):
            for kind, text, filters in queries:
                clock = Clock(pid)
                with clock:
                    result = search.search_review(session, backend, rv, text, limit=20, **filters)
                row = (kind, clock.wall, clock.cpu, clock.server, result.total)
                timings["first" if round_ == 0 else "full"].append(row)
                parsed = query_language.parse(text)
                engine_clock = Clock(pid)
                with engine_clock:
                    backend.search(session, rv.id, parsed, _filters(filters), 20)
                if round_:
                    timings["engine"].append((kind, engine_clock.wall, 0, 0, 0))
            log(f"round {round_ + 1}: {len(queries)} queries")
    return timings


def _filters(filters: dict) -> SearchFilters:
    # What search_review gives the backend, for the filters the engine sees itself; the
    # decision and question filters' id sets are read apart and not timed here.
    years = filters.get("years")
    start, end = (int(y) for y in years.split("-")) if years else (None, None)
    return SearchFilters(year_from=start, year_to=end, has_fulltext=filters.get("has_fulltext"))


# ---------------------------------------------------------------------- report


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(args, engine, built, plain, timings: dict, fts: list, fts_build) -> str:
    server = engine.dialect.server_version_info
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, PostgreSQL {'.'.join(map(str, server))}; "
        f"{time.strftime('%Y-%m-%d %H:%M')}",
        f"Corpus: {args.records:,} records, {args.fulltexts:,} full texts x {args.pages} pages"
        f" (bench_search.py's), {len(timings['first'])} mixed queries x {args.rounds} rounds",
        "",
    ]
    if built is None:  # --reuse: the queries only
        lines[1] = f"{len(timings['first'])} mixed queries x {args.rounds} rounds (--reuse)"
    else:
        lines += build_rows(args, built, plain, fts_build)
    lines += [
        "",
        "| queries, top 20 with snippets | median | p95 | server CPU median | client CPU median "
        "| first round median / p95 | backend statement alone median / p95 "
        "| FTS5 median / p95 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    return "\n".join(lines + query_rows(timings, fts))


def build_rows(args, built: dict, plain: dict, fts_build) -> list[str]:
    lines = [
        "",
        "| build step | with search columns: wall | client CPU | server CPU "
        "| without (0002): wall | client CPU | server CPU |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, name in (
        ("records", f"insert {args.records:,} records"),
        ("pages", f"insert {args.fulltexts:,} full texts ({args.fulltexts * args.pages:,} pages)"),
        ("vacuum", "VACUUM ANALYZE"),
    ):
        a, b = built[key], plain[key]
        lines.append(
            f"| {name} | {a.wall:.1f} s | {a.cpu:.1f} s | {a.server:.1f} s "
            f"| {b.wall:.1f} s | {b.cpu:.1f} s | {b.server:.1f} s |"
        )
    total = [
        sum(built[k].__dict__[f] for k in ("records", "pages", "vacuum"))
        for f in ("wall", "server")
    ]
    base = [
        sum(plain[k].__dict__[f] for k in ("records", "pages", "vacuum"))
        for f in ("wall", "server")
    ]
    lines.append(
        f"| total | {total[0]:.1f} s | | {total[1]:.1f} s | {base[0]:.1f} s | | {base[1]:.1f} s |"
    )
    if fts_build:
        lines.append(
            f"| SQLite FTS5 build of the same rows (anchor) | {fts_build[0]:.1f} s "
            f"| {fts_build[1]:.1f} s | | | | |"
        )
    lines += ["", "| size | with search columns | without |", "|---|---|---|"]
    for key, value in built["sizes"].items():
        other = plain["sizes"].get(key)
        without = "" if other is None else f"{other / 2**20:.1f} MB"
        lines.append(f"| {key} | {value / 2**20:.1f} MB | {without} |")
    return lines


def _mid_p95(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} / {pct(values, 95) * 1000:.1f} ms"


def query_rows(timings: dict, fts: list) -> list[str]:
    ms, lines = 1000, []
    kinds = ["all", "all but phrases"] + sorted({k for k, *_ in timings["full"]})
    for kind in kinds:

        def pick(rows, kind=kind):
            return [
                r
                for r in rows
                if kind == "all" or r[0] == kind or (kind == "all but phrases" and r[0] != "phrase")
            ]

        full, first, alone = pick(timings["full"]), pick(timings["first"]), pick(timings["engine"])
        walls = [r[1] for r in full]
        f = [r[1] for r in pick(fts)] if fts else []
        fts_cell = f"{statistics.median(f) * ms:.1f} / {pct(f, 95) * ms:.1f} ms" if f else ""
        lines.append(
            f"| {kind} ({len(first)}) | {statistics.median(walls) * ms:.1f} ms "
            f"| {pct(walls, 95) * ms:.1f} ms | {statistics.median(r[3] for r in full) * ms:.0f} ms "
            f"| {statistics.median(r[2] for r in full) * ms:.1f} ms "
            f"| {_mid_p95([r[1] for r in first])} | {_mid_p95([r[1] for r in alone])} "
            f"| {fts_cell} |"
        )
    lines += [
        "",
        "Server CPU is read from /proc in clock ticks (10 ms): a median of 0 means most "
        "queries took under one tick of the server's CPU.",
    ]
    return lines


def anchor(args, built: dict, queries) -> tuple[list, tuple | None]:
    """The same queries on SQLite FTS5, built from the same rows (bench_search.py's)."""
    if args.no_fts5:
        return [], None
    with tempfile.TemporaryDirectory(prefix="bench-pgsearch-") as work:
        results: dict = {}
        conn = fts5_build(Path(work), built["url"], built["review_id"], results)
        fts = fts5_queries(conn, queries)
        conn.close()
    return fts, results["fts5_build"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--fulltexts", type=int, default=1_000)
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--queries", type=int, default=240)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-fts5", action="store_true", help="Leave out the FTS5 anchor.")
    parser.add_argument("--keep", action="store_true", help="Keep the databases.")
    parser.add_argument(
        "--reuse", metavar="URL", help="Only the queries, on a database kept by --keep."
    )
    args = parser.parse_args(argv)
    if args.reuse:
        engine = make_engine(args.reuse)
        with engine.connect() as conn:
            review_id = conn.scalar(sa.text("SELECT id FROM review WHERE slug = 'bench'"))
        built = {"engine": engine, "url": args.reuse, "review_id": review_id}
        queries = make_queries(Corpus(), args.queries)
        timings = run_queries(args, built, queries)
        fts, _build = anchor(args, built, queries)
        engine.dispose()
        print(report(args, engine, None, None, timings, fts, None))
        return 0
    urls = []
    try:
        log("building without the search columns (migrated to 0002)")
        urls.append(create_database("0002"))
        plain = build(args, urls[-1])
        plain["engine"].dispose()
        log("building with the search columns (migrated to head)")
        urls.append(create_database("head"))
        built = build(args, urls[-1])
        queries = make_queries(Corpus(), args.queries)
        log(f"{len(queries)} queries x {args.rounds} rounds")
        timings = run_queries(args, built, queries)
        fts, fts_build = anchor(args, built, queries)
        built["engine"].dispose()
        print(report(args, built["engine"], built, plain, timings, fts, fts_build))
    finally:
        for url in urls:
            if args.keep:
                log(f"kept {url}")
            else:
                drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
