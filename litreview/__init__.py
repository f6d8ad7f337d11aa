"""litreview: literature review management."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The Flask app: wires settings, database and the web app; no side effects beyond that.

    Session cookies are signed, HttpOnly, SameSite=Lax and, by default, Secure: see
    ``litreview.web.security`` for LITREVIEW_SECURE_COOKIES and when "auto" leaves the
    Secure flag off (tests, debug, a browser on this machine at http://127.0.0.1).
    """
    # Imported here so that CLI commands, which never serve pages, load neither Flask
    # nor (for `litreview --version`) SQLAlchemy through the package itself.
    from flask import Flask, g

    from litreview.config import load_settings, secret_key
    from litreview.db import make_engine, make_session_factory

    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    settings = load_settings()
    app.config.from_mapping(
        LITREVIEW_SETTINGS=settings,
        DATABASE_URL=settings.database_url,
        # Uploads (bibliographies, PDFs) larger than this get a 413 with a clear message.
        MAX_CONTENT_LENGTH=100 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(days=7),
        # A screening page left open over lunch must still accept the next decision:
        # the CSRF token lives as long as the signed-in session, not one hour.
        WTF_CSRF_TIME_LIMIT=None,
    )
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(settings)

    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["litreview.engine"] = engine
    app.extensions["litreview.sessions"] = make_session_factory(
        engine, search_outbox=settings.search_outbox
    )

    @app.teardown_appcontext
    def close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    from litreview import web

    web.init_app(app)
    return app
