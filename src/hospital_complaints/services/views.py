"""The read models moved to :mod:`hospital_complaints.domain.views` (plugins use them, and
plugins sit below the services); this name stays for code written against release 0.1."""

from ..domain.views import PROTECTED, CaseSummary, masked_event, summarize

__all__ = ["PROTECTED", "CaseSummary", "masked_event", "summarize"]
