"""The background worker (``hospital-complaints worker``, ``app.worker()``).

One loop runs every job that is due:

- ``deliver``: the durable notification queue, every ``HC_WORKER_POLL_S`` seconds (at once
  again while a round comes back full);
- ``sweep``: the deadline sweep, recording reminders (催办) before and escalations (督办)
  after deadlines, which reach notifiers as events; every ``HC_WORKER_SWEEP_EVERY_S``;
- ``sync``: every registered exam source, incrementally from its stored watermark; every
  ``HC_WORKER_SYNC_EVERY_S``;
- ``surveys``: invitations for exams reported or kept waiting since the last run (when surveys
  are on, ``HC_SURVEY_BASE_URL``); every ``HC_WORKER_SURVEY_EVERY_S``;
- any job a plugin adds with ``register_job`` (surveys, connectors).

Several workers may share a PostgreSQL or MariaDB database: deliveries are leased row by row
(``FOR UPDATE SKIP LOCKED``) and each scheduled job runs in one worker at a time under a
named lock that expires if its worker dies. On SQLite one worker holds the ``worker`` lock;
another one started next to it waits as a standby and takes over when the lock expires.

``stop()`` (SIGTERM, Ctrl-C in the command) lets the delivery in hand finish, gives the rest
of the round back to the queue, releases the locks and returns.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import HospitalComplaintsError
from ..plugins.types import Job

if TYPE_CHECKING:
    from ..app import App
    from .metrics import WorkerMetrics

log = logging.getLogger(__name__)

DELIVER, SWEEP, SYNC, SURVEYS = "deliver", "sweep", "sync", "surveys"
SQLITE_LOCK = "worker"


@dataclass
class WorkerReport:
    """What a worker did until it stopped (``--once`` prints it)."""

    rounds: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    jobs: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    standby_rounds: int = 0


class Worker:
    def __init__(self, app: App, *, owner: str | None = None,
                 jobs: set[str] | None = None, metrics: WorkerMetrics | None = None,
                 on_line: Callable[[str], None] | None = None) -> None:
        self.app = app
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.metrics = metrics
        self.on_line = on_line or (lambda line: log.info("%s", line))
        self._stop = threading.Event()
        self._held: set[str] = set()
        settings = app.settings.worker
        self.poll_s = settings.poll_s
        self.jobs: dict[str, Job] = {}
        self.register_job(Job(SWEEP, settings.sweep_every_s, self._sweep))
        self.register_job(Job(SYNC, settings.sync_every_s, self._sync))
        self.register_job(Job(SURVEYS, settings.survey_every_s if app.surveys.enabled else 0,
                              self._surveys))
        for job in app.plugins.jobs(app).values():
            if job.name in self.jobs or job.name == DELIVER:
                from ..errors import PluginError

                raise PluginError(f"a plugin's job is named {job.name!r}, like a built-in job",
                                  f"插件的后台任务名 {job.name!r} 与内置任务重名")
            self.register_job(job)
        self.enabled = jobs if jobs is not None else {DELIVER, *self.jobs}
        unknown = self.enabled - {DELIVER, *self.jobs}
        if unknown:
            from ..errors import FieldProblem, InvalidInput

            allowed = ", ".join(sorted({DELIVER, *self.jobs}))
            raise InvalidInput("worker", [FieldProblem("job", j, f"one of: {allowed}")
                                          for j in sorted(unknown)],
                               [f"  - 未知的后台任务 {j!r}（可选：{allowed}）"
                                for j in sorted(unknown)])
        self._next: dict[str, float] = {}

    def register_job(self, job: Job) -> None:
        self.jobs[job.name] = job

    # -- control -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Finish the item in hand, then return from :meth:`run` (safe from a signal)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self, *, once: bool = False) -> WorkerReport:
        """Work until :meth:`stop` (or, with ``once``, until every enabled job ran once and
        nothing is due in the queue)."""
        report = WorkerReport()
        sqlite = not self.app.in_memory and self.app.store.dialect == "sqlite"
        try:
            while not self.stopping:
                if sqlite and not self._hold(SQLITE_LOCK, self._lock_ttl()):
                    report.standby_rounds += 1
                    if report.standby_rounds == 1:
                        self._standby_line()
                    if once:
                        break
                    self._stop.wait(self.poll_s)
                    continue
                busy = self._round(report, once=once)
                if once and not busy:
                    break
                if not busy:
                    self._stop.wait(self.poll_s)
        finally:
            for name in list(self._held):
                self._let_go(name)
        return report

    def _round(self, report: WorkerReport, *, once: bool) -> bool:
        """One pass over the jobs; ``True`` if the queue may hold more work right now."""
        report.rounds += 1
        busy = False
        if DELIVER in self.enabled:
            busy = self._deliver(report)
        now = time.monotonic()
        for job in self.jobs.values():
            if job.name not in self.enabled or self.stopping:
                continue
            if job.every_s <= 0:
                continue
            if not once and now < self._next.get(job.name, 0.0):
                continue
            if once and job.name in report.jobs:
                continue
            self._next[job.name] = now + max(job.every_s, self.poll_s)
            ttl = max(job.every_s, 60.0) + 60.0
            if not self._hold(f"job:{job.name}", ttl):
                continue  # another worker runs it
            try:
                line = job.run()
            except HospitalComplaintsError as exc:
                line = f"{job.name}: failed: {exc.en}"
                report.errors.append(line)
                self._count_job(job.name, "error")
            except Exception as exc:  # a job's bug must not stop deliveries
                line = f"{job.name}: failed: {type(exc).__name__}"
                report.errors.append(line)
                log.exception("worker job %s failed", job.name)
                self._count_job(job.name, "error")
            else:
                self._count_job(job.name, "ok")
            finally:
                self._let_go(f"job:{job.name}")
            report.jobs.setdefault(job.name, []).append(line)
            self.on_line(line)
        if self.metrics is not None:
            self.metrics.observe_queue(self.app)
        return busy

    def _deliver(self, report: WorkerReport) -> bool:
        notifications = self.app.notifications
        try:
            result = notifications.dispatch(self.owner, stop=lambda: self.stopping)
        except HospitalComplaintsError as exc:
            report.errors.append(f"deliver: failed: {exc.en}")
            self.on_line(f"deliver: failed: {exc.en}")
            return False
        for notifier, outcomes in result.outcomes.items():
            if self.metrics is not None:
                self.metrics.count_deliveries(notifier, outcomes)
        delivered, retried, dead = (result.total("delivered"), result.total("retry"),
                                    result.total("dead"))
        report.delivered += delivered
        report.retried += retried
        report.dead += dead
        if result.claimed:
            self.on_line(f"deliver: {delivered} delivered, {retried} to retry, {dead} dead "
                         f"letters (已投递 {delivered}，待重试 {retried}，死信 {dead})")
        return result.claimed >= self.app.settings.worker.batch and not self.stopping

    # -- the built-in jobs ---------------------------------------------------------------------

    def _sweep(self) -> str:
        result = self.app.deadlines.sweep()
        alerts = len(result.new_alerts)
        tiers = self.app.workorders.supervise()
        return (f"sweep: {alerts} new deadline alerts, {tiers} work-order supervision tiers "
                f"recorded (新记录 {alerts} 条时限提醒，{tiers} 条工单催办/督办/通报)")

    def _sync(self) -> str:
        sources = self.app.imaging.sources()
        if not sources:
            return "sync: no exam sources registered (未注册检查数据源)"
        read = self.app.imaging.sync(incremental=True)
        parts = ", ".join(f"{sid} {n}" for sid, n in sorted(read.items()))
        return f"sync: exam events read: {parts} (已同步检查事件)"

    def _surveys(self) -> str:
        made = self.app.surveys.run_exam_triggers()
        parts = ", ".join(f"{k} {n}" for k, n in sorted(made.items())) or "none enabled"
        return f"surveys: exam invitations made: {parts} (已发出检查后问卷邀请)"

    # -- locks -------------------------------------------------------------------------------

    def _lock_ttl(self) -> float:
        return max(self.app.settings.notifications.lease_s, 5 * self.poll_s, 30.0)

    def _hold(self, name: str, ttl: float) -> bool:
        ok = self.app.locks.acquire(name, self.owner, time.time(), ttl)
        if ok:
            self._held.add(name)
        return ok

    def _let_go(self, name: str) -> None:
        with contextlib.suppress(HospitalComplaintsError):  # else it expires by itself
            self.app.locks.release(name, self.owner)
        self._held.discard(name)

    def _standby_line(self) -> None:
        holder = self.app.locks.holder(SQLITE_LOCK)
        who = holder[0] if holder else "?"
        self.on_line(f"standby: another worker ({who}) holds the SQLite database's worker "
                     "lock; this one takes over if it stops (SQLite allows one worker) "
                     f"(另一个后台进程 {who} 正在运行；SQLite 只允许一个，本进程待命)")

    def _count_job(self, name: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.count_job(name, outcome)

    def info(self) -> dict[str, Any]:
        return {"owner": self.owner, "jobs": sorted(self.enabled)}
