"""The exports page of a review (leads and reviewers), and its downloads.

Each download is made by ``litreview.export.outputs`` (the same file the CLI writes) and
sent as an attachment with a sandboxing Content-Security-Policy, so an exported HTML
or SVG file opened from the site can run nothing. The backup holds everything of the
review and is for leads only; it is written to a private temporary folder and removed
once sent.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from flask import Response, flash, render_template, request

from litreview import backup
from litreview.errors import Invalid, NotFound
from litreview.export import outputs as files
from litreview.export.csl import STYLES
from litreview.export.record_files import NothingSelected
from litreview.models.screening import DECISIONS, STAGES
from litreview.screening.outcomes import outcome_counts
from litreview.web import db
from litreview.web.access import requires
from litreview.web.blueprints import review
from litreview.web.helpers import commit, sentence, settings
from litreview.web.helpers import review as this_review

DOWNLOAD_CSP = "default-src 'none'; sandbox"


def _page(status: int = 200, **extra: Any) -> tuple[str, int]:
    session, rv = db(), this_review()
    counts = {stage: outcome_counts(session, rv, stage) for stage in STAGES}
    context: dict[str, Any] = {
        "form": request.args,
        "formats": files.FORMATS,
        "styles": [(name, info.title) for name, info in STYLES.items()],
        "page_sizes": files.PAGE_NAMES,
        "stages": STAGES,
        "decisions": DECISIONS,
        "counts": counts,
    }
    context.update(extra)
    return render_template("exports.html", **context), status


@review.get("/exports")
@requires("reviewer")
def exports() -> tuple[str, int]:
    return _page()


def download(made: Any) -> Response:
    response = Response(made.data, mimetype=made.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{made.filename}"'
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response


@review.get("/exports/<any(annotated, records, prisma):kind>")
@requires("reviewer")
def export_download(kind: str) -> Any:
    args = request.args
    questions = [c for c in args.getlist("question") if c.strip()]
    session = db()
    try:
        fmt = args.get("format") or ""
        if fmt not in files.FORMATS[kind]:
            raise Invalid(f"choose a format: {', '.join(files.FORMATS[kind])}")
        if kind == "annotated":
            made = files.annotated_file(
                session,
                this_review(),
                fmt,
                style=args.get("style") or None,
                questions=questions,
                stage=args.get("stage") or None,
                decision=args.get("decision") or None,
                include_untagged=bool(args.get("untagged")),
                show_decisions=bool(args.get("show_decisions")),
                page_size=args.get("page_size") or None,
            )
            commit()  # citations formatted anew are kept for next time
        elif kind == "records":
            made = files.records_file(
                session,
                this_review(),
                fmt,
                decision=args.get("decision") or None,
                stage=args.get("stage") or None,
                questions=questions,
            )
        else:
            made = files.prisma_file(session, this_review(), fmt)
    except NothingSelected as exc:
        session.rollback()
        flash(f"{kind.title()} export: {sentence(str(exc))}", "warning")
        return _page(200, section=kind)
    except (Invalid, NotFound) as exc:
        session.rollback()
        return _page(400, error=f"{kind.title()} export: {sentence(str(exc))}")
    return download(made)


@review.get("/exports/backup")
@requires("lead")
def export_backup() -> Any:

    rv = this_review()
    folder = Path(tempfile.mkdtemp(prefix="backup-", dir=_tmp_root()))
    try:
        path = folder / f"{rv.slug}.litreview.zip"
        backup.write_backup(db(), rv, settings(), path)
        data = path.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    response = Response(data, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{path.name}"'
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _tmp_root() -> Path:
    root = settings().data_dir / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    return root
