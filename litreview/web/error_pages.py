"""Error pages: a message a person can act on, never a traceback; JSON for JSON routes."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, g, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

from litreview.errors import Busy

log = logging.getLogger(__name__)

MESSAGES = {
    400: "The request was not understood.",
    401: "Sign in first.",
    403: "You may not do this in this review.",
    404: "There is nothing here, or nothing you may see.",
    405: "That page does not take this kind of request.",
    413: "The upload is too large.",
    429: "Too many attempts; wait a little and try again.",
    500: "Something went wrong on the server; the error is logged.",
    503: "The server is busy; try again in a moment.",
}


# Seconds a client is told to wait after a 503 (the Retry-After header).
RETRY_AFTER = 5


def _wants_json() -> bool:
    return request.path.endswith(".json") or request.accept_mimetypes.best == "application/json"


def _recover_session() -> None:
    """Make the request's database session usable again for the error page.

    After a failed write the session refuses every query until it is rolled back, and
    the rollback expires what it had loaded (the signed-in user among it), so the page
    reads them afresh. If even the rollback fails (the database is gone), the session is
    dropped and the page is rendered without reading anything.
    """
    session = g.get("db_session")
    if session is None:
        return
    try:
        session.rollback()
    except Exception:  # noqa: BLE001 - whatever broke, the error page must still render
        log.warning("could not roll back after an error on %s", request.path, exc_info=True)
        g.without_database = True


def render_error(status: int, message: str | None = None, *, retry_after: int | None = None):
    """The app's error page (or JSON) for ``status``: after any failed write too.

    The page names the signed-in user when the database can be read; if rendering fails
    because it cannot, it is rendered again without the database, and if that fails as
    well a plain page says the same, so a person never sees a bare server error.
    """
    text = message or MESSAGES.get(status, "Error.")
    _recover_session()
    if _wants_json():
        response = jsonify(error=text)
        response.status_code = status
    else:
        try:
            response = make_response(render_template("error.html", status=status, message=text))
        except Exception:  # noqa: BLE001 - the page itself must not fail
            log.warning("error page for %s failed; rendered without the database", request.path)
            g.without_database = True
            try:
                response = make_response(render_template("error.html", status=status, message=text))
            except Exception:  # noqa: BLE001
                log.exception("error page for %s failed twice", request.path)
                response = make_response(_PLAIN.format(status=status, message=escape(text)))
        response.status_code = status
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


_PLAIN = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{status} · litreview'
    '</title><link rel="stylesheet" href="/static/style.css"></head><body><main><h1>Error '
    '{status}</h1><p class="message">{message}</p><p><a href="/">Back to your reviews</a></p>'
    "</main></body></html>"
)


def _is_busy(exc: sa.exc.OperationalError) -> bool:
    text = str(exc.orig).lower()
    return any(word in text for word in ("locked", "busy", "deadlock", "could not serialize"))


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return render_error(
            400,
            f"The form could not be checked ({exc.description}). Reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        description = exc.description if exc.description != type(exc).description else None
        if exc.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH") or 0
            description = f"The upload is larger than the limit of {limit / 2**20:g} MB."
        return render_error(exc.code, description)

    @app.errorhandler(sa.exc.OperationalError)
    def database_busy(exc: sa.exc.OperationalError):
        # SQLite lets one writer at a time (a long import holds the lock for its file);
        # PostgreSQL may refuse a transaction that lost a race (deadlock, serialization),
        # or not answer at all. All are worth trying again in a moment.
        log.warning("database error on %s %s: %s", request.method, request.path, exc.orig)
        if _is_busy(exc):
            message = (
                "The database is busy (an import may be running); nothing was saved. "
                f"Try again in {RETRY_AFTER} seconds."
            )
        else:
            message = (
                "The database cannot be reached just now; nothing was saved. "
                f"Try again in {RETRY_AFTER} seconds."
            )
        return render_error(503, message, retry_after=RETRY_AFTER)

    @app.errorhandler(Busy)
    def busy(exc: Busy):
        return render_error(503, str(exc), retry_after=RETRY_AFTER)

    @app.errorhandler(InternalServerError)
    def server_error(exc: InternalServerError):
        log.error("server error on %s %s", request.method, request.path, exc_info=exc)
        return render_error(500)
