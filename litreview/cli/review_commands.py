"""`litreview review` and `litreview question`: reviews and their review questions.

`review set` lives with screening (its set-up) and `question suggest` with search; both
groups import them only when they run (see cli/main.py).
"""

from __future__ import annotations

import click

from litreview.cli.common import (
    Context,
    acting_admin,
    actor_option,
    domain_errors,
    emit,
    json_option,
    pass_ctx,
)
from litreview.cli.lazy_group import lazy_group
from litreview.library import reviews


@lazy_group(
    {
        "set": (
            "litreview.cli.screening_commands:review_set",
            "Change the screening set-up of review SLUG; only the options given change.",
        )
    }
)
def review() -> None:
    """Create and list reviews."""


@review.command("create")
@click.argument("slug")
@click.option("--title", required=True)
@click.option("--description")
@actor_option
@json_option
@pass_ctx
@domain_errors
def review_create(
    ctx: Context, slug: str, title: str, description: str | None, actor: str, as_json: bool
) -> None:
    """Create a review named SLUG (admins only; an admin is a lead of every review)."""
    with ctx.session() as session:
        acting_admin(session, actor, "create reviews")
        created = reviews.create_review(session, slug, title, actor, description)
        session.commit()
        emit(
            as_json,
            {"id": created.id, "slug": slug, "title": created.title},
            f"created review {slug}: {created.title}",
        )


@review.command("list")
@json_option
@pass_ctx
@domain_errors
def review_list(ctx: Context, as_json: bool) -> None:
    """List the reviews."""
    with ctx.session() as session:
        found = reviews.list_reviews(session)
        data = [{"id": r.id, "slug": r.slug, "title": r.title} for r in found]
        emit(as_json, data, "\n".join(f"{r.slug}\t{r.title}" for r in found) or "no reviews yet")


@lazy_group(
    {
        "suggest": (
            "litreview.cli.search_commands",
            "Records matching question CODE's theme query that are not tagged to it yet.",
        )
    }
)
def question() -> None:
    """Review questions (themes)."""


@question.command("add")
@click.argument("slug")
@click.argument("code")
@click.argument("title")
@click.option("--description")
@click.option("--query", help="Theme query that suggests records for this question.")
@actor_option
@json_option
@pass_ctx
@domain_errors
def question_add(
    ctx: Context,
    slug: str,
    code: str,
    title: str,
    description: str | None,
    query: str | None,
    actor: str,
    as_json: bool,
) -> None:
    """Add review question CODE (or update it) in review SLUG."""
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        q = reviews.add_question(session, rv, code, title, actor, description, query)
        session.commit()
        emit(
            as_json,
            {"id": q.id, "code": q.code, "title": q.title, "query": q.query},
            f"{q.code}: {q.title}",
        )


@question.command("remove")
@click.argument("slug")
@click.argument("code")
@click.option(
    "--move-to",
    metavar="CODE",
    help="Move its tags and annotations to this question (default: remove them too).",
)
@actor_option
@json_option
@pass_ctx
@domain_errors
def question_remove(
    ctx: Context, slug: str, code: str, move_to: str | None, actor: str, as_json: bool
) -> None:
    """Remove review question CODE; the audit log keeps its tags and annotations."""
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        counts = reviews.remove_question(session, rv, code, actor, move_to=move_to)
        session.commit()
    where = f"moved to {move_to}" if move_to else "removed (kept in the audit log)"
    emit(
        as_json,
        {"removed": code, "moved_to": move_to, **counts},
        f"{code} removed; {counts['tags']} tags and {counts['annotations']} annotations {where}",
    )


@question.command("list")
@click.argument("slug")
@json_option
@pass_ctx
@domain_errors
def question_list(ctx: Context, slug: str, as_json: bool) -> None:
    """List the review questions of review SLUG."""
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        data = [
            {"code": q.code, "title": q.title, "description": q.description, "query": q.query}
            for q in rv.questions
        ]
        emit(as_json, data, "\n".join(f"{q['code']}\t{q['title']}" for q in data))
