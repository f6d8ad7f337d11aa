"""What every `litreview` command shares: settings and database, --json, --as, error messages."""

from __future__ import annotations

import functools
import getpass
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import search
from litreview.config import load_settings
from litreview.db import make_engine, make_session_factory
from litreview.errors import LitreviewError
from litreview.ingest.record_data import UnreadableFile
from litreview.migrations import runner as schema


class Context:
    """Settings and a lazily made engine, shared by the commands of one run."""

    def __init__(self) -> None:
        self.settings = load_settings()
        self._engine: sa.Engine | None = None
        # Off for `import --no-index`: the outbox keeps the changes for the next search.
        self.index_after_commit = True

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
            click.get_current_context().call_on_close(self._engine.dispose)
        return self._engine

    @contextmanager
    def session(self, check_schema: bool = True) -> Iterator[Session]:
        """One unit of work; the command commits what it means to keep."""
        if check_schema:
            self.require_schema()
        committed = False

        def note_commit(_session: Session) -> None:
            nonlocal committed
            committed = True

        with make_session_factory(self.engine)() as session:
            sa.event.listen(session, "after_commit", note_commit)
            yield session
        if committed and self.index_after_commit:
            # The database is the source of truth; the index follows once it has committed.
            search.sync_after_commit(self.settings, self.engine, timeout=30.0)

    def require_schema(self) -> None:
        try:
            current = schema.current_revision(self.engine)
        except sa.exc.OperationalError as exc:
            raise click.ClickException(f"cannot open the database: {_first_line(exc)}") from None
        if current is None:
            raise click.ClickException("the database is not set up yet: run `litreview init`")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def emit(as_json: bool, data: Any, text: str | Callable[[], None]) -> None:
    """Print JSON, or the human-readable form."""
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, default=str))
    elif callable(text):
        text()
    else:
        click.echo(text)


def actor_option(f: Callable) -> Callable:
    return click.option(
        "--as",
        "actor",
        default=lambda: os.environ.get("LITREVIEW_USER") or getpass.getuser(),
        show_default="LITREVIEW_USER or your login name",
        help="Who is doing this, for the audit log.",
    )(f)


def json_option(f: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(f)


def domain_errors(f: Callable) -> Callable:
    """Turn errors meant for a person into one-line messages."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except (LitreviewError, UnreadableFile) as exc:
            raise click.ClickException(str(exc)) from None
        except sa.exc.OperationalError as exc:
            raise click.ClickException(f"database error: {_first_line(exc)}") from None

    return wrapper


pass_ctx = click.make_pass_decorator(Context, ensure=True)
