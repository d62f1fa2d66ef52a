"""Request bodies: read, size-limited, decoded and validated by the core's own models.

FastAPI would validate a body itself and answer with pydantic's raw errors, which quote the
values given (a phone number, a name). Bodies are therefore read here and validated with the
core's ``parse`` (every bad field named, personal values masked, English and Chinese), and
the OpenAPI document still describes them: :class:`InputSchemas` adds each model's JSON
Schema to the document's components as ``In_<Model>``.
"""

from __future__ import annotations

from typing import Any

from hospital_complaints.plugin_api import decode, load_json
from pydantic import BaseModel
from starlette.requests import Request

from .problems import Problem

JSON_TYPES = ("application/json",)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def json_body(request: Request) -> Any:
    """The request's JSON body as data (an empty body is ``{}``)."""
    kind = media_type(request)
    data = await request.body()
    if not data.strip():
        return {}
    if kind not in JSON_TYPES and not kind.endswith("+json"):
        raise Problem("unsupported-media-type",
                      f"the body must be JSON (Content-Type: application/json), not "
                      f"{kind[:60] or '(none given)'!r}",
                      f"请求体须为 JSON（Content-Type: application/json），收到的是 "
                      f"{kind[:60] or '（未提供）'!r}")
    return load_json(decode(data, "request body", "utf-8"), "request body")


class InputSchemas:
    """The JSON Schemas of request bodies, for the OpenAPI document."""

    PREFIX = "In_"

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def body(self, model: type[BaseModel] | None, *, required: bool = True,
             description: str | None = None) -> dict[str, Any]:
        """``openapi_extra`` for an operation whose JSON body is ``model`` (``None``: any
        JSON object)."""
        schema: dict[str, Any] = {"type": "object"} if model is None else self.ref(model)
        body: dict[str, Any] = {"required": required,
                                "content": {"application/json": {"schema": schema}}}
        if description:
            body["description"] = description
        return {"requestBody": body}

    def ref(self, model: type[BaseModel]) -> dict[str, Any]:
        name = self.PREFIX + model.__name__
        if name not in self.components:
            schema = model.model_json_schema(
                mode="validation", ref_template=f"#/components/schemas/{self.PREFIX}{{model}}")
            for sub, definition in schema.pop("$defs", {}).items():
                self.components.setdefault(self.PREFIX + sub, definition)
            self.components[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}


def bad_body_type(what: str, data: Any) -> Problem:
    kind = type(data).__name__ if not isinstance(data, list) else "list"
    return Problem("invalid-input", f"invalid {what}:\n  - (body): got a JSON {kind}; a JSON "
                   "object", f"  - 请求体须为 JSON 对象，收到的是 {kind}")
