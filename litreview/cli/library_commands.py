"""`litreview import`, `records` and `duplicates`: a review's library of records.

Long because: the import command has many faces (files and their sources, formats, a
dry run, decisions carried over from a table, the index waited for or not), each a few
lines over a domain function; splitting them would scatter one command's options.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from litreview.cli.common import Context, actor_option, domain_errors, emit, json_option, pass_ctx
from litreview.db import make_session_factory
from litreview.errors import Invalid
from litreview.ingest.record_data import UnreadableFile
from litreview.library import reviews
from litreview.library.listing import list_records, record_json


class _ImportFormat(click.Choice):
    """The import formats, asked of the readers only when --format is checked or shown.

    Importing the readers (and their parsers) costs `litreview records` a tenth of a
    second; only `import` needs them.
    """

    def __init__(self) -> None:  # Choice.__init__ would fix the choices now
        self.case_sensitive = True

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        from litreview.library import imports

        return tuple(sorted(imports.READERS))


@click.command("import")
@click.argument("slug")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--source",
    "source_labels",
    multiple=True,
    help='The database each file came from, e.g. "Scopus": once for all files, or once '
    "per file in the same order (the PRISMA diagram counts records by it).",
)
@click.option(
    "--format",
    "fmt",
    type=_ImportFormat(),
    help="Skip detection from the content.",
)
@click.option("--dry-run", is_flag=True, help="Report what would happen; write nothing.")
@click.option(
    "--wait-index",
    is_flag=True,
    help="Make every imported record searchable before returning (a progress bar).",
)
@click.option(
    "--no-index",
    is_flag=True,
    help="Index nothing now: leave it all to the web app's indexer and the next commands.",
)
@click.option(
    "--decisions-from",
    "decisions_column",
    metavar="COLUMN",
    help="A table's column of earlier screening decisions (include/exclude/maybe, 1/0, "
    "Rayyan's notes): they become the decisions of the person --as.",
)
@click.option(
    "--stage",
    type=click.Choice(["title_abstract", "full_text"]),
    default="title_abstract",
    show_default=True,
    help="The stage of the decisions carried over with --decisions-from.",
)
@click.option(
    "--reviewer-name",
    metavar="NAME",
    help="With --decisions-from: the person's name in Rayyan's notes "
    "(default: their account's name or email).",
)
@actor_option
@json_option
@pass_ctx
@domain_errors
def import_(
    ctx: Context,
    slug: str,
    files: tuple[Path, ...],
    source_labels: tuple[str, ...],
    fmt: str | None,
    dry_run: bool,
    wait_index: bool,
    no_index: bool,
    decisions_column: str | None,
    stage: str,
    reviewer_name: str | None,
    actor: str,
    as_json: bool,
) -> None:
    """Import BibTeX, RIS, PubMed/MEDLINE, Web of Science, CSL-JSON or CSV/TSV FILES into
    review SLUG.

    Each file is one transaction: a file that cannot be read leaves the review as it was.
    With --decisions-from, a table's earlier screening decisions are stored with its
    records, in the same transaction, as decisions of the person --as (a reviewer or lead).
    The command returns once the records are stored: a large import's records become
    searchable in the background (the web app's indexer, a bounded number at each
    command, `litreview reindex --catch-up`), and searches say how many are not yet;
    --wait-index waits for all of them.
    """
    from litreview.library import imports

    if decisions_column:  # the screening package, loaded only when decisions come along
        from litreview.library import carried_decisions as carried

    sources = _sources(source_labels, files)
    if wait_index and no_index:
        raise click.UsageError("--wait-index and --no-index: choose one")
    reports: list[dict[str, Any]] = []
    unreadable: list[str] = []
    ctx.index_after_commit = False  # below, once every file is in
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        person = _decider(session, rv, actor) if decisions_column else None
        for path, source_label in zip(files, sources, strict=True):
            try:
                if person is not None:
                    names = carried.person_names(person, *filter(None, [reviewer_name]))
                    decisions = carried.read_decisions(path, decisions_column, names, fmt)
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
                if person is not None:
                    carry = carried.carry_decisions(session, rv, person, stage, decisions)
            except (UnreadableFile, Invalid) as exc:
                session.rollback()
                unreadable.append(str(exc))
                reports.append({"file": str(path), "error": str(exc)})
                continue
            data = report.to_json()
            if person is not None:
                data["decisions"] = carry.to_json()
            if dry_run:
                session.rollback()
            else:
                session.commit()
            reports.append(data)
    done = [r for r in reports if "error" not in r]
    summary = {
        "files": reports,
        "imported": sum(r["imported"] for r in done),
        "merged_duplicates": sum(r["merged_duplicates"] for r in done),
        "unchanged": sum(r["unchanged"] for r in done),
        "errors": sum(len(r["errors"]) for r in done),
        "warnings": sum(len(r["warnings"]) for r in done),
        "untitled": sum(r["untitled_count"] for r in done),
        "dry_run": dry_run,
        "not_searchable": 0,
    }
    if decisions_column:
        summary["decided"] = sum(r["decisions"]["decided"] for r in done)
    if done and not dry_run:
        summary["not_searchable"] = _index(ctx, slug, wait_index, no_index, as_json)
    emit(as_json, summary, lambda: _print_import(summary))
    if unreadable:
        for message in unreadable:
            click.echo(f"Error: {message}", err=True)
        sys.exit(1)


def _sources(labels: tuple[str, ...], files: tuple[Path, ...]) -> list[str | None]:
    """Each file's source label: one --source for all, or one per file in order."""
    cleaned: list[str | None] = [" ".join(label.split()) or None for label in labels]
    if not cleaned:
        return [None] * len(files)
    if len(cleaned) == 1:
        return cleaned * len(files)
    if len(cleaned) != len(files):
        raise click.UsageError(
            f"{len(cleaned)} --source labels for {len(files)} files: give one for all files, "
            "or one per file in the same order"
        )
    return cleaned


def _decider(session: Any, rv: Any, actor: str) -> Any:
    """The person --as, who must be able to screen in the review (checked before importing)."""
    from litreview.accounts.users import require_role
    from litreview.cli.common import find_user

    person = find_user(session, actor)
    require_role(session, rv, person, "lead", "reviewer")
    return person


def _index(ctx: Context, slug: str, wait: bool, skip: bool, as_json: bool) -> int:
    """Index what the import queued (all of it when ``wait``, a bounded part otherwise,
    nothing when ``skip``); how many of the review's records are not searchable yet."""
    from litreview import search
    from litreview.cli.indexing import apply_everything

    if wait:
        factory = make_session_factory(ctx.engine, search_outbox=ctx.settings.search_outbox)
        apply_everything(factory, search.open_backend(ctx.settings), enabled=not as_json)
    elif not skip:
        search.sync_after_commit(ctx.settings, ctx.engine)
    with ctx.session() as session:
        return search.pending_in_review(session, reviews.get_review(session, slug).id)


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


def _entries(n: int) -> str:
    return f"{n} entr{'y' if n == 1 else 'ies'}"


def _where(e: dict[str, Any]) -> str:
    """ "line 7, entry r2" of an entry error or warning."""
    where = f"line {e['line']}" if e["line"] else "?"
    return where + (f", entry {e['entry']}" if e["entry"] else "")


def _print_import(summary: dict[str, Any]) -> None:
    prefix = "would import" if summary["dry_run"] else "imported"
    for r in summary["files"]:
        if "error" in r:
            continue
        click.echo(
            f"{r['file']} ({r['format']}): read {r['read']}, {prefix} {r['imported']}, "
            f"merged {r['merged_duplicates']} duplicates, {r['unchanged']} unchanged, "
            f"{len(r['errors'])} errors"
            + (f", {_entries(len(r['warnings']))} cleaned" if r["warnings"] else "")
        )
        for e in r["errors"]:
            click.echo(f"  {r['file']}: {_where(e)}: {e['message']}")
        for w in r["warnings"]:
            click.echo(f"  {r['file']}: {_where(w)}: warning: {w['message']}")
        for e in r["untitled"]:
            record = "" if summary["dry_run"] else f" (record {e['record']})"
            click.echo(f"  {r['file']}: {_where(e)}: no title{record}")
        if r["untitled_count"] > len(r["untitled"]):
            click.echo(f"  … and {r['untitled_count'] - len(r['untitled'])} more without a title")
        if "decisions" in r:
            d = r["decisions"]
            click.echo(
                f"{r['file']}: column {d['column']}: {d['decided']} decisions of {d['reviewer']} "
                f"at {d['stage']}, {d['unchanged']} unchanged, {d['kept']} kept as decided "
                f"before, {d['undecided']} rows undecided, {d['not_imported']} rows not "
                f"imported, {len(d['errors'])} errors"
            )
            for e in d["errors"]:
                click.echo(f"  {r['file']}: line {e['line']}: {e['message']}")
    if summary["not_searchable"]:
        click.echo(
            f"the search index is catching up: {summary['not_searchable']:,} records queued, "
            "not searchable yet (the web app indexes them in the background; "
            "`litreview reindex --catch-up` does it now)"
        )


@click.command()
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


@click.command()
@click.argument("slug")
@click.option(
    "--merge", nargs=2, type=int, metavar="KEEP OTHER", help="Merge record OTHER into record KEEP."
)
@click.option(
    "--keep-apart", nargs=2, type=int, metavar="ID ID", help="Say two records are different works."
)
@click.option(
    "--undo-keep-apart",
    nargs=2,
    type=int,
    metavar="ID ID",
    help="Take back --keep-apart: list the pair again if still alike.",
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
    undo_keep_apart: tuple[int, int] | None,
    undo: int | None,
    history: bool,
    actor: str,
    as_json: bool,
) -> None:
    """List probable duplicates in review SLUG, or settle one pair."""
    from litreview.library import duplicates as dup_ops

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
        elif undo_keep_apart:
            a, b = undo_keep_apart
            undone = dup_ops.undo_keep_apart(session, rv, a, b, actor)
            session.commit()
            emit(
                as_json,
                {"kept_apart_undone": [a, b], "changed": undone},
                f"records {a} and {b} are no longer kept apart"
                if undone
                else f"records {a} and {b} were not kept apart",
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
