"""Retraining rankings off the request path: one background thread per process.

The embedded default (one process, SQLite) runs :func:`.relevance.retrain` here, in a
thread, after decisions; a team server can hand the same plain function to a job
queue instead. A request only *asks* (:meth:`Retrainer.request`, a set insert): the
thread checks whether a retrain is due (:func:`.relevance.retrain` does nothing when
it is not), so asking after every decision and every page costs the request nothing.
Asks that arrive while the thread works are folded into its next pass; the same
ranking asked for twice is trained once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from litreview.screening.relevance import Trained, retrain

log = logging.getLogger(__name__)

Key = tuple[int, str, int]  # review id, stage, learner


class Retrainer:
    """Retrains the rankings asked for, one at a time, in a daemon thread.

    ``inline`` runs them in the caller instead (for scripts and debugging).
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        inline: bool = False,
        run: Callable[[sessionmaker[Session], int, str, int], Trained | None] = retrain,
    ) -> None:
        self._factory = session_factory
        self._run = run
        self.inline = inline
        self._wanted: dict[Key, None] = {}  # insertion-ordered set
        self._lock = threading.Lock()
        self._more = threading.Condition(self._lock)
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def request(self, review_id: int, stage: str, learner: int) -> None:
        """Ask for this ranking to be retrained if it is due (now, when inline)."""
        if self.inline:
            self._run_one((review_id, stage, learner))
            return
        with self._lock:
            if self._stopping:
                return
            self._wanted[review_id, stage, learner] = None
            self._idle.clear()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="litreview-retrainer", daemon=True
                )
                self._thread.start()
            self._more.notify()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every ranking asked for so far is done; False on timeout."""
        return self._idle.wait(timeout)

    def stop(self, timeout: float | None = None) -> None:
        """Finish the retrain under way and end the thread."""
        with self._lock:
            self._stopping = True
            self._more.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._wanted and not self._stopping:
                    self._idle.set()
                    self._more.wait()
                if self._stopping:
                    self._wanted.clear()
                    self._idle.set()
                    return
                key = next(iter(self._wanted))
                del self._wanted[key]
            self._run_one(key)

    def _run_one(self, key: Key) -> None:
        try:
            done = self._run(self._factory, *key)
        except Exception:  # noqa: BLE001 - the queue keeps the last ranking; the next ask retries
            log.exception("ranking of review %s, %s, learner %s not retrained", *key)
            return
        if done is not None:
            log.info(
                "ranking of review %s, %s, learner %s: %s records from %s decisions in %.2f s",
                *key,
                done.ranked,
                done.labels,
                done.seconds,
            )
