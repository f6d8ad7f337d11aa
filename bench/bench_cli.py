"""How long the `litreview` command takes to start: CPU time of a few cheap commands.

    .venv/bin/python bench/bench_cli.py [--runs 7]

Makes a data folder with the sample review (in a temporary folder), then runs each
command --runs times as a child process and reports the median CPU time (user +
system, from getrusage) and wall time, beside the anchor ``python -c pass`` run the
same way. Prints a Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BIN = Path(sys.executable).parent
LITREVIEW = str(BIN / "litreview")
COMMANDS = {
    "python -c pass (anchor)": [sys.executable, "-c", "pass"],
    "litreview --version": [LITREVIEW, "--version"],
    "litreview --help": [LITREVIEW, "--help"],
    "litreview records ai-sw --json (46 records)": [LITREVIEW, "records", "ai-sw", "--json"],
    "litreview stats ai-sw --json": [LITREVIEW, "stats", "ai-sw", "--json"],
}


def run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as folder:
        env = {**os.environ, "LITREVIEW_DATA_DIR": folder, "LITREVIEW_USER": "bench"}
        env.pop("LITREVIEW_DATABASE_URL", None)
        for setup in (["init"], ["load-sample"]):
            subprocess.run([LITREVIEW, *setup], env=env, stdout=subprocess.DEVNULL, check=True)
        rows = []
        for name, command in COMMANDS.items():
            run(command, env)  # warm the file cache
            samples = [run(command, env) for _ in range(args.runs)]
            cpu = statistics.median(s[0] for s in samples)
            wall = statistics.median(s[1] for s in samples)
            rows.append((name, cpu, wall))
    anchor = rows[0][1]
    print(
        f"CLI start, {platform.node()} ({os.cpu_count()} cores), "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, median of {args.runs} runs\n"
    )
    print("| command | CPU s | wall s | CPU / anchor |")
    print("|---|---|---|---|")
    for name, cpu, wall in rows:
        print(f"| {name} | {cpu:.3f} | {wall:.3f} | {cpu / anchor:.1f}x |")


if __name__ == "__main__":
    main()
