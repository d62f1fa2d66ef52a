"""The garbage-collector pause: automatic collection is off while sweeps run and while a
result's lists are built (``docs/sla.md``, "Performance")."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _CollectorPause:
    """Pauses automatic garbage collection while sweeps run (nested and threaded safely).

    A sweep over a million cases creates millions of result tuples when its lists are built;
    with automatic collection on, Python repeatedly scans the whole heap while they are being
    created, which made a large sweep two to three times slower. Nothing a sweep creates
    forms reference cycles, so pausing loses nothing; the previous state is restored when the
    last sweep ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = False

    @contextmanager
    def __call__(self, active: bool) -> Iterator[None]:
        if not active:
            yield
            return
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._was_enabled:
                    gc.enable()


_collector_paused = _CollectorPause()
