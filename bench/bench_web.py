"""Web pages at 50,000 records: server-side time of the pages a reviewer waits for.

    .venv/bin/python bench/bench_web.py [--sizes 2000,50000] [--calls 200] [--keep DIR]

For each size, builds a SQLite review (Core inserts, seconds) part-way through blind
dual screening, as a team would be after some weeks (the same shape as
bench_screening.py): Ann has screened the first 60% of the records at title/abstract,
Ben the first 50% (agreeing with Ann 90% of the time), Cat nothing; half the conflicts
are resolved by the lead; of the records that passed, those in the first 20% are
screened at full text by both. Every record has one or two sources (three import
batches), 10% were merged duplicates, 5% are tagged to a review question, 1% have a PDF.

Then times, with Flask's test client in this process (server-side: routing, the access
check, the queries, the template; no network), each page over --calls requests after
a few warm-up ones:

* the screening page's next record (Ann at 60%, Cat at 0%), and a whole keyboard step
  (POST a decision, follow the redirect to the next record);
* the records table's first and last page, unfiltered and filtered;
* the dashboard;
* a record's page and the conflicts page.

The search indexer is switched off for the timing (it works in a background thread, off
the request path; its own speed is bench_search.py's). The smaller size is the
baseline: the ratio column is time at the largest size / time at the smallest. Prints
a Markdown report for bench/RESULTS.md; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402

from litreview import create_app  # noqa: E402
from litreview.db import make_engine  # noqa: E402
from litreview.migrations import runner as schema  # noqa: E402
from litreview.models import (  # noqa: E402
    Annotation,
    Attachment,
    AuditEntry,
    Decision,
    ImportBatch,
    Membership,
    Merge,
    Record,
    RecordSource,
    RecordTag,
    Resolution,
    Review,
    ReviewQuestion,
    User,
)
from litreview.screening import outcomes  # noqa: E402
from litreview.web.indexer import Indexer  # noqa: E402

SEED = 20261126
PASSWORD = "benchmark password"
REASONS = ["Not about AI", "Not social work", "Not research"]
TA, FT = "title_abstract", "full_text"
CHUNK = 5000
TARGET_P95_MS = 100.0
WORDS = (
    "algorithmic risk assessment child protection social work practice data ethics consent "
    "casework decision support predictive model bias fairness service users families "
    "automation chatbot records confidentiality supervision workload outcomes evaluation"
).split()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _insert(conn: sa.Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        conn.execute(sa.insert(table), rows[start : start + CHUNK])


def build(database_url: str, n: int) -> dict[str, Any]:
    """The review, its team, N records and the state described in the module docstring."""
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    password_hash = PasswordHasher().hash(PASSWORD)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            review_id = conn.execute(
                sa.insert(Review).values(
                    slug="bench",
                    title="Benchmark review",
                    screening_mode="dual",
                    criteria="Include studies of AI used in social work.",
                    exclusion_reasons=REASONS,
                    highlight_include=["algorithm*", "risk assessment", "consent"],
                    highlight_exclude=["sport", "veterinary"],
                    created_at=now,
                )
            ).inserted_primary_key[0]
            users = {}
            for name, role in (
                ("lead", "lead"),
                ("ann", "reviewer"),
                ("ben", "reviewer"),
                ("cat", "reviewer"),
                ("vic", "viewer"),
            ):
                users[name] = conn.execute(
                    sa.insert(User).values(
                        email=f"{name}@example.org",
                        password_hash=password_hash,
                        is_admin=False,
                        is_active=True,
                        created_at=now,
                    )
                ).inserted_primary_key[0]
                conn.execute(
                    sa.insert(Membership).values(
                        review_id=review_id, user_id=users[name], role=role, created_at=now
                    )
                )
            questions = [
                conn.execute(
                    sa.insert(ReviewQuestion).values(
                        review_id=review_id, code=f"Q{q}", title=f"Question {q}", position=q
                    )
                ).inserted_primary_key[0]
                for q in range(1, 7)
            ]
            batches = [
                conn.execute(
                    sa.insert(ImportBatch).values(
                        review_id=review_id,
                        file_name=f"{label.lower()}.ris",
                        format="ris",
                        source_label=label,
                        sha256="0" * 64,
                        created_at=now,
                        created_by="lead@example.org",
                    )
                ).inserted_primary_key[0]
                for label in ("Scopus", "WoS", "PubMed")
            ]
            records = []
            for i in range(n):
                words = rng.sample(WORDS, 8)
                records.append(
                    {
                        "review_id": review_id,
                        "type": "article",
                        "title": f"Synthetic record {i}: {' '.join(words[:6])}",
                        "abstract": " ".join(rng.choice(WORDS) for _ in range(120)),
                        "authors": [
                            {"family": f"Author{i % 997}", "given": "A."},
                            {"family": f"Second{i % 389}", "given": "B."},
                        ],
                        "keywords": words[6:],
                        "year": 2000 + i % 25,
                        "venue": f"Journal of {words[0].title()} Studies",
                        "doi": f"10.5555/bench.{i}",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            _insert(conn, Record, records)
            ids = list(
                conn.scalars(
                    sa.select(Record.id).where(Record.review_id == review_id).order_by(Record.id)
                )
            )
            sources, merges = [], []
            for k, record_id in enumerate(ids):
                for extra in range(2 if k % 5 == 0 else 1):
                    sources.append(
                        {
                            "review_id": review_id,
                            "record_id": record_id,
                            "batch_id": batches[(k + extra) % 3],
                            "entry_key": f"e{k}-{extra}",
                            "fingerprint": f"{k:020d}{extra:020d}",
                            "raw": "TY  - JOUR\nER  -",
                            "data": {},
                        }
                    )
                if k % 10 == 0:
                    merges.append(
                        {
                            "review_id": review_id,
                            "record_id": record_id,
                            "rule": "doi",
                            "score": 1.0,
                            "filled": {},
                            "source_ids": [],
                            "created_at": now,
                            "created_by": "lead@example.org",
                        }
                    )
            _insert(conn, RecordSource, sources)
            _insert(conn, Merge, merges)

            def pick() -> tuple[str, str | None]:
                roll = rng.random()
                if roll < 0.10:
                    return "include", None
                if roll < 0.15:
                    return "maybe", None
                return "exclude", rng.choice(REASONS)

            def decision(record_id: int, user: str, stage: str, d: str, reason: str | None):
                return {
                    "review_id": review_id,
                    "record_id": record_id,
                    "user_id": users[user],
                    "stage": stage,
                    "decision": d,
                    "reason": reason,
                    "current": True,
                    "created_at": now,
                }

            decisions, resolutions, passed, conflicts = [], [], [], []
            for k, record_id in enumerate(ids):
                if k >= 0.6 * n:
                    break
                ann = pick()
                decisions.append(decision(record_id, "ann", TA, *ann))
                if k < 0.5 * n:
                    ben = ann if rng.random() < 0.9 else pick()
                    decisions.append(decision(record_id, "ben", TA, *ben))
                    if ann[0] != ben[0]:
                        conflicts.append(record_id)
                    elif ann[0] in ("include", "maybe"):
                        passed.append(record_id)
            for record_id in conflicts[: len(conflicts) // 2]:
                resolutions.append(
                    {
                        "review_id": review_id,
                        "record_id": record_id,
                        "user_id": users["lead"],
                        "stage": TA,
                        "decision": "include",
                        "current": True,
                        "created_at": now,
                    }
                )
                passed.append(record_id)
            for record_id in passed:
                if record_id - ids[0] < 0.2 * n:
                    ft = pick()
                    if ft[0] == "exclude":
                        ft = ("exclude", REASONS[0])
                    decisions.append(decision(record_id, "ann", FT, *ft))
                    decisions.append(decision(record_id, "ben", FT, *ft))
            _insert(conn, Decision, decisions)
            _insert(conn, Resolution, resolutions)
            tags, notes, pdfs = [], [], []
            for k, record_id in enumerate(ids):
                if k % 20 == 0:
                    tags.append(
                        {
                            "review_id": review_id,
                            "record_id": record_id,
                            "question_id": questions[k % 6],
                            "created_at": now,
                            "created_by": "ann@example.org",
                        }
                    )
                if k % 100 == 0:
                    notes.append(
                        {
                            "review_id": review_id,
                            "record_id": record_id,
                            "question_id": questions[k % 6],
                            "note": "Relevant to the question.",
                            "quote": "A quoted passage.",
                            "page": "3",
                            "created_at": now,
                            "updated_at": now,
                            "created_by": "ann@example.org",
                        }
                    )
                    pdfs.append(
                        {
                            "review_id": review_id,
                            "record_id": record_id,
                            "kind": "pdf",
                            "sha256": f"{k:064d}",
                            "path": f"files/00/{k:064d}.pdf",
                            "filename": f"paper-{k}.pdf",
                            "status": "ok",
                            "origin": "upload",
                            "created_at": now,
                            "created_by": "ann@example.org",
                        }
                    )
            _insert(conn, RecordTag, tags)
            _insert(conn, Annotation, notes)
            _insert(conn, Attachment, pdfs)
        # Decisions were written with Core, as a restore writes them: the kept outcomes
        # are rebuilt from them the way a restore does.
        with Session(engine) as session:
            outcomes.refresh(session, session.get(Review, review_id))
            session.commit()
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
        ann_last = ids[int(0.6 * n) - 1]
        return {
            "ids": ids,
            "ann_last": ann_last,
            "decisions": len(decisions),
            "conflicts": len(conflicts) - len(resolutions),
        }
    finally:
        engine.dispose()


class Client:
    """A signed-in test client that counts the queries of each request."""

    def __init__(self, app: Any, email: str) -> None:
        self.http = app.test_client()
        self.engine = app.extensions["litreview.engine"]
        self.statements = 0
        page = self.http.get("/signin").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = self.http.post(
            "/signin", data={"email": email, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302, response.status_code
        page = self.http.get("/").get_data(as_text=True)
        self.token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        sa.event.listen(self.engine, "before_cursor_execute", self._count)

    def _count(self, *_args: Any) -> None:
        self.statements += 1

    def close(self) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._count)


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def timed(run: Any, calls: int, warmup: int = 5, before: Any = None) -> dict[str, float]:
    """Wall and CPU time per call (ms). CPU is this thread's: the request runs here,
    SQLite included, so it is what the request costs whatever else the machine runs.
    ``before`` runs ahead of each call, untimed."""
    for _ in range(warmup):
        run()
    wall, cpu = [], []
    for _ in range(calls):
        if before is not None:
            before()
        started, started_cpu = time.perf_counter(), time.thread_time()
        run()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    return {
        "median": statistics.median(wall),
        "p95": _p95(wall),
        "cpu_median": statistics.median(cpu),
        "cpu_p95": _p95(cpu),
    }


def measure(app: Any, state: dict[str, Any], calls: int) -> dict[str, dict[str, float]]:
    ann, cat, lead = (Client(app, f"{u}@example.org") for u in ("ann", "cat", "lead"))
    results: dict[str, dict[str, float]] = {}

    def get(client: Client, url: str) -> Any:
        def run() -> None:
            response = client.http.get(url)
            assert response.status_code == 200, (url, response.status_code)
            response.close()

        return run

    n = len(state["ids"])

    def last_page(url: str) -> int:
        html = lead.http.get(url).get_data(as_text=True)
        return int(re.search(r"page 1 of (\d+)", html).group(1))

    last = last_page("/r/bench/records")
    last_include = last_page("/r/bench/records?decision=include")
    filtered = "year_from=2010&year_to=2014&q=consent"
    last_filtered = last_page(f"/r/bench/records?{filtered}")
    pages = {
        "screen: next record (Ann, 60% done)": (
            ann,
            f"/r/bench/screen/{TA}/?after={state['ann_last']}",
        ),
        "screen: next record (Cat, none done)": (cat, f"/r/bench/screen/{TA}/"),
        "screen: next record at full text (Ann)": (ann, f"/r/bench/screen/{FT}/"),
        "records: first page": (lead, "/r/bench/records"),
        "records: last page": (lead, f"/r/bench/records?page={last}"),
        "records: first page, decision=include": (lead, "/r/bench/records?decision=include"),
        "records: last page, decision=include": (
            lead,
            f"/r/bench/records?decision=include&page={last_include}",
        ),
        "records: first page, years 2010-2014 + text": (lead, f"/r/bench/records?{filtered}"),
        "records: last page, years 2010-2014 + text": (
            lead,
            f"/r/bench/records?{filtered}&page={last_filtered}",
        ),
        "dashboard": (lead, "/r/bench/"),
        "record page": (lead, f"/r/bench/records/{state['ids'][100]}"),
        "conflicts": (lead, "/r/bench/conflicts"),
    }
    for name, (client, url) in pages.items():
        log(f"  {name}")
        before = client.statements
        get(client, url)()
        queries = client.statements - before
        results[name] = {**timed(get(client, url), calls), "queries": queries}

    # The dashboard again, as it is while a team screens: someone decided something
    # since the last look, so the screening numbers are worked out afresh.
    engine = app.extensions["litreview.engine"]

    def someone_decided() -> None:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(AuditEntry).values(
                    review_id=1, actor="ben@example.org", action="screen.decide", details={}
                )
            )

    log("  dashboard after a change")
    before = lead.statements
    someone_decided()
    get(lead, "/r/bench/")()
    queries = lead.statements - before
    results["dashboard, after someone decided"] = {
        **timed(get(lead, "/r/bench/"), calls, before=someone_decided),
        "queries": queries,
    }

    # The keyboard step: decide the record shown, land on the next one.
    todo = iter(state["ids"][int(0.6 * n) :])

    def step() -> None:
        record = next(todo)
        response = ann.http.post(
            f"/r/bench/screen/{TA}/{record}",
            data={"decision": "include", "csrf_token": ann.token},
        )
        assert response.status_code == 303, response.status_code
        ann.http.get(response.location).close()

    log("  keyboard step")
    before = ann.statements
    step()
    queries = ann.statements - before
    step_calls = min(calls, len(state["ids"]) - int(0.6 * n) - 10)
    results["screen: decide + next record (POST, redirect, GET)"] = {
        **timed(step, step_calls, warmup=3),
        "queries": queries,
    }
    for client in (ann, cat, lead):
        client.close()
    return results


def run_size(n: int, calls: int, keep: Path | None) -> dict[str, dict[str, float]]:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-web-{n}-", dir=keep))
    try:
        database_url = f"sqlite:///{folder / 'litreview.sqlite3'}"
        schema.upgrade(database_url)
        log(f"building {n:,} records")
        started = time.perf_counter()
        state = build(database_url, n)
        log(f"  built in {time.perf_counter() - started:.1f} s: {state['decisions']:,} decisions")
        os.environ["LITREVIEW_DATABASE_URL"] = database_url
        os.environ["LITREVIEW_DATA_DIR"] = str(folder / "data")
        app = create_app({"TESTING": True})
        # Off the request path anyway (see litreview/web/indexer.py); off here so a
        # background rebuild does not compete for the two cores while we time.
        app.extensions["litreview.indexer"] = Indexer(lambda: None, inline=True)
        try:
            return measure(app, state, calls)
        finally:
            app.extensions["litreview.engine"].dispose()
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def report(results: dict[int, dict[str, dict[str, float]]], calls: int) -> str:
    sizes = sorted(results)
    small, large = sizes[0], sizes[-1]
    load = os.getloadavg()[0]
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (load average {load:.1f} "
        "at the end of the run), "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"SQLAlchemy {sa.__version__}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {calls} requests per page after 5 warm-up.",
        "",
        "Wall: time per request; CPU: the request thread's CPU time (SQLite included), "
        "which a busy machine does not inflate.",
        "",
        f"| page | queries | {small:,}: wall median / p95 | {small:,}: CPU median / p95 "
        f"| {large:,}: wall median / p95 | {large:,}: CPU median / p95 "
        f"| ratio of CPU medians {large:,}/{small:,} | p95 < {TARGET_P95_MS:.0f} ms (wall / CPU) |",
        "|---|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for name in results[large]:
        a, b = results[small][name], results[large][name]
        ok_wall = "yes" if b["p95"] < TARGET_P95_MS else "**no**"
        ok_cpu = "yes" if b["cpu_p95"] < TARGET_P95_MS else "**no**"
        lines.append(
            f"| {name} | {b['queries']:.0f} "
            f"| {a['median']:.1f} / {a['p95']:.1f} | {a['cpu_median']:.1f} / {a['cpu_p95']:.1f} "
            f"| {b['median']:.1f} / {b['p95']:.1f} | {b['cpu_median']:.1f} / {b['cpu_p95']:.1f} "
            f"| {b['cpu_median'] / a['cpu_median']:.2f} | {ok_wall} / {ok_cpu} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,50000")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="build the databases here and keep them")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {n: run_size(n, args.calls, args.keep) for n in sizes}
    print(report(results, args.calls))


if __name__ == "__main__":
    main()
