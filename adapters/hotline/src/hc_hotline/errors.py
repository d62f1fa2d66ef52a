"""Errors of the connector, in Chinese and English, naming the field and what is allowed.

Values are quoted only when they cannot be personal data: codes, times, numbers. A caller's
name or phone is masked, and free text (a title, the content) is described by its length,
never quoted.
"""

from __future__ import annotations

import re
from typing import Any

from hospital_complaints.plugin_api import ConfigError, InvalidInput, mask_value

#: our field names whose values identify a person
PERSONAL = {"caller_name": "name", "caller_phone": "phone"}
#: our field names holding free text (may hold anything: never quoted)
FREE_TEXT = frozenset({"title", "content", "demands", "note", "text", "reason"})

_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def plain(text: str, limit: int = 200) -> str:
    """Outside text (a platform's message) for a log line: control and bidi-override
    characters removed, cut at ``limit`` characters."""
    text = _UNSAFE.sub("", text).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(field: str, value: Any) -> str:
    """``value`` as an error message may show it (masked or described when personal)."""
    if field in PERSONAL:
        return repr(mask_value(PERSONAL[field], str(value)))  # type: ignore[arg-type]
    if field in FREE_TEXT:
        return f"(text of {len(str(value))} characters, not shown)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class RecordError(Exception):
    """One record of the platform (a pulled item, an imported row) that cannot be used.

    :ivar field: our field name (``accepted_at``), and ``platform_field`` its platform name.
    """

    def __init__(self, field: str, platform_field: str, en: str, zh: str) -> None:
        self.field = field
        self.platform_field = platform_field
        self.en = f"{platform_field} ({field}): {en}"
        self.zh = f"{platform_field}（{field}）：{zh}"
        super().__init__(f"{self.en}\n{self.zh}")


class PlatformError(Exception):
    """The platform could not be reached or refused a request.

    ``temporary``: worth trying again (timeout, connection refused, HTTP 408/429/5xx, a code
    listed in ``envelope.retry_values``). Otherwise it refused (HTTP 4xx, an error code):
    sending the same request again cannot help. The text never holds the body, a header or a
    secret."""

    def __init__(self, en: str, zh: str, *, temporary: bool, status: int | None = None) -> None:
        self.en = en
        self.zh = zh
        self.temporary = temporary
        self.status = status
        super().__init__(f"{en} ({zh})")


def mapping_error(where: str, key: str, en: str, zh: str) -> ConfigError:
    """A mapping file's problem, naming the file and the key."""
    return ConfigError(f"hotline mapping {where}: {key}: {en}",
                       f"热线对接映射 {where}：{key}：{zh}")


def invalid(what: str, field: str, value: Any, allowed: str, zh: str) -> InvalidInput:
    from hospital_complaints.plugin_api import FieldProblem

    return InvalidInput(what, [FieldProblem(field, value, allowed)], [f"  - {field}：{zh}"])
