"""Zotero benchmark: import a 10,000-item library with 2,000 PDFs from a loopback server.

    .venv/bin/python bench/bench_zotero.py [--items 10000] [--pdfs 2000] [--repeat 3]
                                           [--pdf-kb 100] [--postgres URL]

The library is served by tests/zotero_server.py (the loopback Zotero Web API v3 the
tests use) in a process of its own, so its JSON encoding does not compete with the
import for the interpreter lock. Each repeat runs, side by side, on a fresh database
and data folder:

- ``http only``: every page of the library read through pyzotero (ZoteroClient.items),
  nothing else: the floor set by HTTP and JSON;
- ``pipeline only``: the same items mapped and put through imports.import_items with no
  HTTP: what a file import of the same records costs;
- ``zotero import``: ``zotero_sync.import_library`` end to end (items, notes, PDFs,
  full text) and the commit; where its time goes comes from its own report (HTTP,
  mapping, writing files, database);
- ``no-change sync``: a sync right after, which must make at most a handful of requests
  and finish in under 2 s.

Prints a Markdown report (medians over the repeats; ratios are medians of per-repeat
ratios) and writes every sample to --json-out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from litreview.config import Settings  # noqa: E402
from litreview.db import make_engine  # noqa: E402
from litreview.ingest.zotero_items import read_item  # noqa: E402
from litreview.library import imports, reviews  # noqa: E402
from litreview.migrations import runner as schema  # noqa: E402
from litreview.zotero.client import Target, ZoteroClient  # noqa: E402
from litreview.zotero.sync import import_library, sync_library  # noqa: E402
from tests.zotero_server import Library, ZoteroServer, article, pdf_bytes  # noqa: E402

TARGET_SYNC_S = 2.0
TARGET_SYNC_REQUESTS = 5


def padded_pdf(n: int, size: int) -> bytes:
    """A distinct PDF of about ``size`` bytes: a real one-page PDF, then comment lines."""
    pdf = pdf_bytes(f"Invented paper {n}")
    seed = hashlib.sha256(str(n).encode()).hexdigest().encode()
    line = b"%" + seed + b"\n"
    return pdf + line * max(0, (size - len(pdf)) // len(line))


def serve(items: int, pdfs: int, pdf_kb: int, conn) -> None:
    """Child process: build the library, serve it, report the URL, wait for 'stop'."""
    library = Library(api_key=None)
    keys = library.add_many(
        [article(n, abstractNote=f"An invented abstract for study {n}. " * 8) for n in range(items)]
    )
    for n in range(pdfs):
        key = library.attach(keys[n], padded_pdf(n, pdf_kb * 1024), f"paper-{n}.pdf")
        if n % 2 == 0:
            library.set_fulltext(key, f"The indexed text of invented paper {n}. " * 200)
    for n in range(0, items, 10):
        library.add_note(keys[n], f"<p>Reading note on study {n}: <b>bias</b> &amp; data.</p>")
    with ZoteroServer(library) as server:
        conn.send((server.url, len(library.items)))
        conn.recv()


CREATED: list[str] = []  # PostgreSQL databases made here, dropped at the end


def fresh_database(workdir: Path, postgres: str | None) -> tuple[str, Settings]:
    """A migrated, empty database and data folder: a SQLite file, or a new PostgreSQL
    database on the server of ``postgres`` (never the database it names)."""
    data = workdir / "data"
    data.mkdir(parents=True)
    if postgres:
        name = f"bench_zotero_{secrets.token_hex(4)}"
        admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        CREATED.append(name)
        url = make_url(postgres).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{data / 'litreview.sqlite3'}"
    schema.upgrade(url)
    return url, Settings(data_dir=data, database_url=url, secret_key=None)


def drop_created(postgres: str | None) -> None:
    if not postgres or not CREATED:
        return
    admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in CREATED:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def one_repeat(url: str, items: int, postgres: str | None) -> dict[str, Any]:
    target = Target("group", "12345")
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-zotero-") as tmp:
        # HTTP only.
        with ZoteroClient(target, base_url=url) as client:
            started = time.perf_counter()
            page = client.items()
            out["http_only_s"] = time.perf_counter() - started
            out["http_only_requests"] = client.requests
        objects = page.items

        # Pipeline only: the same items, mapped, through import_items.
        db_url, settings = fresh_database(Path(tmp) / "pipeline", postgres)
        engine = make_engine(db_url)
        with Session(engine) as session:
            review = reviews.create_review(session, "bench", "Bench", "bench@example.org")
            session.commit()
            started = time.perf_counter()
            tops = [
                o["data"]
                for o in objects
                if o["data"]["itemType"] not in ("note", "attachment", "annotation")
            ]
            imports.import_items(
                session,
                review,
                (read_item(d) for d in tops),
                file_name="zotero:bench",
                format="zotero",
                actor="bench@example.org",
                track=True,
            )
            session.commit()
            out["pipeline_only_s"] = time.perf_counter() - started
        engine.dispose()

        # The Zotero import, end to end.
        db_url, settings = fresh_database(Path(tmp) / "import", postgres)
        engine = make_engine(db_url)
        with Session(engine) as session, ZoteroClient(target, base_url=url) as client:
            review = reviews.create_review(session, "bench", "Bench", "bench@example.org")
            session.commit()
            started = time.perf_counter()
            report = import_library(
                session, review, client, actor="bench@example.org", settings=settings
            )
            committing = time.perf_counter()
            session.commit()
            out["commit_s"] = time.perf_counter() - committing
            out["import_s"] = time.perf_counter() - started
            out["import"] = report.to_json()
            out["import"].pop("problems")
            assert report.imported == items, report.imported

            started = time.perf_counter()
            quiet = sync_library(
                session, review, client, actor="bench@example.org", settings=settings
            )
            session.commit()
            out["sync_s"] = time.perf_counter() - started
            out["sync_requests"] = quiet.requests
            assert quiet.read == 0
        out["stored_bytes"] = sum(
            p.stat().st_size for p in (settings.data_dir / "files").rglob("*") if p.is_file()
        )
        engine.dispose()
    return out


def median(samples: list[dict[str, Any]], pick) -> float:
    return statistics.median(pick(s) for s in samples)


def report(samples: list[dict[str, Any]], args: argparse.Namespace, objects: int) -> str:
    backend = "PostgreSQL" if args.postgres else "SQLite"
    items = args.items
    imp = median(samples, lambda s: s["import_s"])
    http_only = median(samples, lambda s: s["http_only_s"])
    pipe_only = median(samples, lambda s: s["pipeline_only_s"])
    parts = {
        name: median(samples, lambda s, n=name: s["import"]["seconds"][n])
        for name in ("http", "mapping", "files", "database")
    }
    parts["database"] += median(samples, lambda s: s["commit_s"])
    ratio = median(samples, lambda s: s["import_s"] / (s["http_only_s"] + s["pipeline_only_s"]))
    sync_s = max(s["sync_s"] for s in samples)
    sync_requests = max(s["sync_requests"] for s in samples)
    first = samples[0]["import"]
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    lines = [
        f"## Zotero import and sync (issue 3) — {dt.date.today().isoformat()}",
        "",
        f"Machine: {cpu}, {os.cpu_count()} cores (shared with other work), "
        f"Python {platform.python_version()}, {backend}. "
        f"`bench/bench_zotero.py --items {items} --pdfs {args.pdfs} --pdf-kb {args.pdf_kb} "
        f"--repeat {args.repeat}`; medians of {args.repeat} repeats.",
        "",
        f"Library on the loopback server (own process): {items} items, {args.pdfs} PDF "
        f"attachments of ~{args.pdf_kb} KB, {args.pdfs // 2} with Zotero full text, "
        f"{items // 10} notes: {objects} objects.",
        "",
        "| run | seconds | items/s | requests |",
        "|---|---:|---:|---:|",
        f"| http only: every page through pyzotero | {http_only:.2f} | {items / http_only:,.0f} "
        f"| {samples[0]['http_only_requests']} |",
        f"| pipeline only: map + import_items, no HTTP | {pipe_only:.2f} | "
        f"{items / pipe_only:,.0f} | 0 |",
        f"| **zotero import**, end to end, with PDFs and full text | **{imp:.2f}** | "
        f"**{items / imp:,.0f}** | {first['requests']} |",
        f"| no-change sync (worst of {args.repeat}) | {sync_s:.2f} | — | {sync_requests} |",
        "",
        f"Ratio zotero import / (http only + pipeline only): **{ratio:.2f}** "
        "(the rest is PDFs, full text and notes).",
        "",
        "Where the import's time goes (from its own report; database includes the commit):",
        "",
        "| HTTP (pages, files, full text) | mapping | writing files | database |",
        "|---:|---:|---:|---:|",
        "| " + " | ".join(f"{parts[n]:.2f} s ({parts[n] / imp:.0%})" for n in parts) + " |",
        "",
        f"No-change sync: {sync_requests} requests (target ≤ {TARGET_SYNC_REQUESTS}), "
        f"{sync_s:.2f} s (target < {TARGET_SYNC_S:.0f} s): "
        + (
            "met."
            if sync_requests <= TARGET_SYNC_REQUESTS and sync_s < TARGET_SYNC_S
            else "NOT met."
        ),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--pdfs", type=int, default=2_000)
    parser.add_argument("--pdf-kb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--postgres",
        help="a PostgreSQL server URL: each run makes (and drops) a database of its own there",
    )
    parser.add_argument(
        "--json-out",
        type=Path,
        default=Path(tempfile.gettempdir()) / "bench-zotero-samples.json",
        help="where every raw sample goes",
    )
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=serve, args=(args.items, args.pdfs, args.pdf_kb, child))
    process.start()
    try:
        url, objects = parent.recv()
        samples = []
        for n in range(args.repeat):
            sample = one_repeat(url, args.items, args.postgres)
            samples.append(sample)
            print(
                f"repeat {n + 1}: import {sample['import_s']:.2f} s, "
                f"sync {sample['sync_s']:.2f} s / {sample['sync_requests']} requests",
                file=sys.stderr,
            )
    finally:
        parent.send("stop")
        process.join(timeout=30)
        drop_created(args.postgres)
    args.json_out.write_text(json.dumps(samples, indent=1), encoding="utf-8")
    print(report(samples, args, objects))


if __name__ == "__main__":
    main()
