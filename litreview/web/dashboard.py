"""A review's dashboard: records per source, duplicates merged, progress per stage,
conflicts waiting, agreement (Cohen's kappa per pair of reviewers, also as CSV)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, render_template

from litreview import screening
from litreview.models import ImportBatch
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
    batches = session.scalars(
        sa.select(ImportBatch).where(ImportBatch.review_id == rv.id).order_by(ImportBatch.id)
    ).all()
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
