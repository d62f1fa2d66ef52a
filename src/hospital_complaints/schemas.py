"""JSON Schema of the models that cross system boundaries (intake, commands, events).

``schemas/*.schema.json`` in the repository are generated from these models;
``hospital-complaints schemas --out schemas`` regenerates them, and a test fails when they
are stale.

``schemas/events/<type>.v<N>.schema.json`` are the stored payload schemas, one per event type
and version (:mod:`.domain.events.payloads`). Once released they never change: regenerating
refuses to overwrite one whose shape differs (only descriptions and titles may be updated),
and a test fails likewise. To change what an event records, add a version and an upcaster
(docs/events.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .domain.commands import ALL_COMMANDS
from .domain.complaint import ComplaintDraft
from .domain.events import Event
from .domain.events.registry import PAYLOADS
from .domain.imaging import EquipmentFault, ExamEvent, RosterShift
from .errors import HospitalComplaintsError

BOUNDARY_MODELS: dict[str, type[BaseModel]] = {
    "complaint-draft": ComplaintDraft,
    "event": Event,
    "exam-event": ExamEvent,
    "equipment-fault": EquipmentFault,
    "roster-shift": RosterShift,
    **{f"command-{c.name.replace('_', '-')}": c for c in ALL_COMMANDS},
}

#: the folder (under the schemas folder) of the stored event payload schemas
EVENTS_DIR = "events"
RELEASED_CHANGE = ("add a new version of the payload class and an upcaster from this one "
                   "instead of changing a released schema (docs/events.md)")


class ReleasedSchemaChanged(HospitalComplaintsError):
    """A payload class no longer matches the committed schema of its (type, version)."""


def json_schemas() -> dict[str, dict[str, Any]]:
    return {name: model.model_json_schema() for name, model in BOUNDARY_MODELS.items()}


def event_schemas() -> dict[str, dict[str, Any]]:
    """``acknowledged.v1`` -> the JSON Schema of that stored payload, for every registered
    (event type, version)."""
    out: dict[str, dict[str, Any]] = {}
    for event_type, version in PAYLOADS.versions():
        schema = PAYLOADS.get(event_type, version).model_json_schema()
        schema["$comment"] = (f"stored payload of event type {event_type}, schema version "
                              f"{version}; released schemas never change")
        out[f"{event_type}.v{version}"] = schema
    return out


def event_schema_file(out: Path, name: str) -> Path:
    return out / EVENTS_DIR / f"{name}.schema.json"


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def shape(schema: dict[str, Any]) -> Any:
    """What a stored payload may hold according to ``schema``: references inlined, and
    titles, descriptions and comments left out (changing those changes no stored data)."""
    defs = schema.get("$defs", {})

    def walk(node: Any, names: bool = False) -> Any:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        if not names and isinstance(node.get("$ref"), str):
            target = node["$ref"].removeprefix("#/$defs/")
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return {**walk(defs[target]), **walk(rest)}
        result = {}
        for key, value in node.items():
            if not names and key in {"title", "description", "$comment", "$defs"}:
                continue
            if not names and key in {"required", "enum"} and isinstance(value, list):
                result[key] = sorted(value, key=repr)  # the order is not what is stored
                continue
            result[key] = walk(value, names=not names and key in {"properties",
                                                                  "patternProperties"})
        return result

    return walk(schema)


def write_schemas(out: Path) -> list[Path]:
    """Write every schema. A stored payload schema already in ``out`` is rewritten only when
    its shape is unchanged (:class:`ReleasedSchemaChanged` otherwise); nothing is written
    then."""
    events = event_schemas()
    for name, schema in events.items():
        path = event_schema_file(out, name)
        if path.exists() and shape(json.loads(path.read_text(encoding="utf-8"))) != shape(schema):
            raise ReleasedSchemaChanged(
                f"the payload class of {name} no longer matches the released {path}: "
                f"{RELEASED_CHANGE}. Nothing was written",
                f"{name} 的事件载荷类与已发布的 {path} 不一致：请新增版本并编写升级函数"
                "（upcaster），不要修改已发布的结构。未写入任何文件",
            )
    out.mkdir(parents=True, exist_ok=True)
    (out / EVENTS_DIR).mkdir(exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = out / f"{name}.schema.json"
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    for name, schema in events.items():
        path = event_schema_file(out, name)
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
