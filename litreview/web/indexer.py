"""Keeping the search index in step after the web app's commits, off the request path.

Every commit that changes records queues them in the search outbox (the search
feature's listener does that, in the same transaction). Applying the outbox writes to
the search index (tantivy or Whoosh), which takes minutes after an import of 50,000
records, or after a new index started over with every record queued: no reviewer
should wait for that after pressing "i". So a view only *nudges* this indexer, and one
background thread per process applies the outbox, all of it: nudges that arrive while
it works are folded into its next pass. A search page that finds records not yet
searchable (an import from the command line, say) nudges it too. ``search.catch_up``
never raises; what it cannot apply now stays queued for the next nudge, command or
search.

With the setting LITREVIEW_SEARCH_SYNC = "inline" the outbox is applied in the request
instead (useful to debug; the tests use the default).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Indexer:
    """One background thread that applies the search outbox whenever it is nudged."""

    def __init__(self, apply: Callable[[], object], inline: bool = False) -> None:
        self._apply = apply
        self.inline = inline
        self._wanted = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def nudge(self) -> None:
        """Ask for the outbox to be applied soon (now, when inline)."""
        if self.inline:
            self._run_once()
            return
        with self._lock:
            if self._stopping:
                return
            self._idle.clear()
            self._wanted.set()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="litreview-indexer", daemon=True
                )
                self._thread.start()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every nudge so far has been applied; False on timeout."""
        return self._idle.wait(timeout)

    def stop(self, timeout: float | None = None) -> None:
        """Finish the pass under way and end the thread (app teardown, tests)."""
        with self._lock:
            self._stopping = True
            thread = self._thread
            self._wanted.set()
        if thread is not None:
            thread.join(timeout)

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            with self._lock:
                if self._stopping:
                    self._idle.set()
                    return
                self._wanted.clear()
            self._run_once()
            with self._lock:
                if not self._wanted.is_set():
                    self._idle.set()

    def _run_once(self) -> None:
        try:
            self._apply()
        except Exception:  # noqa: BLE001 - the commit stands; the index catches up later
            log.exception("search index not updated; it catches up on the next change")


def search_applier(session_factory, settings) -> Callable[[], object]:
    """What the indexer runs: the search feature's catch-up, if the feature is installed."""

    def apply() -> object:
        try:
            from litreview import search
        except ImportError:  # the search feature is not there yet
            return 0
        return search.catch_up(session_factory, settings)

    return apply
