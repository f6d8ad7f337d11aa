"""What one BibTeX file costs the reader, in proportion to its size (issue 15).

    .venv/bin/python bench/bench_bibtex_cost.py [--repeat 3] [--cases brace-300k,real-986k]

Each case is read by ``litreview.ingest.decoding.read_file`` (decoding, format
detection and the BibTeX reader: everything an import does before the database) in a
fresh child process, ``--repeat`` times; the median wall and CPU time (user + system
of the read alone, from ``time.process_time``) are reported with the cost per 100 KB.
Beside it, as the anchor, the same file through the bare ``bibtexparser.loads`` of
bibtexparser 1.4 (the parser the reader used to hand every entry to), in its own child
process; ``--no-anchor`` leaves it out (it takes minutes on the brace fields).

The cases:

* ``brace-30k``, ``brace-300k``: one entry whose title is a run of brace groups
  (``{a}{b}{c}...``), 30 and 300 KB: the input that made pyparsing's grammar cost
  2.3 s and about 60 s.
* ``latex-300k``: one abstract of 300 KB of LaTeX commands only pylatexenc reads
  (``\\unknown{w1} \\frac{a}{b}``): what its budget bounds.
* ``math-300k``: one title of 300 KB of math (``$\\alpha_{1}^{n+1}$``).
* ``real-986k``: ``bbt_Maintain_the_JabRef_group...`` from tests/data/fixtures, a
  real 986 KB JabRef library (25 s before the fix).
* ``real-288k``: ``bbt_Some_bibtex_entries_quietly_discarded...``, 988 entries.
* ``generated-2000``: bench/data/records-2000.bib (made by generate.py when missing).

Prints a Markdown table; run nothing heavy beside it and read CPU beside wall.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "data" / "fixtures"
DATA = ROOT / "bench" / "data"


def _brace_file(folder: Path, size: int) -> Path:
    path = folder / f"brace-{size // 1000}k.bib"
    groups = "".join("{" + "abcdefghij"[i % 10] + "}" for i in range(size // 3))
    path.write_text(f"@article{{big,\n  title = {{{groups}}},\n  year = 2020\n}}\n")
    return path


def _latex_file(folder: Path, size: int) -> Path:
    """An abstract of commands pylatexenc must read (no fast path knows them)."""
    path = folder / f"latex-{size // 1000}k.bib"
    words = " ".join(f"\\unknown{{w{i}}} \\frac{{a}}{{b}}" for i in range(size // 25))
    path.write_text(f"@article{{big,\n  abstract = {{{words}}},\n  year = 2020\n}}\n")
    return path


def _math_file(folder: Path, size: int) -> Path:
    """A title of math with sub- and superscripts and symbols."""
    path = folder / f"math-{size // 1000}k.bib"
    groups = " ".join(f"$\\alpha_{{{i % 10}}}^{{n+1}}$" for i in range(size // 20))
    path.write_text(f"@article{{big,\n  title = {{{groups}}},\n  year = 2020\n}}\n")
    return path


def _generated(folder: Path) -> Path:
    path = DATA / "records-2000.bib"
    if not path.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "generate.py"), "--out", str(DATA)]
            + ["--sizes", "2000", "--formats", "bib"],
            check=True,
        )
    return path


CASES = {
    "brace-30k": lambda folder: _brace_file(folder, 30_000),
    "brace-300k": lambda folder: _brace_file(folder, 300_000),
    "latex-300k": lambda folder: _latex_file(folder, 300_000),
    "math-300k": lambda folder: _math_file(folder, 300_000),
    "real-986k": lambda folder: (
        FIXTURES
        / "bbt_Maintain_the_JabRef_group_and_subgroup_structure_when_importing_a_BibTeX_db_97.bib"
    ),
    "real-288k": lambda folder: (
        FIXTURES / "bbt_Some_bibtex_entries_quietly_discarded_on_import_from_bib_file_873.bib"
    ),
    "generated-2000": _generated,
}


def _child(mode: str, path: Path) -> None:
    """One timed read in this (fresh) process; prints its figures as JSON."""
    if mode == "litreview":
        from litreview.ingest.decoding import read_file

        start_wall, start_cpu = time.perf_counter(), time.process_time()
        _format, items = read_file(path, "bibtex")
        count = len(items)
    else:
        import bibtexparser

        start_wall, start_cpu = time.perf_counter(), time.process_time()
        with path.open(encoding="utf-8-sig") as f:
            count = len(bibtexparser.loads(f.read()).entries)
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    print(json.dumps({"wall": wall, "cpu": cpu, "items": count}))


def _run(mode: str, path: Path, timeout: float) -> dict | None:
    command = [sys.executable, __file__, "--child", mode, str(path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode:
        if mode == "litreview":
            sys.stderr.write(done.stderr)
            raise SystemExit(f"{mode} on {path} failed")
        return {"error": done.stderr.strip().splitlines()[-1][:60]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--no-anchor", action="store_true", help="skip the bibtexparser runs")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per child run")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], Path(args.child[1]))
        return
    print(f"Machine: {platform.node()}, {platform.machine()}, Python {platform.python_version()}")
    print(f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; repeats: {args.repeat} (medians)\n")
    print(
        "| case | size | items | litreview wall | litreview CPU | CPU per 100 KB "
        "| bibtexparser.loads wall | CPU | ratio (CPU) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-bib-") as tmp:
        for name in args.cases.split(","):
            path = CASES[name](Path(tmp))
            size = path.stat().st_size
            ours = [_run("litreview", path, args.timeout) for _ in range(args.repeat)]
            ours = [r for r in ours if r]
            anchor: list[dict] = []
            failed: list[str] = []
            if not args.no_anchor:
                anchor = [_run("bibtexparser", path, args.timeout) for _ in range(args.repeat)]
                failed = [r["error"] for r in anchor if r and "error" in r]
                anchor = [r for r in anchor if r and "error" not in r]
            wall = statistics.median(r["wall"] for r in ours)
            cpu = statistics.median(r["cpu"] for r in ours)
            per_100k = cpu / (size / 100_000) * 1000
            cells = [name, f"{size / 1000:.0f} KB", str(ours[0]["items"]), f"{wall:.3f} s"]
            cells += [f"{cpu:.3f} s", f"{per_100k:.1f} ms"]
            if anchor:
                a_wall = statistics.median(r["wall"] for r in anchor)
                a_cpu = statistics.median(r["cpu"] for r in anchor)
                cells += [f"{a_wall:.3f} s", f"{a_cpu:.3f} s", f"{cpu / a_cpu:.2f}x"]
            elif not args.no_anchor and failed:
                cells += [f"fails: {failed[0]}", "-", "-"]
            else:
                cells += ["-", "-", "-"]
            print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
