"""The adapter's settings section (``[plugins.hl7v2]`` in the settings file, or
``HC_HL7_EXAM_FILES`` / ``HC_HL7_PROFILES``), declared through ``hc_register_settings`` and
read with ``app.plugin_config("hl7v2")``. Apart from :mod:`~hc_hl7v2.source`, so that
declaring and checking the section (every command's start) does not import the message
parser. The core's one settings loader reads the variables; this module never touches the
environment."""

from __future__ import annotations

from typing import Any

from hospital_complaints.plugin_api import PluginSettings
from pydantic import BaseModel, ConfigDict

FILES_VAR = "HC_HL7_EXAM_FILES"
PROFILES_VAR = "HC_HL7_PROFILES"


class Hl7Settings(BaseModel):
    """The adapter's settings section (``[plugins.hl7v2]`` in the settings file):
    ``exam_files``, HL7 v2 files (paths or glob patterns, separated by the OS path
    separator) offered as the exam source ``hl7v2:files`` (``HC_HL7_EXAM_FILES``);
    ``profiles``, the sender profile file (TOML, ``docs/hl7v2.md``) the listener, ``hl7
    import``, ``hl7 replay``, ``hl7 inspect`` and the exam source read messages with
    (``HC_HL7_PROFILES``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exam_files: str | None = None
    profiles: str | None = None


DECLARATION = PluginSettings(id="hl7v2", model=Hl7Settings,
                             env={"exam_files": FILES_VAR, "profiles": PROFILES_VAR},
                             description="HL7 v2 adapter: sender profiles, files offered as "
                                         "an exam source")


def settings_of(app: Any) -> Hl7Settings:
    """The adapter's settings of ``app``."""
    config = app.plugin_config(DECLARATION.id)
    return config if isinstance(config, Hl7Settings) else Hl7Settings.model_validate(config)
