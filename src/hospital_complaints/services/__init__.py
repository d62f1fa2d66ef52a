"""The service layer: the facade a host system calls, and the read models it returns."""

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .service import ComplaintService, build_service
    from .views import CaseSummary, masked_event, summarize

#: public name -> (module, attribute): imported on first use (a plugin that needs
#: ``services.access`` does not load the whole service layer)
_WHERE: dict[str, tuple[str, str]] = {
    "ComplaintService": (".service", "ComplaintService"),
    "build_service": (".service", "build_service"),
    "CaseSummary": (".views", "CaseSummary"),
    "masked_event": (".views", "masked_event"),
    "summarize": (".views", "summarize"),
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())


__all__ = ["CaseSummary", "ComplaintService", "build_service", "masked_event", "summarize"]
