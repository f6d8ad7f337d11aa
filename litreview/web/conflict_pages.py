"""Conflicts: records two reviewers decided differently; a lead (or a third reviewer)
resolves them. The resolution is a row of its own; the two decisions stay as made.

Each record shows its title, abstract and the decisions side by side, as far as the
person may see them (``screening.visibility.on_conflicts_page``), and can be resolved
by keyboard (``static/conflicts.js``)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for

from litreview import screening
from litreview.accounts.users import NotAllowed
from litreview.errors import Invalid, NotFound
from litreview.models.screening import STAGES
from litreview.screening.decisions import may_resolve, reason_required
from litreview.screening.visibility import on_conflicts_page
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
    rv, role, me_id = this_review(), my_role(), me().id
    by_stage = {stage: screening.conflicts(db(), rv, stage) for stage in STAGES}
    shown = {
        stage: [
            (
                c,
                on_conflicts_page(rv, role, me_id, c.decisions),
                may_resolve(role, me_id, c.decisions),
            )
            for c in found[:SHOWN]
        ]
        for stage, found in by_stage.items()
    }
    return (
        render_template(
            "conflicts.html",
            by_stage=shown,
            totals={stage: len(found) for stage, found in by_stage.items()},
            me_id=me_id,
            can_resolve=role in ("lead", "reviewer"),
            reasons=rv.exclusion_reasons or [],
            required={stage: reason_required(rv, stage) for stage in STAGES},
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
