"""`litreview init`, `load-sample` and `serve`: the database, the sample review, the web app."""

from __future__ import annotations

import click

from litreview.accounts.users import NotAllowed
from litreview.cli.common import (
    Context,
    actor_account,
    actor_option,
    domain_errors,
    emit,
    json_option,
    not_allowed,
    pass_ctx,
    schema_revision,
)
from litreview.config import ensure_data_dir
from litreview.library import sample


@click.command()
@json_option
@pass_ctx
@domain_errors
def init(ctx: Context, as_json: bool) -> None:
    """Create or upgrade the database and make the data folder."""
    ensure_data_dir(ctx.settings)
    from litreview.migrations import runner  # Alembic: only this command needs it

    before = schema_revision(ctx.engine)
    runner.upgrade(ctx.settings.database_url)
    after = schema_revision(ctx.engine)
    data = {"data_dir": str(ctx.settings.data_dir), "from": before, "to": after}
    emit(as_json, data, f"database at revision {after} (was {before or 'empty'})")


@click.command("load-sample")
@actor_option
@json_option
@pass_ctx
@domain_errors
def load_sample(ctx: Context, actor: str, as_json: bool) -> None:
    """Load the sample review "AI in social work" (invented records); does nothing twice.

    On a new installation its demo lead becomes the first admin; later, loading it
    needs an admin (--as).
    """
    with ctx.session() as session:
        try:
            result = sample.load(session, actor, actor_account(session, actor))
        except NotAllowed as exc:
            raise not_allowed(exc, actor) from None
        session.commit()
    text = f"sample review {result['slug']}: {result['records']} records" + (
        " (already loaded)" if not result["created"] else ""
    )
    if result["password"]:
        text += (
            f"\nsign in as {result['user']} with password {result['password']} "
            "(shown only this once)" + (", an admin" if result["admin"] else "")
        )
    emit(as_json, result, text)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@pass_ctx
def serve(ctx: Context, host: str, port: int) -> None:
    """Serve the web app with waitress (for a team server, see the README: gunicorn)."""
    from waitress import serve as waitress_serve

    from litreview import create_app

    ctx.require_schema()
    click.echo(f"litreview on http://{host}:{port}/ (Ctrl-C stops it)", err=True)
    waitress_serve(create_app(), host=host, port=port)
