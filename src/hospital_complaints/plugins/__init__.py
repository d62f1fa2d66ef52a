"""The plugin system: hook specifications, the typed plugin manager, built-in plugins.

A plugin module marks its functions with :data:`hookimpl` and is registered under the
entry-point group ``hospital_complaints``; see ``docs/hooks.md``.
"""

from __future__ import annotations

import pluggy

PROJECT = "hospital_complaints"
ENTRY_POINT_GROUP = "hospital_complaints"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["ENTRY_POINT_GROUP", "PROJECT", "hookimpl", "hookspec"]
