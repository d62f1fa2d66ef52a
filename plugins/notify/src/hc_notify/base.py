"""What every transport shares: the settings every section has, the failure a transport
raises to be retried, error texts that never carry a secret or personal data, and the JSON
body.

A transport's error text is stored with the delivery (``outbox failed`` shows it to staff),
so it names the receiver by scheme, host and path only: never a query string (a WeCom robot's
``key``), a password in a URL, a header or the body.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from hospital_complaints.plugin_api import ConfigError, Delivery, DeliveryRefused
from pydantic import BaseModel, ConfigDict, Field, field_validator

USER_AGENT = "hospital-complaints-notify/0.1"


class TransportError(Exception):
    """A temporary failure (receiver down, timeout, 5xx, broker nack): the dispatcher tries
    again later with backoff. Its text is safe to store and show."""


def safe_url(url: str) -> str:
    """``https://host:port/path`` of ``url``: no credentials, no query, no fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(invalid URL)"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in {"localhost", "::1"} or host.startswith("127.")


def split_list(value: Any) -> Any:
    """``"a, b"`` (an environment variable) -> ``["a", "b"]``; lists pass through."""
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return value


def parse_json_object(value: Any, where: str) -> Any:
    """A JSON object given as text (an environment variable), or the mapping itself."""
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"{where}: expected a JSON object such as "
                             '{"Authorization": "Bearer ..."}') from None
    return value


class TransportSettings(BaseModel):
    """Keys every transport section has."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    #: the notifier's id in the outbox (keep it stable: rows are stored under it)
    id: str = Field(default="", pattern=r"^$|^[a-z][a-z0-9_.:-]{0,62}$")
    #: event (or message) types to send; unset: every event, no messages
    event_types: frozenset[str] | None = None
    #: attempts before a dead letter (default HC_NOTIFY_MAX_ATTEMPTS)
    max_attempts: int | None = Field(default=None, ge=1, le=1000)
    #: seconds to wait for the receiver (connect, and each read)
    timeout_s: float = Field(default=10.0, gt=0, le=600)

    @field_validator("event_types", mode="before")
    @classmethod
    def _types(cls, v: Any) -> Any:
        v = split_list(v)
        return v or None


def secret_error(var: str, section: str, key: str, what: str, zh_what: str) -> ConfigError:
    """A configuration error about a secret, naming where it was set but never its value
    (raised as ConfigError straight out of the validator, so pydantic does not quote it)."""
    return ConfigError(f"{var} (or [plugins.{section}] {key}): {what} (value hidden)",
                       f"{var}（或 [plugins.{section}] {key}）：{zh_what}（不显示取值）")


def body_of(delivery: Delivery) -> bytes:
    """The JSON body the machine transports send (webhook, AMQP, NATS): ``delivery.as_json()``
    as compact UTF-8."""
    return json.dumps(delivery.as_json(), ensure_ascii=False, separators=(",", ":"),
                      default=str).encode("utf-8")


def http_outcome(status: int, where: str) -> None:
    """Classify an HTTP answer: 2xx returns (delivered); 408 and 429 and 5xx raise
    :class:`TransportError` (retry); any other answer raises ``DeliveryRefused`` (a 4xx, or a
    redirect, which is never followed: it would send the body somewhere unconfigured)."""
    if 200 <= status < 300:
        return
    if status in (408, 429) or status >= 500:
        raise TransportError(f"{where} answered HTTP {status}; will retry "
                             f"(接收方返回 HTTP {status}，稍后重试)")
    raise DeliveryRefused(f"{where} refused the delivery with HTTP {status} "
                          f"(接收方以 HTTP {status} 拒绝)")


_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def plain(text: str) -> str:
    """Outside text for plain-text output: control and bidi-override characters removed."""
    return _UNSAFE.sub("", text)


