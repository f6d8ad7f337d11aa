"""What the views share: the signed-in user, the review's records by id, form values."""

from __future__ import annotations

import logging
import re

from flask import abort, current_app, g, request
from flask_login import current_user

from litreview.config import Settings
from litreview.errors import Invalid, NotFound
from litreview.jobs.runners import InProcessRunner
from litreview.library.listing import review_record
from litreview.models import Record, Review, User
from litreview.web import db

log = logging.getLogger(__name__)


def me() -> User:
    """The signed-in user's row (bound to the request's session)."""
    return current_user.user


def actor() -> str:
    """Who acts, for the audit log: the signed-in user's email."""
    return current_user.user.email


def review() -> Review:
    """The review in the URL, checked by ``access.enforce``."""
    return g.review


def role() -> str:
    return g.role


def settings() -> Settings:
    return current_app.config["LITREVIEW_SETTINGS"]


def jobs() -> InProcessRunner:
    """The app's job runner (LITREVIEW_JOBS: in this process, or the queue)."""
    return current_app.extensions["litreview.jobs"]


def record_or_404(record_id: int) -> Record:
    """The record with this id in this review (merged or not); 404 for any other id."""
    try:
        return review_record(db(), review(), record_id)
    except NotFound:
        abort(404)


def commit() -> None:
    """Commit the request's work, then nudge the search indexer (it works in the background)."""
    db().commit()
    sync_search()


def sync_search() -> None:
    """Ask for the committed changes to be made searchable (see ``indexer``)."""
    current_app.extensions["litreview.indexer"].nudge()


def form_text(name: str, limit: int = 10_000) -> str:
    """A form field, stripped, cut at ``limit`` characters."""
    return (request.form.get(name) or "").strip()[:limit]


def decision_form() -> dict[str, str]:
    """The decision, exclusion reason and note of a screening or resolving form, as typed."""
    return {
        "decision": form_text("decision", 16),
        "reason": form_text("reason", 500),
        "note": form_text("note"),
    }


def decision_choice(form: dict[str, str]) -> tuple[str, str | None, str]:
    """(decision, reason, note) of a decision form for the domain; Invalid when no
    decision was chosen. A reason picked before switching to include or maybe is not
    an error to the person: it goes only with exclude."""
    if not form["decision"]:
        raise Invalid("choose include, exclude or maybe")
    reason = form["reason"] if form["decision"] == "exclude" else None
    return form["decision"], reason, form["note"]


def arg_int(name: str) -> int | None:
    """A query-string integer, or None when missing or not a number."""
    value = request.args.get(name, "").strip()
    return int(value) if value.isdigit() else None


def sentence(message: str) -> str:
    """A domain message as a sentence: a capital first letter when it starts with a plain
    word (not a file name or a quoted value), a full stop at the end."""
    if re.match(r"[a-z]+[ ,]", message):
        message = message[0].upper() + message[1:]
    return message if message.endswith((".", "?", "!")) else message + "."
