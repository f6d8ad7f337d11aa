"""`litreview zotero import | sync | push`: a review's Zotero library, in and back out.

The API key comes from --api-key or LITREVIEW_ZOTERO_API_KEY and is never printed:
where it must be shown it is ``****abcd``. Each command is one transaction: when
Zotero fails halfway, nothing is kept and the review is as it was.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from litreview.cli.common import Context, actor_option, domain_errors, emit, json_option, pass_ctx
from litreview.library import reviews
from litreview.zotero.client import Target, ZoteroClient, ZoteroError, api_url
from litreview.zotero.push import PushReport, push_tags
from litreview.zotero.sync import SyncReport, get_link, import_library, sync_library, target_of


def api_key_option(f: Callable) -> Callable:
    return click.option(
        "--api-key",
        envvar="LITREVIEW_ZOTERO_API_KEY",
        show_envvar=True,
        help="Zotero API key (never printed; not needed for a public library or --local).",
    )(f)


def files_option(f: Callable) -> Callable:
    return click.option(
        "--no-files",
        "no_files",
        is_flag=True,
        help="Leave out PDFs and Zotero's full text.",
    )(f)


@click.group()
def zotero() -> None:
    """Import a Zotero library or collection, keep it in sync, push tags back.

    The Web API's address comes from LITREVIEW_ZOTERO_API_URL (default Zotero's own).
    """


@zotero.command("import")
@click.argument("slug")
@click.option("--library-type", type=click.Choice(["user", "group"]), default="user")
@click.option("--library-id", help="The user or group id (numbers; see zotero.org/settings).")
@click.option("--collection", "collection_key", help="Import one collection (its key).")
@click.option("--local", is_flag=True, help="Read the Zotero desktop app's local API instead.")
@click.option(
    "--tag-prefix", help='Prefix of the decision tags push writes (default "litreview:").'
)
@api_key_option
@files_option
@actor_option
@json_option
@pass_ctx
@domain_errors
def import_(
    ctx: Context,
    slug: str,
    library_type: str,
    library_id: str | None,
    collection_key: str | None,
    local: bool,
    tag_prefix: str | None,
    api_key: str | None,
    no_files: bool,
    actor: str,
    as_json: bool,
) -> None:
    """Import a Zotero library (or one collection of it) into review SLUG."""
    if local:
        # The local API serves the desktop app's own library as user 0.
        library_type, library_id = "user", library_id or "0"
    elif not library_id:
        raise click.UsageError("give --library-id (or --local for the desktop app)")
    collection = (collection_key or "").strip().upper() or None
    target = Target(library_type, library_id.strip(), collection, local)
    with ctx.session() as session, _client(target, api_key, slug) as client:
        review = reviews.get_review(session, slug)
        report = import_library(
            session,
            review,
            client,
            actor=actor,
            settings=ctx.settings,
            tag_prefix=tag_prefix,
            files=not no_files,
            progress=_progress(as_json),
        )
        session.commit()
    _emit_sync(as_json, report)


@zotero.command("sync")
@click.argument("slug")
@api_key_option
@files_option
@actor_option
@json_option
@pass_ctx
@domain_errors
def sync(
    ctx: Context, slug: str, api_key: str | None, no_files: bool, actor: str, as_json: bool
) -> None:
    """Bring in what changed in review SLUG's Zotero library since the last import or sync."""
    with ctx.session() as session:
        review = reviews.get_review(session, slug)
        target = target_of(get_link(session, review))
        with _client(target, api_key, slug) as client:
            report = sync_library(
                session,
                review,
                client,
                actor=actor,
                settings=ctx.settings,
                files=not no_files,
                progress=_progress(as_json),
            )
            session.commit()
    _emit_sync(as_json, report)


@zotero.command("push")
@click.argument("slug")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@api_key_option
@actor_option
@json_option
@pass_ctx
@domain_errors
def push(
    ctx: Context, slug: str, dry_run: bool, api_key: str | None, actor: str, as_json: bool
) -> None:
    """Tag review SLUG's Zotero items with their decisions and review questions."""
    with ctx.session() as session:
        review = reviews.get_review(session, slug)
        target = target_of(get_link(session, review))
        with _client(target, api_key, slug) as client:
            report = push_tags(session, review, client, actor=actor, dry_run=dry_run)
            if dry_run:
                session.rollback()
            else:
                session.commit()
    _emit_push(as_json, report)


def register(cli: click.Group) -> None:
    """Add this feature's commands to ``cli``."""
    cli.add_command(zotero)


@contextmanager
def _client(target: Target, api_key: str | None, slug: str) -> Iterator[ZoteroClient]:
    """A client for ``target``; a Zotero failure says the review was left as it was."""
    try:
        with ZoteroClient(target, api_key or None, base_url=api_url(target.local)) as client:
            yield client
    except ZoteroError as exc:
        raise ZoteroError(f"{exc} (review {slug} left as it was)") from None


def _progress(as_json: bool) -> Callable[[str, int, int | None], None] | None:
    if as_json or not sys.stderr.isatty():
        return None

    def show(stage: str, done: int, total: int | None) -> None:
        end = "\n" if total is not None and done >= total else ""
        of = f"/{total}" if total is not None else ""
        click.echo(f"\r{stage}: {done}{of}", err=True, nl=False)
        if end:
            click.echo("", err=True)

    return show


def _emit_sync(as_json: bool, report: SyncReport) -> None:
    def text() -> None:
        where = report.library + (f", collection {report.collection}" if report.collection else "")
        click.echo(
            f"{where}: read {report.read} objects ({report.items} items); "
            f"imported {report.imported}, merged {report.merged_duplicates} duplicates, "
            f"{report.updated} updated, {report.unchanged} unchanged, "
            f"{report.withdrawn} withdrawn, {report.restored} restored; "
            f"{report.notes} notes, {report.pdfs} PDFs, {report.fulltexts} full texts; "
            f"library version {report.library_version} ({report.requests} requests)"
        )
        for e in report.errors:
            click.echo(f"  item {e['entry'] or '?'}: {e['message']}")
        for w in report.warnings:
            click.echo(f"  item {w['entry'] or '?'}: warning: {w['message']}")
        for p in report.problems:
            click.echo(f"  attachment {p['item']}: {p['message']}")

    emit(as_json, report.to_json(), text)


def _emit_push(as_json: bool, report: PushReport) -> None:
    def text() -> None:
        verb = "would change" if report.dry_run else "changed"
        for change in report.changes:
            parts = [f"+ {t}" for t in change["add"]] + [f"- {t}" for t in change["remove"]]
            click.echo(f"item {change['item']} (record {change['record']}): {', '.join(parts)}")
        for p in report.problems:
            click.echo(f"item {p['item']}: {p['message']}")
        summary: dict[str, Any] = {
            "verb": verb,
            "changed": report.changed,
            "added": report.tags_added,
            "removed": report.tags_removed,
            "unchanged": report.unchanged,
        }
        click.echo(
            "{verb} {changed} items ({added} tags added, {removed} removed), "
            "{unchanged} already up to date".format(**summary)
            + (" (dry run: nothing written)" if report.dry_run else "")
        )

    emit(as_json, report.to_json(), text)
