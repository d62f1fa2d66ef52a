"""A connector's mapping file: how one hotline platform speaks (docs/hotline.md).

No national wire format exists for 12345 / 12320 work orders: every province's platform has
its own field names, status codes, answer envelope, signature and paging. A mapping file
(TOML or JSON) says all of that as data, so a site connects its platform without code.
``examples/qingchuan-12345.toml`` is a complete example for a fictional province.

:func:`load_mapping` checks a file completely and reports every problem with the key that
holds it (``push.reply.fields.handleResult``) and what is allowed, in Chinese and English.
"""

from __future__ import annotations

import json
import re
import string
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hospital_complaints.plugin_api import ConfigError, taxonomy
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import mapping_error

EXAMPLE = Path(__file__).resolve().parent / "examples" / "qingchuan-12345.toml"

#: what a platform status code can mean here
MEANINGS = ("dispatched", "signed", "returned", "replied", "called_back", "redo",
            "extension_decided", "reroute_decided", "dispute_decided", "closed")
#: request kinds a category code maps to (``help``, 求助, is kept as ``consultation`` until
#: the core has a kind of its own for it: docs/hotline.md)
KINDS = ("complaint", "consultation", "help", "suggestion", "report", "praise")

#: the push endpoints, by the event that triggers them
PUSH_EVENTS = {"sign": "work_order_signed", "return": "work_order_returned",
               "extension": "extension_requested", "reroute": "reroute_requested",
               "dispute": "dispatch_disputed", "reply": "work_order_replied"}
_COMMON_SOURCES = ("ticket", "request_id", "at", "actor", "reference", "platform")
#: what each push may send (besides the common sources and ``=constants``)
PUSH_SOURCES: dict[str, tuple[str, ...]] = {
    "sign": ("note", "due", "time_limit_class"),
    "return": ("reason_code", "reason"),
    "extension": ("days", "reason", "consent"),
    "reroute": ("target", "reason"),
    "dispute": ("reason",),
    "reply": ("text", "method", "resolution", "outcome", "outcome_reason"),
}
#: columns the reply export can write
REPLY_COLUMNS = ("ticket", "reference", "replied_at", "text", "method", "resolution",
                 "outcome", "unit", "operator")
#: fields of a work order the intake needs; the rest are optional
ORDER_FIELDS = ("ticket", "accepted_at", "status", "updated_at", "caller_name", "caller_phone",
                "consent", "category", "title", "content", "demands", "accession_number",
                "due", "time_limit_class")
RESULT_FIELDS = ("result_time", "satisfaction", "resolved", "approved", "granted_days", "note")
SIGN_PLACEHOLDERS = frozenset({"app_id", "timestamp", "nonce", "method", "path", "query",
                               "body_sha256"})

_ID = r"^[a-z][a-z0-9-]{1,62}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Title(_Strict):
    zh: str
    en: str


class Http(_Strict):
    base_url: str
    timeout_s: float = Field(default=10.0, gt=0, le=300)

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("an http:// or https:// URL, e.g. https://12345.example/api")
        return v.rstrip("/")


class Auth(_Strict):
    #: kept exactly: a token's prefix ends with a space, a signed string may end with \n
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    scheme: Literal["none", "token", "basic", "hmac"] = "none"
    #: token: the header and what precedes the token (``Bearer ``)
    header: str = "Authorization"
    prefix: str = ""
    #: basic: the user name (the password is the connector's secret)
    username: str | None = None
    #: hmac
    app_id: str | None = None
    app_id_header: str | None = None
    timestamp_header: str = "X-Timestamp"
    timestamp_unit: Literal["s", "ms"] = "s"
    nonce_header: str | None = "X-Nonce"
    signature_header: str = "X-Signature"
    string_to_sign: str = "{app_id}\n{timestamp}\n{nonce}\n{method}\n{path}\n{body_sha256}"
    digest: Literal["sha256", "sha512"] = "sha256"
    encoding: Literal["hex", "base64"] = "hex"

    @field_validator("string_to_sign")
    @classmethod
    def _placeholders(cls, v: str) -> str:
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(v) if f is not None}
        except ValueError as exc:
            raise ValueError(f"not a valid template ({exc})") from None
        unknown = sorted(names - SIGN_PLACEHOLDERS)
        if unknown:
            raise ValueError(f"unknown placeholder {{{unknown[0]}}}; allowed: "
                             + " ".join(f"{{{n}}}" for n in sorted(SIGN_PLACEHOLDERS)))
        return v

    @model_validator(mode="after")
    def _complete(self) -> Auth:
        if self.scheme == "basic" and not self.username:
            raise ValueError("scheme basic needs username")
        if self.scheme == "hmac" and "{app_id}" in self.string_to_sign and not self.app_id:
            raise ValueError("string_to_sign uses {app_id}: set app_id")
        return self


class Envelope(_Strict):
    """The platform's answer: where success, message and data are."""

    success_field: str
    success_values: tuple[str, ...]
    message_field: str | None = None
    #: where the data is; unset: the whole answer
    data_field: str | None = None
    #: codes meaning "already received this request id" (a repeat: counts as delivered)
    duplicate_values: tuple[str, ...] = ()
    #: codes meaning "try again later"
    retry_values: tuple[str, ...] = ()

    @field_validator("success_values", "duplicate_values", "retry_values", mode="before")
    @classmethod
    def _codes(cls, v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            return tuple(code_text(x) for x in v)
        return v


class RequestShape(_Strict):
    """What we send: where the fields go, where the request id (idempotency key) goes."""

    #: the fields go inside this key; unset: at the top level
    wrap_field: str | None = None
    request_id_field: str | None = None
    request_id_header: str | None = None
    constants: dict[str, str | int | bool] = Field(default_factory=dict)
    time_format: str = "%Y-%m-%d %H:%M:%S"


class Feed(_Strict):
    """A list the connector pulls (new work orders, or results), page by page."""

    method: Literal["GET", "POST"] = "GET"
    path: str
    params: dict[str, str | int | bool] = Field(default_factory=dict)
    #: the parameter that carries the stored watermark (a time, or a cursor)
    since_param: str | None = None
    paging: Literal["page", "cursor", "none"] = "page"
    page_param: str = "pageNo"
    size_param: str | None = "pageSize"
    page_size: int = Field(default=50, ge=1, le=1000)
    first_page: int = Field(default=1, ge=0)
    #: where the list is inside the data; unset: the data is the list
    items_field: str | None = None
    total_field: str | None = None
    cursor_param: str | None = None
    next_cursor_field: str | None = None
    #: page paging: the record's field whose newest value is the next watermark
    watermark_field: str | None = None

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("a path starting with /, e.g. /workorders")
        return v

    @model_validator(mode="after")
    def _complete(self) -> Feed:
        if self.paging == "cursor" and not (self.cursor_param and self.next_cursor_field):
            raise ValueError("paging cursor needs cursor_param and next_cursor_field")
        if self.paging == "page" and self.since_param and not self.watermark_field:
            raise ValueError("page paging with since_param needs watermark_field (the "
                             "record's time that becomes the next watermark)")
        return self


class Fields(_Strict):
    """The platform's field names (``a.b`` reaches into nested objects)."""

    ticket: str
    accepted_at: str
    status: str | None = None
    updated_at: str | None = None
    caller_name: str | None = None
    caller_phone: str | None = None
    consent: str | None = None
    category: str | None = None
    title: str | None = None
    content: str | None = None
    demands: str | None = None
    accession_number: str | None = None
    due: str | None = None
    time_limit_class: str | None = None
    result_time: str | None = None
    satisfaction: str | None = None
    resolved: str | None = None
    approved: str | None = None
    granted_days: str | None = None
    note: str | None = None


def _enum_values(enum: Any) -> tuple[str, ...]:
    return tuple(str(m.value) for m in enum)


class Codes(_Strict):
    """Platform code (or label) = our value. Pushes use them backwards (our value -> the
    first platform code listed for it)."""

    category: dict[str, Literal["complaint", "consultation", "help", "suggestion", "report",
                                "praise"]] = Field(default_factory=dict)
    status: dict[str, Literal["dispatched", "signed", "returned", "replied", "called_back",
                              "redo", "extension_decided", "reroute_decided",
                              "dispute_decided", "closed"]] = Field(default_factory=dict)
    satisfaction: dict[str, taxonomy.CallbackSatisfaction] = Field(default_factory=dict)
    resolved: dict[str, bool] = Field(default_factory=dict)
    approved: dict[str, bool] = Field(default_factory=dict)
    consent: dict[str, bool] = Field(default_factory=dict)
    return_reason: dict[str, taxonomy.ReturnReason] = Field(default_factory=dict)
    resolution: dict[str, taxonomy.Resolution] = Field(default_factory=dict)
    method: dict[str, taxonomy.ContactMethod] = Field(default_factory=dict)

    def platform_code(self, table: str, ours: str) -> str | None:
        """The first platform code listed for our value ``ours`` in ``table``."""
        for code, value in getattr(self, table).items():
            if str(getattr(value, "value", value)) == ours:
                return str(code)
        return None


class Push(_Strict):
    method: Literal["POST", "PUT"] = "POST"
    #: may hold ``{ticket}``
    path: str
    #: platform field = source (``ticket``, ``at`` ...) or ``=constant``
    fields: dict[str, str]

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("a path starting with /, e.g. /workorders/{ticket}/sign")
        names = {f for _, f, _, _ in string.Formatter().parse(v) if f is not None}
        if names - {"ticket"}:
            raise ValueError(f"the only placeholder allowed is {{ticket}}, not "
                             f"{{{sorted(names - {'ticket'})[0]}}}")
        return v


class Pushes(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    sign: Push | None = None
    return_: Push | None = Field(default=None, alias="return")
    extension: Push | None = None
    reroute: Push | None = None
    dispute: Push | None = None
    reply: Push | None = None

    def get(self, kind: str) -> Push | None:
        found: Push | None = getattr(self, "return_" if kind == "return" else kind)
        return found


class FileLayout(_Strict):
    """The platform's exported work-order list (XLSX or CSV) and the reply sheet."""

    sheet: str | None = None
    header_row: int = Field(default=1, ge=1, le=100)
    time_format: str = "%Y-%m-%d %H:%M:%S"
    #: our field = the column's header
    columns: dict[str, str]
    reply_columns: dict[str, str] = Field(default_factory=dict)

    @field_validator("columns")
    @classmethod
    def _columns(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(ORDER_FIELDS))
        if unknown:
            raise ValueError(f"unknown field {unknown[0]!r}; allowed: {', '.join(ORDER_FIELDS)}")
        missing = [k for k in ("ticket", "accepted_at") if k not in v]
        if missing:
            raise ValueError(f"the column of {missing[0]!r} is needed")
        return v

    @field_validator("reply_columns")
    @classmethod
    def _reply(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(REPLY_COLUMNS))
        if unknown:
            raise ValueError(f"unknown column source {unknown[0]!r}; allowed: "
                             f"{', '.join(REPLY_COLUMNS)}")
        return v


class Mapping(_Strict):
    """One platform, completely (see the module's doc and examples/qingchuan-12345.toml)."""

    id: str = Field(pattern=_ID)
    platform: str = Field(min_length=1, max_length=40)
    title: Title
    timezone: str = "Asia/Shanghai"
    time_formats: tuple[str, ...] = ("%Y-%m-%d %H:%M:%S",)
    http: Http | None = None
    auth: Auth = Auth()
    envelope: Envelope | None = None
    request: RequestShape = RequestShape()
    orders: Feed | None = None
    results: Feed | None = None
    fields: Fields
    codes: Codes = Codes()
    push: Pushes = Pushes()
    file: FileLayout | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("an IANA time zone such as Asia/Shanghai") from None
        return v

    @model_validator(mode="after")
    def _complete(self) -> Mapping:
        online = [k for k in ("orders", "results") if getattr(self, k) is not None]
        online += [f"push.{k}" for k in PUSH_EVENTS if self.push.get(k) is not None]
        if online and (self.http is None or self.envelope is None):
            raise ValueError(f"{online[0]} needs the [http] and [envelope] tables")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def push_kinds(self) -> list[str]:
        return [k for k in PUSH_EVENTS if self.push.get(k) is not None]

    @property
    def online(self) -> bool:
        return self.http is not None


# -- loading and checking --------------------------------------------------------------------


def code_text(value: Any) -> str:
    """A code as text: ``true``/``false`` for booleans, ``3`` for 3.0."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_data(path: Path) -> dict[str, Any]:
    """The file's table (TOML or JSON), or :class:`ConfigError` naming the file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise mapping_error(str(path), "(file)", f"cannot read it ({exc.strerror})",
                            f"无法读取（{exc.strerror}）") from None
    except UnicodeDecodeError as exc:
        raise mapping_error(str(path), "(file)", f"not UTF-8 (byte {exc.start})",
                            f"不是 UTF-8 编码（第 {exc.start} 字节）") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise mapping_error(str(path), f"line {exc.lineno} column {exc.colno}",
                                f"not valid JSON ({exc.msg})",
                                f"JSON 格式错误（第 {exc.lineno} 行第 {exc.colno} 列）") from None
    elif path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise mapping_error(str(path), "(syntax)", f"not valid TOML ({exc})",
                                f"TOML 格式错误（{exc}）") from None
    else:
        raise mapping_error(str(path), "(file)", "a .toml or .json file",
                            "映射文件须为 .toml 或 .json")
    if not isinstance(data, dict):
        raise mapping_error(str(path), "(file)", "the file must hold a table (an object)",
                            "文件内容须为表（对象）")
    return data


_ZH_TYPES = {
    "missing": "缺少必填项", "extra_forbidden": "未知的键（请检查拼写）",
    "literal_error": "取值不在允许范围内", "enum": "取值不在允许范围内",
    "string_type": "须为字符串", "int_parsing": "须为整数", "int_type": "须为整数",
    "float_parsing": "须为数字", "bool_parsing": "须为 true 或 false",
    "bool_type": "须为 true 或 false", "dict_type": "须为表（对象）",
    "model_type": "须为表（对象）", "string_pattern_mismatch": "格式不符",
    "greater_than": "数值过小", "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大", "tuple_type": "须为列表", "list_type": "须为列表",
}


def _key(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if not str(p).startswith(("function-", "literal["))
             and p not in ("Push", "Feed")]
    return ".".join("return" if p == "return_" else p for p in parts) or "(top level)"


def from_data(data: dict[str, Any], where: str) -> Mapping:
    """A mapping from parsed data; every problem is listed in one :class:`ConfigError`."""
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as exc:
        en: list[str] = []
        zh: list[str] = []
        for err in exc.errors(include_url=False):
            key = _key(err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling)"
            en.append(f"  - {key}: {msg}")
            zh.append(f"  - {key}：{_ZH_TYPES.get(err['type'], '取值无效')}"
                      + (f"（{msg}）" if err["type"] in ("value_error", "literal_error",
                                                         "enum") else ""))
        raise ConfigError(f"hotline mapping {where} has {len(en)} problem(s):\n" + "\n".join(en),
                          f"热线对接映射 {where} 有 {len(zh)} 处错误：\n" + "\n".join(zh)) from None
    problems = _cross_checks(mapping)
    if problems:
        raise ConfigError(
            f"hotline mapping {where} has {len(problems)} problem(s):\n"
            + "\n".join(f"  - {k}: {e}" for k, e, _ in problems),
            f"热线对接映射 {where} 有 {len(problems)} 处错误：\n"
            + "\n".join(f"  - {k}：{z}" for k, _, z in problems))
    return mapping


def _cross_checks(m: Mapping) -> list[tuple[str, str, str]]:
    """What one table cannot check alone: push sources, codes the pushes need, the
    fields a feed or a sheet relies on."""
    out: list[tuple[str, str, str]] = []
    for kind in m.push_kinds:
        push = m.push.get(kind)
        assert push is not None
        allowed = (*_COMMON_SOURCES, *PUSH_SOURCES[kind])
        for name, source in push.fields.items():
            if source.startswith("="):
                continue
            if source not in allowed:
                out.append((f"push.{kind}.fields.{name}",
                            f"unknown source {source!r}; allowed: {', '.join(allowed)}, or "
                            "=text for a constant",
                            f"未知的取值来源 {source!r}；可用：{', '.join(allowed)}，"
                            "或 =文本 表示常量"))
        sources = set(push.fields.values())
        if kind == "return" and "reason_code" in sources:
            missing = [r for r in _enum_values(taxonomy.ReturnReason)
                       if m.codes.platform_code("return_reason", r) is None]
            if missing:
                out.append(("codes.return_reason",
                            f"no platform code for {', '.join(missing)}: every return reason "
                            "needs one",
                            f"以下退回理由没有平台代码：{', '.join(missing)}"))
        if kind == "reply" and "resolution" in sources:
            missing = [r for r in _enum_values(taxonomy.Resolution)
                       if m.codes.platform_code("resolution", r) is None]
            if missing:
                out.append(("codes.resolution",
                            f"no platform code for {', '.join(missing)}",
                            f"以下办理结果没有平台代码：{', '.join(missing)}"))
    if m.results is not None and m.fields.status is None:
        out.append(("fields.status", "the results feed needs the status field",
                    "拉取办理结果需要配置 status 字段"))
    feeds = [("orders", m.orders), ("results", m.results)]
    for name, feed in feeds:
        if feed is not None and feed.since_param and feed.paging == "page" \
                and feed.watermark_field is None:
            out.append((f"{name}.watermark_field", "needed with since_param",
                        "配置 since_param 时必填"))
    if m.results is not None and m.codes.status and not any(
            v in ("called_back", "redo") for v in m.codes.status.values()):
        out.append(("codes.status", "the results feed needs codes meaning called_back or redo",
                    "拉取办理结果需要表示 called_back 或 redo 的状态代码"))
    if m.fields.satisfaction is not None and not m.codes.satisfaction:
        out.append(("codes.satisfaction", "fields.satisfaction is set: list the platform's "
                    "satisfaction codes (满意 / 基本满意 / 不满意)",
                    "已配置满意度字段：请列出平台的满意度代码"))
    if m.file is not None and m.file.reply_columns and "ticket" not in m.file.reply_columns:
        out.append(("file.reply_columns.ticket", "the reply sheet needs the ticket column",
                    "答复表须包含工单编号列"))
    return out


def load_mapping(path: Path) -> Mapping:
    """Read and check one mapping file."""
    return from_data(read_data(path), str(path))


def mapping_files(paths: tuple[Path, ...]) -> list[Path]:
    """The mapping files among ``paths`` (files, or folders of ``*.toml`` / ``*.json``)."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += sorted(x for x in p.iterdir() if x.suffix.lower() in (".toml", ".json"))
        elif p.is_file():
            found.append(p)
        else:
            raise ConfigError(f"HC_HOTLINE_MAPPINGS: {p} is neither a file nor a folder",
                              f"HC_HOTLINE_MAPPINGS：{p} 不存在（既不是文件也不是文件夹）")
    return found


# -- reading values out of records -----------------------------------------------------------


_MISSING = object()


def pick(record: Any, path: str) -> Any:
    """``record["a"]["b"]`` for ``a.b``; ``None`` when absent."""
    value: Any = record
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


def parse_time(value: Any, m: Mapping, formats: tuple[str, ...] | None = None) -> datetime:
    """A platform time: ISO 8601 (an offset, or the mapping's zone), one of the mapping's
    ``time_formats``, epoch seconds or milliseconds, or a spreadsheet's datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=m.zone)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, m.zone)
    text = str(value).strip()
    if re.fullmatch(r"\d{10}(\d{3})?", text) and not _fits_format(text, m, formats):
        return parse_time(int(text), m)
    for fmt in formats or m.time_formats:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=m.zone)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(text) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=m.zone)


def _fits_format(text: str, m: Mapping, formats: tuple[str, ...] | None) -> bool:
    for fmt in formats or m.time_formats:
        try:
            datetime.strptime(text, fmt)
            return True
        except ValueError:
            continue
    return False


def format_time(at: datetime, m: Mapping, fmt: str | None = None) -> str:
    return at.astimezone(m.zone).strftime(fmt or m.request.time_format)
