"""`litreview export SLUG annotated|records|prisma|backup` and `litreview restore NEW_SLUG FILE`.

Each export writes one file (``-o FILE``; by default ``SLUG-KIND.EXT`` in the current
folder; ``-o -`` writes a text format to standard output). With --json the command
prints what it wrote; the file is never mixed into that output.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from litreview import backup as backup_ops
from litreview.cli.common import Context, actor_option, domain_errors, emit, json_option, pass_ctx
from litreview.errors import Invalid
from litreview.export import outputs as export_files
from litreview.export.csl import STYLES
from litreview.library import reviews
from litreview.models.screening import DECISIONS, STAGES

_STYLE_HELP = "Citation style: " + ", ".join(STYLES) + " (default apa)."


def register(cli: click.Group) -> None:
    """Add this feature's commands to ``cli``."""
    cli.add_command(export)
    cli.add_command(restore)


@click.group()
@click.argument("slug")
def export(slug: str) -> None:
    """Export review SLUG: an annotated bibliography, its records, PRISMA, or a backup."""


def _slug() -> str:
    return click.get_current_context().parent.params["slug"]


def _output_option(f):
    return click.option(
        "-o",
        "--output",
        "output",
        metavar="FILE",
        help="Where to write (default SLUG-KIND.EXT here; - for standard output).",
    )(f)


def _questions(values: Sequence[str]) -> list[str]:
    return [code.strip() for value in values for code in value.split(",") if code.strip()]


@export.command("annotated")
@click.option("--format", "fmt", type=click.Choice(export_files.FORMATS["annotated"]))
@click.option("--style", help=_STYLE_HELP)
@click.option(
    "--question",
    "questions",
    multiple=True,
    metavar="CODE",
    help="Only this question (repeat, or Q1,Q3).",
)
@click.option(
    "--stage", type=click.Choice(STAGES), help="Only records with --decision at this stage."
)
@click.option(
    "--decision",
    type=click.Choice(DECISIONS),
    help="Only records with this decision (default include when --stage is given).",
)
@click.option(
    "--untagged", is_flag=True, help="Add a last section of included records tagged to no question."
)
@click.option(
    "--show-decisions", is_flag=True, help="Show each record's decision and exclusion reason."
)
@click.option(
    "--page-size",
    type=click.Choice(export_files.PAGE_SIZES),
    default="a4",
    show_default=True,
    help="Paper of a DOCX: A4 or US Letter.",
)
@_output_option
@json_option
@pass_ctx
@domain_errors
def annotated(
    ctx: Context,
    fmt: str | None,
    style: str | None,
    questions: tuple[str, ...],
    stage: str | None,
    decision: str | None,
    untagged: bool,
    show_decisions: bool,
    page_size: str,
    output: str | None,
    as_json: bool,
) -> None:
    """The annotated bibliography by review question, as DOCX, HTML or Markdown."""
    fmt = export_files.choose_format("annotated", fmt, output)
    with ctx.session() as session:
        review = reviews.get_review(session, _slug())
        made = export_files.annotated_file(
            session,
            review,
            fmt,
            style=style,
            questions=_questions(questions),
            stage=stage,
            decision=decision,
            include_untagged=untagged,
            show_decisions=show_decisions,
            page_size=page_size,
        )
        session.commit()  # the citations formatted anew stay in the cache
    sections = made.summary["sections"]
    _deliver(
        made,
        output,
        as_json,
        f"{made.summary['records']} records in {len(sections)} sections, "
        f"style {made.summary['style']}"
        + (f", {export_files.PAGE_NAMES[page_size]} paper" if fmt == "docx" else ""),
    )


@export.command("records")
@click.option("--format", "fmt", type=click.Choice(export_files.FORMATS["records"]))
@click.option("--decision", type=click.Choice(DECISIONS), help="Only records with this decision.")
@click.option(
    "--stage", type=click.Choice(STAGES), help="The stage --decision is at (default full_text)."
)
@click.option(
    "--question",
    "questions",
    multiple=True,
    metavar="CODE",
    help="Only records tagged to this question.",
)
@_output_option
@json_option
@pass_ctx
@domain_errors
def records(
    ctx: Context,
    fmt: str | None,
    decision: str | None,
    stage: str | None,
    questions: tuple[str, ...],
    output: str | None,
    as_json: bool,
) -> None:
    """The review's records (or those selected) as RIS, BibTeX, CSV or CSL-JSON."""
    fmt = export_files.choose_format("records", fmt, output)
    with ctx.session() as session:
        review = reviews.get_review(session, _slug())
        made = export_files.records_file(
            session, review, fmt, decision=decision, stage=stage, questions=_questions(questions)
        )
    _deliver(made, output, as_json, made.summary["selection"])


@export.command("prisma")
@click.option("--format", "fmt", type=click.Choice(export_files.FORMATS["prisma"]))
@_output_option
@json_option
@pass_ctx
@domain_errors
def prisma(ctx: Context, fmt: str | None, output: str | None, as_json: bool) -> None:
    """The PRISMA 2020 flow diagram from the data, as SVG or PNG, or its numbers as JSON."""
    fmt = export_files.choose_format("prisma", fmt, output)
    with ctx.session() as session:
        review = reviews.get_review(session, _slug())
        made = export_files.prisma_file(session, review, fmt)
    _deliver(made, output, as_json, f"{made.summary['included']} studies included")


@export.command("backup")
@_output_option
@json_option
@pass_ctx
@domain_errors
def backup(ctx: Context, output: str | None, as_json: bool) -> None:
    """Everything of the review in one versioned JSON file (.zip: files inside too)."""
    slug = _slug()
    path = Path(output or f"{slug}.litreview.json")
    if str(path) == "-":
        raise Invalid("a backup is written to a file: give -o FILE.json or FILE.zip")
    with ctx.session() as session:
        review = reviews.get_review(session, slug)
        report = backup_ops.write_backup(session, review, ctx.settings, path)
    data = report.to_json()
    lines = [f"wrote {report.file}: {report.counts.get('record', 0)} records"]
    if report.files_folder:
        lines.append(f"attachment files in {report.files_folder}")
    for missing in report.attachments_missing:
        lines.append(f"warning: attachment file {missing} is missing from the data folder")
    emit(as_json, data, "\n".join(lines))


@click.command()
@click.argument("slug")
@click.argument("file", type=click.Path(path_type=Path))
@actor_option
@json_option
@pass_ctx
@domain_errors
def restore(ctx: Context, slug: str, file: Path, actor: str, as_json: bool) -> None:
    """Restore a backup FILE as a new review SLUG (nothing is written if it does not fit)."""
    checked = backup_ops.read_backup(file)
    with ctx.session() as session:
        report = backup_ops.restore(session, checked, slug, ctx.settings, actor=actor)
        session.commit()
    data = report.to_json()
    text = f"restored {file} as review {slug}: {report.counts.get('record', 0)} records"
    if report.users_created:
        text += f"; new accounts without a password: {', '.join(report.users_created)}"
    if report.cleaned:
        text += f"\n{report.cleaned} texts had NUL characters, removed (no database stores them)"
    emit(as_json, data, text)


def _deliver(made: export_files.ExportFile, output: str | None, as_json: bool, said: str) -> None:
    if output == "-":
        if as_json:
            raise Invalid("-o - writes the file to standard output: leave out --json")
        if not made.is_text:
            raise Invalid(f"{made.filename} is not text: write it to a file with -o FILE")
        click.echo(made.data, nl=False)  # bytes go to the binary stream as they are
        return
    path = Path(output or made.filename)
    _write_atomic(path, made.data)
    data: dict[str, Any] = {"file": str(path), "bytes": len(made.data), **made.summary}
    emit(as_json, data, f"wrote {path}: {said}")


def _write_atomic(path: Path, data: bytes) -> None:
    """Write beside the target and rename: an interrupted export leaves the old file."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise Invalid(f"{path}: the folder {folder} does not exist")
    tmp = folder / f".{path.name}.{secrets.token_hex(4)}.part"
    try:
        with tmp.open("xb") as f:  # "x": never follows a file someone put there
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
