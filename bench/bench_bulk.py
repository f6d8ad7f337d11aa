"""Bulk work on the records table: one bulk decision, one bulk tag, against the anchor of
the same decisions made one by one (a transaction each, as the screening page makes them).

    .venv/bin/python bench/bench_bulk.py                 # --sizes 500,2000 --repeat 3
    .venv/bin/python bench/bench_bulk.py --sizes 200 --repeat 1 --postgres URL

Each run gets a fresh SQLite file (migrated by the app's migrations) with N records in
review ``b`` and one reviewer; the timed parts run in this process: wall time
(``perf_counter``) and CPU time of this process (``process_time``: the database work of
SQLite is in-process, PostgreSQL's is not, so read PostgreSQL's wall time). Reported:
medians over the repeats, per record, and the bulk's ratio to the anchor run side by
side. The commit is timed with the bulk: it is what the person waits for.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from litreview import screening  # noqa: E402
from litreview.db import Base, make_engine, make_session_factory  # noqa: E402
from litreview.evidence import tags as tagging  # noqa: E402
from litreview.library import reviews  # noqa: E402
from litreview.migrations import runner as schema  # noqa: E402
from litreview.models import Membership, Record, Review, User  # noqa: E402
from litreview.screening.bulk import decide_many  # noqa: E402

TA = "title_abstract"


def fresh_database(url: str | None, folder: Path, n: int) -> str:
    if url is None:
        url = f"sqlite:///{folder / 'bench.sqlite3'}"
        schema.upgrade(url)
    else:
        engine = sa.create_engine(url)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        engine.dispose()
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        review = reviews.create_review(session, "b", "B", "bench")
        review.exclusion_reasons = ["Not AI", "Not social work"]
        reviews.add_question(session, review, "Q1", "Types of AI", "bench")
        user = User(email="ann@example.org", password_hash="x")
        session.add(user)
        session.flush()
        session.add(Membership(review_id=review.id, user_id=user.id, role="reviewer"))
        session.add_all(
            Record(review_id=review.id, title=f"Paper {i} on robotic mowers", year=2020)
            for i in range(n)
        )
        session.commit()
    engine.dispose()
    return url


def timed(work) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def run(url: str, kind: str) -> tuple[float, float]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            review = session.scalar(sa.select(Review).where(Review.slug == "b"))
            user = session.scalar(sa.select(User))
            ids = list(session.scalars(sa.select(Record.id).order_by(Record.id)))

            def one_by_one() -> None:
                for record_id in ids:
                    screening.decide(
                        session, review, record_id, user, TA, "exclude", reason="Not AI"
                    )
                    session.commit()

            def bulk() -> None:
                decide_many(session, review, ids, user, TA, "exclude", reason="Not AI")
                session.commit()

            def bulk_tag() -> None:
                tagging.tag_many(session, review, ids, ["Q1"], user.email)
                session.commit()

            work = {"one by one": one_by_one, "bulk decide": bulk, "bulk tag": bulk_tag}[kind]
            return timed(work)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,2000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", help="a PostgreSQL URL to run on instead of SQLite")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = ("one by one", "bulk decide", "bulk tag")
    samples: dict[tuple[int, str], list[tuple[float, float]]] = {}
    for n in sizes:
        for _ in range(args.repeat):
            for kind in kinds:  # side by side in each repeat
                with tempfile.TemporaryDirectory() as folder:
                    url = fresh_database(args.postgres, Path(folder), n)
                    samples.setdefault((n, kind), []).append(run(url, kind))
                    print(f"{n} {kind}: {samples[n, kind][-1]}", file=sys.stderr)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(f"## Bulk decisions and tags ({'PostgreSQL' if args.postgres else 'SQLite'})\n")
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {platform.node()} · "
        f"{platform.processor() or platform.machine()} · Python {platform.python_version()} · "
        f"commit {commit}\n"
    )
    print(f"`{' '.join(['bench/bench_bulk.py', *sys.argv[1:]])}` · medians of {args.repeat}\n")
    print("| records | work | wall s | CPU s | wall ms/record | wall vs one by one |")
    print("|---:|---|---:|---:|---:|---:|")
    for n in sizes:
        anchor = statistics.median(w for w, _ in samples[n, "one by one"])
        for kind in kinds:
            wall = statistics.median(w for w, _ in samples[n, kind])
            cpu = statistics.median(c for _, c in samples[n, kind])
            print(
                f"| {n:,} | {kind} | {wall:.2f} | {cpu:.2f} | {1000 * wall / n:.2f} | "
                f"{wall / anchor:.2f} |"
            )


if __name__ == "__main__":
    main()
