"""Sign-in attempts, limited per email and address, in memory.

After ``max_failures`` failed sign-ins for one email from one IP address within
``window`` seconds, that pair is refused until the oldest failure leaves the window;
an address is also refused after ``max_per_ip`` failures (any emails) in the window,
which stops one machine guessing across many accounts. A successful sign-in clears
its pair's failures. Refused attempts never reach the password check, so the limit
also caps the CPU argon2 can be made to spend.

The counts live in the process: simple, and enough for one waitress process. With
several gunicorn workers each keeps its own counts, so the effective limit is
multiplied by the number of workers; a restart forgets them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SignInLimiter:
    """Sliding-window counts of failed sign-ins, thread-safe."""

    def __init__(
        self,
        max_failures: int = 5,
        max_per_ip: int = 50,
        window: float = 15 * 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.max_per_ip = max_per_ip
        self.window = window
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._per_ip: dict[str, deque[float]] = {}

    def _trim(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window:
            times.popleft()

    def retry_after(self, email: str, ip: str) -> int:
        """Seconds until this email may try again from this address; 0 if it may now."""
        now = self.clock()
        with self._lock:
            waits = []
            pair = self._failures.get((email, ip))
            if pair is not None:
                self._trim(pair, now)
                if len(pair) >= self.max_failures:
                    waits.append(pair[-self.max_failures] + self.window - now)
            per_ip = self._per_ip.get(ip)
            if per_ip is not None:
                self._trim(per_ip, now)
                if len(per_ip) >= self.max_per_ip:
                    waits.append(per_ip[-self.max_per_ip] + self.window - now)
        return max(1, int(max(waits) + 0.999)) if waits else 0

    def failed(self, email: str, ip: str) -> None:
        """Count one failed attempt."""
        now = self.clock()
        with self._lock:
            self._failures.setdefault((email, ip), deque()).append(now)
            self._per_ip.setdefault(ip, deque()).append(now)
            if len(self._failures) > 10_000:
                self._forget_old(now)

    def succeeded(self, email: str, ip: str) -> None:
        """Forget this pair's failures (the address's total stays)."""
        with self._lock:
            self._failures.pop((email, ip), None)

    def _forget_old(self, now: float) -> None:
        # Bounded memory under a spray of made-up emails.
        for table in (self._failures, self._per_ip):
            for key in list(table):
                self._trim(table[key], now)
                if not table[key]:
                    del table[key]
