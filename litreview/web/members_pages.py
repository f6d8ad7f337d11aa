"""A review's members: who takes part as what, and how many records each decided
(``accounts.team``). Its leads add people who have an account, change roles, remove
members, and invite people who have none: an invitation is a one-time sign-up link
(``accounts.invites``) the page shows once, for the lead to hand over.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for

from litreview.accounts import invites, team
from litreview.accounts import users as accounts
from litreview.errors import Invalid, NotFound
from litreview.models.accounts import ROLES
from litreview.web import db
from litreview.web.access import requires
from litreview.web.blueprints import review
from litreview.web.helpers import actor, form_text, me, sentence
from litreview.web.helpers import review as this_review
from litreview.web.helpers import role as my_role


def _page(status: int = 200, **overrides: Any) -> tuple[str, int]:
    rv = this_review()
    is_lead = my_role() == "lead"
    context: dict[str, Any] = {
        "team": team.team(db(), rv, me()),
        "is_lead": is_lead,
        "roles": ROLES,
        "member_form": {"role": "reviewer"},
        "invite_form": {"role": "reviewer"},
        "invites": invites.pending_invites(db(), rv) if is_lead else [],
    }
    context.update(overrides)
    return render_template("members.html", **context), status


def _back(anchor: str = "members") -> object:
    return redirect(url_for("review.members") + f"#{anchor}", code=303)


@review.get("/members")
@requires("viewer")
def members() -> tuple[str, int]:
    return _page()


@review.post("/members")
@requires("lead")
def member_save() -> object:
    form = {"email": form_text("email", 320), "role": form_text("role", 16)}
    session = db()
    try:
        if not form["email"]:
            raise Invalid("enter the email address of the person to add")
        try:
            user = accounts.get_user_by_email(session, form["email"])
        except NotFound:
            raise Invalid(
                f"no account with the email {accounts.normalize_email(form['email'])}: "
                "invite them instead, with a sign-up link"
            ) from None
        membership = accounts.add_member(session, this_review(), user, form["role"], actor=actor())
    except Invalid as exc:
        session.rollback()
        return _page(400, member_form=form, error=sentence(str(exc)))
    session.commit()
    flash(f"{user.email} is now a {membership.role} of this review.", "info")
    return _back()


@review.post("/members/<int:user_id>/remove")
@requires("lead")
def member_remove(user_id: int) -> object:
    session = db()
    try:
        user = accounts.get_user(session, user_id)
        accounts.remove_member(session, this_review(), user, actor=actor())
    except NotFound:
        abort(404)
    except Invalid as exc:
        session.rollback()
        return _page(400, error=sentence(str(exc)))
    session.commit()
    flash(f"{user.email} is no longer a member of this review.", "info")
    if user.id == me().id:  # a lead who left may not see the review any more
        return redirect(url_for("home.index"), code=303)
    return _back()


@review.post("/members/invite")
@requires("lead")
def member_invite() -> tuple[str, int]:
    form = {
        "role": form_text("role", 16),
        "email": form_text("email", 320),
        "note": form_text("note", 200),
    }
    session = db()
    try:
        made = invites.invite(
            session,
            this_review(),
            form["role"],
            by=me(),
            email=form["email"] or None,
            note=form["note"] or None,
        )
    except Invalid as exc:
        session.rollback()
        return _page(400, invite_form=form, error=sentence(str(exc)))
    session.commit()
    # Shown on this response only: a flash message would carry the link in the cookie.
    link = {
        "url": url_for("links.join", token=made.token, _external=True),
        "until": made.expires_at,
        "role": form["role"],
        "email": form["email"],
        "note": form["note"],
    }
    return _page(201, link=link)


@review.post("/members/invites/<int:invite_id>/withdraw")
@requires("lead")
def invite_withdraw(invite_id: int) -> object:
    session = db()
    try:
        withdrawn = invites.withdraw_invite(session, this_review(), invite_id, by=me())
    except NotFound:
        abort(404)
    session.commit()
    flash(
        "The invitation is withdrawn: its link no longer works."
        if withdrawn
        else "That invitation was used, withdrawn or expired already.",
        "info",
    )
    return _back("invites")
