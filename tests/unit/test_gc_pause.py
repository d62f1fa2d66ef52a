"""Bulk work pauses Python's cyclic garbage collector for one batch at a time, and always
gives it back as it found it: on after the batch (also when the batch fails), off if the
host had switched it off, and on only when the last of several overlapping batches ends."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from hospital_complaints.gc_pause import paused_gc
from hospital_complaints.plugin_api import hookimpl
from hospital_complaints.services.service import BulkRow
from hospital_complaints.testing import complaint_draft, make_app


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_off_inside_on_after_also_after_an_error() -> None:
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("a failing batch")
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_host_stays_off() -> None:
    gc.disable()
    with paused_gc():
        pass
    assert not gc.isenabled()


def test_overlapping_blocks_in_threads_turn_it_on_when_the_last_ends() -> None:
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with paused_gc():
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=other)
    worker.start()
    assert inside.wait(10)
    with paused_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread's batch is still running
    release.set()
    worker.join(10)
    assert gc.isenabled()


class _Watcher:
    """A classifier plugin that notes whether the collector was on when it was asked."""

    def __init__(self) -> None:
        self.seen: list[bool] = []

    @hookimpl
    def hc_suggest_categories(self, complaint: Any, app: Any) -> None:
        self.seen.append(gc.isenabled())


def test_register_bulk_pauses_each_batch_and_leaves_the_collector_on() -> None:
    watcher = _Watcher()
    app = make_app(watcher)
    between: list[bool] = []
    result = app.complaints.register_bulk(
        (BulkRow(line=i + 1, data=complaint_draft(), key=f"k{i}") for i in range(5)),
        actor="clerk:wang", batch_size=2, on_progress=lambda n: between.append(gc.isenabled()))
    assert len(result.registered) == 5
    assert watcher.seen == [False] * 5  # paused while a batch is worked on
    assert between == [True, True, True]  # on between batches (2, 4, 5 rows read)
    assert gc.isenabled()
