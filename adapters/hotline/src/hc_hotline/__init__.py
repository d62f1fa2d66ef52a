"""Hotline platform connectors for hospital-complaints (热线平台工单对接): docs/hotline.md."""

from .mapping import EXAMPLE, Mapping, load_mapping

__all__ = ["EXAMPLE", "Mapping", "load_mapping"]
