"""The service layer: the facade a host system calls, and the read models it returns."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    found = _WHERE.get(name)
    if found is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(found[0], __package__), found[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

__all__ = ["CaseSummary", "ComplaintService", "build_service", "masked_event", "summarize"]
