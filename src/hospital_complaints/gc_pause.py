"""Bulk work without the cyclic garbage collector's passes over it.

A batch of a bulk intake builds about a thousand cases, each a tree of a few hundred objects,
and keeps them all alive until the batch is committed. Python's cyclic collector runs every
700 new container objects and walks every young object still alive, then, ever more often as
the batch grows, the older generations too: about a fifth of the time of ``register --many``
went to those walks, and they found almost nothing, because what a batch drops is freed by
reference counting at once.

:func:`paused_gc` switches the cyclic collector off for the length of a ``with`` block and
back on (if it was on) when the last block that paused it ends, so that a batch's work is not
walked while it runs. Memory is still freed by reference counting meanwhile; the rare cycle
waits for the collector's next run after the block. Keep a block to one bounded batch, not a
whole file: the collector is off for every thread of the process while it lasts.

Blocks may nest, and may run in several threads at once: the collector comes back on when the
last of them ends, and stays off if someone had switched it off before the first began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off (see the module's text)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
