"""Fixtures: a real SQLite file and a real PostgreSQL database, schema built by migrations."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from litreview.cli.main import cli as litreview_cli
from litreview.db import Base, make_engine, make_session_factory
from litreview.migrations import runner as schema
from litreview.models import User

FIXTURES = Path(__file__).parent / "data" / "fixtures"
DATA = Path(__file__).parent / "data"
POSTGRES_ADMIN_URL = os.environ.get(
    "LITREVIEW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite"] + ([] if os.environ.get("LITREVIEW_TEST_SKIP_POSTGRES") else ["postgresql"])


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _checkout_untouched() -> Iterator[None]:
    """Tests write into temporary folders only: a file left in the checkout's root fails
    the test that wrote it (one once left a stray ``-.json`` there)."""
    before = set(os.listdir(ROOT))
    yield
    left = sorted(set(os.listdir(ROOT)) - before - {".pytest_cache", "synergy_cache.sqlite"})
    assert not left, f"the test left files in the checkout: {left}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    schema.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of its own for this test run, so runs cannot collide; dropped at the end."""
    name = f"litreview_test_{secrets.token_hex(4)}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        schema.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a fresh SQLite copy, or the run's PostgreSQL truncated."""
    if request.param == "sqlite":
        path = tmp_path / "litreview.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    engine = sa.create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[Session]:
    # The app's own factory: its sessions queue their changes for the search index.
    with make_session_factory(engine)() as session:
        yield session


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point litreview's settings at the test database and a fresh data folder."""
    values = {
        "LITREVIEW_DATABASE_URL": database_url,
        "LITREVIEW_DATA_DIR": str(tmp_path / "data"),
        "LITREVIEW_USER": "tester@example.org",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


class Cli:
    """Runs the real `litreview` command in-process, as a person would type it."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> Any:
        result = self.runner.invoke(litreview_cli, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, f"litreview {' '.join(args)}: {result.output}"
        return result

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        return json.loads(result.stdout)


@pytest.fixture
def cli(env: dict[str, str]) -> Cli:
    return Cli()


def add_admin(database_url: str, email: str) -> None:
    """An admin account without a password: who the CLI acts as (LITREVIEW_USER)."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        session.add(User(email=email, name="Tester", is_admin=True, is_active=True))
        session.commit()
    engine.dispose()


@pytest.fixture
def admin_cli(cli: Cli, env: dict[str, str]) -> Cli:
    """The CLI with a migrated database, acting as an admin (only admins create reviews)."""
    cli("init")
    add_admin(env["LITREVIEW_DATABASE_URL"], env["LITREVIEW_USER"])
    return cli


@pytest.fixture
def review_cli(admin_cli: Cli) -> Cli:
    """The CLI acting as an admin, with a migrated database and an empty review `ai-sw`."""
    admin_cli("review", "create", "ai-sw", "--title", "AI in social work")
    return admin_cli
