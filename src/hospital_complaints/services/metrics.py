"""The worker's metrics in Prometheus text format (``prometheus-client``).

``hospital-complaints worker --metrics-port 9464`` (or ``HC_WORKER_METRICS_PORT``) serves them
at ``http://127.0.0.1:9464/metrics``:

- ``hc_outbox_queue_depth{notifier,status}``: rows pending or dead, per notifier;
- ``hc_outbox_lag_seconds``: age of the oldest undelivered row;
- ``hc_deliveries_total{notifier,outcome}``: delivered, retry (a failed attempt that will be
  tried again), dead (a dead letter);
- ``hc_dead_letters_total{notifier}``: dead letters made by this worker;
- ``hc_worker_jobs_total{job,outcome}``: scheduled job runs, ok or error.

Each worker has its own registry (no global state), so tests and embedded hosts can run
several.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from ..domain.notifications import DEAD, PENDING

if TYPE_CHECKING:
    from ..app import App


class WorkerMetrics:
    def __init__(self, every_s: float = 5.0) -> None:
        self.registry = CollectorRegistry()
        self.depth = Gauge("hc_outbox_queue_depth", "Deliveries pending or dead, per notifier",
                           ["notifier", "status"], registry=self.registry)
        self.lag = Gauge("hc_outbox_lag_seconds", "Age of the oldest undelivered delivery",
                         registry=self.registry)
        self.deliveries = Counter("hc_deliveries", "Delivery attempts by outcome",
                                  ["notifier", "outcome"], registry=self.registry)
        self.dead = Counter("hc_dead_letters", "Deliveries that became dead letters",
                            ["notifier"], registry=self.registry)
        self.job_runs = Counter("hc_worker_jobs", "Scheduled job runs by outcome",
                                ["job", "outcome"], registry=self.registry)
        self._every = every_s
        self._last = 0.0

    def count_deliveries(self, notifier: str, outcomes: dict[str, int]) -> None:
        for outcome, n in outcomes.items():
            if n:
                self.deliveries.labels(notifier, outcome).inc(n)
        if outcomes.get("dead"):
            self.dead.labels(notifier).inc(outcomes["dead"])

    def count_job(self, job: str, outcome: str) -> None:
        self.job_runs.labels(job, outcome).inc()

    def observe_queue(self, app: App, *, force: bool = False) -> None:
        """Refresh depth and lag (at most every few seconds: it counts rows)."""
        now = time.monotonic()
        if not force and now - self._last < self._every:
            return
        self._last = now
        status = app.notifications.status(delivered=False)
        for nid, row in status["notifiers"].items():
            for state in (PENDING, DEAD):
                self.depth.labels(nid, state).set(row.get(state, 0))
        self.lag.set(status["lag_s"])

    def text(self) -> bytes:
        return generate_latest(self.registry)

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` on a daemon thread; returns the port (0 picks a free one)."""
        from prometheus_client import start_http_server

        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return int(server.server_port)
