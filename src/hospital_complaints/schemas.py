"""JSON Schema of the models that cross system boundaries (intake, commands, events).

``schemas/*.schema.json`` in the repository are generated from these models;
``hospital-complaints schemas --out schemas`` regenerates them, and a test fails when they
are stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .domain.commands import ALL_COMMANDS
from .domain.complaint import ComplaintDraft
from .domain.events import Event
from .domain.imaging import EquipmentFault, ExamEvent, RosterShift

BOUNDARY_MODELS: dict[str, type[BaseModel]] = {
    "complaint-draft": ComplaintDraft,
    "event": Event,
    "exam-event": ExamEvent,
    "equipment-fault": EquipmentFault,
    "roster-shift": RosterShift,
    **{f"command-{c.name.replace('_', '-')}": c for c in ALL_COMMANDS},
}


def json_schemas() -> dict[str, dict[str, Any]]:
    return {name: model.model_json_schema() for name, model in BOUNDARY_MODELS.items()}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = out / f"{name}.schema.json"
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
