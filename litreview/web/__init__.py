"""The browser app: thin views over the domain operations.

``init_app`` wires it into a Flask app: form input cleaned of what no database stores
(``form_input``), security headers and cookies (``security``),
CSRF protection on every POST (Flask-WTF), sign-in (``auth``), the one access check
(``access``), the blueprints and the error pages.

Pages of one review live on the ``review`` blueprint under ``/r/<slug>/``; each view
module adds its routes to it (dashboard, settings, importing, dedup, screen, conflicts,
records, evidence, exports, members, audit log). Pages of no one review: the account
(``account_pages``), the admin's accounts (``admin_pages``), one-time links
(``link_pages``).
"""

from __future__ import annotations

import os

from flask import Flask, current_app, g
from sqlalchemy.orm import Session


def db() -> Session:
    """The request's session, closed at app-context teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["litreview.sessions"]()
    return g.db_session


def init_app(app: Flask) -> None:
    """Wire the web app into ``app``: extensions, hooks, blueprints, error pages."""
    from flask_wtf.csrf import CSRFProtect

    from litreview.screening.retraining import Retrainer

    # Each page module adds its routes to the ``review`` blueprint when imported.
    from litreview.web import (  # noqa: F401
        access,
        account_pages,
        admin_pages,
        audit_pages,
        auth,
        conflict_pages,
        dashboard,
        duplicate_pages,
        evidence_pages,
        export_pages,
        form_input,
        home,
        import_pages,
        link_pages,
        members_pages,
        record_bulk_pages,
        record_edit_pages,
        record_pages,
        screening_pages,
        security,
        settings_pages,
    )
    from litreview.web import error_pages as errors
    from litreview.web import template_filters as filters
    from litreview.web.blueprints import review
    from litreview.web.import_pages import make_jobs
    from litreview.web.indexer import Indexer, search_applier

    form_input.init_app(app)  # first: no view nor hook ever reads unstorable text
    security.init_app(app)
    CSRFProtect(app)
    auth.init_app(app)
    app.before_request(access.enforce)
    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(account_pages.bp)
    app.register_blueprint(admin_pages.bp)
    app.register_blueprint(link_pages.bp)
    app.register_blueprint(review)
    errors.init_app(app)
    filters.init_app(app)
    indexer = Indexer(
        search_applier(app.extensions["litreview.sessions"], app.config["LITREVIEW_SETTINGS"]),
        inline=app.config.get("LITREVIEW_SEARCH_SYNC") == "inline",
    )
    app.extensions["litreview.indexer"] = indexer
    app.extensions["litreview.retrainer"] = Retrainer(
        app.extensions["litreview.sessions"],
        inline=(
            app.config.get("LITREVIEW_RANKING_SYNC") or os.environ.get("LITREVIEW_RANKING_SYNC")
        )
        == "inline",
    )
    app.extensions["litreview.jobs"] = make_jobs(app)
    started: list[bool] = []

    @app.before_request
    def catch_up_once() -> None:
        # Changes committed while no process was indexing (a crash) are applied
        # once a server starts taking requests.
        if not started and not app.testing:
            started.append(True)
            indexer.nudge()
