"""The browser app: thin views over the domain operations."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session


def db() -> Session:
    """The request's session, closed at app-context teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["litreview.sessions"]()
    return g.db_session
