"""Hotline platform connectors for hospital-complaints (热线平台工单对接): docs/hotline.md."""

from typing import TYPE_CHECKING

from hospital_complaints.plugin_api import lazy_exports

if TYPE_CHECKING:
    from .mapping import EXAMPLE, Mapping, load_mapping

#: public name -> (module, attribute): imported on first use, so that loading the plugin
#: (the command line's start) does not import the whole adapter
_WHERE: dict[str, tuple[str, str]] = {
    "EXAMPLE": (".mapping", "EXAMPLE"),
    "Mapping": (".mapping", "Mapping"),
    "load_mapping": (".mapping", "load_mapping"),
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())


__all__ = ["EXAMPLE", "Mapping", "load_mapping"]
