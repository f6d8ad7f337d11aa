"""Screening holds under contention: reviewers asking for their next record at once.

    .venv/bin/python bench/bench_holds.py [--reviewers 20] [--seconds 30] [--records 3000]
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

A single-mode review on PostgreSQL (a database of its own, dropped at the end) with a
shared ranking trained from 60 decisions. Each reviewer is a thread that, until time is
up, asks for its next record (``skips.next_to_screen``, which holds it: see
``screening.claims``), commits, decides it at once, commits, and waits 0-0.3 s: the
pattern of bench_load.py's team run without the web servers, so the contention itself
is what is measured. Reports the asks, the holds lost (each one is another walk of the
queue), the wall time of an ask with its commit, and the records decided by two or more
reviewers (a hold gives up after ``skips.HOLD_TRIES`` lost races and returns the
record anyway). Loads both cores for ``--seconds``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from litreview import screening  # noqa: E402
from litreview.db import make_engine, make_session_factory  # noqa: E402
from litreview.library import reviews  # noqa: E402
from litreview.migrations import runner as schema  # noqa: E402
from litreview.models import Decision, Membership, Record, Review, User  # noqa: E402
from litreview.screening import claims, relevance, skips  # noqa: E402

TA = "title_abstract"
WORDS = "ai social work risk bias ethics data protection child welfare chatbot triage".split()


def build(url: str, reviewers: int, records: int) -> tuple[int, list[int]]:
    """The review, its reviewers, the records and a first shared ranking."""
    factory = make_session_factory(make_engine(url))
    with factory() as session:
        review = reviews.create_review(session, "holds", "Holds", "lead@example.org")
        users = [User(email=f"r{n}@example.org", password_hash="-") for n in range(reviewers)]
        session.add_all(users)
        session.flush()
        session.add_all(
            Membership(review_id=review.id, user_id=u.id, role="reviewer") for u in users
        )
        session.add_all(
            Record(
                review_id=review.id,
                title=" ".join(WORDS[(n * 7 + k) % len(WORDS)] for k in range(6)) + f" {n}",
                abstract="An abstract. " * 20,
            )
            for n in range(records)
        )
        session.flush()
        first = session.scalars(sa.select(Record.id).order_by(Record.id).limit(60)).all()
        for n, record_id in enumerate(first):
            decision = "include" if n % 3 == 0 else "exclude"
            screening.decide(session, review, record_id, users[n % reviewers], TA, decision)
        session.commit()
        review_id, user_ids = review.id, [u.id for u in users]
    relevance.retrain(factory, review_id, TA, 0)
    return review_id, user_ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument(
        "--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    name = f"litreview_holds_{os.getpid()}"
    admin = sa.create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = args.admin_url.rsplit("/", 1)[0] + "/" + name
    engine = None
    try:
        schema.upgrade(url)
        review_id, user_ids = build(url, args.reviewers, args.records)
        engine = make_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("ANALYZE"))
            conn.commit()
        factory = make_session_factory(engine)
        lost, asks, guard = [0], [], threading.Lock()
        real_hold = claims.hold

        def counted_hold(*args: object, **kwargs: object) -> bool:
            taken = real_hold(*args, **kwargs)
            if not taken:
                with guard:
                    lost[0] += 1
            return taken

        claims.hold = counted_hold  # skips.next_to_screen calls it through the module
        load_before = os.getloadavg()[0]
        stop = time.monotonic() + args.seconds

        def reviewer(user_id: int, seed: int) -> None:
            rng = random.Random(seed)
            while time.monotonic() < stop:
                with factory() as session:
                    review, user = session.get(Review, review_id), session.get(User, user_id)
                    started = time.perf_counter()
                    record, _ = skips.next_to_screen(session, review, user, TA)
                    session.commit()
                    with guard:
                        asks.append((time.perf_counter() - started) * 1000)
                    if record is None:
                        return
                    decision = rng.choice(("include", "exclude"))
                    screening.decide(session, review, record.id, user, TA, decision)
                    session.commit()
                time.sleep(rng.uniform(0, 0.3))

        threads = [threading.Thread(target=reviewer, args=(u, n)) for n, u in enumerate(user_ids)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        claims.hold = real_hold
        with factory() as session:
            twice = session.scalar(
                sa.select(sa.func.count()).select_from(
                    sa.select(Decision.record_id)
                    .where(Decision.stage == TA)
                    .group_by(Decision.record_id)
                    .having(sa.func.count(sa.distinct(Decision.user_id)) > 1)
                    .subquery()
                )
            )
        asks.sort()
        print(
            f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}, load average before {load_before:.1f}, after "
            f"{os.getloadavg()[0]:.1f}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
            f"{args.reviewers} reviewers for {args.seconds:.0f} s, {args.records} records.\n"
        )
        print("| asks | holds lost | lost per ask | ask p50 ms | ask p95 ms | decided by 2+ |")
        print("|---:|---:|---:|---:|---:|---:|")
        print(
            f"| {len(asks)} | {lost[0]} | {lost[0] / max(1, len(asks)):.2f} "
            f"| {statistics.median(asks):.0f} | {asks[int(0.95 * (len(asks) - 1))]:.0f} "
            f"| {twice} |"
        )
    finally:
        if engine is not None:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
