"""Progress bars of long commands are drawn by the thread that does the work: Rich's own
refresh thread, waking ten times a second, made every release of the GIL by the work (each
SQLite call) slower, and ``register --many`` about a tenth slower with it on an otherwise
idle machine (``hospital_complaints/cli/progress.py``)."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.progress import TextColumn

from hospital_complaints.plugin_api import hookimpl, progress_bar
from hospital_complaints.testing import make_app, run_cli


def test_a_bar_has_no_thread_of_its_own_and_draws_a_finished_task_at_once() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, force_interactive=True, width=60)
    before = threading.active_count()
    with progress_bar(TextColumn("{task.completed}/{task.total} rows"), console=console,
                      transient=False) as bar:
        task = bar.add_task("rows", total=500)
        assert threading.active_count() == before
        for _ in range(500):
            bar.advance(task)
        # the finished task is drawn at once, before the block ends (a long last step
        # after the last report still shows a full bar)
        assert "500/500 rows" in out.getvalue()
    text = out.getvalue()
    # redrawn when the work reports, at most ten times a second: not once per report
    assert 2 <= text.count(" rows") < 100


class _ThreadCounter:
    """A classifier plugin that notes how many threads the process has while a batch of
    ``register --many`` is worked on."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    @hookimpl
    def hc_suggest_categories(self, complaint: Any, app: Any) -> None:
        self.seen.append(threading.active_count())


def test_register_many_draws_its_bar_without_a_second_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # Rich: standard output is a terminal
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    counter = _ThreadCounter()
    app = make_app(counter, sql=tmp_path)
    path = tmp_path / "old.jsonl"
    path.write_text("".join(json.dumps({
        "channel": "front_desk", "received_at": "2025-03-01T09:00:00+08:00",
        "complainant": {"role": "patient", "name": "王五", "phone": "13800000000",
                        "consent_to_contact": True},
        "subject": "报告出得慢", "description": f"历史投诉 {i}",
        "idempotency_key": f"old-{i}"}, ensure_ascii=False) + "\n" for i in range(2000)),
        encoding="utf-8")
    before = threading.active_count()
    done = run_cli(app, "register", "--many", str(path))
    assert done.exit_code == 0, done.output
    assert "registering 登记中" in done.stderr and "2000/2000 lines" in done.stderr
    assert "registered 2000" in done.stdout
    assert len(counter.seen) == 2000 and set(counter.seen) == {before}


def test_exams_import_says_when_every_row_is_read_and_the_rows_are_being_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    app = make_app(sql=tmp_path)
    path = tmp_path / "ris[bold].csv"  # a file name is text, not Rich markup
    path.write_text("accession_number,modality,station,arrived_at,started_at\n" + "".join(
        f"CT{i},CT,CT2,2026-11-16T08:00:00+08:00,2026-11-16T08:20:00+08:00\n"
        for i in range(3)), encoding="utf-8")
    done = run_cli(app, "exams", "import", str(path))
    assert done.exit_code == 0, done.output
    out = done.stdout
    writing = out.index("writing ris[bold].csv to the database 写入数据库")
    assert out.index("imported ris[bold].csv 已导入") > writing
    assert "3/3" in out
