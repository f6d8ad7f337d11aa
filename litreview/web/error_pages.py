"""Error pages: a message a person can act on, never a traceback; JSON for JSON routes."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

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


def _wants_json() -> bool:
    return request.path.endswith(".json") or request.accept_mimetypes.best == "application/json"


def render_error(status: int, message: str | None = None):
    text = message or MESSAGES.get(status, "Error.")
    if _wants_json():
        response = jsonify(error=text)
        response.status_code = status
        return response
    return render_template("error.html", status=status, message=text), status


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
        # SQLite lets one writer at a time; a long import holds the lock for its file.
        log.warning("database error on %s %s: %s", request.method, request.path, exc.orig)
        return render_error(
            503,
            "The database is busy (an import may be running); nothing was saved. "
            "Try again in a moment.",
        )

    @app.errorhandler(InternalServerError)
    def server_error(exc: InternalServerError):
        log.error("server error on %s %s", request.method, request.path, exc_info=exc)
        return render_error(500)
