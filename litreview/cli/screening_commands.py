"""`litreview` commands for screening: thin wrappers over the domain."""

from __future__ import annotations

from typing import Any

import click

from litreview import screening
from litreview.cli.common import (
    Context,
    actor_account,
    actor_option,
    domain_errors,
    emit,
    json_option,
    pass_ctx,
)
from litreview.cli.common import find_user as _user
from litreview.library import reviews
from litreview.models import Decision, Resolution
from litreview.models.screening import DECISIONS, STAGES

stage_option = click.option(
    "--stage",
    type=click.Choice(STAGES),
    default="title_abstract",
    show_default=True,
    help="Screening stage.",
)


def _row_json(row: Decision | Resolution) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": "resolution" if isinstance(row, Resolution) else "decision",
        "record": row.record_id,
        "stage": row.stage,
        "by": row.user.email,
        "decision": row.decision,
        "reason": row.reason,
        "note": row.note,
        "current": row.current,
        "at": row.created_at.isoformat(),
    }


@click.command("screen")
@click.argument("slug")
@click.argument("record_id", metavar="ID", type=int)
@click.argument("decision", type=click.Choice(DECISIONS))
@stage_option
@click.option("--reason", help="Why it is excluded (required at full text).")
@click.option("--note", help="A note for the team.")
@actor_option
@json_option
@pass_ctx
@domain_errors
def screen(
    ctx: Context,
    slug: str,
    record_id: int,
    decision: str,
    stage: str,
    reason: str | None,
    note: str | None,
    actor: str,
    as_json: bool,
) -> None:
    """Decide record ID of review SLUG as the user --as (an account's email)."""
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        row = screening.decide(
            session, rv, record_id, _user(session, actor), stage, decision, reason=reason, note=note
        )
        session.commit()
        emit(
            as_json,
            _row_json(row),
            f"record {record_id}: {decision} at {stage}"
            + (f" ({row.reason})" if row.reason else ""),
        )


@click.command("resolve")
@click.argument("slug")
@click.argument("record_id", metavar="ID", type=int)
@click.argument("decision", type=click.Choice(DECISIONS))
@stage_option
@click.option("--reason", help="Why it is excluded (required at full text).")
@click.option("--note", help="A note on the resolution.")
@actor_option
@json_option
@pass_ctx
@domain_errors
def resolve(
    ctx: Context,
    slug: str,
    record_id: int,
    decision: str,
    stage: str,
    reason: str | None,
    note: str | None,
    actor: str,
    as_json: bool,
) -> None:
    """Resolve the reviewers' conflict on record ID as the lead (or a third reviewer) --as."""
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        row = screening.resolve(
            session, rv, record_id, _user(session, actor), stage, decision, reason=reason, note=note
        )
        session.commit()
        emit(as_json, _row_json(row), f"record {record_id}: resolved as {decision} at {stage}")


@click.command("conflicts")
@click.argument("slug")
@stage_option
@json_option
@pass_ctx
@domain_errors
def conflicts(ctx: Context, slug: str, stage: str, as_json: bool) -> None:
    """List the records of review SLUG whose reviewers disagree, not yet resolved."""
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        found = screening.conflicts(session, rv, stage)
        data = {
            "stage": stage,
            "conflicts": [
                {
                    "record": c.record.id,
                    "title": c.record.title,
                    "decisions": [_row_json(d) for d in c.decisions],
                }
                for c in found
            ],
        }
        emit(
            as_json,
            data,
            "\n".join(
                f"{c.record.id}\t"
                + ", ".join(f"{d.user.email}: {d.decision}" for d in c.decisions)
                + f"\t{c.record.title or '(no title)'}"
                for c in found
            )
            or f"no conflicts at {stage}",
        )


@click.command("stats")
@click.argument("slug")
@click.option("--kappa-csv", is_flag=True, help="Print the agreement table as CSV.")
@json_option
@pass_ctx
@domain_errors
def stats(ctx: Context, slug: str, kappa_csv: bool, as_json: bool) -> None:
    """Screening progress of review SLUG: per stage, per source, agreement per reviewer pair."""
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        data = screening.stats(session, rv)
    if kappa_csv:
        click.echo(screening.kappa_csv(data), nl=False)
        return
    emit(as_json, data, lambda: _print_stats(data))


def _print_stats(data: dict[str, Any]) -> None:
    click.echo(
        f"{data['review']} ({data['mode']} screening): {data['records']} records, "
        f"{data['duplicates_merged']} duplicates merged"
    )
    for source in data["sources"]:
        click.echo(f"  {source['source'] or source['file']}: {source['records']} records")
    for stage, s in data["stages"].items():
        click.echo(
            f"{stage}: {s['screened']} of {s['eligible']} screened, {s['remaining']} remaining; "
            f"included {s['included']}, excluded {s['excluded']}, maybe {s['maybe']}, "
            f"conflicts {s['conflicts']}"
            + (f"; {s['not_retrieved']} not retrieved" if s.get("not_retrieved") else "")
        )
        for reason, count in s["excluded_by_reason"].items():
            click.echo(f"  excluded: {reason}: {count}")
        for pair in data["agreement"][stage]:
            kappa = "n/a" if pair["kappa"] is None else f"{pair['kappa']:.2f}"
            click.echo(
                f"  kappa {kappa} between {pair['reviewers'][0]} and {pair['reviewers'][1]} "
                f"({pair['agreed']} of {pair['records']} agreed)"
            )


@click.command("set")
@click.argument("slug")
@click.option("--title")
@click.option("--description")
@click.option("--mode", "screening_mode", type=click.Choice(reviews.SCREENING_MODES))
@click.option(
    "--single-decisions",
    "on_switch",
    type=click.Choice(["keep", "second"]),
    help="Going from single to dual mode: records one reviewer decided keep their outcome "
    "(keep, the default) or wait for a second reviewer (second).",
)
@click.option(
    "--reason-at-title-abstract/--no-reason-at-title-abstract",
    "reason_required_title_abstract",
    default=None,
    help="Whether an exclusion at title/abstract needs a reason (full text always does).",
)
@click.option(
    "--order",
    "screening_order",
    type=click.Choice(["relevance", "id"]),
    help="Screening order: most relevant first (the default) or in order (by id).",
)
@click.option("--criteria", help="Inclusion and exclusion criteria, as text.")
@click.option(
    "--reasons", "exclusion_reasons", help='Exclusion reasons, e.g. "Not AI;Not social work".'
)
@click.option("--highlight-include", help='Words to mark green, e.g. "algorithm;machine learning".')
@click.option("--highlight-exclude", help="Words to mark red, separated by ;.")
@actor_option
@json_option
@pass_ctx
@domain_errors
def review_set(
    ctx: Context,
    slug: str,
    actor: str,
    as_json: bool,
    on_switch: str | None,
    **options: str | bool | None,
) -> None:
    """Change the screening set-up of review SLUG; only the options given change."""
    fields = {name: value for name, value in options.items() if value is not None}
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        reviews.update_settings(session, rv, actor=actor, on_switch=on_switch or "keep", **fields)
        session.commit()
        data = {
            "slug": rv.slug,
            "title": rv.title,
            "description": rv.description,
            "mode": rv.screening_mode,
            "order": rv.screening_order,
            "criteria": rv.criteria,
            "reasons": rv.exclusion_reasons,
            "reason_at_title_abstract": bool(rv.reason_required_title_abstract),
            "highlight_include": rv.highlight_include,
            "highlight_exclude": rv.highlight_exclude,
        }
        emit(
            as_json,
            data,
            f"{slug}: {data['mode']} screening, order {data['order']}, "
            f"reasons: {'; '.join(data['reasons']) or '-'}",
        )


@click.command("history")
@click.argument("slug")
@click.argument("record_id", metavar="ID", type=int)
@actor_option
@json_option
@pass_ctx
@domain_errors
def history(ctx: Context, slug: str, record_id: int, actor: str, as_json: bool) -> None:
    """Every decision and resolution on record ID of review SLUG, oldest first.

    With --as naming an account, what that person may see (blind dual mode hides the
    other reviewers' decisions on a record they have not decided yet).
    """
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        # No account: whoever runs commands on the database itself, who sees it all.
        person = actor_account(session, actor)
        found = screening.history(session, rv, record_id, for_user=person)
        rows = [_row_json(r) for r in found]
        emit(
            as_json,
            rows,
            "\n".join(
                f"{r['at']}\t{r['stage']}\t{r['by']}\t{r['kind']}: {r['decision']}"
                + ("" if r["current"] else " (replaced)")
                for r in rows
            )
            or f"no decisions on record {record_id}",
        )


def register(cli: click.Group) -> None:
    """Add this feature's commands to ``cli``."""
    for command in (screen, resolve, conflicts, stats, history):
        cli.add_command(command)
    review_group = cli.commands["review"]
    assert isinstance(review_group, click.Group)
    review_group.add_command(review_set)
