"""A review's audit log, for its leads (and admins, who lead every review): newest first,
filtered by person, action (one, or a family such as ``screen.*``) and record, a page at
a time (``litreview.audit.read``)."""

from __future__ import annotations

from flask import render_template, request

from litreview import audit
from litreview.accounts import users as accounts
from litreview.web import db
from litreview.web.access import requires
from litreview.web.blueprints import review
from litreview.web.helpers import arg_int
from litreview.web.helpers import review as this_review


@review.get("/audit")
@requires("lead")
def audit_log() -> str:
    rv = this_review()
    session = db()
    filters = {
        "actor": request.args.get("actor", "").strip()[:320],
        "action": request.args.get("action", "").strip()[:100],
        "record": arg_int("record"),
    }
    page = audit.read(
        session,
        rv,
        actor=filters["actor"] or None,
        action=filters["action"] or None,
        record_id=filters["record"],
        before=arg_int("before"),
    )
    actors, actions = audit.choices(session, rv)
    names = {u.email: u.name for u in accounts.list_users(session) if u.name}
    return render_template(
        "audit.html",
        page=page,
        filters=filters,
        actors=actors,
        actions=actions,
        names=names,
        paged=arg_int("before") is not None,
    )
