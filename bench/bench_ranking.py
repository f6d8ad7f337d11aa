"""Prioritised screening (issue 12): replays against ASReview LAB, model alternatives,
retrain time and the next record while retraining.

    .venv/bin/python bench/bench_ranking.py                      # replays + timing
    .venv/bin/python bench/bench_ranking.py --alternatives       # + the model alternatives
    .venv/bin/python bench/bench_ranking.py --no-replays --records 5000,50000

**Replays.** Each labelled review of ../shared/fixtures/screening (Kitchenham 2010,
SYNERGY Smid 2020), five seeds, one relevant and one irrelevant prior: litreview's
``simulation.replay`` (what ``litreview simulate`` runs: retraining in growing batches,
as the app does) and ASReview LAB's ``Simulate`` with its default model (ELAS u4,
retraining after every record) in a process of bench/.venv-asreview, both from the
SAME prior records (drawn by litreview's seed). WSS@95, WSS@100 and RRF@10 of both
orders are computed by one function (``simulation.metrics``; the priors count as
screened); the stopping test is litreview's, on litreview's order. Wall and CPU time per
replay (ASReview: its whole worker process, from ``os.wait4``, minus the import).

**Alternatives** (``--alternatives``): the same replays for models the ranking module's
docstring compares: retraining after every decision or in batches of 2% and 5% of the
decisions instead of 1%, a ``TfidfVectorizer`` vocabulary instead of hashing, an
English stop-word list, the title counted once, logistic regression, multinomial naive
Bayes (ASReview's ELAS u3). WSS@95, WSS@100, RRF@10 (means) and the lowest recall at
which the stopping test fired.

ASReview's worker runs in a temp folder of its own (it leaves synergy_cache.sqlite in
its working directory) and reads its order back through its public API
(``Simulate.to_sql`` and ``open_db(...).get_results_table``).

**Timing.** A SQLite review of N records whose titles and abstracts are put together from
the fixtures' (sentences of several real abstracts each, so the vocabulary is a real
one), a tenth (and at 50,000 also a half) of them decided in single mode. ``retrain``
cold (first in the process: every text read and counted) and warm (counts kept; the
ranking made due again by a batch of decisions), medians of five; then ``next_record``
(most relevant first, in a fresh session per call, as a request) 200 times alone and,
10 ms apart, at least 200 times and for two whole retrains while another thread
retrains over and over, p50/p95.

This file imports only the standard library at the top: its ASReview worker runs under
the ASReview virtualenv's interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
FIXTURES = ROOT.parent / "shared" / "fixtures" / "screening"
if not FIXTURES.exists():
    FIXTURES = Path("/work/shared/fixtures/screening")
ASREVIEW = BENCH / ".venv-asreview" / "bin" / "python"
TA = "title_abstract"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ======================================================================== ASReview worker


def worker_asreview(path: str, seed: str, priors: str) -> dict[str, Any]:
    """ASReview LAB's simulation with its default model, from the given priors."""
    started = time.perf_counter()
    import numpy as np
    import pandas as pd
    from asreview import Simulate, __version__, open_db
    from asreview.learner import ActiveLearningCycle
    from asreview.models import get_ai_config

    import_s = time.perf_counter() - started
    wall0, cpu0 = time.perf_counter(), time.process_time()
    frame = pd.read_csv(path)
    labels = frame["label_included"].astype(int).to_numpy()
    np.random.seed(int(seed))
    config = get_ai_config()
    cycle = ActiveLearningCycle.from_meta(config["value"])
    sim = Simulate(frame, labels, cycle, print_progress=False)
    sim.label(json.loads(priors))
    sim.review()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    # The order, through its public API: the results written to a project database and
    # read back in the order they were labelled (``Simulate._results`` is private).
    results = Path(os.getcwd()) / "results.sqlite"
    sim.to_sql(results)
    with open_db(results, read_only=True) as db:
        order = db.get_results_table(["record_id"], groups=True)["record_id"]
    return {
        "order": [int(i) for i in order],
        "model": config["name"],
        "version": __version__,
        "wall_s": wall,
        "cpu_s": cpu,
        "import_s": import_s,
    }


# ======================================================================== replays


def load_csv(path: Path) -> tuple[list[str], list[int]]:
    """A bench-only reader of a labelled CSV (litreview's CSV reader lives in ingest)."""
    import csv

    from litreview.screening.ranking import text_of

    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [text_of(r["title"], r["abstract"]) for r in rows], [
        int(r["label_included"]) for r in rows
    ]


def run_asreview(python: Path, path: Path, seed: int, priors: list[int]) -> dict[str, Any]:
    command = [str(python), __file__, "--worker", str(path), str(seed), json.dumps(priors)]
    # In a temp folder of its own: ASReview may leave files (synergy_cache.sqlite) in
    # its working directory, and the worker writes its results database there.
    with tempfile.TemporaryDirectory(prefix="asreview-") as cwd:
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd
        )
        out, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"ASReview worker failed: {err[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def replays(args, python: Path | None) -> dict[str, list[dict[str, Any]]]:
    from litreview.screening import simulation

    results: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(FIXTURES.glob("*.csv")):
        texts, labels = load_csv(path)
        runs = []
        for seed in range(args.seeds):
            priors = simulation.draw_priors(texts, labels, 1, 1, seed)
            wall0, cpu0 = time.perf_counter(), time.process_time()
            ours = simulation.replay(texts, labels, seed=seed, priors=priors)
            run: dict[str, Any] = {
                "seed": seed,
                "priors": priors,
                "ours": {**ours.to_json(), "cpu_s": time.process_time() - cpu0},
            }
            run["ours"]["wall_s"] = time.perf_counter() - wall0
            if python is not None:
                theirs = run_asreview(python, path, seed, priors)
                seen = [labels[i] for i in theirs["order"]]
                seen += [0] * (len(labels) - len(seen))  # it stops at the last relevant
                run["asreview"] = {
                    **simulation.metrics(seen, sum(labels), len(labels)),
                    **{k: theirs[k] for k in ("model", "version", "wall_s", "cpu_s")},
                }
            log(f"{path.stem} seed {seed}: {json.dumps(run)[:300]}")
            runs.append(run)
        results[path.stem] = runs
    return results


def alternatives(args) -> dict[str, dict[str, list[dict[str, float]]]]:
    import numpy as np

    from litreview.screening import ranking, simulation

    def vocabulary(texts, **options):
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_df=0.95, **options)
        return vectorizer.fit_transform(texts).tocsr()

    def logistic(features, labelled, labels, candidates, seed=0):
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=1.0, solver="liblinear")
        model.fit(features[labelled], labels, sample_weight=ranking.sample_weights(labels))
        return model.decision_function(features[candidates])

    def naive_bayes(features, labelled, labels, candidates, seed=0):
        from sklearn.naive_bayes import MultinomialNB

        relevant = labels == 1
        weights = np.where(relevant, 1.0, relevant.sum() / (1.2 * (~relevant).sum()))
        model = MultinomialNB(alpha=3.822)
        model.fit(features[labelled], labels, sample_weight=weights * len(weights) / weights.sum())
        return model.predict_proba(features[candidates])[:, 1]

    models = {
        f"the model (hashed counts, SVM, batches of {ranking.BATCH:.0%})": (ranking.DEFAULT, {}),
        "retrained after every decision": (ranking.DEFAULT, {"every_decision": True}),
        "batches of 2%": (ranking.DEFAULT, {"batch": 0.02}),
        "batches of 5%": (ranking.DEFAULT, {"batch": 0.05}),
        "TfidfVectorizer vocabulary": (ranking.Model("vocab", vocabulary, ranking.fit_scores), {}),
        "English stop-word list": (
            ranking.Model(
                "stop", lambda t: vocabulary(t, stop_words="english"), ranking.fit_scores
            ),
            {},
        ),
        "title counted once": (ranking.DEFAULT, {"title_once": True}),
        # On the vocabulary's columns: liblinear's logistic regression on all 2**20
        # hashed ones ran for over 10 minutes on Kitchenham alone.
        "logistic regression (vocabulary)": (ranking.Model("lr", vocabulary, logistic), {}),
        "naive Bayes (ELAS u3)": (
            ranking.Model("nb", lambda t: vocabulary(t, stop_words="english"), naive_bayes),
            {},
        ),
    }
    found: dict[str, dict[str, list[dict[str, float]]]] = {}
    for path in sorted(FIXTURES.glob("*.csv")):
        texts, labels = load_csv(path)
        import csv

        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        titles = [r["title"] or "" for r in rows]
        abstracts = [r["abstract"] or "" for r in rows]
        for name, (model, options) in models.items():
            options = dict(options)
            used = texts
            if options.pop("title_once", False):
                used = [
                    f"{title} {abstract}".strip()
                    for title, abstract in zip(titles, abstracts, strict=True)
                ]
            scores = []
            for seed in range(args.seeds):
                priors = simulation.draw_priors(texts, labels, 1, 1, seed)
                replay = simulation.replay(
                    used, labels, seed=seed, priors=priors, model=model, **options
                )
                scores.append(
                    {
                        "wss95": replay.wss95,
                        "wss100": replay.wss100,
                        "rrf10": replay.rrf10,
                        "stop_recall": replay.stop["recall"],
                    }
                )
            found.setdefault(name, {})[path.stem] = scores
            log(f"alternative {name}, {path.stem}: {json.dumps(scores)}")
    return found


# ======================================================================== timing


def build_review(url: str, n: int, decided_share: float, seed: int = 1) -> dict[str, Any]:
    import sqlalchemy as sa

    from litreview.db import make_engine
    from litreview.migrations import runner as schema
    from litreview.models import Membership, Record, Review, User
    from litreview.models.core import utcnow
    from litreview.screening import outcomes
    from litreview.screening.ranking import text_of

    schema.upgrade(url)
    rng = random.Random(seed)
    sources = []
    for path in sorted(FIXTURES.glob("*.csv")):
        import csv

        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                sentences = [s for s in (row["abstract"] or "").split(". ") if s]
                sources.append((row["title"] or "", sentences, int(row["label_included"])))
    engine = make_engine(url)
    now = utcnow()
    with engine.begin() as conn:
        review_id = conn.execute(
            sa.insert(Review).values(slug="bench", title="Bench", created_at=now)
        ).inserted_primary_key[0]
        user_id = conn.execute(
            sa.insert(User).values(email="ann@example.org", is_active=True, created_at=now)
        ).inserted_primary_key[0]
        conn.execute(
            sa.insert(Membership).values(
                review_id=review_id, user_id=user_id, role="reviewer", created_at=now
            )
        )
        rows, labels = [], []
        for i in range(n):
            title, _sentences, label = rng.choice(sources)
            mixed = [s for _ in range(3) for s in rng.choice(sources)[1][:2]]
            own = rng.choice([s for s in sources if s[2] == label])[1]
            abstract = ". ".join([*own[:4], *mixed]) + f". Record {i}."
            rows.append(
                {
                    "review_id": review_id,
                    "title": title,
                    "abstract": abstract,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            labels.append(label)
        for start in range(0, n, 5000):
            conn.execute(sa.insert(Record), rows[start : start + 5000])
        ids = list(conn.scalars(sa.select(Record.id).order_by(Record.id)))
        decided = rng.sample(range(n), int(decided_share * n))
        conn.execute(
            sa.insert(sa.table("decision", *(sa.column(c) for c in DECISION_COLUMNS))),
            [
                {
                    "review_id": review_id,
                    "record_id": ids[i],
                    "user_id": user_id,
                    "stage": TA,
                    "decision": "include" if labels[i] else "exclude",
                    "current": True,
                    "created_at": now,
                }
                for i in decided
            ],
        )
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        outcomes.refresh(session, session.get(Review, review_id))
        session.commit()
    words = sum(len(text_of(r["title"], r["abstract"]).split()) for r in rows[:1000]) / 1000
    engine.dispose()
    return {"review": review_id, "user": user_id, "ids": ids, "words_per_record": words}


DECISION_COLUMNS = (
    "review_id",
    "record_id",
    "user_id",
    "stage",
    "decision",
    "current",
    "created_at",
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def timing(n: int, share: float) -> dict[str, Any]:
    import sqlalchemy as sa

    from litreview import screening
    from litreview.db import make_engine, make_session_factory
    from litreview.models import Ranking, Review, User
    from litreview.screening import relevance

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        started = time.perf_counter()
        info = build_review(url, n, share)
        log(f"{n} records, {share:.0%} decided: built in {time.perf_counter() - started:.0f} s")
        engine = make_engine(url)
        factory = make_session_factory(engine)
        review_id = info["review"]

        def make_due() -> None:
            with engine.begin() as conn:
                conn.execute(sa.update(Ranking).values(decision_mark=0))

        def one_retrain() -> tuple[float, float, Any]:
            wall0, cpu0 = time.perf_counter(), time.thread_time()
            done = relevance.retrain(factory, review_id, TA, 0)
            return time.perf_counter() - wall0, time.thread_time() - cpu0, done

        kept_before = relevance.kept_megabytes()  # earlier sizes' reviews, still kept
        cold_wall, cold_cpu, done = one_retrain()
        kept_mb = relevance.kept_megabytes() - kept_before
        warm = []
        for _ in range(5):
            make_due()
            warm.append(one_retrain())
        result: dict[str, Any] = {
            "records": n,
            "decided": int(share * n),
            "ranked": done.ranked,
            "words_per_record": round(info["words_per_record"]),
            "kept_mb": round(kept_mb),
            "retrain_cold_wall_s": cold_wall,
            "retrain_cold_cpu_s": cold_cpu,
            "retrain_warm_wall_s": statistics.median(w for w, _c, _d in warm),
            "retrain_warm_cpu_s": statistics.median(c for _w, c, _d in warm),
        }

        def next_times(calls: int, until=None) -> tuple[list[float], list[float]]:
            walls, cpus = [], []
            while len(walls) < calls or (until is not None and not until()):
                if until is not None:
                    time.sleep(0.01)  # spread over every phase of the retrains
                with factory() as session:
                    review = session.get(Review, review_id)
                    user = session.get(User, info["user"])
                    wall0, cpu0 = time.perf_counter(), time.thread_time()
                    record = screening.next_record(session, review, user, TA)
                    walls.append((time.perf_counter() - wall0) * 1000)
                    cpus.append((time.thread_time() - cpu0) * 1000)
                    assert record is not None
            return walls, cpus

        alone = next_times(200)
        stop = threading.Event()
        retrains = []

        def keep_retraining() -> None:
            while not stop.is_set():
                make_due()
                retrains.append(one_retrain()[0])

        thread = threading.Thread(target=keep_retraining)
        thread.start()
        time.sleep(0.2)
        # At least 200 calls, and on until two whole retrains ran beside them (a
        # retrain at 50,000 records takes longer than 200 calls).
        started_with = len(retrains)
        busy = next_times(200, until=lambda: len(retrains) >= started_with + 2)
        result["next_while_retraining_calls"] = len(busy[0])
        stop.set()
        thread.join()
        for name, (walls, cpus) in (("alone", alone), ("while_retraining", busy)):
            result[f"next_{name}_wall_p50_ms"] = statistics.median(walls)
            result[f"next_{name}_wall_p95_ms"] = pct(walls, 0.95)
            result[f"next_{name}_cpu_p50_ms"] = statistics.median(cpus)
            result[f"next_{name}_cpu_p95_ms"] = pct(cpus, 0.95)
        result["retrains_during"] = len(retrains)
        engine.dispose()
        log(json.dumps(result))
        return result


# ======================================================================== report


def machine() -> str:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import sqlite3
    from importlib import metadata

    return (
        f"{platform.machine()}, {os.cpu_count()} cores ({cpu}), load average "
        f"{os.getloadavg()[0]:.1f} at the end, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, scikit-learn {metadata.version('scikit-learn')}, "
        f"numpy {metadata.version('numpy')}; "
        f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC"
    )


def mean(values: list[float]) -> float:
    return statistics.mean(values) if values else float("nan")


def report(found: dict[str, Any]) -> str:
    out = [f"Machine: {machine()}", ""]
    for name, runs in found.get("replays", {}).items():
        out += [
            f"### {name}: {runs[0]['ours']['records']} records, "
            f"{runs[0]['ours']['relevant']} relevant",
            "",
        ]
        has_asr = "asreview" in runs[0]
        head = "| seed | WSS@95 | WSS@100 | RRF@10 | stop after (recall) | wall / CPU s |"
        if has_asr:
            head += " ASReview WSS@95 | WSS@100 | RRF@10 | wall / CPU s |"
        out += [head, "|" + "---:|" * (head.count("|") - 1)]
        for run in runs:
            o = run["ours"]
            line = (
                f"| {run['seed']} | {o['wss95']:.3f} | {o['wss100']:.3f} | {o['rrf10']:.3f} | "
                f"{o['stop']['screened']} ({o['stop']['recall']:.2f}) | "
                f"{o['wall_s']:.1f} / {o['cpu_s']:.1f} |"
            )
            if has_asr:
                a = run["asreview"]
                line += (
                    f" {a['wss95']:.3f} | {a['wss100']:.3f} | {a['rrf10']:.3f} | "
                    f"{a['wall_s']:.1f} / {a['cpu_s']:.1f} |"
                )
            out.append(line)

        def col(side: str, key: str, runs: list = runs) -> float:
            return mean([run[side][key] for run in runs])

        line = (
            f"| mean | {col('ours', 'wss95'):.3f} | {col('ours', 'wss100'):.3f} | "
            f"{col('ours', 'rrf10'):.3f} | min recall "
            f"{min(r['ours']['stop']['recall'] for r in runs):.2f} | median "
            f"{statistics.median(r['ours']['wall_s'] for r in runs):.1f} / "
            f"{statistics.median(r['ours']['cpu_s'] for r in runs):.1f} |"
        )
        if has_asr:
            line += (
                f" {col('asreview', 'wss95'):.3f} | {col('asreview', 'wss100'):.3f} | "
                f"{col('asreview', 'rrf10'):.3f} | median "
                f"{statistics.median(r['asreview']['wall_s'] for r in runs):.1f} / "
                f"{statistics.median(r['asreview']['cpu_s'] for r in runs):.1f} |"
            )
        out += [line, ""]
    if found.get("alternatives"):
        names = list(next(iter(found["alternatives"].values())))
        out += [
            "### Alternatives: WSS@95 / WSS@100 / RRF@10, means over the seeds; "
            "lowest recall where the stopping test fired",
            "",
        ]
        out += ["| model | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
        for model, by_set in found["alternatives"].items():
            cells = []
            for n in names:
                runs = by_set[n]
                stops = [r["stop_recall"] for r in runs if r["stop_recall"] is not None]
                cells.append(
                    " / ".join(f"{mean([r[k] for r in runs]):.4f}" for k in ("wss95", "wss100"))
                    + f" / {mean([r['rrf10'] for r in runs]):.3f}; stop "
                    + (f"{min(stops):.2f}" if stops else "never")
                )
            out.append(f"| {model} | " + " | ".join(cells) + " |")
        out.append("")
    if found.get("timing"):
        out += [
            "### Retrain and next record (SQLite, single mode, most relevant first)",
            "",
            "| records | decided | ranked | counts kept MB | retrain cold wall / CPU s "
            "| retrain warm wall / CPU s "
            "| next p50 / p95 ms alone (CPU p95) | next p50 / p95 ms while retraining (CPU p95) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for t in found["timing"]:
            out.append(
                f"| {t['records']:,} | {t['decided']:,} | {t['ranked']:,} | {t['kept_mb']} | "
                f"{t['retrain_cold_wall_s']:.2f} / {t['retrain_cold_cpu_s']:.2f} | "
                f"{t['retrain_warm_wall_s']:.2f} / {t['retrain_warm_cpu_s']:.2f} | "
                f"{t['next_alone_wall_p50_ms']:.1f} / {t['next_alone_wall_p95_ms']:.1f} "
                f"({t['next_alone_cpu_p95_ms']:.1f}) | "
                f"{t['next_while_retraining_wall_p50_ms']:.1f} / "
                f"{t['next_while_retraining_wall_p95_ms']:.1f} "
                f"({t['next_while_retraining_cpu_p95_ms']:.1f}; "
                f"{t.get('next_while_retraining_calls', 200)} calls) |"
            )
    return "\n".join(out)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(worker_asreview(*sys.argv[2:])))
        return
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--asreview", type=Path, default=ASREVIEW)
    parser.add_argument("--no-asreview", action="store_true")
    parser.add_argument("--no-replays", action="store_true")
    parser.add_argument("--alternatives", action="store_true")
    parser.add_argument("--records", default="5000,50000", help="timing sizes; '' for none")
    parser.add_argument("--json-out", type=Path, default=BENCH / "data" / "ranking-last.json")
    args = parser.parse_args()
    python = None if args.no_asreview or not args.asreview.exists() else args.asreview
    if python is None and not args.no_asreview:
        log(f"no {args.asreview}: ASReview left out (see bench/README.md to make it)")
    found: dict[str, Any] = {"machine": None}
    if not args.no_replays:
        found["replays"] = replays(args, python)
    if args.alternatives:
        found["alternatives"] = alternatives(args)
    sizes = [int(s) for s in args.records.split(",") if s]
    found["timing"] = []
    for n in sizes:
        found["timing"].append(timing(n, 0.1))
        if n >= 50_000:
            found["timing"].append(timing(n, 0.5))
    found["machine"] = machine()
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(found, indent=1), encoding="utf-8")
    print(report(found))


if __name__ == "__main__":
    main()
