"""Progress bars of long commands, drawn by the thread that does the work.

Rich's ``Progress`` redraws itself from a thread of its own, ten times a second. In a bulk
command that thread is not free: on the 2-core VM we measure on, for about a tenth of a
second after it wakes up, every release of the GIL by the working thread cost about 15 µs
instead of under 1 µs. The working thread releases the GIL in every SQLite call and every
``os.urandom`` (a ``uuid4``), so ``register --many`` ran 8-18 % slower with the bar's thread
than without it while the other core was idle (with the other core busy, 1-2 %). The cause
lies below Python (how the GIL is handed between threads, and the virtual CPUs); a plain
script with one thread that sleeps 0.1 s in a loop shows it too.

So the bars of ``register --many``, ``exams import``, ``hl7 import`` and the demo come from
:func:`progress_bar`: no thread of their own. The work reports progress (a batch done, a
step played) and the bar is redrawn then, at most ten times a second; the final state is
drawn when the bar's ``with`` block ends. A plugin's long command can use it too
(``hospital_complaints.plugin_api.progress_bar``).
"""

from __future__ import annotations

import time
from typing import Any

from rich.progress import Progress, ProgressColumn, TaskID

#: at most this many seconds between two redraws
REDRAW_EVERY = 0.1


class StepProgress(Progress):
    """A Rich ``Progress`` without a refresh thread: :meth:`update` and :meth:`advance`
    redraw it when :data:`REDRAW_EVERY` seconds have passed since the last redraw, and
    when they finish a task (so that a long last step, e.g. the exam import building its
    indexes, shows a full bar, not the count of a skipped redraw)."""

    def __init__(self, *columns: str | ProgressColumn, **options: Any) -> None:
        super().__init__(*columns, **{**options, "auto_refresh": False})
        self._drawn_at: float | None = None

    def update(self, task_id: TaskID, **changes: Any) -> None:
        super().update(task_id, **changes)
        self._redraw_when_due(task_id)

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._redraw_when_due(task_id)

    def _redraw_when_due(self, task_id: TaskID) -> None:
        now = time.monotonic()
        if (self._drawn_at is None or now - self._drawn_at >= REDRAW_EVERY
                or any(t.id == task_id and t.finished for t in self.tasks)):
            self._drawn_at = now
            self.refresh()


def progress_bar(*columns: str | ProgressColumn, **options: Any) -> StepProgress:
    """``rich.progress.Progress(*columns, **options)`` drawn by the caller's thread (see the
    module's text): use it as Rich's, in a ``with`` block; ``auto_refresh`` is always
    off."""
    return StepProgress(*columns, **options)
