"""Import benchmark: bare parsers vs `litreview import`, dedup accuracy, ASReview LAB.

    python bench/bench_import.py [--sizes 2000,50000] [--repeat 3] [--formats bib,ris]

Run it with the interpreter of the virtualenv litreview is installed in (it needs
bibtexparser and rispy for the bare parses, and runs the `litreview` console script).
The data comes from bench/generate.py (made here when missing). Every measurement is
its own process, so peak memory is that process's own (os.wait4), and the runs of one
repeat go side by side: bare parse, litreview import, probable duplicates, ASReview,
for each file, then the next repeat. Figures are medians over the repeats, and each
ratio is the median of the per-repeat ratios (import / bare parse of the same repeat).

The ASReview comparison runs only when bench/.venv-asreview exists (see README.md).
Prints a Markdown report on stdout; every raw sample goes to --json-out.

This file imports nothing but the standard library at the top: its worker modes run
under the ASReview virtualenv's interpreter too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DEFAULT_DATA = BENCH / "data"
DEFAULT_ASREVIEW = BENCH / ".venv-asreview" / "bin" / "python"
EXTENSIONS = {"bib": "bib", "ris": "ris"}
BENCH_USER = "bench@example.org"
STEP_TIMEOUT = 3 * 3600  # a 50,000-entry bibtexparser 1.4 parse alone takes minutes

# Targets of issue 2, and of issue 15 (Core inserts, one parse per entry).
TARGET_BIB_RATIO = 1.5  # end-to-end BibTeX import / bare bibtexparser parse
TARGET_BIB_RATIO_50K = 1.0  # issue 15: below the bare parse at 50,000 entries
TARGET_RIS_50K_S = 15.0  # 50,000 RIS records, end to end
TARGET_ASREVIEW_CPU_SHARE = 0.5  # issue 15: RIS import CPU / ASReview's, same file
TARGET_PEAK_MB = 500.0  # peak memory of an import (issue 2: 1 GB; issue 15: 500 MB)
TARGET_DUPLICATES_50K_S = 10.0  # probable duplicates among 50,000 records
PACKAGES = (
    "litreview",
    "bibtexparser",
    "pyparsing",
    "rispy",
    "pylatexenc",
    "rapidfuzz",
    "SQLAlchemy",
    "click",
)


# ======================================================================== workers
# `bench_import.py --worker KIND ...` runs one measurement and prints one JSON line.
# The module imports of the library are outside the timed part; the caller also
# measures the whole process (wall from spawn to exit, CPU and peak RSS by wait4).


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def own_peak_mb() -> float | None:
    """This process's own peak RSS (VmHWM of its address space), or None off Linux.

    Not ru_maxrss: on Linux a child's ru_maxrss starts from the RSS of the parent it was
    forked from (exec keeps the maximum), so a benchmark process that has grown would
    show its own size as every later child's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def worker_parse(fmt: str, path: str) -> dict[str, Any]:
    """The bare library parse: bibtexparser.loads (1.4) or rispy.load, file read included."""
    started = time.perf_counter()
    if fmt == "bib":
        import bibtexparser

        version = bibtexparser.__version__
    else:
        import rispy

        version = getattr(rispy, "__version__", "")
    import_s = time.perf_counter() - started
    wall0, cpu0 = _clock()
    with open(path, encoding="utf-8") as f:
        if fmt == "bib":
            entries = len(bibtexparser.loads(f.read()).entries)
        else:
            entries = len(rispy.load(f))
    wall1, cpu1 = _clock()
    return {
        "entries": entries,
        "wall_s": wall1 - wall0,
        "cpu_s": cpu1 - cpu0,
        "import_s": import_s,
        "version": version,
        "peak_mb": own_peak_mb(),
    }


def worker_asreview(mode: str, path: str, workdir: str) -> dict[str, Any]:
    """ASReview LAB's own reading of a file.

    ``project``: what the LAB web app does on "create project from file" up to the
    data store: ``Project.create`` then ``project.add_dataset(file)`` (copy the file
    into the project, read it with its RIS reader, i.e. rispy + pandas cleaning,
    store the records in the project's SQLite results.db, group exact duplicates).
    The model set-up that follows in the web app (add_review, label_priors) is not
    timed: that is screening, not import.

    ``load``: ``asreview.load_dataset(file)``, the same reading into an in-memory
    SQLite data store, no project.
    """
    started = time.perf_counter()
    import asreview as asr

    import_s = time.perf_counter() - started
    wall0, cpu0 = _clock()
    if mode == "project":
        project = asr.Project.create(
            Path(workdir) / "project", project_id="bench", project_mode="oracle"
        )
        project.add_dataset(path)
        wall1, cpu1 = _clock()
        store = project.db.input
    else:
        db = asr.load_dataset(path)
        wall1, cpu1 = _clock()
        store = db.input
    records = len(store)
    grouped = sum(1 for group_id, record_id in store.get_groups() if group_id != record_id)
    if mode == "project":
        project.close()
    return {
        "records": records,
        "grouped_as_duplicates": grouped,
        "wall_s": wall1 - wall0,
        "cpu_s": cpu1 - cpu0,
        "import_s": import_s,
        "version": asr.__version__,
        "peak_mb": own_peak_mb(),
    }


def worker_cli(timing_path: str, *args: str) -> int:
    """The `litreview` console script, run as it would be, with the time of loading its
    modules and the time of the command itself written to ``timing_path``."""
    from importlib import metadata

    wall0, cpu0 = _clock()
    (entry,) = metadata.entry_points(group="console_scripts", name="litreview")
    main = entry.load()
    wall1, cpu1 = _clock()
    sys.argv = ["litreview", *args]
    code: Any = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    finally:
        wall2, cpu2 = _clock()
        timing = {
            "load_wall_s": wall1 - wall0,
            "load_cpu_s": cpu1 - cpu0,
            "run_wall_s": wall2 - wall1,
            "run_cpu_s": cpu2 - cpu1,
            "peak_mb": own_peak_mb(),
        }
        Path(timing_path).write_text(json.dumps(timing), encoding="utf-8")
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


def run_worker(argv: list[str]) -> int:
    kind, *args = argv
    if kind == "cli":
        return worker_cli(*args)
    if kind == "parse":
        result = worker_parse(*args)
    elif kind == "asreview":
        result = worker_asreview(*args)
    else:
        raise SystemExit(f"unknown worker {kind!r}")
    print(json.dumps(result))
    return 0


# ======================================================================== processes


class StepFailed(RuntimeError):
    pass


@dataclass
class Proc:
    """One finished subprocess: its output and what it cost."""

    cmd: list[str]
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float  # user + system of the process (and any children it waited for)
    maxrss_mb: float  # ru_maxrss from wait4: at least the parent's RSS at fork time

    def json(self) -> Any:
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as exc:
            raise StepFailed(
                f"{_show(self.cmd)}: output is not JSON ({exc}); "
                f"stdout starts {self.stdout[:300]!r}; stderr:\n{self.stderr}"
            ) from None


def _show(cmd: list[str]) -> str:
    return " ".join(cmd)


def run(
    cmd: list[str],
    env: dict[str, str] | None = None,
    check: bool = True,
    cwd: Path | None = None,
) -> Proc:
    """Run a command to the end; its own rusage comes from os.wait4, not RUSAGE_CHILDREN
    (which is the maximum over every child so far, useless for the second run)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=err, env=env, stdin=subprocess.DEVNULL, cwd=cwd
        )
        killer = threading.Timer(STEP_TIMEOUT, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = Proc(
            cmd=cmd,
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            maxrss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
        )
    if check and result.returncode != 0:
        raise StepFailed(
            f"{_show(cmd)} exited with {result.returncode} after {wall:.1f}s; stderr:\n"
            f"{result.stderr.strip() or '(empty)'}"
        )
    return result


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ======================================================================== measurements


@dataclass
class Sample:
    """One repeat's figures for one file."""

    parse: dict[str, Any] = field(default_factory=dict)
    imp: dict[str, Any] = field(default_factory=dict)
    duplicates: dict[str, Any] = field(default_factory=dict)
    asreview: dict[str, Any] = field(default_factory=dict)
    asreview_load: dict[str, Any] = field(default_factory=dict)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp_root = Path(tempfile.mkdtemp(prefix="litreview-bench-", dir=args.tmp_dir))
        self.samples: dict[str, list[Sample]] = {}
        self.accuracy: dict[str, dict[str, Any]] = {}

    # ---------------------------------------------------------------- litreview
    def env(self, data_dir: Path) -> dict[str, str]:
        env = dict(os.environ)
        # Always a fresh SQLite file in the temp data dir, whatever the caller has set.
        for name in ("LITREVIEW_DATABASE_URL", "LITREVIEW_LOG", "LITREVIEW_DEBUG"):
            env.pop(name, None)
        env["LITREVIEW_DATA_DIR"] = str(data_dir)
        env["LITREVIEW_USER"] = BENCH_USER
        return env

    def cli(self, env: dict[str, str], *args: str) -> tuple[Proc, dict[str, float]]:
        """`litreview ARGS` in its own process (the console script's entry point, loaded
        by a small wrapper that also times the module loading and the command apart)."""
        timing = self.tmp_root / "timing.json"
        timing.unlink(missing_ok=True)
        proc = run([sys.executable, __file__, "--worker", "cli", str(timing), *args], env=env)
        return proc, json.loads(timing.read_text(encoding="utf-8"))

    def measure(self, path: Path, fmt: str, truth: dict[str, Any], first: bool) -> Sample:
        sample = Sample()
        name = path.name

        log(f"{name}: bare parse ({'bibtexparser.loads' if fmt == 'bib' else 'rispy.load'})")
        proc = run([sys.executable, __file__, "--worker", "parse", fmt, str(path)])
        result = proc.json()
        sample.parse = {
            **result,
            "process_wall_s": proc.wall_s,
            "process_cpu_s": proc.cpu_s,
            "maxrss_mb": _peak(result, proc),
            "wait4_maxrss_mb": proc.maxrss_mb,
        }
        log(
            f"{name}: bare parse {sample.parse['wall_s']:.2f}s wall, "
            f"{sample.parse['cpu_s']:.2f}s CPU"
        )

        data_dir = self.tmp_root / f"lr-{path.stem}-{fmt}"
        shutil.rmtree(data_dir, ignore_errors=True)
        env = self.env(data_dir)
        self.cli(env, "init", "--json")
        # Only an admin creates reviews; the first account of a new database must be one.
        self.cli(env, "user", "create", BENCH_USER, "--admin", "--generate-password", "--json")
        self.cli(env, "review", "create", "b", "--title", "B", "--json")
        log(f"{name}: litreview import")
        extra = self.args.import_option or []
        proc, timing = self.cli(env, "import", "b", str(path), "--json", *extra)
        report = proc.json()
        files = report["files"]
        if len(files) != 1 or "error" in files[0]:
            raise StepFailed(f"import of {path} failed: {files}")
        sample.imp = {
            "wall_s": proc.wall_s,
            "cpu_s": proc.cpu_s,
            **timing,
            "maxrss_mb": _peak(timing, proc),
            "wait4_maxrss_mb": proc.maxrss_mb,
            "read": files[0]["read"],
            "imported": report["imported"],
            "merged_duplicates": report["merged_duplicates"],
            "errors": report["errors"],
            "db_mb": _db_size(data_dir),
        }
        log(
            f"{name}: import {proc.wall_s:.2f}s wall, {proc.cpu_s:.2f}s CPU, "
            f"{sample.imp['maxrss_mb']:.0f} MB peak; imported {report['imported']}, "
            f"merged {report['merged_duplicates']}"
        )

        log(f"{name}: litreview duplicates")
        proc, timing = self.cli(env, "duplicates", "b", "--json")
        pairs = proc.json()["pairs"]
        sample.duplicates = {
            "wall_s": proc.wall_s,
            "cpu_s": proc.cpu_s,
            **timing,
            "maxrss_mb": _peak(timing, proc),
            "wait4_maxrss_mb": proc.maxrss_mb,
            "pairs": len(pairs),
        }
        log(f"{name}: duplicates {proc.wall_s:.2f}s wall, {len(pairs)} pairs")

        if first:
            log(f"{name}: litreview records (for the dedup check)")
            records = self.cli(env, "records", "b", "--json")[0].json()
            self.accuracy[name] = dedup_accuracy(truth, records, pairs)
        shutil.rmtree(data_dir, ignore_errors=True)

        if fmt == "ris" and self.args.asreview_python:
            for mode, slot in (("project", "asreview"), ("load", "asreview_load")):
                work = self.tmp_root / f"asr-{path.stem}-{mode}"
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True)
                log(f"{name}: ASReview {mode}")
                proc = run(
                    [
                        self.args.asreview_python,
                        __file__,
                        "--worker",
                        "asreview",
                        mode,
                        str(path),
                        str(work),
                    ],
                    cwd=work,  # ASReview writes its synergy_cache.sqlite in the cwd
                )
                result = proc.json()
                setattr(
                    sample,
                    slot,
                    {
                        **result,
                        "process_wall_s": proc.wall_s,
                        "process_cpu_s": proc.cpu_s,
                        "maxrss_mb": _peak(result, proc),
                        "wait4_maxrss_mb": proc.maxrss_mb,
                    },
                )
                got = getattr(sample, slot)
                log(f"{name}: ASReview {mode} {got['wall_s']:.2f}s wall, {got['cpu_s']:.2f}s CPU")
                shutil.rmtree(work, ignore_errors=True)
        return sample

    def run(self) -> None:
        files = []
        for size in self.args.sizes:
            truth = ensure_data(self.args.data, size, self.args.formats)
            for fmt in self.args.formats:
                files.append((self.args.data / f"records-{size}.{EXTENSIONS[fmt]}", fmt, truth))
        spent: dict[str, float] = {}
        budget = self.args.budget_s
        try:
            for repeat in range(self.args.repeat):
                log(f"repeat {repeat + 1} of {self.args.repeat}")
                for path, fmt, truth in files:
                    if budget and spent.get(path.name, 0.0) > budget:
                        log(f"{path.name}: over --budget-s {budget:.0f}, not repeated")
                        continue
                    started = time.perf_counter()
                    sample = self.measure(path, fmt, truth, first=repeat == 0)
                    self.samples.setdefault(path.name, []).append(sample)
                    spent[path.name] = spent.get(path.name, 0.0) + time.perf_counter() - started
        finally:
            shutil.rmtree(self.tmp_root, ignore_errors=True)


def _peak(reported: dict[str, Any], proc: Proc) -> float:
    """The worker's own VmHWM when it could read it, else wait4's ru_maxrss."""
    peak = reported.get("peak_mb")
    return peak if peak is not None else proc.maxrss_mb


def _db_size(data_dir: Path) -> float:
    return sum(p.stat().st_size for p in data_dir.glob("litreview.sqlite3*")) / 2**20


def ensure_data(data: Path, size: int, formats: list[str]) -> dict[str, Any]:
    wanted = [data / f"records-{size}.{EXTENSIONS[f]}" for f in formats]
    truth_path = data / f"records-{size}.truth.json"
    if not truth_path.exists() or not all(p.exists() for p in wanted):
        log(f"generating {size} records into {data}")
        run(
            [
                sys.executable,
                str(BENCH / "generate.py"),
                "--out",
                str(data),
                "--sizes",
                str(size),
                "--formats",
                ",".join(formats),
            ]
        )
    return json.loads(truth_path.read_text(encoding="utf-8"))


# ======================================================================== dedup accuracy


def dedup_accuracy(
    truth: dict[str, Any], records: list[dict[str, Any]], pairs: list[dict[str, Any]]
) -> dict[str, Any]:
    """Automatic merges and listed pairs against the generator's truth.

    Each entry has a root: its original's key if the truth lists it as a duplicate,
    else its own key. A record whose sources have two roots is a false merge; a listed
    pair of records that share no root is a false positive pair.
    """
    dups: dict[str, dict[str, Any]] = truth["duplicates"]
    record_of: dict[str, int] = {}
    roots_of: dict[int, set[str]] = {}
    for record in records:
        for source in record["sources"]:
            key = source["entry"]
            record_of[key] = record["id"]
            root = dups[key]["original"] if key in dups else key
            roots_of.setdefault(record["id"], set()).add(root)
    pair_set = {(min(p["a"], p["b"]), max(p["a"], p["b"])) for p in pairs}

    kinds: dict[str, dict[str, int]] = {}
    for key, info in dups.items():
        counts = kinds.setdefault(
            info["kind"], {"total": 0, "merged": 0, "listed": 0, "missed": 0, "not_imported": 0}
        )
        counts["total"] += 1
        a, b = record_of.get(key), record_of.get(info["original"])
        if a is None or b is None:
            counts["not_imported"] += 1
        elif a == b:
            counts["merged"] += 1
        elif (min(a, b), max(a, b)) in pair_set:
            counts["listed"] += 1
        else:
            counts["missed"] += 1
    for counts in kinds.values():
        found = counts["merged"] + counts["listed"]
        counts["recall"] = found / counts["total"] if counts["total"] else 1.0

    false_merges = sum(len(roots) - 1 for roots in roots_of.values())
    true_pairs = sum(1 for a, b in pair_set if roots_of.get(a, set()) & roots_of.get(b, set()))
    # A few false-positive pairs as they were listed, to judge them by eye.
    by_id = {record["id"]: record for record in records}
    examples = [
        {
            "score": p["score"],
            "why": p["why"],
            "a": [by_id[p["a"]].get("title"), by_id[p["a"]].get("year")],
            "b": [by_id[p["b"]].get("title"), by_id[p["b"]].get("year")],
        }
        for p in pairs
        if not roots_of.get(p["a"], set()) & roots_of.get(p["b"], set())
    ][:5]
    return {
        "entries": len(record_of),
        "records": len(records),
        "expected_records": truth["base_records"],
        "kinds": kinds,
        "false_merges": false_merges,
        "pairs_listed": len(pair_set),
        "pairs_true": true_pairs,
        "pairs_false": len(pair_set) - true_pairs,
        "false_pair_examples": examples,
    }


# ======================================================================== report


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{med(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def machine_info(asreview_python: str | None) -> dict[str, Any]:
    from importlib import metadata

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 2**20
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    import sqlite3

    versions["sqlite"] = sqlite3.sqlite_version
    if asreview_python:
        proc = run(
            [
                asreview_python,
                "-c",
                "from importlib import metadata as m; import json; print(json.dumps("
                "{n: m.version(n) for n in ('asreview', 'rispy', 'pandas', 'SQLAlchemy')}))",
            ],
            check=False,
        )
        versions["asreview venv"] = proc.stdout.strip() or proc.stderr.strip()[-300:]
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "litreview"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_gib, 1) if mem_gib else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "git": commit + (" (litreview/ has uncommitted changes)" if dirty else ""),
        "loadavg_start": os.getloadavg(),
        "source_start": source_digest(),
    }


def source_digest() -> str:
    """A short hash of litreview's Python sources, to tell whether the code under test
    changed during the run (others may be working in the same checkout)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((ROOT / "litreview").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _ratios(samples: list[Sample], key: str) -> list[float]:
    return [s.imp[key] / s.parse[key] for s in samples if s.parse.get(key)]


def report(bench: Bench, machine: dict[str, Any]) -> str:
    args = bench.args
    out: list[str] = []
    w = out.append
    w(f"## Run of {machine['date']}")
    w("")
    w(
        f"`python bench/bench_import.py --sizes {','.join(map(str, args.sizes))} "
        f"--repeat {args.repeat} --formats {','.join(args.formats)}"
        + (f" --budget-s {args.budget_s:.0f}" if args.budget_s else "")
        + "".join(f" --import-option={arg}" for arg in args.import_option or [])
        + "`"
    )
    w("")
    w("| machine | |")
    w("|---|---|")
    w(f"| CPU | {machine['cpu']} |")
    w(f"| nproc | {machine['nproc']} |")
    w(f"| RAM | {machine['ram_gib']} GiB |")
    w(f"| Python | {machine['python']} ({machine['platform']}) |")
    w(f"| packages | {', '.join(f'{k} {v}' for k, v in machine['versions'].items())} |")
    w(f"| litreview commit | {machine['git']} |")
    changed = machine["source_start"] != machine["source_end"]
    w(
        f"| litreview/*.py digest at start / end | {machine['source_start']} / "
        f"{machine['source_end']}{' (**the code changed during the run**)' if changed else ''} |"
    )
    w(
        f"| load average at start / end | {' '.join(f'{x:.2f}' for x in machine['loadavg_start'])}"
        f" / {' '.join(f'{x:.2f}' for x in machine['loadavg_end'])} |"
    )
    loads = [s.imp["load_wall_s"] for ss in bench.samples.values() for s in ss]
    load_cpu = [s.imp["load_cpu_s"] for ss in bench.samples.values() for s in ss]
    w(
        "| litreview CLI module loading (inside the import runs), median | "
        f"{med(loads):.2f} s wall, {med(load_cpu):.2f} s CPU |"
    )
    w("")
    w(
        "Medians of the runs (min–max in brackets); times in seconds. "
        "Ratio = litreview import / bare parse of the same repeat, median over repeats."
    )
    w("")
    w(
        "| file | runs | bare parse wall | bare parse CPU | import wall | import CPU | "
        "ratio wall | ratio CPU | import peak RSS MB | read / imported / merged | DB MB |"
    )
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, samples in bench.samples.items():
        s0 = samples[0]
        w(
            f"| {name} | {len(samples)} | {spread([s.parse['wall_s'] for s in samples])} "
            f"| {spread([s.parse['cpu_s'] for s in samples])} "
            f"| {spread([s.imp['wall_s'] for s in samples])} "
            f"| {spread([s.imp['cpu_s'] for s in samples])} "
            f"| {med(_ratios(samples, 'wall_s')):.2f}x | {med(_ratios(samples, 'cpu_s')):.2f}x "
            f"| {max(s.imp['maxrss_mb'] for s in samples):.0f} "
            f"| {s0.imp['read']} / {s0.imp['imported']} / {s0.imp['merged_duplicates']} "
            f"| {s0.imp['db_mb']:.0f} |"
        )
    w("")
    w(
        "Bare parse: `bibtexparser.loads(f.read())` / `rispy.load(f)` inside a fresh process, "
        "the library's own import not counted. Import: the whole `litreview import b FILE "
        "--json` process (interpreter start-up included, `init` and `review create` not); "
        "CPU = user + system of that process; peak RSS = the process's own VmHWM."
    )
    w("")
    w("### Deduplication against truth.json")
    w("")
    w("| file | kind | duplicates | merged at import | listed as probable | missed | recall |")
    w("|---|---|---|---|---|---|---|")
    for name, acc in bench.accuracy.items():
        for kind in ("exact", "doi_variant", "title_variant"):
            k = acc["kinds"].get(kind)
            if not k:
                continue
            w(
                f"| {name} | {kind} | {k['total']} | {k['merged']} | {k['listed']} "
                f"| {k['missed'] + k['not_imported']} | {k['recall']:.1%} |"
            )
    w("")
    w(
        "| file | records left (base papers) | false merges | pairs listed | true pairs "
        "| false-positive pairs |"
    )
    w("|---|---|---|---|---|---|")
    for name, acc in bench.accuracy.items():
        w(
            f"| {name} | {acc['records']} ({acc['expected_records']}) | {acc['false_merges']} "
            f"| {acc['pairs_listed']} | {acc['pairs_true']} | {acc['pairs_false']} |"
        )
    w("")
    for name, acc in bench.accuracy.items():
        for example in acc.get("false_pair_examples", [])[:3]:
            (title_a, year_a), (title_b, year_b) = example["a"], example["b"]
            w(
                f"- false-positive pair in {name}: “{title_a}” ({year_a}) / “{title_b}” "
                f"({year_b}): {example['why']}"
            )
    w("")
    w("### Probable duplicates (`litreview duplicates b --json`, whole process)")
    w("")
    w("| file | records | wall | CPU | peak RSS MB | pairs |")
    w("|---|---|---|---|---|---|")
    for name, samples in bench.samples.items():
        w(
            f"| {name} | {samples[0].imp['imported']} "
            f"| {spread([s.duplicates['wall_s'] for s in samples])} "
            f"| {spread([s.duplicates['cpu_s'] for s in samples])} "
            f"| {max(s.duplicates['maxrss_mb'] for s in samples):.0f} "
            f"| {samples[0].duplicates['pairs']} |"
        )
    w("")
    asr_rows = [(n, s) for n, s in bench.samples.items() if s[0].asreview]
    if asr_rows:
        w("### ASReview LAB vs litreview, same RIS files")
        w("")
        w("| file | what | wall | CPU | records/s (wall) | records/s (CPU) | peak RSS MB |")
        w("|---|---|---|---|---|---|---|")
        for name, samples in asr_rows:
            n = samples[0].imp["read"]
            rows = [
                (
                    "litreview import (whole CLI process)",
                    [s.imp["wall_s"] for s in samples],
                    [s.imp["cpu_s"] for s in samples],
                    max(s.imp["maxrss_mb"] for s in samples),
                ),
                (
                    "litreview import, the command only (CLI modules loaded)",
                    [s.imp["run_wall_s"] for s in samples],
                    [s.imp["run_cpu_s"] for s in samples],
                    None,
                ),
                (
                    "ASReview Project.create + add_dataset (in process)",
                    [s.asreview["wall_s"] for s in samples],
                    [s.asreview["cpu_s"] for s in samples],
                    max(s.asreview["maxrss_mb"] for s in samples),
                ),
                (
                    "ASReview same, whole process (incl. `import asreview`)",
                    [s.asreview["process_wall_s"] for s in samples],
                    [s.asreview["process_cpu_s"] for s in samples],
                    None,
                ),
                (
                    "ASReview load_dataset (in process, in-memory DB)",
                    [s.asreview_load["wall_s"] for s in samples],
                    [s.asreview_load["cpu_s"] for s in samples],
                    max(s.asreview_load["maxrss_mb"] for s in samples),
                ),
            ]
            for what, walls, cpus, rss in rows:
                w(
                    f"| {name} | {what} | {spread(walls)} | {spread(cpus)} "
                    f"| {n / med(walls):,.0f} | {n / med(cpus):,.0f} "
                    f"| {'' if rss is None else f'{rss:.0f}'} |"
                )
            a = samples[0].asreview
            w(
                f"| {name} | (ASReview stored {a['records']} records, grouped "
                f"{a['grouped_as_duplicates']} as exact duplicates; ASReview {a['version']}) "
                "| | | | | |"
            )
        w("")
    w("### Targets")
    w("")
    for line in targets(bench):
        w(f"- {line}")
    w("")
    return "\n".join(out)


def targets(bench: Bench) -> list[str]:
    lines = []

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**not met**"

    for name, samples in bench.samples.items():
        if name.endswith(".bib"):
            ratio = med(_ratios(samples, "wall_s"))
            cpu_ratio = med(_ratios(samples, "cpu_s"))
            lines.append(
                f"BibTeX import within {TARGET_BIB_RATIO}x the bare bibtexparser parse, "
                f"{name}: {ratio:.2f}x wall ({cpu_ratio:.2f}x CPU): "
                f"{verdict(ratio <= TARGET_BIB_RATIO)}"
            )
            if samples[0].imp["read"] >= 50000:
                lines.append(
                    f"BibTeX import below the bare bibtexparser parse, {name}: "
                    f"{ratio:.2f}x wall ({cpu_ratio:.2f}x CPU): "
                    f"{verdict(ratio < TARGET_BIB_RATIO_50K and cpu_ratio < TARGET_BIB_RATIO_50K)}"
                )
    for name, samples in bench.samples.items():
        if name.endswith(".ris") and samples[0].imp["read"] >= 50000:
            wall = med([s.imp["wall_s"] for s in samples])
            cpu = med([s.imp["cpu_s"] for s in samples])
            rispy_wall = med([s.parse["wall_s"] for s in samples])
            lines.append(
                f"50,000 RIS records under {TARGET_RIS_50K_S:.0f} s, {name}: {wall:.1f} s wall "
                f"({cpu:.1f} s CPU; rispy alone {rispy_wall:.1f} s wall): "
                f"{verdict(wall < TARGET_RIS_50K_S)}"
            )
    if bench.samples:
        peak = max(s.imp["maxrss_mb"] for samples in bench.samples.values() for s in samples)
        lines.append(
            f"peak memory of an import under {TARGET_PEAK_MB:.0f} MB: {peak:.0f} MB at most: "
            f"{verdict(peak < TARGET_PEAK_MB)}"
        )
    for name, samples in bench.samples.items():
        if samples[0].imp["read"] >= 50000:
            wall = med([s.duplicates["wall_s"] for s in samples])
            lines.append(
                f"probable duplicates among {samples[0].imp['imported']:,} records "
                f"({name}) under {TARGET_DUPLICATES_50K_S:.0f} s: {wall:.1f} s wall: "
                f"{verdict(wall < TARGET_DUPLICATES_50K_S)}"
            )
    for name, acc in bench.accuracy.items():
        exact_doi = [acc["kinds"][k] for k in ("exact", "doi_variant") if k in acc["kinds"]]
        all_merged = all(k["merged"] == k["total"] for k in exact_doi)
        lines.append(
            f"every exact and doi_variant duplicate merged at import ({name}): "
            f"{verdict(all_merged)}"
        )
    for name, samples in bench.samples.items():
        if samples[0].asreview and samples[0].imp["read"] >= 50000:
            # Per repeat, runs made one after the other; the median of those ratios.
            share = med([s.imp["cpu_s"] / s.asreview["cpu_s"] for s in samples])
            share_process = med([s.imp["cpu_s"] / s.asreview["process_cpu_s"] for s in samples])
            # Searchable at the end (--wait-index): less than ASReview's; else half of it.
            searchable = "--wait-index" in (bench.args.import_option or [])
            if searchable:
                what, ok = "searchable at the end, in less than", share < 1.0
            else:
                what = f"in at most {TARGET_ASREVIEW_CPU_SHARE:.0%} of"
                ok = share <= TARGET_ASREVIEW_CPU_SHARE
            lines.append(
                f"`litreview import` (whole process) {what} ASReview's CPU on the same file "
                f"({name}): {share:.0%} of Project.create + add_dataset in process "
                f"({share_process:.0%} of its whole process): {verdict(ok)}"
            )
    for name, samples in bench.samples.items():
        if samples[0].asreview:
            n = samples[0].imp["read"]
            ours = med([s.imp["wall_s"] for s in samples])
            theirs = med([s.asreview["process_wall_s"] for s in samples])
            lines.append(
                f"throughput above ASReview's, whole process against whole process ({name}): "
                f"litreview {n / ours:,.0f} records/s vs ASReview {n / theirs:,.0f} records/s: "
                f"{verdict(ours < theirs)}"
            )
            ours = med([s.imp["run_wall_s"] for s in samples])
            theirs = med([s.asreview["wall_s"] for s in samples])
            lines.append(
                f"throughput above ASReview's, start-up left out ({name}): litreview "
                f"{n / ours:,.0f} records/s (the import command, modules loaded) vs ASReview "
                f"{n / theirs:,.0f} records/s (Project.create + add_dataset in process): "
                f"{verdict(ours < theirs)}"
            )
    return lines


# ======================================================================== main


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from None
    if not sizes or min(sizes) < 10:
        raise argparse.ArgumentTypeError("sizes are whole numbers of at least 10")
    return sizes


def _formats(text: str) -> list[str]:
    formats = [part.strip() for part in text.split(",") if part.strip()]
    if not formats or any(f not in EXTENSIONS for f in formats):
        raise argparse.ArgumentTypeError(f"formats are a subset of {', '.join(EXTENSIONS)}")
    return formats


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return run_worker(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=[2000, 50000],
        help="comma-separated record counts (default 2000,50000)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of everything (default 3)")
    parser.add_argument(
        "--formats",
        type=_formats,
        default=["bib", "ris"],
        help="bib, ris or both (default bib,ris)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="where generate.py's files are, or are made (default bench/data)",
    )
    parser.add_argument(
        "--asreview-python",
        default=None,
        help=f"ASReview venv's python (default {DEFAULT_ASREVIEW} if present)",
    )
    parser.add_argument(
        "--budget-s",
        type=float,
        default=None,
        help="repeat a file only while its runs so far took less than this many seconds "
        "(the report says how many runs each file got); default: no limit",
    )
    parser.add_argument(
        "--import-option",
        action="append",
        metavar="ARG",
        help="pass ARG to `litreview import` as well (repeatable), e.g. "
        "--import-option=--no-index to leave search indexing out",
    )
    parser.add_argument("--no-asreview", action="store_true", help="skip the ASReview runs")
    parser.add_argument("--tmp-dir", default=None, help="where the temp data dirs go")
    parser.add_argument(
        "--json-out",
        type=Path,
        default=DEFAULT_DATA / "last-run.json",
        help="raw samples as JSON (default bench/data/last-run.json)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    from importlib import metadata

    if not metadata.entry_points(group="console_scripts", name="litreview"):
        parser.error("litreview is not installed for this Python: run .venv/bin/python")
    if args.no_asreview:
        args.asreview_python = None
    elif args.asreview_python is None and DEFAULT_ASREVIEW.exists():
        args.asreview_python = str(DEFAULT_ASREVIEW)
    if args.asreview_python is None and not args.no_asreview:
        log(f"no ASReview venv at {DEFAULT_ASREVIEW}: skipping the comparison (see README.md)")

    machine = machine_info(args.asreview_python)
    bench = Bench(args)
    started = time.perf_counter()
    try:
        bench.run()
    except StepFailed as exc:
        print(f"benchmark step failed: {exc}", file=sys.stderr)
        return 1
    machine["loadavg_end"] = os.getloadavg()
    machine["source_end"] = source_digest()
    machine["total_s"] = time.perf_counter() - started
    text = report(bench, machine)
    print(text)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(
            json.dumps(
                {
                    "machine": machine,
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "accuracy": bench.accuracy,
                    "samples": {n: [asdict(s) for s in ss] for n, ss in bench.samples.items()},
                },
                indent=1,
            )
            + "\n",
            encoding="utf-8",
        )
        log(f"raw samples in {args.json_out}; whole run {machine['total_s']:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
