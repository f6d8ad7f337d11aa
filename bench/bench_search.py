"""Search benchmark (issue 11): each search engine beside SQLite FTS5, on one corpus, in one run.

    .venv/bin/python bench/bench_search.py                       # 50,000 records, 1,000 full texts
    .venv/bin/python bench/bench_search.py --engines tantivy --records 5000 --fulltexts 100
    .venv/bin/python bench/bench_search.py --postgres-url postgresql+psycopg://postgres@127.0.0.1/postgres

Everything runs in a temporary data folder (SQLite), deleted at the end unless --keep;
with --postgres-url the same corpus is also written to a new PostgreSQL database made
from that URL (dropped at the end). The corpus is synthetic and deterministic
(``random.Random(SEED)``): titles and abstracts built from bench/generate.py's
vocabulary, full texts of ~30 pages of ~450 words drawn from a Zipf-like vocabulary.
Nothing is written to the repository.

Measured, for each engine of --engines (tantivy, whoosh; postgres with --postgres-url)
and for SQLite FTS5 (porter, diacritics removed) as the anchor, in the same run:

1. build: the whole index from the database, rows read included: litreview's
   ``search.rebuild`` (what ``litreview reindex`` runs) of the review's records and the
   pages of their full texts; for FTS5, reading the same rows and inserting them (a
   record table with title, abstract, authors, keywords, venue and the whole full text,
   and a page table for page snippets). Wall time, and CPU time of this process
   (tantivy's indexing threads run in it) and its children. PostgreSQL keeps its
   search columns in the same transaction as the data (no index beside it): its build
   is the write of the corpus into a fresh database, reported beside the write of the
   same rows to SQLite (which keeps no search columns);
2. the index size on disk (FTS5: its database file; PostgreSQL: the database);
3. queries: the same mixed list (one word, two words, phrase, field, filters, a word
   in full texts), each run once after a warm-up, through ``search.search_review``:
   what the web page and ``litreview search`` run (decision and question filters read
   from the database, titles, outcomes and questions of the hits, snippets from the
   database's text by litreview.search.snippets), top 20. Median and p95, phrases
   apart. FTS5 runs the same queries in its syntax: count, top 20 by bm25 with the
   same field weights, snippet() of title and abstract and of the top records' pages.
   Each engine's totals are compared with the first engine's (they parse and analyse
   the same way, so they should agree).

The report (Markdown) goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import re
import resource
import secrets
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import generate as vocab  # noqa: E402
import sqlalchemy as sa  # noqa: E402
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
    SearchOutbox,
    User,
)

SEED = 20261126
WORDS_PER_PAGE = 450
THEMES = [
    "data protection",
    "informed consent",
    "algorithmic bias",
    "risk assessment",
    "machine learning",
    "professional judgement",
    "case recording",
    "social care",
    "child protection",
    "service users",
]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _cpu() -> float:
    # This process (every thread) and its finished children.
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@contextmanager
def timed(results: dict, key: str) -> Iterator[None]:
    wall, cpu = time.perf_counter(), _cpu()
    yield
    results[key] = (time.perf_counter() - wall, _cpu() - cpu)
    log(f"{key}: {results[key][0]:.1f} s wall, {results[key][1]:.1f} s CPU")


# ---------------------------------------------------------------------- corpus


class Corpus:
    """Deterministic synthetic records and page texts."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        rng = random.Random(seed + 1)
        syllables = ["ta", "ro", "mi", "ne", "sa", "lo", "ki", "du", "pe", "va", "gri", "sto"]
        invented = {
            "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(4000)
        }
        base = [w for n in vocab.NOUNS + vocab.ADJECTIVES for w in n.split() if len(w) > 2]
        self.vocabulary = sorted(set(base)) + sorted(invented)
        # Zipf-like weights: a few words very common, most rare, as in real text; the
        # real words (which the queries use) among the common ones, in a shuffled order.
        weights = [1 / (rank + 8) for rank in range(len(self.vocabulary))]
        head = len(set(base))
        ranks = list(range(head))
        rng.shuffle(ranks)
        weights[:head] = [weights[r] for r in ranks]
        self.cum_weights = list(itertools.accumulate(weights))

    def words(self, n: int) -> list[str]:
        return self.rng.choices(self.vocabulary, cum_weights=self.cum_weights, k=n)

    def sentence(self, n: int) -> str:
        words = self.words(n)
        # A theme phrase in 3% of sentences: each of the ten in ~2-3% of abstracts.
        if self.rng.random() < 0.03:
            words.insert(self.rng.randrange(len(words)), self.rng.choice(THEMES))
        return " ".join(words).capitalize() + "."

    def record(self, i: int, review_id: int) -> dict:
        rng = self.rng
        title = (
            f"{rng.choice(vocab.LEADS)} {rng.choice(vocab.ADJECTIVES)} "
            f"{rng.choice(vocab.NOUNS)} {rng.choice(vocab.PREPOSITIONS)} "
            f"{rng.choice(vocab.POPULATIONS)}"
        )
        if rng.random() < 0.15:
            title += f": {rng.choice(THEMES)}"
        abstract = " ".join(self.sentence(rng.randint(12, 22)) for _ in range(rng.randint(6, 10)))
        authors = [
            {"family": rng.choice(vocab.FAMILY_NAMES), "given": rng.choice(vocab.GIVEN_NAMES)}
            for _ in range(rng.randint(1, 5))
        ]
        return {
            "review_id": review_id,
            "type": "article",
            "title": title,
            "abstract": abstract,
            "authors": authors,
            "year": rng.randint(2000, 2025),
            "venue": f"Journal of {rng.choice(vocab.NOUNS).title()}",
            "keywords": rng.sample(vocab.KEYWORDS, 3),
            "doi": f"10.5555/bench.{i}",
            "note": "Synthetic benchmark record.",
        }

    def page(self) -> str:
        lines, count = [], 0
        while count < WORDS_PER_PAGE:
            n = self.rng.randint(8, 14)
            lines.append(self.sentence(n))
            count += n
        return "\n".join(lines)


# ---------------------------------------------------------------------- queries


def make_queries(corpus: Corpus, n: int) -> list[tuple[str, str, dict]]:
    """(kind, query, filters) - the same list for every engine."""
    rng = random.Random(SEED + 2)
    common = corpus.vocabulary[:400]
    nouns = [n for n in vocab.NOUNS if " " not in n and "-" not in n]
    kinds = ["word", "two words", "phrase", "field", "filtered", "fulltext word"]
    queries = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        if kind == "word":
            queries.append((kind, rng.choice(nouns), {}))
        elif kind == "two words":
            queries.append((kind, f"{rng.choice(nouns)} {rng.choice(common)}", {}))
        elif kind == "phrase":
            queries.append((kind, f'"{rng.choice(THEMES)}"', {}))
        elif kind == "field":
            choice = i % 3
            if choice == 0:
                queries.append((kind, f"title:{rng.choice(nouns)}", {}))
            elif choice == 1:
                family = rng.choice(vocab.FAMILY_NAMES).split()[0]
                queries.append((kind, f"author:{family}", {}))
            else:
                start = rng.randint(2000, 2020)
                queries.append((kind, f"{rng.choice(nouns)} AND year:[{start} TO {start + 4}]", {}))
        elif kind == "filtered":
            choice = i % 4
            word = rng.choice(nouns)
            if choice == 0:
                queries.append((kind, word, {"years": "2015-2020"}))
            elif choice == 1:
                queries.append((kind, word, {"question": "Q4"}))
            elif choice == 2:
                queries.append((kind, word, {"has_fulltext": True}))
            else:
                queries.append((kind, word, {"decision": "include"}))
        else:
            queries.append((kind, rng.choice(common), {"has_fulltext": True}))
    return queries


# ---------------------------------------------------------------------- the corpus


def write_corpus(args, url: str, corpus: Corpus, results: dict, key: str) -> int:
    """The review, its records, tags, decisions and full-text pages in the database at
    ``url`` (Core inserts; the outbox emptied: each engine builds from the rows).
    Returns the review id. The write is timed as ``key``."""
    schema.upgrade(url)
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            rv = reviews.create_review(session, "bench", "Bench", "bench@example.org")
            reviews.add_question(
                session, rv, "Q4", "Data protection", "bench@example.org", query='"data protection"'
            )
            users = [User(email=f"u{i}@example.org") for i in range(2)]
            session.add_all(users)
            session.commit()
            review_id, question_id = rv.id, rv.questions[0].id
            user_ids = [u.id for u in users]
        log(f"writing {args.records:,} records and {args.fulltexts:,} full texts to {key}")
        with timed(results, key), engine.begin() as conn:
            for start in range(0, args.records, 5000):
                rows = [
                    corpus.record(i, review_id)
                    for i in range(start, min(args.records, start + 5000))
                ]
                conn.execute(sa.insert(Record.__table__), rows)
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
                    {"review_id": review_id, "record_id": r, "user_id": user_ids[0],
                     "stage": "title_abstract", "decision": rng.choice(["include", "exclude"])}
                    for r in rng.sample(ids, len(ids) // 5)
                ],
            )  # fmt: skip
            page_texts = Corpus(SEED + 6)
            for n, record_id in enumerate(random.Random(SEED + 4).sample(ids, args.fulltexts)):
                att = conn.execute(
                    sa.insert(Attachment.__table__).returning(Attachment.id),
                    [{"review_id": review_id, "record_id": record_id, "kind": "pdf",
                      "sha256": f"{n:064d}", "status": "ok", "page_count": args.pages,
                      "created_by": "bench", "origin": "upload"}],
                ).scalar_one()  # fmt: skip
                conn.execute(
                    sa.insert(AttachmentPage.__table__),
                    [
                        {"attachment_id": att, "page": p, "text": page_texts.page()}
                        for p in range(1, args.pages + 1)
                    ],
                )
            conn.execute(sa.delete(SearchOutbox))
        return review_id
    finally:
        engine.dispose()


def read_everything(url: str) -> None:
    """Read every row an index build reads once, untimed: each build then finds the
    database in the OS cache, whichever runs first."""
    engine = make_engine(url)
    with engine.connect() as conn:
        for table in (Record.__table__, AttachmentPage.__table__):
            for _ in conn.execute(sa.select(table)).yield_per(5000):
                pass
    engine.dispose()


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# ---------------------------------------------------------------------- an engine


def run_engine(name: str, args, url: str, work: Path, queries, results: dict) -> dict:
    """Build the engine's index (timed), measure its size, run the queries."""
    env = {
        "LITREVIEW_DATA_DIR": str(work / f"data-{name}"),
        "LITREVIEW_DATABASE_URL": url,
        "LITREVIEW_SEARCH": name,
    }
    settings = load_settings(env)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    out: dict = {"name": name}
    try:
        backend = search.open_backend(settings)
        if backend.uses_outbox:
            read_everything(url)
            with timed(results, f"{name}_build"):
                out["count"] = search.rebuild(factory, backend)
            out["size"] = folder_size(settings.index_dir)
        else:  # PostgreSQL: its build was the corpus's write (see the docstring)
            results[f"{name}_build"] = results["postgres_write"]
            with engine.connect() as conn:
                out["size"] = conn.scalar(sa.text("SELECT pg_database_size(current_database())"))
        log(f"{len(queries)} queries on {name}")
        out["timings"] = engine_queries(queries, factory, backend)
    finally:
        search.open_backend(settings).close()
        engine.dispose()
    return out


def engine_queries(queries, factory, backend) -> list[tuple[str, float, int, float]]:
    timings = []
    with factory() as session:
        rv = reviews.get_review(session, "bench")
        for text in ("care", '"data protection"', "risk assessment"):  # warm up
            search.search_review(session, backend, rv, text, limit=20)
        for kind, text, filters in queries:
            started, cpu = time.perf_counter(), time.thread_time()
            result = search.search_review(session, backend, rv, text, limit=20, **filters)
            wall, cpu = time.perf_counter() - started, time.thread_time() - cpu
            timings.append((kind, wall, result.total, cpu))
    return timings


# ---------------------------------------------------------------------- PostgreSQL


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    name = f"litreview_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# ---------------------------------------------------------------------- FTS5 side


def fts5_build(work: Path, url: str, review_id: int, results: dict) -> sqlite3.Connection:
    engine = make_engine(url)
    read_everything(url)
    fts = sqlite3.connect(work / "fts5.sqlite3")
    tokenize = "porter unicode61 remove_diacritics 2"
    fts.executescript(
        f"""
        CREATE TABLE rec(id INTEGER PRIMARY KEY, year INT, has_fulltext INT, decision TEXT);
        CREATE TABLE tag(record_id INT, code TEXT);
        CREATE VIRTUAL TABLE rec_fts USING fts5(
            title, abstract, author, keywords, venue, fulltext, tokenize='{tokenize}');
        CREATE VIRTUAL TABLE page_fts USING fts5(
            text, record_id UNINDEXED, page UNINDEXED, tokenize='{tokenize}');
        """
    )
    with timed(results, "fts5_build"), engine.connect() as conn:
        pages: dict[int, list[tuple[int, str]]] = {}
        for record_id, page, text in conn.execute(
            sa.select(Attachment.record_id, AttachmentPage.page, AttachmentPage.text).join(
                Attachment, Attachment.id == AttachmentPage.attachment_id
            )
        ):
            pages.setdefault(record_id, []).append((page, text))
        tags = conn.execute(sa.select(RecordTag.record_id, sa.literal("Q4"))).all()
        decided = dict(conn.execute(sa.select(Decision.record_id, Decision.decision)).all())
        rows = conn.execute(
            sa.select(
                Record.id, Record.title, Record.abstract, Record.authors, Record.keywords,
                Record.venue, Record.year,
            ).where(Record.review_id == review_id)
        )  # fmt: skip
        for r in rows:
            texts = pages.get(r.id, [])
            fts.execute(
                "INSERT INTO rec VALUES (?, ?, ?, ?)",
                (r.id, r.year, int(bool(texts)), decided.get(r.id, "pending")),
            )
            fts.execute(
                "INSERT INTO rec_fts(rowid, title, abstract, author, keywords, venue, fulltext)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    r.id,
                    r.title,
                    r.abstract,
                    "; ".join(f"{a.get('given')} {a['family']}" for a in r.authors),
                    "; ".join(r.keywords),
                    r.venue,
                    "\n".join(t for _, t in texts),
                ),
            )
            fts.executemany(
                "INSERT INTO page_fts(text, record_id, page) VALUES (?, ?, ?)",
                [(t, r.id, p) for p, t in texts],
            )
        fts.executemany("INSERT INTO tag VALUES (?, ?)", tags)
        fts.commit()
    engine.dispose()
    return fts


def _fts_query(text: str) -> tuple[str, tuple[int, int] | None]:
    year = None
    match = re.search(r"AND year:\[(\d+) TO (\d+)\]", text)
    if match:
        year = (int(match.group(1)), int(match.group(2)))
        text = text[: match.start()].strip()
    if text.startswith('"'):
        return text, year
    # Each word quoted: FTS5 reads "cost-effectiveness" or "not" otherwise as syntax.
    words = [re.sub(r"^(title:|author:)?(.*)$", r'\1"\2"', w) for w in text.split()]
    return " AND ".join(words), year


def fts5_queries(fts: sqlite3.Connection, queries) -> list[tuple[str, float, int, float]]:
    timings = []
    rank = "bm25(rec_fts, 5.0, 2.0, 2.0, 2.5, 1.0, 1.0)"
    for kind, text, filters in queries:
        match, year = _fts_query(text)
        where, params = ["rec_fts MATCH ?"], [match]
        if year or filters.get("years"):
            lo, hi = year or tuple(int(y) for y in filters["years"].split("-"))
            where.append("rec.year BETWEEN ? AND ?")
            params += [lo, hi]
        if filters.get("question"):
            where.append("rec.id IN (SELECT record_id FROM tag WHERE code = ?)")
            params.append(filters["question"])
        if filters.get("has_fulltext"):
            where.append("rec.has_fulltext = 1")
        if filters.get("decision"):
            where.append("rec.decision = ?")
            params.append(filters["decision"])
        sql_where = " AND ".join(where)
        started, cpu = time.perf_counter(), time.thread_time()
        total = fts.execute(
            f"SELECT count(*) FROM rec_fts JOIN rec ON rec.id = rec_fts.rowid WHERE {sql_where}",
            params,
        ).fetchone()[0]
        top = fts.execute(
            f"SELECT rec_fts.rowid, snippet(rec_fts, 0, '<b>', '</b>', '…', 16),"
            f" snippet(rec_fts, 1, '<b>', '</b>', '…', 24)"
            f" FROM rec_fts JOIN rec ON rec.id = rec_fts.rowid WHERE {sql_where}"
            f" ORDER BY {rank} LIMIT 20",
            params,
        ).fetchall()
        ids = [r[0] for r in top]
        if ids and not match.startswith(("title:", "author:")):
            marks = ",".join("?" * len(ids))
            fts.execute(
                "SELECT record_id, page, snippet(page_fts, 0, '<b>', '</b>', '…', 24)"
                f" FROM page_fts WHERE page_fts MATCH ? AND record_id IN ({marks})"
                " ORDER BY rank LIMIT 60",
                [match.replace("AND", "OR"), *ids],
            ).fetchall()
        timings.append((kind, time.perf_counter() - started, total, time.thread_time() - cpu))
    return timings


# ---------------------------------------------------------------------- report


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _ms(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{statistics.median(values) * 1000:.1f} / {pct(values, 95) * 1000:.1f}"


def _both(timings, keep) -> str:
    """Wall p50 / p95 (CPU p50 / p95) of the queries ``keep`` keeps, in ms."""
    chosen = [t for t in timings if keep(t[0])]
    return f"{_ms([t[1] for t in chosen])} ({_ms([t[3] for t in chosen])})"


def report(args, results, engines: list[dict], fts: list, sizes: dict) -> str:
    fts_cpu = results["fts5_build"][1]
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        f", SQLite {sqlite3.sqlite_version}; {time.strftime('%Y-%m-%d %H:%M')}; load average "
        f"{os.getloadavg()[0]:.1f} at the end",
        f"Corpus: {args.records:,} records, {args.fulltexts:,} full texts x {args.pages} pages "
        f"(~{WORDS_PER_PAGE} words a page), {len(fts)} queries; top 20 with snippets; query "
        "times in ms, wall p50 / p95 (CPU of the querying thread p50 / p95)",
        "",
        "| engine | build wall | build CPU | CPU / FTS5 | size | queries | phrases | others |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows = [(e["name"], results[f"{e['name']}_build"], e["size"], e["timings"]) for e in engines]
    rows.append(("SQLite FTS5", results["fts5_build"], sizes["fts5"], fts))
    for name, (wall, cpu), size, timings in rows:
        lines.append(
            f"| {name} | {wall:.1f} s | {cpu:.1f} s | {cpu / fts_cpu:.2f}x | {size / 1e6:.0f} MB"
            f" | {_both(timings, lambda k: True)} | {_both(timings, lambda k: k == 'phrase')}"
            f" | {_both(timings, lambda k: k != 'phrase')} |"
        )
    if "sqlite_write" in results:
        wall, cpu = results["sqlite_write"]
        lines.append(f"\nWriting the corpus to SQLite: {wall:.1f} s wall, {cpu:.1f} s CPU.")
    if "postgres_write" in results:
        wall, cpu = results["postgres_write"]
        lines.append(
            f"Writing it to PostgreSQL (its search columns included): {wall:.1f} s wall, "
            f"{cpu:.1f} s CPU of this process (the server's own CPU is not counted)."
        )
    kinds = sorted({t[0] for t in fts})
    lines += [
        "",
        "| query kind | " + " | ".join(name for name, *_ in rows) + " |",
        "|---|" + "---|" * len(rows),
    ]
    for kind in kinds:
        cells = [_both(timings, lambda k, kind=kind: k == kind) for *_, timings in rows]
        count = sum(1 for t in fts if t[0] == kind)
        lines.append(f"| {kind} ({count}) | " + " | ".join(cells) + " |")
    if len(engines) > 1:
        first = engines[0]
        for other in engines[1:]:
            same = sum(
                a[2] == b[2] for a, b in zip(first["timings"], other["timings"], strict=True)
            )
            lines.append(
                f"\nTotals of {other['name']} equal to {first['name']}'s: "
                f"{same} of {len(first['timings'])} queries."
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--fulltexts", type=int, default=1_000)
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--queries", type=int, default=240)
    parser.add_argument(
        "--engines", default="tantivy,whoosh", help="Comma-separated: tantivy, whoosh."
    )
    parser.add_argument(
        "--postgres-url",
        help="A PostgreSQL URL to make a bench database from: adds the postgres engine.",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the temporary data folder.")
    args = parser.parse_args(argv)
    corpus = Corpus()
    results: dict = {}
    queries = make_queries(corpus, args.queries)
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    log(f"data folder {work}")
    try:
        url = f"sqlite:///{work / 'litreview.sqlite3'}"
        review_id = write_corpus(args, url, Corpus(), results, "sqlite_write")
        engines = []
        for name in [e.strip() for e in args.engines.split(",") if e.strip()]:
            engines.append(run_engine(name, args, url, work, queries, results))
        if args.postgres_url:
            with postgres_database(args.postgres_url) as pg_url:
                write_corpus(args, pg_url, Corpus(), results, "postgres_write")
                engines.append(run_engine("postgres", args, pg_url, work, queries, results))
        fts = fts5_build(work, url, review_id, results)
        log(f"{len(queries)} queries on FTS5")
        fts_timings = fts5_queries(fts, queries)
        fts.close()
        sizes = {"fts5": (work / "fts5.sqlite3").stat().st_size}
        print(report(args, results, engines, fts_timings, sizes))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
