"""`litreview not-retrievable SLUG RECORD_ID`: a report sought at full text that cannot be
obtained (PRISMA's "reports not retrieved"); --undo takes the mark back, --list shows them."""

from __future__ import annotations

import click

from litreview.cli.common import Context, actor_option, domain_errors, emit, json_option, pass_ctx
from litreview.errors import Invalid
from litreview.evidence import retrieval
from litreview.library import reviews


@click.command("not-retrievable")
@click.argument("slug")
@click.argument("record_id", type=int, required=False)
@click.option("--note", help='Why it cannot be obtained, e.g. "not held; author did not reply".')
@click.option("--undo", is_flag=True, help="The report was found after all: clear the mark.")
@click.option("--list", "listing", is_flag=True, help="List the records marked so.")
@actor_option
@json_option
@pass_ctx
@domain_errors
def not_retrievable(
    ctx: Context,
    slug: str,
    record_id: int | None,
    note: str | None,
    undo: bool,
    listing: bool,
    actor: str,
    as_json: bool,
) -> None:
    """Mark record RECORD_ID's report as not retrievable (PRISMA: reports not retrieved)."""
    with ctx.session() as session:
        rv = reviews.get_review(session, slug)
        if listing:
            marks = retrieval.marked(session, rv)
            data = [
                {"record": m.record_id, "by": m.by, "at": m.at.isoformat(), "note": m.note}
                for m in marks
            ]
            text = "\n".join(
                f"{m.record_id}\t{m.at:%Y-%m-%d}\t{m.by}\t{m.note or ''}" for m in marks
            )
            emit(as_json, data, text or "no report is marked as not retrievable")
            return
        if record_id is None:
            raise Invalid("name the record: litreview not-retrievable SLUG RECORD_ID (or --list)")
        if undo:
            if note:
                raise Invalid("--note goes with a mark, not with --undo")
            changed = retrieval.clear_not_retrievable(session, rv, record_id, actor)
            said = "no longer marked as not retrievable" if changed else "was not marked"
        else:
            changed = retrieval.mark_not_retrievable(session, rv, record_id, actor, note)
            said = "marked as not retrievable" if changed else "was marked already"
        session.commit()
    emit(
        as_json,
        {"record": record_id, "not_retrievable": not undo, "changed": changed},
        f"record {record_id}: {said}",
    )
