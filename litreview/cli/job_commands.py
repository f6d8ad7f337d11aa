"""`litreview worker` and `litreview jobs`: the queue's worker, and the jobs and their state."""

from __future__ import annotations

import click

from litreview.cli.common import Context, domain_errors, emit, json_option, pass_ctx


@click.command()
@click.option(
    "--concurrency",
    default=1,
    show_default=True,
    type=click.IntRange(1, 16),
    help="Jobs run at once by this worker.",
)
@click.option(
    "--stalled-after",
    default=30.0,
    show_default=True,
    type=click.FloatRange(2, 3600),
    help="Seconds without a heartbeat after which a worker counts as dead and its job is "
    "queued again (or failed, after --max-attempts runs).",
)
@click.option(
    "--heartbeat",
    default=None,
    type=click.FloatRange(0.5, 600),
    help="Seconds between this worker's heartbeats (default: a third of --stalled-after).",
)
@click.option(
    "--max-attempts",
    default=3,
    show_default=True,
    type=click.IntRange(1, 100),
    help="Runs a job gets when its workers keep dying mid-job; then it is marked failed.",
)
@pass_ctx
def worker(
    ctx: Context,
    concurrency: int,
    stalled_after: float,
    heartbeat: float | None,
    max_attempts: int,
) -> None:
    """Run background jobs from the queue (a team server: LITREVIEW_JOBS=queue, PostgreSQL).

    Stops on Ctrl-C or SIGTERM once the jobs under way have finished.
    """
    from litreview.jobs.taskqueue import run_worker

    if not ctx.settings.database_url.startswith("postgresql"):
        raise click.ClickException(
            "the job queue lives in PostgreSQL: set LITREVIEW_DATABASE_URL to a PostgreSQL "
            "database (with SQLite, jobs run in the app server and need no worker)"
        )
    ctx.require_schema()
    click.echo(
        f"litreview worker: taking jobs from the queue ({concurrency} at a time; Ctrl-C stops it)",
        err=True,
    )
    run_worker(
        ctx.settings,
        concurrency=concurrency,
        stalled_after=stalled_after,
        heartbeat=heartbeat or stalled_after / 3,
        max_attempts=max_attempts,
    )


@click.command()
@click.argument("slug", required=False)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@json_option
@pass_ctx
@domain_errors
def jobs(ctx: Context, slug: str | None, limit: int, as_json: bool) -> None:
    """List background jobs, newest first (of review SLUG, or of all): state, progress."""
    from litreview.jobs import list_jobs
    from litreview.library import reviews

    with ctx.session() as session:
        review = reviews.get_review(session, slug) if slug else None
        found = list_jobs(session, review, limit)
        slugs = {r.id: r.slug for r in reviews.list_reviews(session)}
    if as_json:
        emit(True, [_json(j) for j in found], "")
        return
    for j in found:
        click.echo(
            "\t".join(
                [
                    j["id"],
                    j["created_at"].strftime("%Y-%m-%d %H:%M"),
                    slugs.get(j["review_id"], "-"),
                    j["kind"],
                    j["state"],
                    _progress(j),
                    j["error"] or "",
                ]
            )
        )
    click.echo(f"{len(found)} jobs", err=True)


def _progress(job: dict) -> str:
    if job.get("files"):
        done = sum(f["state"] in ("done", "unreadable", "failed") for f in job["files"])
        return f"{done}/{len(job['files'])} files"
    if job.get("total"):
        return f"{job.get('done', 0)}/{job['total']}"
    return ""


def _json(job: dict) -> dict:
    keep = (
        "id",
        "kind",
        "review_id",
        "actor",
        "runner",
        "state",
        "attempts",
        "worker",
        "error",
        "created_at",
        "started_at",
        "updated_at",
        "finished_at",
    )
    out = {k: job[k] for k in keep}
    for k in ("files", "bytes_done", "bytes_total", "stage", "done", "total", "note"):
        if k in job:
            out[k] = job[k]
    out["report"] = job["report"]
    return out
