"""HL7 v2 files as an :class:`~hospital_complaints.domain.imaging.ExamSource`: a host reads
exam events from a RIS's message archive through the core's generic interface
(``plugins.exam_sources()``), without the MLLP listener or the message table.

Registered by the plugin when its settings name files (``HC_HL7_EXAM_FILES`` or
``[plugins.hl7v2] exam_files``; read with the sender profiles of ``HC_HL7_PROFILES``):
paths or glob patterns separated by the OS path separator
(``:`` on Linux), read each time the source is read.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from hospital_complaints.plugin_api import ConfigError, ExamEvent, zone

from .errors import Hl7InputError
from .extract import DEFAULT_OPTIONS, ExtractOptions, extract_bytes
from .profiles import Profiles, load
from .settings import FILES_VAR, settings_of
from .tokenise import split_batch

log = logging.getLogger(__name__)

SOURCE_ID = "hl7v2:files"


class Hl7FileSource:
    """Exam events of every usable message in HL7 v2 files (single messages, several one
    after another, or FHS/BHS batches), in file order.

    A message that cannot be used is skipped and listed in :attr:`skipped` as
    ``(file@byte-offset, reason)`` (the reason names the field, never a patient value);
    a file that cannot be read is a :class:`ConfigError` naming it.

    :param patterns: paths or glob patterns, or a callable giving them (read on each
        :meth:`read_exam_events`).
    """

    def __init__(self, patterns: Sequence[str | Path] | Callable[[], Sequence[str | Path]],
                 opts: ExtractOptions = DEFAULT_OPTIONS, id: str = SOURCE_ID) -> None:
        self.id = id
        self._patterns = patterns
        self.opts = opts
        self.skipped: list[tuple[str, str]] = []

    def files(self) -> list[Path]:
        """The files the patterns name now, sorted within each pattern, each once."""
        patterns = self._patterns() if callable(self._patterns) else self._patterns
        found: dict[Path, None] = {}
        for pattern in patterns:
            text = str(pattern)
            matches = sorted(glob.glob(text)) if glob.has_magic(text) else [text]
            if not matches:
                raise ConfigError(f"{FILES_VAR}: no file matches {text!r}",
                                  f"{FILES_VAR}：没有与 {text!r} 匹配的文件")
            for m in matches:
                found.setdefault(Path(m), None)
        return list(found)

    def read_exam_events(self) -> Iterator[ExamEvent]:
        self.skipped = []
        for path in self.files():
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ConfigError(f"cannot read HL7 file {path}: {exc.strerror}",
                                  f"无法读取 HL7 文件 {path}：{exc.strerror}") from None
            for offset, raw in split_batch(data):
                try:
                    extraction = extract_bytes(raw, self.opts)
                except Hl7InputError as exc:
                    self.skipped.append((f"{path.name}@{offset}", exc.reason))
                    continue
                yield from extraction.exam_events
        if self.skipped:
            log.warning("%s: %d unusable HL7 message(s) skipped", self.id, len(self.skipped))


def profiles_of(app: Any) -> Profiles | None:
    """The sender profiles the settings name (``HC_HL7_PROFILES``), loaded, or ``None``."""
    path = (settings_of(app).profiles or "").strip() if app is not None else ""
    return load(path) if path else None


def source_for(app: Any) -> Hl7FileSource | None:
    """The source the settings configure (``HC_HL7_EXAM_FILES``), or ``None`` when unset.
    Times sent without an offset are read in the application's zone (``HC_TIMEZONE``)."""
    if app is None:
        return None
    value = (settings_of(app).exam_files or "").strip()
    if not value:
        return None
    patterns = [p for p in value.split(os.pathsep) if p.strip()]
    return Hl7FileSource(patterns, opts=ExtractOptions(zone=zone(app.settings.timezone),
                                                       profiles=profiles_of(app)))
