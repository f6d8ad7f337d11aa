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

from litreview.config import load_settings
from litreview.db import make_engine, make_session_factory
from litreview.errors import LitreviewError, NotFound
from litreview.ingest.record_data import UnreadableFile
from litreview.models import User


class Context:
    """Settings and a lazily made engine, shared by the commands of one run."""

    def __init__(self) -> None:
        self.settings = load_settings()
        self._engine: sa.Engine | None = None
        # Off for `import`, which indexes its records itself (see library_commands).
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

        factory = make_session_factory(self.engine, search_outbox=self.settings.search_outbox)
        with factory() as session:
            sa.event.listen(session, "after_commit", note_commit)
            yield session
        if committed and self.index_after_commit:
            # Imported here: a command that only reads never loads a search engine.
            from litreview import search

            # The database is the source of truth; the index follows once it has committed
            # (a bounded part of it: a large import's records are left to the indexer).
            search.sync_after_commit(self.settings, self.engine)

    def require_schema(self) -> None:
        try:
            current = schema_revision(self.engine)
        except sa.exc.OperationalError as exc:
            raise click.ClickException(f"cannot open the database: {_first_line(exc)}") from None
        if current is None:
            raise click.ClickException("the database is not set up yet: run `litreview init`")


def schema_revision(engine: sa.Engine) -> str | None:
    """The database's migration revision, or None when it has no schema yet.

    Read from Alembic's own table with plain SQLAlchemy: importing Alembic would cost
    every command a fifth of a second of start-up for one SELECT.
    """
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.scalar(sa.text("SELECT version_num FROM alembic_version"))


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


def find_user(session: Session, email: str) -> User:
    """The account with this email; a one-line error saying how to make one otherwise."""
    from litreview.accounts import users as accounts  # argon2: only commands with accounts

    try:
        return accounts.get_user_by_email(session, email)
    except NotFound:
        raise click.ClickException(
            f"no user with email {accounts.normalize_email(email)!r}: "
            "create one with `litreview user create EMAIL`"
        ) from None


def actor_account(session: Session, actor: str) -> User | None:
    """The account that --as (LITREVIEW_USER, the login name) names, if there is one."""
    from litreview.accounts import users as accounts

    return session.scalar(sa.select(User).where(User.email == accounts.normalize_email(actor)))


def not_allowed(exc: Exception, actor: str) -> click.ClickException:
    """A refusal for the acting person, with what to do about it."""
    return click.ClickException(
        f"{exc}: act as an admin with --as EMAIL or LITREVIEW_USER=EMAIL (now {actor!r})"
    )


def acting_admin(session: Session, actor: str, doing: str) -> User:
    """The admin account that --as names, or a one-line error saying how to act as one."""
    from litreview.accounts import users as accounts

    user = actor_account(session, actor)
    if user is None and not accounts.has_accounts(session):
        raise click.ClickException(
            f"only an admin may {doing}, and there are no accounts yet: create the first with "
            "`litreview user create EMAIL --admin`, then act as it with --as EMAIL "
            "or LITREVIEW_USER=EMAIL"
        )
    try:
        return accounts.require_admin(user, doing)
    except accounts.NotAllowed as exc:
        raise not_allowed(exc, actor) from None


def actor_option(f: Callable) -> Callable:
    return click.option(
        "--as",
        "actor",
        default=lambda: os.environ.get("LITREVIEW_USER") or getpass.getuser(),
        show_default="LITREVIEW_USER or your login name",
        help="Who is doing this (an account's email), for the audit log and permissions.",
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
