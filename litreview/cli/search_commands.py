"""`litreview` commands for full texts, search, review-question themes, tags and notes.

    attach SLUG FILE --record ID | --dir FOLDER     PDFs, stored once, text by page
    search SLUG QUERY [filters]                     AND OR NOT, "phrases", word*, fields
    question suggest SLUG CODE                      theme matches not tagged yet
    tag / untag / annotate / tags                   records to review questions
    reindex [SLUG] [--catch-up]                     rebuild the index (or apply its queue)

Each command that changes something commits once, then brings the search index up to
date (search.sync_after_commit); a search first applies whatever is still queued.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from litreview import search
from litreview.cli.common import Context, actor_option, domain_errors, emit, json_option, pass_ctx
from litreview.cli.indexing import Bar, apply_everything
from litreview.db import make_session_factory
from litreview.errors import NotFound
from litreview.evidence import attachments, pdf_folder
from litreview.evidence import tags as tagging
from litreview.library import reviews
from litreview.models import STAGES
from litreview.search.backend import SearchResult

_MARK = re.compile(r"<b>(.*?)</b>")


def _sync(ctx: Context) -> None:
    search.sync_after_commit(ctx.settings, ctx.engine)


def _terminal(snippet: str) -> str:
    """A snippet's HTML for a terminal: marked words in bold (or *starred*), entities decoded."""
    bold = sys.stdout.isatty()
    pieces = _MARK.split(snippet)  # text, marked word, text, marked word, ...
    out = []
    for n, piece in enumerate(pieces):
        piece = html.unescape(piece)
        if n % 2:
            piece = click.style(piece, bold=True) if bold else f"*{piece}*"
        out.append(piece)
    return "".join(out)


def _print_results(result: SearchResult, what: str = "records") -> Callable[[], None]:
    def show() -> None:
        for hit in result.hits:
            questions = f"  [{', '.join(hit.questions)}]" if hit.questions else ""
            click.echo(
                f"{hit.record_id}\t{hit.year or '----'}\t{hit.title or '(no title)'}"
                f"  ({hit.decision}){questions}"
            )
            for s in hit.snippets:
                where = f"p. {s.page}" if s.page is not None else s.field
                click.echo(f"    {where}: {_terminal(s.text)}")
        click.echo(f"{len(result.hits)} of {result.total} {what}", err=True)
        if result.not_searchable:
            click.echo(
                f"{result.not_searchable:,} records not yet searchable: the index is catching "
                "up (`litreview reindex --catch-up` does it now)",
                err=True,
            )

    return show


def register(cli: click.Group) -> None:
    """Add this feature's commands to ``cli`` (and `suggest` to its `question` group)."""

    @cli.command()
    @click.argument("slug")
    @click.argument("file", required=False, type=click.Path(path_type=Path))
    @click.option("--record", "record_id", type=int, help="The record FILE is the full text of.")
    @click.option(
        "--dir",
        "folder",
        type=click.Path(path_type=Path),
        help="Attach every PDF in FOLDER to the record it matches (DOI, file name, title).",
    )
    @actor_option
    @json_option
    @pass_ctx
    @domain_errors
    def attach(
        ctx: Context,
        slug: str,
        file: Path | None,
        record_id: int | None,
        folder: Path | None,
        actor: str,
        as_json: bool,
    ) -> None:
        """Attach a PDF to a record of review SLUG, or a folder of PDFs to their records."""
        if (file is None) == (folder is None):
            raise click.UsageError("give a FILE with --record ID, or --dir FOLDER")
        if file is not None and record_id is None:
            raise click.UsageError("say which record the PDF is for: --record ID")
        with ctx.session() as session:
            rv = reviews.get_review(session, slug)
            if file is not None:
                assert record_id is not None
                done = attachments.attach_pdf(session, ctx.settings, rv, record_id, file, actor)
                session.commit()
                data: Any = done.to_json()
                text = (
                    f"{file.name}: already attached to record {record_id}"
                    if not done.created
                    else f"{file.name} -> record {record_id}: {data['status']}, "
                    f"{len(done.attachment.pages)} pages of text"
                )
            else:
                assert folder is not None
                bar = Bar("reading PDFs", enabled=not as_json)
                try:
                    report = pdf_folder.attach_folder(
                        session, ctx.settings, rv, folder, actor, progress=bar
                    )
                finally:
                    bar.close()
                session.commit()
                attached = [r for r in report if r.get("record") and not r.get("error")]
                data = {
                    "files": report,
                    "attached": len(attached),
                    "not_attached": len(report) - len(attached),
                }
                lines = [
                    f"{r['file']}: record {r['record']} ({r['matched_by']}), {r['status']}"
                    if not r.get("error")
                    else f"{r['file']}: not attached: {r['error']}"
                    for r in report
                ]
                lines.append(f"{len(attached)} attached, {len(report) - len(attached)} not")
                text = "\n".join(lines)
        _sync(ctx)
        emit(as_json, data, text)

    @cli.command("search")
    @click.argument("slug")
    @click.argument("query")
    @click.option("--question", help="Only records tagged to this review question (e.g. Q4).")
    @click.option("--decision", type=click.Choice(search.DECISION_VALUES))
    @click.option(
        "--stage", type=click.Choice(STAGES), help="Where --decision applies (default: latest)."
    )
    @click.option("--year", "years", metavar="FROM-TO", help="e.g. 2019-2025, 2019-, -2025, 2020")
    @click.option(
        "--has-fulltext/--no-fulltext", default=None, help="Only records with (without) a PDF."
    )
    @click.option("--limit", default=20, show_default=True, type=int)
    @json_option
    @pass_ctx
    @domain_errors
    def search_cmd(
        ctx: Context,
        slug: str,
        query: str,
        question: str | None,
        decision: str | None,
        stage: str | None,
        years: str | None,
        has_fulltext: bool | None,
        limit: int,
        as_json: bool,
    ) -> None:
        """Search review SLUG: AND OR NOT, "phrases", word*, title:, author:, year:[A TO B]."""
        with ctx.session() as session:
            rv = reviews.get_review(session, slug)
            result = search.search_review(
                session,
                search.open_backend(ctx.settings),
                rv,
                query,
                question=question,
                decision=decision,
                stage=stage,
                years=years,
                has_fulltext=has_fulltext,
                limit=limit,
            )
        emit(as_json, result.to_json(), _print_results(result))

    @click.command("suggest")
    @click.argument("slug")
    @click.argument("code")
    @click.option("--limit", default=50, show_default=True, type=int)
    @json_option
    @pass_ctx
    @domain_errors
    def suggest(ctx: Context, slug: str, code: str, limit: int, as_json: bool) -> None:
        """Records matching question CODE's theme query that are not tagged to it yet."""
        with ctx.session() as session:
            rv = reviews.get_review(session, slug)
            q, result = search.suggest_for_question(
                session, search.open_backend(ctx.settings), rv, code, limit=limit
            )
        data = {"question": q.code, "query": q.query, **result.to_json()}
        emit(as_json, data, _print_results(result, f"untagged records match {q.code}"))

    cli.commands["question"].add_command(suggest)  # type: ignore[attr-defined]

    @cli.command()
    @click.argument("slug")
    @click.argument("record_id", type=int)
    @click.argument("codes", nargs=-1, required=True)
    @click.option("--note", help="An annotation for each question.")
    @click.option("--quote", help="A quoted passage for each question.")
    @click.option("--page", help="The page of the quote, e.g. 7 or 7-8.")
    @actor_option
    @json_option
    @pass_ctx
    @domain_errors
    def tag(
        ctx: Context,
        slug: str,
        record_id: int,
        codes: tuple[str, ...],
        note: str | None,
        quote: str | None,
        page: str | None,
        actor: str,
        as_json: bool,
    ) -> None:
        """Tag record RECORD_ID of review SLUG to review questions CODES (e.g. Q4 Q5)."""
        with ctx.session() as session:
            rv = reviews.get_review(session, slug)
            tagging.tag_record(
                session, rv, record_id, codes, actor, note=note, quote=quote, page=page
            )
            session.commit()
            data = {"record": record_id, "tags": tagging.record_tags(session, rv, record_id)}
        _sync(ctx)
        emit(
            as_json, data, f"record {record_id}: " + ", ".join(t["question"] for t in data["tags"])
        )

    @cli.command()
    @click.argument("slug")
    @click.argument("record_id", type=int)
    @click.argument("code")
    @actor_option
    @json_option
    @pass_ctx
    @domain_errors
    def untag(
        ctx: Context, slug: str, record_id: int, code: str, actor: str, as_json: bool
    ) -> None:
        """Remove record RECORD_ID's tag to question CODE (the audit log keeps it)."""
        with ctx.session() as session:
            rv = reviews.get_review(session, slug)
            if not tagging.untag_record(session, rv, record_id, code, actor):
                q = tagging.question_by_code(session, rv, code)
                raise NotFound(f"record {record_id} is not tagged to {q.code}")
            session.commit()
            data = {"record": record_id, "tags": tagging.record_tags(session, rv, record_id)}
        _sync(ctx)
        emit(as_json, data, f"record {record_id} untagged from {code}")

    @cli.command()
    @click.argument("slug")
    @click.argument("record_id", type=int)
    @click.option("--question", help="The review question it is evidence for (e.g. Q4).")
    @click.option("--note")
    @click.option("--quote")
    @click.option("--page", help="The page of the quote, e.g. 7 or 7-8.")
    @actor_option
    @json_option
    @pass_ctx
    @domain_errors
    def annotate(
        ctx: Context,
        slug: str,
        record_id: int,
        question: str | None,
        note: str | None,
        quote: str | None,
        page: str | None,
        actor: str,
        as_json: bool,
    ) -> None:
        """Add a note and/or a quoted passage (with its page) to record RECORD_ID."""
        with ctx.session() as session:
            rv = reviews.get_review(session, slug)
            a = tagging.annotate(
                session, rv, record_id, actor, question=question, note=note, quote=quote, page=page
            )
            session.commit()
            data = tagging.annotation_json(session, a)
        _sync(ctx)
        emit(as_json, data, f"annotation {data['id']} on record {record_id}")

    @cli.command()
    @click.argument("slug")
    @click.argument("record_id", type=int)
    @json_option
    @pass_ctx
    @domain_errors
    def tags(ctx: Context, slug: str, record_id: int, as_json: bool) -> None:
        """Show record RECORD_ID's tags and annotations: what, who, when."""
        with ctx.session() as session:
            rv = reviews.get_review(session, slug)
            tagging.live_record(session, rv, record_id)
            data = {
                "record": record_id,
                "tags": tagging.record_tags(session, rv, record_id),
                "annotations": [
                    tagging.annotation_json(session, a)
                    for a in tagging.record_annotations(session, rv, record_id)
                ],
            }

        def show() -> None:
            for t in data["tags"]:
                click.echo(f"{t['question']}\ttagged by {t['by']} at {t['at']}")
            for a in data["annotations"]:
                page = f" (p. {a['page']})" if a["page"] else ""
                quote = f' "{a["quote"]}"{page}' if a["quote"] else ""
                click.echo(f"{a['question'] or '-'}\t{a['note'] or ''}{quote}\t{a['by']}")

        emit(as_json, data, show)

    @cli.command()
    @click.argument("slug", required=False)
    @click.option(
        "--catch-up",
        is_flag=True,
        help="Apply only what is queued (a large import's records), not a whole rebuild.",
    )
    @json_option
    @pass_ctx
    @domain_errors
    def reindex(ctx: Context, slug: str | None, catch_up: bool, as_json: bool) -> None:
        """Rebuild the search index of review SLUG (or of every review) from the database."""
        ctx.require_schema()
        factory = make_session_factory(ctx.engine, search_outbox=ctx.settings.search_outbox)
        backend = search.open_backend(ctx.settings)
        if catch_up:
            if slug is not None:
                raise click.UsageError("--catch-up applies every review's queue: leave out SLUG")
            count = apply_everything(factory, backend, enabled=not as_json)
            emit(as_json, {"review": None, "records": count}, f"indexed {count} queued records")
            return
        review_id = None
        if slug is not None:
            with ctx.session() as session:
                review_id = reviews.get_review(session, slug).id
        bar = Bar("indexing", enabled=not as_json)
        try:
            count = search.rebuild(factory, backend, review_id=review_id, progress=bar)
        except search.IndexBusy as exc:
            raise click.ClickException(f"{exc}: try again") from None
        finally:
            bar.close()
        emit(
            as_json,
            {"review": slug, "records": count},
            f"indexed {count} records" + (f" of {slug}" if slug else ""),
        )
