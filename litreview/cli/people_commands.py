"""`litreview user` and `litreview member`: accounts, and who takes part in a review as what.

Only an admin creates accounts, except the very first one (see accounts.users).
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable

import click

from litreview.accounts import admins, invites
from litreview.accounts import users as accounts
from litreview.cli.common import (
    Context,
    acting_admin,
    actor_account,
    actor_option,
    domain_errors,
    emit,
    find_user,
    json_option,
    not_allowed,
    pass_ctx,
)
from litreview.library import reviews
from litreview.models.accounts import ROLES


def _interactive() -> bool:
    return sys.stdin.isatty()


def _read_password(from_stdin: bool, generate: bool) -> str:
    if generate:
        # Random and shown once, for scripts and walkthroughs: never a constant in a file.
        return secrets.token_urlsafe(12)
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
@click.option(
    "--admin",
    is_flag=True,
    help="May create reviews and accounts, and is a lead of every review. "
    "Only an admin creates accounts; the first account must be one.",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@click.option(
    "--generate-password",
    is_flag=True,
    help="Make a random password and print it (shown only this once).",
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
    generate_password: bool,
    actor: str,
    as_json: bool,
) -> None:
    """Create an account for EMAIL; the password is asked for twice (or read from stdin)."""
    if password_stdin and generate_password:
        raise click.UsageError("give --password-stdin or --generate-password, not both")
    with ctx.session() as session:
        try:
            accounts.require_account_creator(session, actor_account(session, actor), is_admin=admin)
        except accounts.NotAllowed as exc:
            raise not_allowed(exc, actor) from None
        password = _read_password(password_stdin, generate_password)
        created = accounts.create_user(
            session, email, password, name=name, is_admin=admin, actor=actor
        )
        session.commit()
        data = {"id": created.id, "email": created.email, "name": created.name, "admin": admin}
        text = f"created user {created.email}" + (" (admin)" if admin else "")
        if generate_password:
            data["password"] = password
            text += f"\nsign in with password {password} (shown only this once)"
        emit(as_json, data, text)


@user.command("password")
@click.argument("email")
@click.option(
    "--password-stdin", is_flag=True, help="Read the new password from the first line of stdin."
)
@click.option(
    "--generate-password",
    is_flag=True,
    help="Make a random password and print it (shown only this once).",
)
@actor_option
@json_option
@pass_ctx
@domain_errors
def user_password(
    ctx: Context,
    email: str,
    password_stdin: bool,
    generate_password: bool,
    actor: str,
    as_json: bool,
) -> None:
    """Set EMAIL's password (an admin, or the person themselves); every browser signed in
    to that account is signed out."""
    if password_stdin and generate_password:
        raise click.UsageError("give --password-stdin or --generate-password, not both")
    with ctx.session() as session:
        who = find_user(session, email)
        me = actor_account(session, actor)
        if me is None or me.id != who.id or not me.is_active:
            acting_admin(session, actor, "set another person's password")
        password = _read_password(password_stdin, generate_password)
        accounts.set_password(session, who, password, actor=actor)
        session.commit()
        data = {"email": who.email}
        text = f"new password for {who.email}; every browser signed in to it is signed out"
        if generate_password:
            data["password"] = password
            text += f"\nsign in with password {password} (shown only this once)"
        emit(as_json, data, text)


def _set_active(ctx: Context, email: str, active: bool, actor: str, as_json: bool) -> None:
    with ctx.session() as session:
        acting_admin(session, actor, "enable or disable accounts")
        who = find_user(session, email)
        changed = accounts.set_active(session, who, active, actor=actor)
        session.commit()
        state = "enabled" if active else "disabled"
        text = f"{who.email} is {state}" + ("" if changed else " (it was already)")
        if changed and not active:
            text += ": it cannot sign in, and every browser signed in to it is signed out"
        emit(as_json, {"email": who.email, "active": active, "changed": changed}, text)


@user.command("disable")
@click.argument("email")
@actor_option
@json_option
@pass_ctx
@domain_errors
def user_disable(ctx: Context, email: str, actor: str, as_json: bool) -> None:
    """Disable EMAIL's account (an admin only): it cannot sign in, and every browser signed
    in to it is signed out at once. Its decisions, tags and notes stay."""
    _set_active(ctx, email, False, actor, as_json)


@user.command("enable")
@click.argument("email")
@actor_option
@json_option
@pass_ctx
@domain_errors
def user_enable(ctx: Context, email: str, actor: str, as_json: bool) -> None:
    """Enable EMAIL's account again (an admin only); it signs in afresh."""
    _set_active(ctx, email, True, actor, as_json)


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
            "\n".join(
                f"{u.email}\t{u.name or ''}\t{'admin' if u.is_admin else ''}"
                + ("" if u.is_active else "\tdisabled")
                for u in found
            )
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
        who = find_user(session, email)
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
        who = find_user(session, email)
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


def _base_url_option(f: Callable) -> Callable:
    return click.option(
        "--url",
        "base_url",
        envvar="LITREVIEW_PUBLIC_URL",
        default="http://127.0.0.1:5000",
        show_default="LITREVIEW_PUBLIC_URL or http://127.0.0.1:5000",
        help="Where people reach the web app: the start of the printed link.",
    )(f)


def _link(base_url: str, made: invites.Made) -> str:
    return base_url.rstrip("/") + made.path


@user.command("reset-link")
@click.argument("email")
@_base_url_option
@actor_option
@json_option
@pass_ctx
@domain_errors
def user_reset_link(ctx: Context, email: str, base_url: str, actor: str, as_json: bool) -> None:
    """Print a one-time link that sets a new password for EMAIL (an admin only; there is
    no mail: hand the link over). Earlier reset links of EMAIL stop working. A lost
    password of the first admin: run it --as that admin, on the server."""
    with ctx.session() as session:
        admin = acting_admin(session, actor, "make password reset links")
        who = find_user(session, email)
        made = invites.reset_link(session, who, by=admin)
        session.commit()
        link = _link(base_url, made)
        until = made.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        emit(
            as_json,
            {"email": who.email, "link": link, "expires": made.expires_at.isoformat()},
            f"{link}\nopen it to choose a new password for {who.email}; it works once, "
            f"until {until}",
        )


@user.command("admin")
@click.argument("email")
@click.option("--remove", is_flag=True, help="Take the admin role away instead.")
@actor_option
@json_option
@pass_ctx
@domain_errors
def user_admin(ctx: Context, email: str, remove: bool, actor: str, as_json: bool) -> None:
    """Make EMAIL an admin (an admin only): they create reviews and accounts and lead
    every review. The last active admin stays one."""
    with ctx.session() as session:
        admin = acting_admin(session, actor, "make admins")
        who = find_user(session, email)
        changed = admins.set_admin(session, who, not remove, by=admin)
        session.commit()
        state = "not an admin" if remove else "an admin"
        emit(
            as_json,
            {"email": who.email, "admin": not remove, "changed": changed},
            f"{who.email} is {state}" + ("" if changed else " (already)"),
        )


@member.command("invite")
@click.argument("slug")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--email", help="The link then makes an account for this address only.")
@click.option("--note", help="Who it is for, shown on the review's members page.")
@_base_url_option
@actor_option
@json_option
@pass_ctx
@domain_errors
def member_invite(
    ctx: Context,
    slug: str,
    role: str,
    email: str | None,
    note: str | None,
    base_url: str,
    actor: str,
    as_json: bool,
) -> None:
    """Print a one-time sign-up link that makes an account and a ROLE of review SLUG
    (a lead of the review; there is no mail: hand the link over)."""
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        lead = actor_account(session, actor)
        try:
            made = invites.invite(session, rv, role, by=lead, email=email, note=note)
        except accounts.NotAllowed as exc:
            raise not_allowed(exc, actor) from None
        session.commit()
        link = _link(base_url, made)
        until = made.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        emit(
            as_json,
            {"review": slug, "role": role, "link": link, "expires": made.expires_at.isoformat()},
            f"{link}\nwith it, someone makes an account and joins {slug} as a {role}; "
            f"it works once, until {until}",
        )
