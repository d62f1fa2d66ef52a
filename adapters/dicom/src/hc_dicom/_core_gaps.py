"""TODO(core): what the adapter needs from the core that ``plugin_api`` does not offer yet.
Remove this module when the core has it (docs/dicom.md, "What the core needs").

``exams_by_accession``: the exam rows of many accession numbers in one read. The sync decides,
per study, whether a series time may fill an exam's start, so it reads the exam of every study
it sees; ``ImagingRepository.exam(accession)`` costs a read transaction each (about 1.4 ms on
SQLite: ``_read`` sets the analytics page cache every time), 14 s for 10,000 studies. Asked of
the core: ``ImagingRepository.exams(accessions: Iterable[str]) -> dict[str, ExamRecord]``.
Until then this reads the public repository's table through its attributes, and falls back to
one ``exam()`` call per accession if those attributes change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa


def exams_by_accession(repo: Any, accessions: Iterable[str]) -> dict[str, Any]:
    """``{accession: ExamRecord}`` for the accessions that have an exam row."""
    wanted = sorted({a for a in accessions if a})
    if not wanted:
        return {}
    batch = getattr(repo, "exams_by_accession", None)  # the core's, once it exists
    if callable(batch):
        return dict(batch(wanted))
    table = getattr(repo, "exams", None)
    record = getattr(repo, "_record", None)
    store = getattr(repo, "store", None)
    if not isinstance(table, sa.Table) or record is None or store is None:
        return {a: e for a in wanted if (e := repo.exam(a)) is not None}
    found: dict[str, Any] = {}
    with store.read() as conn:
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            for row in conn.execute(sa.select(table).where(
                    table.c.accession_number.in_(chunk))):
                exam = record(row._mapping)
                found[exam.accession_number] = exam
    return found
