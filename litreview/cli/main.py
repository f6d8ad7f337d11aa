"""The `litreview` command: the top-level group and the table of its commands.

Every command takes --json and then prints one JSON document on stdout. Errors a
person can act on end the command with a one-line message on stderr, never a traceback.

A command's module is imported only when that command runs (see cli/lazy_group.py):
`litreview --version` loads no command, and `litreview records` does not pay for Whoosh,
Alembic, pyzotero or the exporters. Keep heavy imports out of this module.
"""

from __future__ import annotations

import logging
import os
import sys

import click

from litreview.cli.lazy_group import lazy_group

_SEARCH = "litreview.cli.search_commands"  # builds its commands in register(cli)
_SCREENING = "litreview.cli.screening_commands"

COMMANDS = {
    "init": (
        "litreview.cli.setup_commands:init",
        "Create or upgrade the database and make the data folder.",
    ),
    "serve": (
        "litreview.cli.setup_commands:serve",
        "Serve the web app with waitress (for a team server, see the README: gunicorn).",
    ),
    "load-sample": (
        "litreview.cli.setup_commands:load_sample",
        'Load the sample review "AI in social work" (invented records); does nothing twice.',
    ),
    "worker": (
        "litreview.cli.job_commands:worker",
        "Run background jobs from the queue (a team server: LITREVIEW_JOBS=queue, PostgreSQL).",
    ),
    "jobs": (
        "litreview.cli.job_commands:jobs",
        "List background jobs, newest first (of review SLUG, or of all): state, progress.",
    ),
    "review": ("litreview.cli.review_commands:review", "Create and list reviews."),
    "question": ("litreview.cli.review_commands:question", "Review questions (themes)."),
    "import": (
        "litreview.cli.library_commands:import_",
        "Import BibTeX, RIS, PubMed/MEDLINE, Web of Science, CSL-JSON or CSV/TSV FILES into "
        "review SLUG.",
    ),
    "records": (
        "litreview.cli.library_commands:records",
        "List the records of review SLUG (merged duplicates shown once).",
    ),
    "duplicates": (
        "litreview.cli.library_commands:duplicates",
        "List probable duplicates in review SLUG, or settle one pair.",
    ),
    "user": (
        "litreview.cli.people_commands:user",
        "User accounts (for signing in to the web app).",
    ),
    "member": (
        "litreview.cli.people_commands:member",
        "Who takes part in a review, and as what.",
    ),
    "screen": (
        f"{_SCREENING}:screen",
        "Decide record ID of review SLUG as the user --as (an account's email).",
    ),
    "resolve": (
        f"{_SCREENING}:resolve",
        "Resolve the reviewers' conflict on record ID as the lead (or a third reviewer) --as.",
    ),
    "conflicts": (
        f"{_SCREENING}:conflicts",
        "List the records of review SLUG whose reviewers disagree, not yet resolved.",
    ),
    "stats": (
        f"{_SCREENING}:stats",
        "Screening progress of review SLUG: per stage, per source, agreement per reviewer pair.",
    ),
    "history": (
        f"{_SCREENING}:history",
        "Every decision and resolution on record ID of review SLUG, oldest first.",
    ),
    "simulate": (
        "litreview.cli.simulate_commands:simulate",
        "Replay labelled FILE most relevant first: WSS@95, RRF@10, where stopping fired.",
    ),
    "attach": (
        _SEARCH,
        "Attach a PDF to a record of review SLUG, or a folder of PDFs to their records.",
    ),
    "search": (
        _SEARCH,
        'Search review SLUG: AND OR NOT, "phrases", word*, title:, author:, year:[A TO B].',
    ),
    "tag": (_SEARCH, "Tag record RECORD_ID of review SLUG to review questions CODES (e.g."),
    "untag": (
        _SEARCH,
        "Remove record RECORD_ID's tag to question CODE (the audit log keeps it).",
    ),
    "annotate": (
        _SEARCH,
        "Add a note and/or a quoted passage (with its page) to record RECORD_ID.",
    ),
    "not-retrievable": (
        "litreview.cli.retrieval_commands:not_retrievable",
        "Mark record RECORD_ID's report as not retrievable (PRISMA: reports not retrieved).",
    ),
    "tags": (_SEARCH, "Show record RECORD_ID's tags and annotations: what, who, when."),
    "reindex": (
        _SEARCH,
        "Rebuild the search index of review SLUG (or of every review) from the database.",
    ),
    "zotero": (
        "litreview.cli.zotero_commands:zotero",
        "Import a Zotero library or collection, keep it in sync, push tags back.",
    ),
    "export": (
        "litreview.cli.export_commands:export",
        "Export review SLUG: an annotated bibliography, its records, PRISMA, or a backup.",
    ),
    "restore": (
        "litreview.cli.export_commands:restore",
        "Restore a backup FILE as a new review SLUG (nothing is written if it does not fit).",
    ),
}


@lazy_group(COMMANDS)
@click.version_option(package_name="litreview")
def cli() -> None:
    """litreview: import, deduplicate, screen, tag, search and export a literature review.

    Settings come from LITREVIEW_DATA_DIR (default ./instance) and LITREVIEW_DATABASE_URL
    (default a SQLite file in the data folder).
    """


def main() -> None:
    """Entry point: never a traceback for a person, unless LITREVIEW_DEBUG is set."""
    logging.basicConfig(level=os.environ.get("LITREVIEW_LOG", "WARNING"))
    try:
        cli.main(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if os.environ.get("LITREVIEW_DEBUG"):
            raise
        click.echo(f"Error: unexpected {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
