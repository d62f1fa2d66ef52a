"""The core demo's exams, fed as HL7 v2 messages (``hc_demo_exam_feed``): rendered as a RIS
sends them (OMI^O23, SIU^S14, ORU^R01) and stored through the receiving path of ``hl7 import``
and the listener (:class:`SqlSink`), so the demo's exam rows come from HL7. MSH-10 is fixed per
message, so a second run on the same database finds only duplicates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from hospital_complaints.plugin_api import DemoFeed, ExamRecord, zone

from .backfill import import_messages
from .extract import ExtractOptions
from .render import ExamRenderer
from .sink import SqlSink


def feed_demo_exams(app: Any, exams: Sequence[ExamRecord]) -> DemoFeed | None:
    """Render ``exams`` as HL7 v2 and store them through the sink; ``None`` for an
    in-memory application (the sink needs a SQL store)."""
    if app is None or app.in_memory:
        return None
    rendered = list(ExamRenderer(prefix="DEMO").feed(list(exams)))
    sink = SqlSink(app.store, tz=app.settings.timezone)
    summary = import_messages([(f"demo message {i}", m.raw) for i, m in enumerate(rendered)],
                              sink, ExtractOptions(zone=zone(app.settings.timezone)),
                              batch_size=500)
    types = ", ".join(f"{n} {t}" for t, n in sorted(
        Counter(m.message_type for m in rendered).items()))
    accessions = len({e.accession_number for e in exams})
    return DemoFeed(
        lines=[f"HL7 v2 feed: {summary.messages} HL7 messages fed {accessions} exams",
               f"  ({types}; {summary.exam_events} exam events, {summary.applied} applied, "
               f"{summary.duplicates} duplicates, {len(summary.rejected)} rejected)"],
        stored_all=not summary.sink_failed and not summary.rejected)
