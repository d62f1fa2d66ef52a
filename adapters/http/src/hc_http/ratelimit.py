"""A small sliding-window rate limiter for the public pages (per client address).

It lives in the server process: behind several processes, each counts on its own, so the
configured rate is per process. A reverse proxy's own limit is the place for a global one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from threading import Lock


class RateLimiter:
    def __init__(self, limit: int, *, per_seconds: float, clock: Callable[[], float],
                 max_clients: int = 100_000) -> None:
        self.limit = limit
        self.window = per_seconds
        self.clock = clock
        self.max_clients = max_clients
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = Lock()

    def allow(self, bucket: str, client: str) -> float | None:
        """``None`` when allowed (and counted); else the seconds until the next is."""
        now = self.clock()
        key = (bucket, client)
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self.max_clients:
                    self._forget_idle(now)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(0.0, hits[0] + self.window - now)
            hits.append(now)
            return None

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]
        for k in idle:
            del self._hits[k]
        if len(self._hits) >= self.max_clients:  # still full: a flood of addresses
            self._hits.clear()
