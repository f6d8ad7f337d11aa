"""Read-only pages: reviews, a review's overview, its records, one record."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request

from .. import reviews
from ..errors import NotFound
from ..models import ImportBatch, Record, Review
from . import db

bp = Blueprint("main", __name__)
PAGE_SIZE = 50


def _review(slug: str) -> Review:
    try:
        return reviews.get_review(db(), slug)
    except NotFound:
        abort(404)


@bp.get("/")
def index() -> str:
    return render_template("index.html", reviews=reviews.list_reviews(db()))


@bp.get("/r/<slug>/")
def review(slug: str) -> str:
    rv = _review(slug)
    session = db()
    live = sa.and_(Record.review_id == rv.id, Record.merged_into_id.is_(None))
    count = session.scalar(sa.select(sa.func.count()).select_from(Record).where(live))
    batches = session.scalars(
        sa.select(ImportBatch).where(ImportBatch.review_id == rv.id).order_by(ImportBatch.id)
    ).all()
    return render_template("review.html", review=rv, count=count, batches=batches)


@bp.get("/r/<slug>/records")
def records(slug: str) -> str:
    rv = _review(slug)
    page = max(request.args.get("page", 1, type=int), 1)
    session = db()
    live = sa.and_(Record.review_id == rv.id, Record.merged_into_id.is_(None))
    total = session.scalar(sa.select(sa.func.count()).select_from(Record).where(live))
    rows = session.scalars(
        sa.select(Record)
        .where(live)
        .order_by(Record.id)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render_template(
        "records.html", review=rv, records=rows, page=page, pages=pages, total=total
    )


@bp.get("/r/<slug>/records/<int:record_id>")
def record(slug: str, record_id: int) -> str:
    rv = _review(slug)
    rec = db().get(Record, record_id)
    if rec is None or rec.review_id != rv.id:
        abort(404)
    return render_template("record.html", review=rv, record=rec)
