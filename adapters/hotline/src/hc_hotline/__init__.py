"""Hotline platform connectors for hospital-complaints (热线平台工单对接): docs/hotline.md."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .mapping import EXAMPLE, Mapping, load_mapping

#: public name -> (module, attribute): imported on first use, so that loading the plugin
#: (the command line's start) does not import the whole adapter
_WHERE: dict[str, tuple[str, str]] = {
    "EXAMPLE": (".mapping", "EXAMPLE"),
    "Mapping": (".mapping", "Mapping"),
    "load_mapping": (".mapping", "load_mapping"),
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

__all__ = ["EXAMPLE", "Mapping", "load_mapping"]
