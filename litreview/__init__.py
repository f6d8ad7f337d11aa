"""litreview: literature review management."""

from __future__ import annotations

from typing import Any

from flask import Flask, g

from .config import load_settings, secret_key
from .db import make_engine, make_session_factory


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The Flask app: wires settings, database and blueprints; no side effects beyond that."""
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    settings = load_settings()
    app.config.from_mapping(
        LITREVIEW_SETTINGS=settings,
        DATABASE_URL=settings.database_url,
        MAX_CONTENT_LENGTH=100 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(settings)

    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["litreview.engine"] = engine
    app.extensions["litreview.sessions"] = make_session_factory(engine)

    @app.teardown_appcontext
    def close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    from .web import views

    app.register_blueprint(views.bp)
    return app
