"""Export benchmark: annotated bibliographies of 2,000 records, and a 50,000-record backup.

    .venv/bin/python bench/bench_export.py [--records 2000] [--backup-records 50000]
                                           [--repeat 3] [--skip-baseline] [--skip-backup]

Annotated bibliography (issue 6's targets: under 15 s cold in any style and format,
under 3 s when exported again after one annotation changed):

* a review of N records from bench/data (made by bench/generate.py when missing), six
  review questions, every record tagged to one or two of them, one in three annotated,
  in a SQLite file;
* for each style: a cold export (the citation cache emptied first) and, for each
  format, warm exports after one annotation changed; medians over --repeat runs;
* side by side, in fresh processes: formatting the same N citations with plain
  citeproc-py (the baseline) and with litreview's memo (csl.format_many).

Backup: a review of M records (with a decision for each, tags and annotations), written
to a JSON backup and restored under a new name, each step in its own process so its
peak memory (ru_maxrss) is its own.

Prints a Markdown report for bench/RESULTS.md on stdout; raw samples with --json-out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

STYLES = ("apa", "harvard", "vancouver", "chicago-author-date")
FORMATS = ("docx", "html", "md")
TARGET_COLD_S = 15.0
TARGET_WARM_S = 3.0
QUESTIONS = [
    (f"Q{i}", f"Review question {i}", f"What the review asks in question {i}.") for i in range(1, 7)
]


def data_file(n: int) -> Path:
    path = BENCH / "data" / f"records-{n}.bib"
    if not path.exists():
        subprocess.run(
            [
                sys.executable,
                str(BENCH / "generate.py"),
                "--out",
                str(BENCH / "data"),
                "--sizes",
                str(n),
                "--formats",
                "bib",
            ],
            check=True,
        )
    return path


def make_review(url: str, data_dir: Path, n: int, annotate_every: int = 3) -> None:
    """A migrated database with review "bench": n records imported, tagged, annotated."""
    os.environ["LITREVIEW_DATABASE_URL"] = url
    os.environ["LITREVIEW_DATA_DIR"] = str(data_dir)
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from litreview.db import make_engine
    from litreview.library import imports, reviews
    from litreview.migrations import runner as schema
    from litreview.models import Annotation, Decision, Record, RecordTag, User

    schema.upgrade(url)
    engine = make_engine(url)
    rng = random.Random(6)
    with Session(engine) as session:
        review = reviews.create_review(session, "bench", "Benchmark review", "bench@example.org")
        questions = [
            reviews.add_question(session, review, code, title, "bench@example.org", description)
            for code, title, description in QUESTIONS
        ]
        imports.import_file(
            session, review, data_file(n), actor="bench@example.org", source_label="Bench"
        )
        user = User(email="bench@example.org", name="Bench Reviewer")
        session.add(user)
        session.flush()
        ids = list(session.scalars(sa.select(Record.id).where(Record.merged_into_id.is_(None))))
        tags, notes, decisions = [], [], []
        for i, record_id in enumerate(ids):
            for q in rng.sample(questions, rng.choice((1, 1, 2))):
                tags.append(
                    {
                        "review_id": review.id,
                        "record_id": record_id,
                        "question_id": q.id,
                        "created_by": "bench@example.org",
                    }
                )
                if i % annotate_every == 0:
                    notes.append(
                        {
                            "review_id": review.id,
                            "record_id": record_id,
                            "question_id": q.id,
                            "note": f"Note on record {record_id}.",
                            "quote": "A quoted passage.",
                            "page": str(rng.randint(1, 300)),
                            "created_by": "bench@example.org",
                        }
                    )
            for stage in ("title_abstract", "full_text"):
                decisions.append(
                    {
                        "review_id": review.id,
                        "record_id": record_id,
                        "user_id": user.id,
                        "stage": stage,
                        "decision": "include",
                    }
                )
        session.execute(sa.insert(RecordTag), tags)
        session.execute(sa.insert(Annotation), notes)
        session.execute(sa.insert(Decision), decisions)
        session.commit()
    engine.dispose()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# ---------------------------------------------------------------- annotated bibliography


def bench_annotated(url: str, out_dir: Path, repeat: int) -> dict[str, Any]:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from litreview.db import make_engine
    from litreview.export import outputs as files
    from litreview.models import Annotation, CitationCache, Review

    engine = make_engine(url)
    samples: dict[str, Any] = {"cold": {}, "warm": {}, "records": None}
    with Session(engine) as session:
        review = session.scalar(sa.select(Review).where(Review.slug == "bench"))
        for style in STYLES:
            cold = []
            for r in range(repeat):
                session.execute(sa.delete(CitationCache))
                session.commit()
                fmt = FORMATS[r % len(FORMATS)]  # cold runs go round the formats
                start = time.perf_counter()
                made = files.annotated_file(session, review, fmt, style=style)
                (out_dir / made.filename).write_bytes(made.data)
                session.commit()
                cold.append((fmt, time.perf_counter() - start))
                samples["records"] = made.summary["records"]
            samples["cold"][style] = cold
            for fmt in FORMATS:
                warm = []
                for r in range(repeat):
                    note = session.scalar(sa.select(Annotation).order_by(Annotation.id).limit(1))
                    note.note = f"Changed {style} {fmt} {r}"
                    session.commit()
                    start = time.perf_counter()
                    made = files.annotated_file(session, review, fmt, style=style)
                    (out_dir / made.filename).write_bytes(made.data)
                    session.commit()
                    warm.append(time.perf_counter() - start)
                samples["warm"][f"{style}/{fmt}"] = warm
    engine.dispose()
    return samples


def formatting_worker(mode: str, style: str, url: str) -> dict[str, Any]:
    """Format every tagged record's citation once, in this fresh process."""
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from litreview.db import make_engine
    from litreview.export import _citeproc_memo, csl
    from litreview.models import Record, RecordTag

    engine = make_engine(url)
    with Session(engine) as session:
        ids = sa.select(RecordTag.record_id)
        records = list(session.scalars(sa.select(Record).where(Record.id.in_(ids))))
        items = [csl.cited_item(r) for r in records]
    engine.dispose()
    if mode == "baseline":
        _citeproc_memo.install = lambda: False  # plain citeproc-py
    csl.load_style(style)
    start, cpu = time.perf_counter(), time.process_time()
    csl.format_many(style, items)
    return {
        "mode": mode,
        "style": style,
        "records": len(items),
        "seconds": time.perf_counter() - start,
        "cpu": time.process_time() - cpu,
    }


def bench_formatting(url: str, repeat: int, skip_baseline: bool) -> list[dict[str, Any]]:
    runs = []
    modes = ("memo",) if skip_baseline else ("baseline", "memo")
    for _ in range(repeat):
        for style in STYLES:
            for mode in modes:  # side by side, in this order, every repeat
                out = subprocess.run(
                    [sys.executable, __file__, "--worker", "format", mode, style, url],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                runs.append(json.loads(out.stdout))
    return runs


# ---------------------------------------------------------------- backup and restore


def backup_worker(step: str, url: str, data_dir: str, path: str) -> dict[str, Any]:
    os.environ["LITREVIEW_DATABASE_URL"] = url
    os.environ["LITREVIEW_DATA_DIR"] = data_dir
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from litreview import backup
    from litreview.config import load_settings
    from litreview.db import make_engine
    from litreview.models import Review

    engine = make_engine(url)
    settings = load_settings()
    start = time.perf_counter()
    result: dict[str, Any] = {"step": step}
    with Session(engine) as session:
        if step == "backup":
            review = session.scalar(sa.select(Review).where(Review.slug == "bench"))
            report = backup.write_backup(session, review, settings, Path(path))
            result["records"] = report.counts["record"]
            result["bytes"] = Path(path).stat().st_size
        else:
            slug = f"bench-{step}-{int(time.time() * 1000) % 100000}"
            read_start = time.perf_counter()
            checked = backup.read_backup(Path(path))
            result["read_and_check_seconds"] = time.perf_counter() - read_start
            report = backup.restore(session, checked, slug, settings, actor="bench@example.org")
            session.commit()
            result["records"] = report.counts["record"]
    engine.dispose()
    result["seconds"] = time.perf_counter() - start
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def bench_backup(n: int, work: Path, repeat: int) -> dict[str, Any]:
    url = f"sqlite:///{work / 'backup.sqlite3'}"
    start = time.perf_counter()
    make_review(url, work / "backup-data", n, annotate_every=20)
    setup = time.perf_counter() - start
    runs = []
    for r in range(repeat):
        path = work / f"bench-{r}.litreview.json"
        for step in ("backup", "restore"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    "backup",
                    step,
                    url,
                    str(work / "backup-data"),
                    str(path),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            runs.append(json.loads(out.stdout))
    return {"setup_seconds": setup, "runs": runs}


# ---------------------------------------------------------------- report


def machine() -> str:
    load = os.getloadavg()
    return (
        f"{platform.node()} · {platform.machine()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · load average at start "
        f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}"
    )


def report(
    args, start_load: str, annotated: dict | None, formatting: list, backup: dict | None
) -> str:
    lines = [
        f"## Exports (issue 6) — {dt.date.today().isoformat()}",
        "",
        f"Machine: {start_load}. SQLite file database. `bench/bench_export.py "
        f"{' '.join(sys.argv[1:])}`.",
        "",
    ]
    if annotated:
        lines += _annotated_report(annotated, formatting)
    if backup:
        lines += _backup_report(backup)
    return "\n".join(lines) + "\n"


def _annotated_report(annotated: dict, formatting: list) -> list[str]:
    n = annotated["records"]
    lines = [
        f"### Annotated bibliography of {n:,} records (2,000 imported entries less duplicates, "
        "each tagged to 1–2 of 6 questions, one in three annotated)",
        "",
        f"Cold: citation cache emptied first (target < {TARGET_COLD_S:.0f} s). Warm: exported "
        f"again after one annotation changed (target < {TARGET_WARM_S:.0f} s). Medians, seconds.",
        "",
        "| style | cold (runs: format s) | cold median | warm docx | warm html | warm md |",
        "|---|---|---|---|---|---|",
    ]
    for style in STYLES:
        cold = annotated["cold"][style]
        cold_text = ", ".join(f"{fmt} {s:.1f}" for fmt, s in cold)
        warm = [median(annotated["warm"][f"{style}/{fmt}"]) for fmt in FORMATS]
        lines.append(
            f"| {style} | {cold_text} | {median([s for _, s in cold]):.1f} | "
            + " | ".join(f"{w:.2f}" for w in warm)
            + " |"
        )
    lines += [
        "",
        "### Formatting the citations alone, fresh process each (medians, wall s / CPU s)",
        "",
        "| style | plain citeproc-py (baseline) | with the memo | memo ÷ baseline (wall, CPU) |",
        "|---|---|---|---|",
    ]
    for style in STYLES:

        def pick(mode, key, style=style):
            return median([r[key] for r in formatting if r["style"] == style and r["mode"] == mode])

        base, memo = pick("baseline", "seconds"), pick("memo", "seconds")
        base_cpu, memo_cpu = pick("baseline", "cpu"), pick("memo", "cpu")
        lines.append(
            f"| {style} | {base:.1f} / {base_cpu:.1f} | {memo:.1f} / {memo_cpu:.1f} | "
            f"{memo / base:.2f}, {memo_cpu / base_cpu:.2f} |"
        )
    return lines


def _backup_report(backup: dict) -> list[str]:
    runs = backup["runs"]
    b = [r for r in runs if r["step"] == "backup"]
    r_ = [r for r in runs if r["step"] == "restore"]
    lines = [
        "",
        f"### Backup and restore of a {b[0]['records']:,}-record review",
        "",
        f"Set-up (import, {b[0]['records']:,} records with two decisions each, tags, "
        f"annotations): {backup['setup_seconds']:.0f} s, not counted.",
        "",
        "| step | median s | peak memory MB (median) | notes |",
        "|---|---|---|---|",
        "| backup to JSON | {:.1f} | {:.0f} | file {:.0f} MB |".format(
            median([x["seconds"] for x in b]),
            median([x["peak_mb"] for x in b]),
            median([x["bytes"] for x in b]) / 2**20,
        ),
        "| restore (read + check + insert + commit) | {:.1f} | {:.0f} | "
        "of which read + check {:.1f} s |".format(
            median([x["seconds"] for x in r_]),
            median([x["peak_mb"] for x in r_]),
            median([x["read_and_check_seconds"] for x in r_]),
        ),
    ]
    return lines


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, *rest = sys.argv[2:]
        result = formatting_worker(*rest) if kind == "format" else backup_worker(*rest)
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--backup-records", type=int, default=50000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-backup", action="store_true")
    parser.add_argument("--skip-annotated", action="store_true")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    start_load = machine()
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        work = Path(tmp)
        annotated, formatting = None, []
        if not args.skip_annotated:
            url = f"sqlite:///{work / 'annotated.sqlite3'}"
            make_review(url, work / "data", args.records)
            annotated = bench_annotated(url, work, args.repeat)
            formatting = bench_formatting(url, args.repeat, args.skip_baseline)
        backup = None if args.skip_backup else bench_backup(args.backup_records, work, args.repeat)
    if args.json_out:
        args.json_out.write_text(
            json.dumps(
                {"annotated": annotated, "formatting": formatting, "backup": backup}, indent=1
            )
        )
    print(report(args, start_load, annotated, formatting, backup), end="")


if __name__ == "__main__":
    main()
