"""``hl7 import``: files -> messages -> the sink, in batches, with a progress bar."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hospital_complaints.plugin_api import paused_gc, progress_bar
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

from .extract import ExtractOptions
from .receive import prepare, store
from .sink import Disposition, Incoming, MessageSink
from .tokenise import split_batch


@dataclass
class ImportSummary:
    """What an import did. Every message is stored; ``no_events`` says why a usable message
    gave no exam event and ``warnings`` what was tolerated, both grouped by reason in
    :meth:`render` (texts that never quote the message)."""

    messages: int = 0
    exam_events: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)
    sink_failed: int = 0
    no_events: list[tuple[str, str]] = field(default_factory=list)  # (where, why)
    warnings: Counter[str] = field(default_factory=Counter)  # reason -> messages
    first_warning: dict[str, str] = field(default_factory=dict)  # reason -> where

    def render(self) -> str:
        lines = [f"messages: {self.messages}  exam events: {self.exam_events}  "
                 f"applied: {self.applied}  duplicates: {self.duplicates}  "
                 f"rejected: {len(self.rejected)}  without exam event: {len(self.no_events)}"]
        if self.sink_failed:
            lines.append(f"NOT STORED (database error): {self.sink_failed}")
        for label, items in (("rejected", self.rejected), ("no exam event", self.no_events)):
            reasons = Counter(reason for _, reason in items)
            for reason, n in reasons.most_common(20):
                first = next(w for w, r in items if r == reason)
                lines.append(f"  {label} x{n}: {reason} (first at {first})")
        for reason, n in self.warnings.most_common(20):
            lines.append(f"  warning x{n}: {reason} (first at {self.first_warning[reason]})")
        return "\n".join(lines)


def _reason(text: str) -> str:
    """A warning without what differs from message to message (the length of a value), so
    that warnings group by reason."""
    return _DESCRIBED.sub("a value", text)


_DESCRIBED = re.compile(r"an? (?:empty )?value(?: of [0-9,]+ \w+ \([^)]*\))?")


def import_files(files: Sequence[Path], sink: MessageSink, opts: ExtractOptions, *,
                 batch_size: int = 1000, progress: bool = False) -> ImportSummary:
    """Every message of ``files`` (single messages, several, or FHS/BHS batches)."""
    chunks: list[tuple[str, bytes]] = []
    for path in files:
        data = path.read_bytes()
        chunks.extend((f"{path.name}@{offset}", raw) for offset, raw in split_batch(data))
    return import_messages(chunks, sink, opts, batch_size=batch_size, progress=progress)


def import_messages(chunks: Sequence[tuple[str, bytes]], sink: MessageSink,
                    opts: ExtractOptions, *, batch_size: int = 1000,
                    progress: bool = False) -> ImportSummary:
    """Extract and store ``(where, message bytes)`` in batches of ``batch_size``, each batch
    one transaction of the sink (the receiving path of the listener, without answers)."""
    summary = ImportSummary()
    # drawn by this thread after each batch, without a refresh thread (a thread waking up
    # now and then slows every release of the GIL: see progress_bar)
    with progress_bar(TextColumn("importing HL7"), BarColumn(), MofNCompleteColumn(),
                      disable=not progress, transient=True) as bar:
        task = bar.add_task("import", total=len(chunks))
        for i in range(0, len(chunks), batch_size):
            part = list(chunks[i:i + batch_size])
            with paused_gc():  # a batch's objects live until its commit: not walked
                # keep only what the sink and the summary need: holding whole messages
                # slows the collector
                incoming = []
                notes: list[tuple[str | None, tuple[str, ...]]] = []
                for _, raw in part:
                    p = prepare(raw, "file", opts)
                    incoming.append(p.incoming)
                    x = p.extraction
                    notes.append((x.note, x.warnings) if x is not None else (None, ()))
                result = store(sink, incoming)
            _tally(summary, part, incoming, result, notes)
            bar.advance(task, len(part))
    return summary


def _tally(s: ImportSummary, part: list[tuple[str, bytes]], incoming: list[Incoming],
           result: list[Disposition] | None,
           notes: list[tuple[str | None, tuple[str, ...]]]) -> None:
    s.messages += len(part)
    if result is None:
        s.sink_failed += len(part)
        return
    for (where, _), item, d, (note, warnings) in zip(part, incoming, result, notes,
                                                     strict=True):
        if d is Disposition.applied:
            s.applied += 1
            s.exam_events += len(item.events)
        elif d is Disposition.duplicate:
            s.duplicates += 1
            continue  # said when it was first received
        else:
            s.rejected.append((where, item.error or "rejected"))
            continue
        if note is not None:
            s.no_events.append((where, note))
        for text in warnings:
            reason = _reason(text)
            s.warnings[reason] += 1
            s.first_warning.setdefault(reason, where)
