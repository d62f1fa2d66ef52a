"""A WeCom (企业微信) group robot: ``POST`` to the robot's webhook address (its ``key`` in the
query) a ``markdown`` or ``text`` message rendered from the zh/en templates.

The robot answers HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}`` when it posted the message.
``errcode`` 45009 (more than 20 messages a minute) and -1 (busy) are retried; any other code
(an invalid key, a malformed message) is refused. The robot has no idempotency key: the
message shows the notification id on its last line, so people can recognise a repeat. The
address holds the robot's key, so it is never shown: errors and ``outbox status`` name only
the host and path.
"""

from __future__ import annotations

import json
from typing import Any

from hospital_complaints.plugin_api import Delivery, DeliveryRefused

from .base import TransportError, http_outcome, safe_url
from .http import HttpSender
from .settings import WecomSettings
from .templates import Templates

#: the robot's limits on one message's content, in UTF-8 bytes
LIMITS = {"markdown": 4096, "text": 2048}
RETRY_CODES = {-1, 45009}


def clip(text: str, limit: int) -> str:
    """At most ``limit`` UTF-8 bytes, cut on a character boundary, marked with an ellipsis."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    cut = raw[: limit - len("…".encode())].decode("utf-8", errors="ignore").rstrip("\\")
    return cut + "…"


class WecomNotifier:
    def __init__(self, settings: WecomSettings) -> None:
        assert settings.url is not None
        self.settings = settings
        self.id = settings.id
        self._url = settings.url.get_secret_value()
        self.where = safe_url(self._url)
        self.description = f"WeCom group robot at {self.where} ({settings.msgtype})"
        self.event_types = settings.event_types
        self.max_attempts = settings.max_attempts
        self.templates = Templates(settings.template_dir, case_url=settings.case_url)
        self.http = HttpSender(timeout_s=settings.timeout_s, ca_bundle=settings.ca_bundle)

    def message(self, delivery: Delivery) -> dict[str, Any]:
        kind = self.settings.msgtype
        part = "markdown" if kind == "markdown" else "text"
        rendered = self.templates.render(delivery, self.settings.languages, (part,))
        content = clip(rendered.markdown if kind == "markdown" else rendered.text, LIMITS[kind])
        body: dict[str, Any] = {"content": content}
        if kind == "text" and self.settings.mentioned_mobiles:
            body["mentioned_mobile_list"] = list(self.settings.mentioned_mobiles)
        return {"msgtype": kind, kind: body}

    def deliver(self, delivery: Delivery) -> None:
        payload = json.dumps(self.message(delivery), ensure_ascii=False).encode("utf-8")
        answer = self.http.send("POST", self._url, payload, {
            "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": delivery.id})
        http_outcome(answer.status, self.where)
        try:
            data = json.loads(answer.body)
            code = int(data.get("errcode", -1))
        except (ValueError, TypeError, AttributeError):
            raise TransportError(f"{self.where} answered without a WeCom result; will retry "
                                 "企业微信返回内容无法识别") from None
        if code == 0:
            return
        reason = str(data.get("errmsg", ""))[:80].split(",")[0]
        if code in RETRY_CODES:
            raise TransportError(f"WeCom robot busy or rate-limited (errcode {code}); will "
                                 f"retry 企业微信限流或繁忙（{code}）")
        raise DeliveryRefused(f"WeCom robot refused the message (errcode {code}: {reason}) "
                              f"企业微信拒绝（{code}）")

    def close(self) -> None:
        self.http.close()
