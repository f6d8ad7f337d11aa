"""A review's dashboard: records per source, duplicates merged, progress per stage,
conflicts waiting, agreement (Cohen's kappa per pair of reviewers, also as CSV)."""

from __future__ import annotations

from flask import Response, render_template

from litreview import screening
from litreview.library.listing import import_batches
from litreview.web import db
from litreview.web.access import requires
from litreview.web.blueprints import review
from litreview.web.helpers import review as this_review


@review.get("/")
@requires("viewer")
def dashboard() -> str:
    session = db()
    rv = this_review()
    numbers = screening.stats(session, rv)
    batches = import_batches(session, rv)
    return render_template("dashboard.html", stats=numbers, batches=batches)


@review.get("/agreement.csv")
@requires("viewer")
def agreement_csv() -> Response:
    rv = this_review()
    text = screening.kappa_csv(screening.stats(db(), rv))
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{rv.slug}-agreement.csv"'},
    )
