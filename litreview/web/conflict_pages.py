"""Conflicts: records two reviewers decided differently; a lead (or a third reviewer)
resolves them. The resolution is a row of its own; the two decisions stay as made."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for

from litreview import screening
from litreview.accounts.users import NotAllowed
from litreview.errors import Invalid, NotFound
from litreview.models.screening import STAGES
from litreview.web import db
from litreview.web.access import requires
from litreview.web.blueprints import review
from litreview.web.helpers import (
    commit,
    decision_choice,
    decision_form,
    me,
    record_or_404,
    sentence,
)
from litreview.web.helpers import review as this_review
from litreview.web.helpers import role as my_role

STAGE = "<any(title_abstract, full_text):stage>"
# Conflicts are a queue: the first ones are shown, and resolving them brings up the next.
SHOWN = 50


def _page(status: int = 200, **extra: object) -> tuple[str, int]:
    rv = this_review()
    by_stage = {stage: screening.conflicts(db(), rv, stage) for stage in STAGES}
    return (
        render_template(
            "conflicts.html",
            by_stage={stage: found[:SHOWN] for stage, found in by_stage.items()},
            totals={stage: len(found) for stage, found in by_stage.items()},
            me_id=me().id,
            can_resolve=my_role() in ("lead", "reviewer"),
            is_lead=my_role() == "lead",
            reasons=rv.exclusion_reasons or [],
            forms=extra.pop("forms", {}),
            **extra,
        ),
        status,
    )


@review.get("/conflicts")
@requires("viewer")
def conflicts() -> tuple[str, int]:
    return _page()


@review.post(f"/conflicts/{STAGE}/<int:record_id>")
@requires("reviewer")
def conflict_resolve(stage: str, record_id: int) -> object:
    record_or_404(record_id)
    form = decision_form()
    session = db()
    try:
        decision, reason, note = decision_choice(form)
        screening.resolve(
            session, this_review(), record_id, me(), stage, decision, reason=reason, note=note
        )
    except NotAllowed as exc:
        session.rollback()
        abort(403, sentence(str(exc)))
    except NotFound:
        session.rollback()
        abort(404)
    except Invalid as exc:
        session.rollback()
        return _page(400, error=sentence(str(exc)), forms={(stage, record_id): form})
    commit()
    flash(f"Record {record_id} resolved: {form['decision']}.", "info")
    return redirect(url_for("review.conflicts") + f"#{stage}", code=303)
