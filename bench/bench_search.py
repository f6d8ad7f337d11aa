"""Search benchmark (issue 4): Whoosh index build, updates, PDFs, query latency vs SQLite FTS5.

    .venv/bin/python bench/bench_search.py                      # 50,000 records, 1,000 full texts
    .venv/bin/python bench/bench_search.py --records 5000 --fulltexts 100 --queries 200   # quick

Everything runs in a temporary data folder (SQLite), deleted at the end unless --keep.
The corpus is synthetic and deterministic (``random.Random(SEED)``): titles and
abstracts built from bench/generate.py's vocabulary, full texts of ~30 pages of ~450
words drawn from a Zipf-like vocabulary. Nothing is written to the repository.

Measured (wall time; CPU time of this process beside it where it means something):

1. build: ``reindex`` of the review's title/abstract records (no full text yet);
2. full texts: 1,000 records get ~30 pages each (rows written directly), queued in the
   outbox, and applied to the index (their record documents and their pages);
3. add 1,000 records through the ORM (the outbox listener queues them), then apply;
4. attach and extract 100 generated 10-page PDFs (child process per PDF), commit,
   apply; and the time from "attach" to "a search finds it" for one more PDF;
5. query latency over >= 200 mixed queries (one word, two words, phrase, field query,
   filters), top 20 with snippets (full-text pages included), via search_review, each
   query run cold (no postings cache) and, side by side, with the cache kept through
   the list as a reviewer's process keeps it; and
   the same queries on SQLite FTS5 (porter, diacritics removed, bm25 with the same field
   weights, snippet() for the top 20 and their pages), built on the same corpus.

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

from litreview import search  # noqa: E402
from litreview.config import load_settings  # noqa: E402
from litreview.db import make_engine, make_session_factory  # noqa: E402
from litreview.evidence import attachments  # noqa: E402
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
from tests import pdfmaker  # noqa: E402

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
    # This process and its finished children: the indexing processes of a procs=2
    # writer and the PDF extraction processes are part of the cost.
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
    """(kind, whoosh query, filters) - the same list for both engines."""
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


# ---------------------------------------------------------------------- whoosh side


def build_database(args, work: Path, corpus: Corpus, results: dict):
    url = f"sqlite:///{work / 'litreview.sqlite3'}"
    schema.upgrade(url)
    settings = load_settings({"LITREVIEW_DATA_DIR": str(work), "LITREVIEW_DATABASE_URL": url})
    engine = make_engine(url)
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
    log(f"writing {args.records} records")
    with engine.begin() as conn:
        # Core inserts: the corpus is set up, not measured; the outbox is not involved.
        for start in range(0, args.records, 5000):
            rows = [
                corpus.record(i, review_id) for i in range(start, min(args.records, start + 5000))
            ]
            conn.execute(sa.insert(Record.__table__), rows)
        ids = list(conn.scalars(sa.select(Record.id).order_by(Record.id)))
        rng = random.Random(SEED + 3)
        tagged = rng.sample(ids, len(ids) // 20)
        conn.execute(
            sa.insert(RecordTag.__table__),
            [
                {"review_id": review_id, "record_id": r, "question_id": question_id,
                 "created_by": "bench"}
                for r in tagged
            ],
        )  # fmt: skip
        decided = rng.sample(ids, len(ids) // 5)
        conn.execute(
            sa.insert(Decision.__table__),
            [
                {"review_id": review_id, "record_id": r, "user_id": user_ids[0],
                 "stage": "title_abstract", "decision": rng.choice(["include", "exclude"])}
                for r in decided
            ],
        )  # fmt: skip
        conn.execute(sa.delete(SearchOutbox))
    backend = search.open_backend(settings)
    with timed(results, "build"):
        count = search.rebuild(factory, backend, review_id=review_id)
    results["build_count"] = count

    log(f"writing full texts of {args.fulltexts} records x {args.pages} pages")
    fulltext_ids = random.Random(SEED + 4).sample(ids, args.fulltexts)
    with engine.begin() as conn:
        for n, record_id in enumerate(fulltext_ids):
            att = conn.execute(
                sa.insert(Attachment.__table__).returning(Attachment.id),
                [{"review_id": review_id, "record_id": record_id, "kind": "pdf",
                  "sha256": f"{n:064d}", "status": "ok", "page_count": args.pages,
                  "created_by": "bench", "origin": "upload"}],
            ).scalar_one()  # fmt: skip
            conn.execute(
                sa.insert(AttachmentPage.__table__),
                [
                    {"attachment_id": att, "page": p, "text": corpus.page()}
                    for p in range(1, args.pages + 1)
                ],
            )
        conn.execute(
            sa.insert(SearchOutbox.__table__),
            [{"review_id": review_id, "record_id": r} for r in fulltext_ids],
        )
    with timed(results, "fulltexts"):
        search.apply_outbox(factory, backend, timeout=60)
    return settings, engine, factory, backend, review_id, fulltext_ids


def add_records(args, corpus, factory, backend, review_id, results):
    with factory() as session:
        session.add_all(
            [Record(**corpus.record(args.records + i, review_id)) for i in range(args.add)]
        )
        session.commit()
    with timed(results, "add"):
        search.apply_outbox(factory, backend, timeout=60)


def attach_pdfs(args, work, corpus, settings, factory, backend, review_id, results):
    folder = work / "pdfs"
    folder.mkdir()
    paths = []
    for n in range(args.pdfs + 1):
        path = folder / f"paper-{n}.pdf"
        path.write_bytes(pdfmaker.text_pdf([corpus.page() for _ in range(10)]))
        paths.append(path)
    with factory() as session:
        rv = reviews.get_review(session, "bench")
        targets = list(
            session.scalars(
                sa.select(Record.id)
                .where(Record.review_id == review_id)
                .order_by(Record.id.desc())
                .limit(args.pdfs + 1)
            )
        )
        with timed(results, "attach"):
            for path, record_id in zip(paths[:-1], targets, strict=False):
                attachments.attach_pdf(session, settings, rv, record_id, path, "bench")
            session.commit()
            search.apply_outbox(factory, backend, timeout=60)
        # One more, timed from attach to found (the "searchable within 5 s").
        marker = "zyxwvutsrq"
        last = folder / "marker.pdf"
        last.write_bytes(pdfmaker.text_pdf([corpus.page() + f"\n{marker} evidence"] * 10))
        started = time.perf_counter()
        attachments.attach_pdf(session, settings, rv, targets[-1], last, "bench")
        session.commit()
        search.sync_after_commit(settings, factory.kw["bind"])
        found = search.search_review(session, backend, rv, marker, limit=5)
        results["one_pdf_searchable"] = time.perf_counter() - started
        assert [h.record_id for h in found.hits] == [targets[-1]], "the new PDF was not found"
        log(f"one PDF searchable after {results['one_pdf_searchable']:.2f} s")


def whoosh_queries(queries, factory, backend, review_id) -> dict[str, list]:
    """Each query twice, side by side: ``cold`` with no postings cache at all, and
    ``session`` with the cache (LITREVIEW_SEARCH_CACHE_MB's default) kept through the
    whole list, as a reviewer's process keeps it."""
    timings: dict[str, list] = {"cold": [], "session": []}
    kept = backend.postings
    with factory() as session:
        rv = reviews.get_review(session, "bench")
        for _ in range(2):  # warm up the OS cache and Whoosh's term caches
            backend.postings = None
            search.search_review(session, backend, rv, "care", limit=20)
        for kind, text, filters in queries:
            for mode, cache in (("cold", None), ("session", kept)):
                backend.postings = cache
                started = time.perf_counter()
                result = search.search_review(session, backend, rv, text, limit=20, **filters)
                timings[mode].append((kind, time.perf_counter() - started, result.total))
    backend.postings = kept
    return timings


# ---------------------------------------------------------------------- FTS5 side


def fts5_build(work: Path, engine, review_id: int, results: dict) -> sqlite3.Connection:
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


def fts5_queries(fts: sqlite3.Connection, queries) -> list[tuple[str, float, int]]:
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
        started = time.perf_counter()
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
        timings.append((kind, time.perf_counter() - started, total))
    return timings


# ---------------------------------------------------------------------- report


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(args, results, whoosh, fts) -> str:
    ms = 1000
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        f", SQLite {sqlite3.sqlite_version}; {time.strftime('%Y-%m-%d')}",
        f"Corpus: {args.records:,} records, {args.fulltexts:,} full texts x {args.pages} pages "
        f"(~{WORDS_PER_PAGE} words a page), {len(whoosh['cold'])} queries",
        "",
        "| step | wall | CPU (with child processes) |",
        "|---|---|---|",
    ]
    names = {
        "build": f"index build, {results.get('build_count', 0):,} title/abstract records",
        "fulltexts": f"full texts of {args.fulltexts:,} records indexed (pages + records)",
        "add": f"add {args.add:,} records to the index (outbox)",
        "attach": f"attach + extract {args.pdfs} PDFs of 10 pages, commit, index",
        "fts5_build": "SQLite FTS5: build the same corpus (floor)",
    }
    for key, name in names.items():
        if key in results:
            wall, cpu = results[key]
            lines.append(f"| {name} | {wall:.1f} s | {cpu:.1f} s |")
    if "one_pdf_searchable" in results:
        lines.append(
            "| one new PDF, attach to found by a search "
            f"| {results['one_pdf_searchable']:.2f} s | |"
        )
    lines += [
        "",
        "| queries (top 20 with snippets) | Whoosh cold median | cold p95 | Whoosh session"
        " median | session p95 | FTS5 median | FTS5 p95 | cold / FTS5 medians |",
        "|---|---|---|---|---|---|---|---|",
    ]
    kinds = ["all"] + sorted({k for k, _, _ in whoosh["cold"]})
    for kind in kinds:
        c = [t for k, t, _ in whoosh["cold"] if kind in ("all", k)]
        w = [t for k, t, _ in whoosh["session"] if kind in ("all", k)]
        f = [t for k, t, _ in fts if kind in ("all", k)]
        ratio = statistics.median(c) / statistics.median(f) if f and statistics.median(f) else 0
        lines.append(
            f"| {kind} ({len(c)}) | {statistics.median(c) * ms:.1f} ms | {pct(c, 95) * ms:.1f} ms"
            f" | {statistics.median(w) * ms:.1f} ms | {pct(w, 95) * ms:.1f} ms"
            f" | {statistics.median(f) * ms:.1f} ms | {pct(f, 95) * ms:.1f} ms | {ratio:.1f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--fulltexts", type=int, default=1_000)
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--add", type=int, default=1_000)
    parser.add_argument("--pdfs", type=int, default=100)
    parser.add_argument("--queries", type=int, default=240)
    parser.add_argument("--keep", action="store_true", help="Keep the temporary data folder.")
    parser.add_argument(
        "--reuse", type=Path, help="Only the queries, on a data folder kept by --keep."
    )
    args = parser.parse_args(argv)
    corpus = Corpus()
    results: dict = {}
    if args.reuse:
        work = args.reuse
        url = f"sqlite:///{work / 'litreview.sqlite3'}"
        settings = load_settings({"LITREVIEW_DATA_DIR": str(work), "LITREVIEW_DATABASE_URL": url})
        engine = make_engine(url)
        factory = make_session_factory(engine)
        backend = search.open_backend(settings)
        with factory() as session:
            review_id = reviews.get_review(session, "bench").id
        args.keep = True
        (work / "fts5.sqlite3").unlink(missing_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="bench-search-"))
        log(f"data folder {work}")
        settings, engine, factory, backend, review_id, _ = build_database(
            args, work, corpus, results
        )
        add_records(args, corpus, factory, backend, review_id, results)
        attach_pdfs(args, work, corpus, settings, factory, backend, review_id, results)
    queries = make_queries(corpus, args.queries)
    log(f"{len(queries)} queries on Whoosh")
    whoosh = whoosh_queries(queries, factory, backend, review_id)
    fts = fts5_build(work, engine, review_id, results)
    log(f"{len(queries)} queries on FTS5")
    fts_timings = fts5_queries(fts, queries)
    fts.close()
    engine.dispose()
    print(report(args, results, whoosh, fts_timings))
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
