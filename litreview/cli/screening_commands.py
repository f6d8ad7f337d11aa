"""`litreview` commands for accounts, members and screening: thin wrappers over the domain."""

from __future__ import annotations

import sys
from typing import Any

import click

from litreview import screening
from litreview.accounts import users as accounts
from litreview.cli.common import Context, actor_option, domain_errors, emit, json_option, pass_ctx
from litreview.errors import Invalid, NotFound
from litreview.library import reviews
from litreview.models import Decision, Resolution, User
from litreview.models.accounts import ROLES
from litreview.models.screening import DECISIONS, STAGES

stage_option = click.option(
    "--stage",
    type=click.Choice(STAGES),
    default="title_abstract",
    show_default=True,
    help="Screening stage.",
)


def _user(session: Any, email: str) -> User:
    try:
        return accounts.get_user_by_email(session, email)
    except NotFound:
        raise click.ClickException(
            f"no user with email {accounts.normalize_email(email)!r}: "
            "create one with `litreview user create EMAIL`"
        ) from None


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


def _interactive() -> bool:
    return sys.stdin.isatty()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not _interactive():
        raise click.ClickException(
            "no terminal to ask for the password: give it on stdin with --password-stdin"
        )
    return click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)


@click.group()
def user() -> None:
    """User accounts (for signing in to the web app)."""


@user.command("create")
@click.argument("email")
@click.option("--name", help="The name shown to other members.")
@click.option("--admin", is_flag=True, help="May create reviews and accounts.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@actor_option
@json_option
@pass_ctx
@domain_errors
def user_create(
    ctx: Context,
    email: str,
    name: str | None,
    admin: bool,
    password_stdin: bool,
    actor: str,
    as_json: bool,
) -> None:
    """Create an account for EMAIL; the password is asked for twice (or read from stdin)."""
    with ctx.session() as session:
        password = _read_password(password_stdin)
        created = accounts.create_user(
            session, email, password, name=name, is_admin=admin, actor=actor
        )
        session.commit()
        emit(
            as_json,
            {"id": created.id, "email": created.email, "name": created.name, "admin": admin},
            f"created user {created.email}" + (" (admin)" if admin else ""),
        )


@user.command("list")
@json_option
@pass_ctx
@domain_errors
def user_list(ctx: Context, as_json: bool) -> None:
    """List the accounts."""
    with ctx.session() as session:
        found = accounts.list_users(session)
        data = [
            {
                "id": u.id,
                "email": u.email,
                "name": u.name,
                "admin": u.is_admin,
                "active": u.is_active,
            }
            for u in found
        ]
        emit(
            as_json,
            data,
            "\n".join(f"{u.email}\t{u.name or ''}\t{'admin' if u.is_admin else ''}" for u in found)
            or "no users yet",
        )


@click.group()
def member() -> None:
    """Who takes part in a review, and as what."""


@member.command("add")
@click.argument("slug")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@actor_option
@json_option
@pass_ctx
@domain_errors
def member_add(ctx: Context, slug: str, email: str, role: str, actor: str, as_json: bool) -> None:
    """Make EMAIL a ROLE of review SLUG (or change their role)."""
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        who = _user(session, email)
        accounts.add_member(session, rv, who, role, actor=actor)
        session.commit()
        emit(
            as_json,
            {"review": slug, "email": who.email, "role": role},
            f"{who.email} is a {role} of {slug}",
        )


@member.command("remove")
@click.argument("slug")
@click.argument("email")
@actor_option
@json_option
@pass_ctx
@domain_errors
def member_remove(ctx: Context, slug: str, email: str, actor: str, as_json: bool) -> None:
    """Take EMAIL out of review SLUG (their decisions stay)."""
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        who = _user(session, email)
        accounts.remove_member(session, rv, who, actor=actor)
        session.commit()
        emit(as_json, {"review": slug, "removed": who.email}, f"{who.email} left {slug}")


@member.command("list")
@click.argument("slug")
@json_option
@pass_ctx
@domain_errors
def member_list(ctx: Context, slug: str, as_json: bool) -> None:
    """List the members of review SLUG."""
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        data = [
            {"email": m.user.email, "name": m.user.name, "role": m.role}
            for m in accounts.members(session, rv)
        ]
        emit(
            as_json,
            data,
            "\n".join(f"{m['role']}\t{m['email']}" for m in data) or "no members yet",
        )


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
def review_set(ctx: Context, slug: str, actor: str, as_json: bool, **options: str | None) -> None:
    """Change the screening set-up of review SLUG; only the options given change."""
    fields = {name: value for name, value in options.items() if value is not None}
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        reviews.update_settings(session, rv, actor=actor, **fields)
        session.commit()
        data = {
            "slug": rv.slug,
            "title": rv.title,
            "description": rv.description,
            "mode": rv.screening_mode,
            "criteria": rv.criteria,
            "reasons": rv.exclusion_reasons,
            "highlight_include": rv.highlight_include,
            "highlight_exclude": rv.highlight_exclude,
        }
        emit(
            as_json,
            data,
            f"{slug}: {data['mode']} screening, reasons: {'; '.join(data['reasons']) or '-'}",
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
        try:
            person = accounts.get_user_by_email(session, actor)
        except (NotFound, Invalid):
            person = None  # no account: whoever runs commands on the database itself
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
    for command in (user, member, screen, resolve, conflicts, stats, history):
        cli.add_command(command)
    review_group = cli.commands["review"]
    assert isinstance(review_group, click.Group)
    review_group.add_command(review_set)
