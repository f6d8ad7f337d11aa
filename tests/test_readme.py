"""The README's command-line walkthrough runs as written, on the files in examples/.

The one ```sh block of the section "A small review from the command line" is run a line
at a time, as a person would type it: `litreview` is this checkout's command, the data
folder is new, and `export NAME=VALUE` lines carry over to the lines after them. Lines
run in a folder that holds `examples` (a link to the repository's), so the README's
relative paths work and the files it writes land in a temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## A small review from the command line"


def walkthrough() -> list[str]:
    """The runnable lines of the walkthrough: its ```sh block without comments or blanks."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the walkthrough has no ```sh block"
    lines = []
    for line in block.group(1).splitlines():
        # A comment starts at "  #" after a command; shlex knows quotes from comments.
        words = shlex.split(line, comments=True)
        if words:
            lines.append(line)
    return lines


def test_the_readme_walkthrough_runs_as_written(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "litreview"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m litreview.cli.main "$@"\n')
    shim.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LITREVIEW_") or key == "LITREVIEW_TEST_POSTGRES_URL"
    }
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
        PYTHONPATH=str(ROOT),
        LITREVIEW_DATA_DIR=str(tmp_path / "data"),
        LITREVIEW_USER="someone-without-an-account",
    )
    env.pop("LITREVIEW_TEST_POSTGRES_URL", None)
    outputs: dict[str, str] = {}
    lines = walkthrough()
    assert len(lines) > 25
    for line in lines:
        words = shlex.split(line, comments=True)
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            env[name] = value
            continue
        done = subprocess.run(
            ["sh", "-c", line], cwd=work, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        outputs[line] = done.stdout

    def output(start: str) -> str:
        [found] = [out for line, out in outputs.items() if line.startswith(start)]
        return found

    # What a person following along would look at.
    records = output("litreview records ai-sw").splitlines()
    assert len(records) == 7 and records[5].startswith("6\t2019\tAdeyemi\tData protection")
    assert output("litreview duplicates ai-sw  ").startswith("2\t5\t")
    assert "merge 5 undone: record 5 is back" in output("litreview duplicates ai-sw --undo 5")
    assert output("litreview conflicts ai-sw").startswith("4\t")
    stats = json.loads(output("litreview stats ai-sw --json"))
    assert stats["records"] == 7 and stats["mode"] == "dual"
    assert "2 pages of text" in output("litreview attach ai-sw examples/paper.pdf")
    assert "record 4: marked as not retrievable" in output("litreview not-retrievable ai-sw 4")
    prisma = (work / "prisma.svg").read_text(encoding="utf-8")
    for line in ("Scopus (n = ", "Web of Science (n = ", "Reports not retrieved (n = 1)"):
        assert line in prisma, line
    found = output('litreview search ai-sw \'"data protection"')
    assert found.startswith("6\t2019\tData protection and consent") and "p. 2:" in found
    assert output("litreview question suggest ai-sw Q1").startswith("6\t")
    assert "[Q1]" in output("litreview search ai-sw consent --question Q1")
    for name in ("ai-sw.docx", "included.ris", "prisma.svg", "ai-sw.litreview.json"):
        assert (work / name).stat().st_size > 0, name
    assert "7 records" in output("litreview restore ai-sw-copy")
    carried = output("litreview import rayyan-copy")
    assert "read 6, imported 5, merged 1 duplicates" in carried
    assert "column notes: 3 decisions of ann@example.org at title_abstract" in carried
