"""Screening speed at 50,000 records: the next record to screen, and the dashboard's stats.

    .venv/bin/python bench/bench_screening.py [--records 50000] [--calls 200] [--db PATH]

Builds a SQLite review (Core inserts, a few seconds) in blind dual mode, part-way
through screening as a team would be after some weeks:

* Ann has screened the first 60% of the records at title/abstract, Ben the first 50%
  (agreeing with Ann 90% of the time); Cat, a third reviewer, has screened nothing;
* the first half of the conflicts are resolved by the lead;
* of the records that passed, those in the first 20% have been screened at full text
  by both Ann and Ben.

Then times, each over --calls calls in a fresh session (as a web request would):
``next_record`` for several users and stages, with and without ``after_id``, in id order
and then most relevant first (after training Ann's and Cat's own rankings: Ann's from
her 30,000 decisions, Cat's from the settled outcomes), the screening page's place
("30,001 of 50,000", ``queue.place``), and ``stats``. Alongside, a
baseline that does the same naively (every id and decision loaded into Python), for the
ratio. Prints a Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from litreview import screening
from litreview.db import make_engine, make_session_factory  # noqa: E402
from litreview.migrations import runner as schema
from litreview.models import (  # noqa: E402
    Decision,
    Membership,
    Record,
    Resolution,
    Review,
    User,
)
from litreview.screening import outcomes, queue  # noqa: E402

SEED = 20261126
REASONS = ["Not about AI", "Not social work", "Not research"]
TA, FT = "title_abstract", "full_text"


def build(engine: sa.Engine, n: int) -> dict[str, int]:
    """The review, its people, N records and the decisions described in the docstring."""
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        review_id = conn.execute(
            sa.insert(Review).values(
                slug="bench",
                title="Benchmark review",
                screening_mode="dual",
                exclusion_reasons=REASONS,
                highlight_include=[],
                highlight_exclude=[],
                created_at=now,
            )
        ).inserted_primary_key[0]
        users = {}
        for name, role in (
            ("lead", "lead"),
            ("ann", "reviewer"),
            ("ben", "reviewer"),
            ("cat", "reviewer"),
        ):
            users[name] = conn.execute(
                sa.insert(User).values(
                    email=f"{name}@example.org", is_admin=False, is_active=True, created_at=now
                )
            ).inserted_primary_key[0]
            conn.execute(
                sa.insert(Membership).values(
                    review_id=review_id, user_id=users[name], role=role, created_at=now
                )
            )
        rows = [
            {
                "review_id": review_id,
                "type": "article",
                "title": f"Synthetic record {i}",
                "abstract": "An abstract of a few words. " * 20,
                "authors": [{"family": "Doe", "given": "J."}],
                "keywords": ["ai"],
                "year": 2000 + i % 25,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(n)
        ]
        for start in range(0, n, 5000):
            conn.execute(sa.insert(Record), rows[start : start + 5000])
        ids = list(
            conn.scalars(
                sa.select(Record.id).where(Record.review_id == review_id).order_by(Record.id)
            )
        )

        def pick() -> tuple[str, str | None]:
            roll = rng.random()
            if roll < 0.10:
                return "include", None
            if roll < 0.15:
                return "maybe", None
            return "exclude", rng.choice(REASONS)

        decisions, resolutions = [], []
        passed, conflicts = [], []
        for i, record_id in enumerate(ids):
            if i >= 0.6 * n:
                break
            ann = pick()
            decisions.append((record_id, users["ann"], TA, *ann))
            if i < 0.5 * n:
                ben = ann if rng.random() < 0.9 else pick()
                decisions.append((record_id, users["ben"], TA, *ben))
                if ben[0] != ann[0]:
                    conflicts.append(record_id)
                elif ann[0] in ("include", "maybe"):
                    passed.append(record_id)
        for record_id in conflicts[: len(conflicts) // 2]:
            outcome = pick()
            resolutions.append((record_id, users["lead"], TA, *outcome))
            if outcome[0] in ("include", "maybe"):
                passed.append(record_id)
        for record_id in passed:
            if record_id <= ids[int(0.2 * n)]:
                for who in ("ann", "ben"):
                    outcome = pick()
                    reason = outcome[1] if outcome[0] == "exclude" else None
                    decisions.append((record_id, users[who], FT, outcome[0], reason))
        for model, batch in ((Decision, decisions), (Resolution, resolutions)):
            conn.execute(
                sa.insert(model),
                [
                    {
                        "review_id": review_id,
                        "record_id": r,
                        "user_id": u,
                        "stage": s,
                        "decision": d,
                        "reason": reason,
                        "current": True,
                        "created_at": now,
                    }
                    for r, u, s, d, reason in batch
                ],
            )
    # Written with Core, as a restore writes them: the kept outcomes are rebuilt so.
    with Session(engine) as session:
        outcomes.refresh(session, session.get(Review, review_id))
        session.commit()
    return {
        "review": review_id,
        **users,
        "ann_last": ids[int(0.6 * n) - 1],
        "decisions": len(decisions),
        "resolutions": len(resolutions),
    }


def naive_next(session: Session, review: Review, user: User, stage: str) -> int | None:
    """Baseline: load every id and decision, decide in Python (what the real one avoids)."""
    live = session.scalars(
        sa.select(Record.id)
        .where(Record.review_id == review.id, Record.merged_into_id.is_(None))
        .order_by(Record.id)
    ).all()
    by_record: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for record_id, user_id, decision in session.execute(
        sa.select(Decision.record_id, Decision.user_id, Decision.decision).where(
            Decision.review_id == review.id, Decision.stage == stage, Decision.current
        )
    ):
        by_record[record_id].append((user_id, decision))
    resolved = set(
        session.scalars(
            sa.select(Resolution.record_id).where(
                Resolution.review_id == review.id, Resolution.stage == stage, Resolution.current
            )
        )
    )
    for record_id in live:
        rows = by_record.get(record_id, [])
        if record_id in resolved or len(rows) >= 2 or any(u == user.id for u, _ in rows):
            continue
        return record_id
    return None


def naive_stats(session: Session, review: Review) -> dict[str, Counter]:
    """Baseline: every current decision loaded and tallied in Python."""
    tallies: dict[str, Counter] = {TA: Counter(), FT: Counter()}
    per: dict[tuple[int, str], list[str]] = defaultdict(list)
    for record_id, stage, decision in session.execute(
        sa.select(Decision.record_id, Decision.stage, Decision.decision).where(
            Decision.review_id == review.id, Decision.current
        )
    ):
        per[record_id, stage].append(decision)
    for (_record_id, stage), decisions in per.items():
        if len(decisions) >= 2:
            tallies[stage][decisions[0] if len(set(decisions)) == 1 else "conflict"] += 1
    return tallies


def timed(factory, calls: int, fn: Callable[[Session], object]) -> tuple[float, float, float]:
    """(median, 95th percentile, CPU median) in milliseconds over ``calls`` calls, each in
    a new session. CPU is this thread's (SQLite included): a busy machine does not
    inflate it as it does the wall time."""
    times, cpu = [], []
    for _ in range(calls):
        with factory() as session:
            start, start_cpu = time.perf_counter(), time.thread_time()
            fn(session)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.thread_time() - start_cpu) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--db", type=Path, help="SQLite file to build (default: a temporary one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.sqlite3"
        if path.exists():
            path.unlink()
        url = f"sqlite:///{path}"
        schema.upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        info = build(engine, args.records)
        # No ANALYZE: the app never runs it, so the planner works without statistics here too.
        built = time.perf_counter() - started
        factory = make_session_factory(engine)

        def with_objects(fn):
            def run(session: Session):
                review = session.get(Review, info["review"])
                return fn(
                    session, review, {n: session.get(User, info[n]) for n in ("ann", "ben", "cat")}
                )

            return run

        cases = [
            (
                "next_record: Ann, title/abstract, resuming (no after_id; 30,000 decided before)",
                lambda s, r, u: screening.next_record(s, r, u["ann"], TA, order="id"),
                lambda s, r, u: naive_next(s, r, u["ann"], TA),
            ),
            (
                "next_record: Ann, title/abstract, after_id = the record just decided",
                lambda s, r, u: screening.next_record(
                    s, r, u["ann"], TA, after_id=info["ann_last"], order="id"
                ),
                None,
            ),
            (
                "next_record: Cat (third reviewer), title/abstract",
                lambda s, r, u: screening.next_record(s, r, u["cat"], TA, order="id"),
                lambda s, r, u: naive_next(s, r, u["cat"], TA),
            ),
            (
                "next_record: Ann, full text",
                lambda s, r, u: screening.next_record(s, r, u["ann"], FT, order="id"),
                None,
            ),
            (
                "next_record: Cat, full text",
                lambda s, r, u: screening.next_record(s, r, u["cat"], FT, order="id"),
                None,
            ),
            (
                'place ("30,001 of 50,000"): Ann, title/abstract (30,000 decided)',
                lambda s, r, u: queue.place(s, r, u["ann"], TA, info["ann_last"] + 1),
                None,
            ),
            (
                "place: Cat (third reviewer, none decided), title/abstract",
                lambda s, r, u: queue.place(s, r, u["cat"], TA, info["ann_last"] + 1),
                None,
            ),
            (
                "place: Ann, full text",
                lambda s, r, u: queue.place(s, r, u["ann"], FT, info["ann_last"]),
                None,
            ),
            (
                "conflicts at title/abstract (348 waiting, with their decisions)",
                lambda s, r, u: screening.conflicts(s, r, TA),
                None,
            ),
            (
                "stats, computed (fresh=True: every call recomputes)",
                lambda s, r, u: screening.stats(s, r, fresh=True),
                lambda s, r, u: naive_stats(s, r),
            ),
            (
                "stats, nothing changed since the last call (reused)",
                lambda s, r, u: screening.stats(s, r),
                None,
            ),
        ]
        # Most relevant first: the rankings of Ann and Cat, trained as the app does.
        from litreview.screening import relevance

        for who in ("ann", "cat"):
            started = time.perf_counter()
            done = relevance.retrain(factory, info["review"], TA, info[who])
            print(
                f"{who}'s ranking: {done.ranked} records from {done.labels} decisions, "
                f"{time.perf_counter() - started:.1f} s (cold: every text counted)",
                file=sys.stderr,
            )
        top = {}
        with factory() as session:
            review = session.get(Review, info["review"])
            ann = session.get(User, info["ann"])
            top["ann"] = screening.next_record(session, review, ann, TA).id
        cases += [
            (
                "next_record most relevant first: Ann resuming (her ranking of 20,000 left)",
                lambda s, r, u: screening.next_record(s, r, u["ann"], TA, order="relevance"),
                None,
            ),
            (
                "next_record most relevant first: Ann, after_id = the record she passed by",
                lambda s, r, u: screening.next_record(
                    s, r, u["ann"], TA, after_id=top["ann"], order="relevance"
                ),
                None,
            ),
            (
                "next_record most relevant first: Cat (ranking from settled outcomes)",
                lambda s, r, u: screening.next_record(s, r, u["cat"], TA, order="relevance"),
                None,
            ),
        ]
        with factory() as session:
            review = session.get(Review, info["review"])
            counts = screening.stats(session, review)
        print(
            f"{args.records} records, {info['decisions']} decisions, {info['resolutions']} "
            f"resolutions; built in {built:.1f} s; {args.calls} calls each",
            file=sys.stderr,
        )
        print(f"stats: {counts['stages']}", file=sys.stderr)
        print(
            f"\nMachine: {platform.machine()}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"SQLAlchemy {sa.__version__}; {datetime.now(UTC):%Y-%m-%d}\n"
        )
        print(
            "| operation | median ms | p95 ms | CPU median ms | naive baseline median ms | ratio |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        for label, fn, baseline in cases:
            median, p95, cpu = timed(factory, args.calls, with_objects(fn))
            if baseline:
                base_median, *_ = timed(factory, max(5, args.calls // 10), with_objects(baseline))
                base, ratio = f"{base_median:.1f}", f"{base_median / median:.0f}x"
            else:
                base, ratio = "-", "-"
            print(f"| {label} | {median:.1f} | {p95:.1f} | {cpu:.1f} | {base} | {ratio} |")
        engine.dispose()


if __name__ == "__main__":
    main()
