"""The service layer: the facade a host system calls, and the read models it returns."""

from .service import ComplaintService, build_service
from .views import CaseSummary, masked_event, summarize

__all__ = ["CaseSummary", "ComplaintService", "build_service", "masked_event", "summarize"]
