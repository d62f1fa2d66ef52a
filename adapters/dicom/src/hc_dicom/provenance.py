"""Which DICOM source gave each milestone the adapter wrote (``<prefix>dicom_milestones``).

The core's exam table keeps one ``source`` per exam, and the newer value of a milestone wins
whoever sent it. Until it keeps a source per milestone (docs/dicom.md, "What the core
needs"), the adapter records here, for every milestone it writes, the source and the instant
(``dicom:mpps``, ``dicom:series-pps``, ``dicom:series-time``, ``dicom:study-time``,
``dicom:worklist``), and uses it to decide:

* MPPS is the modality's own report: it is always written, and a fallback never replaces it;
* a fallback (series or study time) fills a start only where no other source gave one, or
  where the start is still the one a fallback wrote (a series that arrives later may be
  earlier);

and :func:`milestone_sources` tells the evidence pack where each time came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from .studies import SOURCE_LABELS
from .tables import tables


@dataclass(frozen=True, slots=True)
class Provenance:
    accession: str
    milestone: str
    source: str
    at: datetime

    @property
    def label(self) -> tuple[str, str]:
        """(zh, en) wording for the evidence pack, e.g. "start time from MPPS"."""
        return SOURCE_LABELS.get(self.source, (f"来源：{self.source}", f"from {self.source}"))


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def same_instant(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and b is not None and abs((a - b).total_seconds()) < 1


def read(conn: sa.Connection, store: Any,
         accessions: Iterable[str]) -> dict[tuple[str, str], Provenance]:
    """The provenance rows of ``accessions``, keyed by (accession, milestone)."""
    t = tables(store.prefix, store.schema).milestones
    wanted = sorted(set(accessions))
    found: dict[tuple[str, str], Provenance] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i:i + 500]
        for r in conn.execute(sa.select(t).where(t.c.accession.in_(chunk))):
            found[(r.accession, r.milestone)] = Provenance(
                r.accession, r.milestone, r.source, datetime.fromisoformat(r.at))
    return found


def write(conn: sa.Connection, store: Any, rows: Sequence[Provenance], now: datetime) -> None:
    """Upsert ``rows`` (one per accession and milestone), in the caller's transaction."""
    if not rows:
        return
    t = tables(store.prefix, store.schema).milestones
    latest: dict[tuple[str, str], Provenance] = {}
    for p in rows:
        latest[(p.accession, p.milestone)] = p
    by_milestone: dict[str, list[str]] = {}
    for accession, milestone in latest:
        by_milestone.setdefault(milestone, []).append(accession)
    for milestone, accs in by_milestone.items():
        for i in range(0, len(accs), 500):
            conn.execute(sa.delete(t).where(t.c.milestone == milestone,
                                            t.c.accession.in_(accs[i:i + 500])))
    stamp = iso(now)
    conn.execute(sa.insert(t), [
        {"accession": p.accession, "milestone": p.milestone, "source": p.source,
         "at": iso(p.at), "updated_at": stamp} for p in latest.values()])


def milestone_sources(store: Any, accession: str) -> dict[str, Provenance]:
    """Where each milestone of ``accession`` came from, for the milestones a DICOM source
    wrote: ``{"started": Provenance(source="dicom:mpps", ...), ...}``."""
    t = tables(store.prefix, store.schema).milestones
    with store.read() as conn:
        if not sa.inspect(conn).has_table(t.name, schema=store.schema):
            return {}
        rows = conn.execute(sa.select(t).where(t.c.accession == accession)).all()
    return {r.milestone: Provenance(r.accession, r.milestone, r.source,
                                    datetime.fromisoformat(r.at)) for r in rows}
