"""The `litreview` command: thin wrappers over the domain operations.

Every command takes --json and then prints one JSON document on stdout. Errors a
person can act on end the command with a one-line message on stderr, never a traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from litreview.cli import export_commands as export
from litreview.cli import screening_commands as screening
from litreview.cli import search_commands as search
from litreview.cli import zotero_commands as zotero
from litreview.cli.common import Context, actor_option, domain_errors, emit, json_option, pass_ctx
from litreview.config import ensure_data_dir
from litreview.ingest.record_data import UnreadableFile
from litreview.library import duplicates as dup_ops
from litreview.library import imports, reviews, sample
from litreview.library.listing import list_records, record_json
from litreview.migrations import runner as schema

log = logging.getLogger(__name__)


@click.group()
@click.version_option(package_name="litreview")
def cli() -> None:
    """litreview: import, deduplicate, screen, tag, search and export a literature review.

    Settings come from LITREVIEW_DATA_DIR (default ./instance) and LITREVIEW_DATABASE_URL
    (default a SQLite file in the data folder).
    """


@cli.command()
@json_option
@pass_ctx
@domain_errors
def init(ctx: Context, as_json: bool) -> None:
    """Create or upgrade the database and make the data folder."""
    ensure_data_dir(ctx.settings)
    before = schema.current_revision(ctx.engine)
    schema.upgrade(ctx.settings.database_url)
    after = schema.current_revision(ctx.engine)
    data = {"data_dir": str(ctx.settings.data_dir), "from": before, "to": after}
    emit(as_json, data, f"database at revision {after} (was {before or 'empty'})")


@cli.group()
def review() -> None:
    """Create and list reviews."""


@review.command("create")
@click.argument("slug")
@click.option("--title", required=True)
@click.option("--description")
@actor_option
@json_option
@pass_ctx
@domain_errors
def review_create(
    ctx: Context, slug: str, title: str, description: str | None, actor: str, as_json: bool
) -> None:
    """Create a review named SLUG."""
    with ctx.session() as session:
        created = reviews.create_review(session, slug, title, actor, description)
        session.commit()
        emit(
            as_json,
            {"id": created.id, "slug": slug, "title": created.title},
            f"created review {slug}: {created.title}",
        )


@review.command("list")
@json_option
@pass_ctx
@domain_errors
def review_list(ctx: Context, as_json: bool) -> None:
    """List the reviews."""
    with ctx.session() as session:
        found = reviews.list_reviews(session)
        data = [{"id": r.id, "slug": r.slug, "title": r.title} for r in found]
        emit(as_json, data, "\n".join(f"{r.slug}\t{r.title}" for r in found) or "no reviews yet")


@cli.group()
def question() -> None:
    """Review questions (themes)."""


@question.command("add")
@click.argument("slug")
@click.argument("code")
@click.argument("title")
@click.option("--description")
@click.option("--query", help="Theme query that suggests records for this question.")
@actor_option
@json_option
@pass_ctx
@domain_errors
def question_add(
    ctx: Context,
    slug: str,
    code: str,
    title: str,
    description: str | None,
    query: str | None,
    actor: str,
    as_json: bool,
) -> None:
    """Add review question CODE (or update it) in review SLUG."""
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        q = reviews.add_question(session, rv, code, title, actor, description, query)
        session.commit()
        emit(
            as_json,
            {"id": q.id, "code": q.code, "title": q.title, "query": q.query},
            f"{q.code}: {q.title}",
        )


@question.command("list")
@click.argument("slug")
@json_option
@pass_ctx
@domain_errors
def question_list(ctx: Context, slug: str, as_json: bool) -> None:
    """List the review questions of review SLUG."""
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        data = [
            {"code": q.code, "title": q.title, "description": q.description, "query": q.query}
            for q in rv.questions
        ]
        emit(as_json, data, "\n".join(f"{q['code']}\t{q['title']}" for q in data))


@cli.command("import")
@click.argument("slug")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--source", "source_label", help='Where the file came from, e.g. "Scopus 2025-03-01".'
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(imports.READERS)),
    help="Skip detection from the content.",
)
@click.option("--dry-run", is_flag=True, help="Report what would happen; write nothing.")
@click.option(
    "--no-index",
    is_flag=True,
    help="Leave search indexing to the next search or `litreview reindex` (large imports).",
)
@actor_option
@json_option
@pass_ctx
@domain_errors
def import_(
    ctx: Context,
    slug: str,
    files: tuple[Path, ...],
    source_label: str | None,
    fmt: str | None,
    dry_run: bool,
    no_index: bool,
    actor: str,
    as_json: bool,
) -> None:
    """Import BibTeX, RIS, PubMed/MEDLINE, Web of Science or CSL-JSON FILES into review SLUG.

    Each file is one transaction: a file that cannot be read leaves the review as it was.
    """
    reports: list[dict[str, Any]] = []
    unreadable: list[str] = []
    ctx.index_after_commit = not no_index
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        for path in files:
            try:
                with _progress(path, enabled=not as_json) as progress:
                    report = imports.import_file(
                        session,
                        rv,
                        path,
                        actor=actor,
                        source_label=source_label,
                        format=fmt,
                        progress=progress,
                    )
            except UnreadableFile as exc:
                session.rollback()
                unreadable.append(str(exc))
                reports.append({"file": str(path), "error": str(exc)})
                continue
            if dry_run:
                session.rollback()
            else:
                session.commit()
            reports.append(report.to_json())
    done = [r for r in reports if "error" not in r]
    summary = {
        "files": reports,
        "imported": sum(r["imported"] for r in done),
        "merged_duplicates": sum(r["merged_duplicates"] for r in done),
        "unchanged": sum(r["unchanged"] for r in done),
        "errors": sum(len(r["errors"]) for r in done),
        "dry_run": dry_run,
    }
    emit(as_json, summary, lambda: _print_import(summary))
    if unreadable:
        for message in unreadable:
            click.echo(f"Error: {message}", err=True)
        sys.exit(1)


@contextmanager
def _progress(path: Path, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    if not enabled or not sys.stderr.isatty() or not path.is_file():
        yield None
        return
    with click.progressbar(length=path.stat().st_size, label=path.name, file=sys.stderr) as bar:
        done = 0

        def advance(position: int) -> None:
            nonlocal done
            bar.update(max(0, position - done))
            done = max(done, position)

        yield advance


def _print_import(summary: dict[str, Any]) -> None:
    prefix = "would import" if summary["dry_run"] else "imported"
    for r in summary["files"]:
        if "error" in r:
            continue
        click.echo(
            f"{r['file']} ({r['format']}): read {r['read']}, {prefix} {r['imported']}, "
            f"merged {r['merged_duplicates']} duplicates, {r['unchanged']} unchanged, "
            f"{len(r['errors'])} errors"
        )
        for e in r["errors"]:
            where = f"line {e['line']}" if e["line"] else "?"
            entry = f", entry {e['entry']}" if e["entry"] else ""
            click.echo(f"  {r['file']}: {where}{entry}: {e['message']}")


@cli.command()
@click.argument("slug")
@json_option
@pass_ctx
@domain_errors
def records(ctx: Context, slug: str, as_json: bool) -> None:
    """List the records of review SLUG (merged duplicates shown once)."""
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        found = list_records(session, rv)
        if as_json:
            emit(True, [record_json(r) for r in found], "")
            return
        for r in found:
            first = r.authors[0]["family"] if r.authors else "-"
            click.echo(f"{r.id}\t{r.year or '----'}\t{first}\t{r.title or '(no title)'}")
        click.echo(f"{len(found)} records", err=True)


@cli.command()
@click.argument("slug")
@click.option(
    "--merge", nargs=2, type=int, metavar="KEEP OTHER", help="Merge record OTHER into record KEEP."
)
@click.option(
    "--keep-apart", nargs=2, type=int, metavar="ID ID", help="Say two records are different works."
)
@click.option("--undo", type=int, metavar="MERGE", help="Undo a merge (see --history).")
@click.option("--history", is_flag=True, help="List the merges made, automatic and by hand.")
@actor_option
@json_option
@pass_ctx
@domain_errors
def duplicates(
    ctx: Context,
    slug: str,
    merge: tuple[int, int] | None,
    keep_apart: tuple[int, int] | None,
    undo: int | None,
    history: bool,
    actor: str,
    as_json: bool,
) -> None:
    """List probable duplicates in review SLUG, or settle one pair."""
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        if merge:
            entry = dup_ops.merge(session, rv, merge[0], merge[1], actor)
            session.commit()
            emit(
                as_json,
                {
                    "merge": entry.id,
                    "kept": merge[0],
                    "merged": merge[1],
                    "filled": sorted(entry.filled),
                },
                f"merged record {merge[1]} into {merge[0]} (merge {entry.id})",
            )
        elif keep_apart:
            dup_ops.keep_apart(session, rv, keep_apart[0], keep_apart[1], actor)
            session.commit()
            emit(
                as_json,
                {"kept_apart": list(keep_apart)},
                f"records {keep_apart[0]} and {keep_apart[1]} kept apart",
            )
        elif undo is not None:
            restored = dup_ops.undo_merge(session, rv, undo, actor)
            session.commit()
            emit(
                as_json,
                {"undone": undo, "restored": restored.id},
                f"merge {undo} undone: record {restored.id} is back",
            )
        elif history:
            merges = dup_ops.list_merges(session, rv)
            data = {
                "merges": [
                    {
                        "id": m.id,
                        "record": m.record_id,
                        "duplicate": m.duplicate_id,
                        "rule": m.rule,
                        "sources": m.source_ids,
                        "filled": sorted(m.filled),
                        "by": m.created_by,
                        "at": m.created_at.isoformat(),
                        "undone": m.undone_at is not None,
                    }
                    for m in merges
                ]
            }
            emit(
                as_json,
                data,
                "\n".join(
                    f"{m['id']}\trecord {m['record']}\t{m['rule']}"
                    + ("\tundone" if m["undone"] else "")
                    for m in data["merges"]
                )
                or "no merges yet",
            )
        else:
            pairs = dup_ops.find_probable(session, rv)
            data = {"pairs": [{"a": p.a, "b": p.b, "score": p.score, "why": p.why} for p in pairs]}
            emit(
                as_json,
                data,
                "\n".join(f"{p.a}\t{p.b}\t{p.score:.2f}\t{p.why}" for p in pairs)
                or "no probable duplicates",
            )


@cli.command("load-sample")
@actor_option
@json_option
@pass_ctx
@domain_errors
def load_sample(ctx: Context, actor: str, as_json: bool) -> None:
    """Load the sample review "AI in social work" (invented records); does nothing twice."""
    with ctx.session() as session:
        result = sample.load(session, actor)
        session.commit()
    text = f"sample review {result['slug']}: {result['records']} records" + (
        " (already loaded)" if not result["created"] else ""
    )
    if result["password"]:
        text += (
            f"\nsign in as {result['user']} with password {result['password']} "
            "(shown only this once)"
        )
    emit(as_json, result, text)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@pass_ctx
def serve(ctx: Context, host: str, port: int) -> None:
    """Serve the web app with waitress (for a team server, see the README: gunicorn)."""
    from waitress import serve as waitress_serve

    from litreview import create_app

    ctx.require_schema()
    click.echo(f"litreview on http://{host}:{port}/ (Ctrl-C stops it)", err=True)
    waitress_serve(create_app(), host=host, port=port)


for feature in (search, zotero, screening, export):
    feature.register(cli)


def main() -> None:
    """Entry point: never a traceback for a person, unless LITREVIEW_DEBUG is set."""
    logging.basicConfig(level=os.environ.get("LITREVIEW_LOG", "WARNING"))
    try:
        cli.main(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if os.environ.get("LITREVIEW_DEBUG"):
            raise
        click.echo(f"Error: unexpected {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)
