"""The demo's exams fed as HL7 v2 messages, when the HL7 v2 adapter (``hc_hl7v2``) is
installed and its plugin loaded: rendered as a RIS sends them (OMI^O23, SIU^S14, ORU^R01)
and stored through the adapter's receiving path (its ``SqlSink``), so the exam rows come from
HL7. The core does not depend on the adapter: without it, :func:`feed_exams` returns ``None``
and the demo stores the exams directly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from ..correlation.records import ExamRecord
    from ..plugins.manager import HCPluginManager
    from ..storage.sql import SqlStore

#: the entry point of the HL7 v2 adapter's plugin
HL7_PLUGIN = "hl7v2"


@dataclass
class Hl7Feed:
    """What feeding the exams as HL7 did."""

    messages: int = 0
    exams: int = 0
    exam_events: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    not_stored: int = 0
    by_type: Counter[str] = field(default_factory=Counter)

    def render(self) -> str:
        """Two lines: what fed what, then the message types and what the sink did."""
        types = ", ".join(f"{n} {t}" for t, n in sorted(self.by_type.items()))
        return (f"HL7 v2 feed: {self.messages} HL7 messages fed {self.exams} exams\n"
                f"    ({types}; {self.exam_events} exam events, {self.applied} applied, "
                f"{self.duplicates} duplicates, {self.rejected} rejected)")


def feed_exams(store: SqlStore, exams: list[ExamRecord], plugins: HCPluginManager,
               tz: str) -> Hl7Feed | None:
    """Render ``exams`` as HL7 v2 and store them through the adapter's ``SqlSink`` (exam
    milestones in the same transactions). ``None`` when the adapter is not available (not
    installed, or disabled with ``HC_DISABLE_PLUGINS``). MSH-10 is fixed per message, so a
    second run of the demo on the same database finds only duplicates."""
    if not plugins.is_loaded(HL7_PLUGIN):
        return None
    try:
        from hc_hl7v2 import ExtractOptions, SqlSink
        from hc_hl7v2.backfill import import_messages
        from hc_hl7v2.render import ExamRenderer
    except ImportError:
        return None
    rendered = list(ExamRenderer(prefix="DEMO").feed(exams))
    sink = SqlSink(store, tz=tz)
    summary = import_messages([(f"demo message {i}", m.raw) for i, m in enumerate(rendered)],
                              sink, ExtractOptions(zone=ZoneInfo(tz)), batch_size=500)
    return Hl7Feed(messages=summary.messages, exams=len({e.accession_number for e in exams}),
                   exam_events=summary.exam_events, applied=summary.applied,
                   duplicates=summary.duplicates, rejected=len(summary.rejected),
                   not_stored=summary.sink_failed,
                   by_type=Counter(m.message_type for m in rendered))
