"""The SQL imaging repository: the parts put together."""

from __future__ import annotations

from .analytics import ImagingAnalytics
from .bulk import ImagingBulk
from .lookups import ImagingLookups


class ImagingRepository(ImagingBulk, ImagingLookups, ImagingAnalytics):
    """Exams, faults and roster shifts stored beside the complaints of one :class:`SqlStore`
    (:class:`ImagingBulk` is :class:`~.writes.ImagingWrites` plus the bulk file loads).

    >>> repo = ImagingRepository(store)                       # doctest: +SKIP
    >>> repo.add_exam_events(source.read_exam_events())       # doctest: +SKIP
    >>> repo.timeline("CT20261116-0042")                      # doctest: +SKIP
    """
