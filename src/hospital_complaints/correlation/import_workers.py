"""Worker processes for a large exam CSV: how it is cut into chunks and farmed out in order.

An exam row costs about 25 µs of Python to check, parse, hash and seal, and about 10 µs for
the store to write. One process does one after the other; with workers, the main process
cuts the file into chunks of whole records and writes, and the workers do the rest, on as
many cores as there are (:func:`default_workers`).

It gives the same result as one process, row for row and seal for seal (a test compares
them):

- The main process reads the file with the same CSV reader as one process and cuts it only
  between records (a quoted cell may hold a line break), so each worker reads the same
  cells. A CSV syntax error stops the import, as it does in one process.
- Chunks are written in the file's order, so that of two rows of one accession the later
  still wins, per field, and line numbers in the report are the file's.
- The store merges what it already holds (:meth:`PreparedExamRows.add_prepared_exam_rows`).

It is used for a CSV of at least :data:`PARALLEL_MIN_ROWS` rows into a store that takes
prepared rows (the SQL stores), when more than one worker is allowed (``exams import
--workers N``, ``import_file(..., workers=N)``) and the workers can be forked safely
(:func:`can_fork`): on Linux, from a process that runs no other thread. Forked workers
start at once and need no ``if __name__ == "__main__"`` guard in the caller's script (which
``spawn`` would); they get the parser and the store's preparer by inheritance, not through a
pipe, and never touch the store's connections. They are stopped when the import ends,
however it ends. Elsewhere (another system, or a server with threads) the import runs in
one process.

This module knows processes and CSV records, not exams: what a worker does with a chunk is
:mod:`.importers`' (``prepared_exam_batches``), which calls :func:`in_order` and
:func:`csv_chunks` (so that this module imports nothing of the importers).
"""

from __future__ import annotations

import csv
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

#: a CSV with fewer rows (estimated) is imported in one process
PARALLEL_MIN_ROWS = 50_000
#: records per chunk a worker prepares
CHUNK_ROWS = 4_000
#: at most this many worker processes by default
MAX_WORKERS = 8

K = TypeVar("K")
T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """Worker processes when none are asked for: one per core the process may use, at most
    :data:`MAX_WORKERS`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


def can_fork() -> bool:
    """Whether worker processes can be forked safely here: on Linux, with no other thread
    running (a thread holding a lock at the fork would leave it held in the child)."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


def csv_chunks(path: Path, encoding: str,
               csv_error: Callable[[int, csv.Error], Exception]
               ) -> tuple[list[str], Iterator[tuple[int, str]]]:
    """A CSV file's header and its records in chunks of about :data:`CHUNK_ROWS`: (lines
    before the chunk, the chunk's text). The records are found by the same reader one
    process uses, so a chunk never ends inside a quoted cell. A syntax error raises
    ``csv_error(line, error)``."""
    f = path.open(newline="", encoding=encoding)
    taken: list[str] = []

    def lines() -> Iterator[str]:
        for line in f:
            taken.append(line)
            yield line

    reader = csv.reader(lines())
    try:
        header = next(reader, [])
    except csv.Error as exc:
        f.close()
        raise csv_error(1, exc) from None

    def chunks() -> Iterator[tuple[int, str]]:
        with f:
            before, n = reader.line_num, 0
            taken.clear()
            while True:
                try:
                    next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    raise csv_error(reader.line_num, exc) from None
                n += 1
                if n == CHUNK_ROWS:
                    yield before, "".join(taken)
                    taken.clear()
                    before, n = reader.line_num, 0
            if taken:
                yield before, "".join(taken)

    return header, chunks()


def in_order(task: Callable[[T], R], items: Iterator[tuple[K, T]], workers: int,
             start: Callable[..., None], start_args: tuple[Any, ...]
             ) -> Iterator[tuple[K, R]]:
    """``(key, task(item))`` for each ``(key, item)``, in the order of ``items``, computed by
    ``workers`` forked processes, each set up by ``start(*start_args)`` (inherited, not
    pickled). At most ``2 × workers`` items are in flight, so memory stays flat however long
    the file. The processes are stopped when the caller stops iterating, however it stops."""
    pool = ProcessPoolExecutor(workers, mp_context=get_context("fork"), initializer=start,
                               initargs=start_args)
    pending: deque[tuple[K, Future[R]]] = deque()
    try:
        for key, item in items:
            pending.append((key, pool.submit(task, item)))
            if len(pending) > 2 * workers:
                key, future = pending.popleft()
                yield key, future.result()
        while pending:
            key, future = pending.popleft()
            yield key, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
