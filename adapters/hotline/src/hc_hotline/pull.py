"""The poller: new work orders and the platform's results, from a stored watermark.

The worker runs it as the job ``hotline:<connector id>`` every ``HC_HOTLINE_POLL_S``
seconds (``hc_register_jobs``); ``hospital-complaints hotline pull`` runs it by hand. Each
feed keeps its own watermark (``app.locks``, key ``hotline:<id>:orders`` / ``:results``):
the newest time seen (page paging) or the platform's cursor (cursor paging). A watermark
moves only over records that were handled (registered, applied, ignored or kept), so a
failure part-way loses nothing, and a record seen twice changes nothing (the ticket is the
registration's idempotency key; a result is applied once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from .errors import PlatformError
from .intake import Taker, Tally, take_api_record
from .mapping import format_time, parse_time, pick

if TYPE_CHECKING:
    from hospital_complaints.plugin_api import App

    from .settings import Connector


@dataclass
class PullReport:
    connector: str
    tally: Tally = field(default_factory=Tally)
    failed: PlatformError | None = None

    @property
    def ok(self) -> bool:
        return self.failed is None

    def line(self) -> str:
        head = f"hotline:{self.connector}: "
        if self.failed is not None:
            return (f"{head}pull stopped: {self.failed.en} (拉取中断：{self.failed.zh}); "
                    f"so far {self.tally.summary()}")
        return head + self.tally.summary()


def watermark_key(connector: str, feed: str) -> str:
    return f"hotline:{connector}:{feed}"


def pull(app: App, connector: Connector, *, max_pages: int = 200) -> PullReport:
    """Pull every feed of ``connector`` once. Never raises for the platform's or the
    records' faults: they are in the report (and unusable records are kept)."""
    m = connector.mapping
    report = PullReport(m.id)
    taker = Taker(app, connector)
    feeds = [(name, feed, default) for name, feed, default in
             (("orders", m.orders, "dispatched"), ("results", m.results, "called_back"))
             if feed is not None]
    for name, feed, default in feeds:
        key = watermark_key(m.id, name)
        since = app.locks.watermark(key)
        newest: datetime | None = None
        newest_text: str | None = since
        try:
            for records, cursor in connector.client.pages(feed, since, max_pages):
                for record in records:
                    take_api_record(taker, record, f"pull:{name}", report.tally, default)
                    if feed.paging != "cursor" and feed.watermark_field:
                        value = pick(record, feed.watermark_field)
                        try:
                            at = parse_time(value, m) if value not in (None, "") else None
                        except (ValueError, OverflowError, OSError):
                            at = None
                        if at is not None and (newest is None or at > newest):
                            newest = at
                if feed.paging == "cursor" and cursor is not None and cursor != since:
                    app.locks.set_watermark(key, cursor, app.clock.now().timestamp())
                    since = cursor
        except PlatformError as exc:
            report.failed = exc
        if newest is not None and report.failed is None:
            # page paging: only after the whole feed was read (pages may not be in time order)
            text = format_time(newest, m, m.time_formats[0] if m.time_formats else None)
            if text != newest_text:
                app.locks.set_watermark(key, text, app.clock.now().timestamp())
        if report.failed is not None:
            break
    return report


def job_runner(app: App, connector: Connector, max_pages: int) -> str:
    """The worker job's ``run``: one pull, one line."""
    return pull(app, connector, max_pages=max_pages).line()
