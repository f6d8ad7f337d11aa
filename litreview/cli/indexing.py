"""Indexing from the command line: a progress bar, and applying the search outbox whole
(`import --wait-index`, `reindex --catch-up`)."""

from __future__ import annotations

import sys

import click
from sqlalchemy.orm import Session, sessionmaker

from litreview import search
from litreview.search.backend import SearchBackend

# Records applied per index commit when the whole outbox is applied: fewer commits (and
# merges) than the outbox's default, whose batches leave the lock free for others often.
WHOLE_BATCH = 10_000


class Bar:
    """A progress bar on stderr, made when the total is first known."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label, self.enabled, self.bar, self.pos = label, enabled, None, 0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=max(total, 1), label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(max(0, done - self.pos))
        self.pos = max(self.pos, done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def apply_everything(
    factory: sessionmaker[Session], backend: SearchBackend, *, enabled: bool
) -> int:
    """Apply the whole outbox now, with a progress bar on stderr (none when not
    ``enabled``); a one-line error when another process holds the index too long."""
    bar = Bar("indexing", enabled=enabled)
    try:
        return search.apply_outbox(
            factory, backend, timeout=30.0, progress=bar, strict=True, batch=WHOLE_BATCH
        )
    except search.IndexBusy as exc:
        raise click.ClickException(f"{exc}: try again") from None
    finally:
        bar.close()
