"""An SMS gateway's HTTP API, described by the site instead of coded per vendor: the URL, the
method, static headers, a body template and what counts as sent.

For each phone (the recipient's for a message such as a survey invitation, the configured
``to`` numbers for events) the ``sms`` part of the zh/en templates is rendered as ``text``,
then the site's body template (``body``) is rendered with ``phone``, ``text``, ``key`` (the
idempotency key: the event id, with ``-N`` appended when several phones get it), ``id``,
``type`` and ``reference``. Every value is escaped for the body's format: inside a JSON string
for ``json``, URL-encoded for ``form``. The body template is the site's own configuration,
never outside text.

Sent means: the status is in ``success_status`` (default any 2xx) and, when
``success_field`` is set, the JSON answer's field holds one of ``success_values``. A value in
``refuse_values`` is a refusal (a dead letter at once); another value, 408, 429, 5xx or no
answer is retried. Phone numbers and the gateway's answer text never appear in errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

import jinja2
from hospital_complaints.plugin_api import Delivery, DeliveryRefused
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .base import TransportError, http_outcome, plain, safe_url
from .http import HttpSender
from .settings import SmsSettings
from .templates import Templates, normalise_language

CONTENT_TYPES = {"json": "application/json; charset=utf-8",
                 "form": "application/x-www-form-urlencoded; charset=utf-8",
                 "text": "text/plain; charset=utf-8"}


def _json_string(value: Any) -> Any:
    return json.dumps(str(value), ensure_ascii=False)[1:-1]


def _form(value: Any) -> Any:
    return quote_plus(str(value))


def _text(value: Any) -> Any:
    return plain(str(value))


FINALIZE: dict[str, Callable[[Any], Any]] = {"json": _json_string, "form": _form,
                                               "text": _text}


def field_at(data: Any, path: str) -> Any:
    """``Response.SendStatusSet.0.Code`` of a JSON answer (None when absent)."""
    for step in path.split("."):
        if isinstance(data, list) and step.isdigit() and int(step) < len(data):
            data = data[int(step)]
        elif isinstance(data, dict):
            data = data.get(step)
        else:
            return None
    return data


class SmsNotifier:
    def __init__(self, settings: SmsSettings) -> None:
        assert settings.url is not None
        self.settings = settings
        self.id = settings.id
        self._url = settings.url.get_secret_value()
        self.where = safe_url(self._url)
        self.description = f"SMS gateway at {self.where}"
        self.event_types = settings.event_types
        self.max_attempts = settings.max_attempts
        self.templates = Templates(settings.template_dir)
        env = ImmutableSandboxedEnvironment(autoescape=False, undefined=jinja2.StrictUndefined,
                                            finalize=FINALIZE[settings.body_format])
        self.body = env.from_string(settings.body)  # checked with the settings
        self._headers = {k: v.get_secret_value() for k, v in settings.headers.items()}
        self._headers.setdefault("Content-Type", CONTENT_TYPES[settings.body_format])
        self.http = HttpSender(timeout_s=settings.timeout_s, ca_bundle=settings.ca_bundle)

    def phones(self, delivery: Delivery) -> list[str]:
        if delivery.recipient is not None:
            if not delivery.recipient.phone:
                raise DeliveryRefused(f"{delivery.type} {delivery.id}: the recipient has no "
                                      "phone number 收件人没有手机号")
            return [delivery.recipient.phone]
        if not self.settings.to:
            raise DeliveryRefused("no phone configured (HC_NOTIFY_SMS_TO) 未配置接收手机号")
        return [p.get_secret_value() for p in self.settings.to]

    def text(self, delivery: Delivery) -> str:
        if delivery.recipient is not None:
            return self.templates.render_part(
                "sms", delivery, normalise_language(delivery.recipient.language))
        return " ".join(self.templates.render_part("sms", delivery, lang)
                        for lang in self.settings.languages)

    def request_body(self, delivery: Delivery, phone: str, key: str, text: str) -> bytes:
        try:
            return self.body.render(phone=phone, text=text, key=key, id=delivery.id,
                                    type=delivery.type, reference=delivery.subject
                                    ).encode("utf-8")
        except jinja2.TemplateError as exc:
            raise DeliveryRefused(f"HC_NOTIFY_SMS_BODY cannot be rendered "
                                  f"({type(exc).__name__}) 短信请求体模板无法渲染") from None

    def deliver(self, delivery: Delivery) -> None:
        phones = self.phones(delivery)
        text = self.text(delivery)
        for i, phone in enumerate(phones):
            key = delivery.id if len(phones) == 1 else f"{delivery.id}-{i + 1}"
            self._send(self.request_body(delivery, phone, key, text), key, i + 1, len(phones))

    def _send(self, body: bytes, key: str, n: int, of: int) -> None:
        s = self.settings
        url, data = self._url, body
        if s.method == "GET":
            url = f"{url}{'&' if '?' in url else '?'}{body.decode('utf-8')}"
            data = b""
        headers = dict(self._headers)
        headers["Idempotency-Key"] = key
        answer = self.http.send(s.method, url, data, headers)
        which = f" (phone {n} of {of})" if of > 1 else ""
        if s.success_status:
            if answer.status not in s.success_status:
                http_outcome(answer.status if answer.status >= 300 else 500,
                             self.where + which)
        else:
            http_outcome(answer.status, self.where + which)
        if s.success_field is None:
            return
        try:
            value = field_at(json.loads(answer.body), s.success_field)
        except ValueError:
            raise TransportError(f"{self.where}{which} answered without JSON; will retry "
                                 "短信网关返回内容无法识别") from None
        found = str(value)
        shown = found[:60]
        if found in s.success_values:
            return
        if found in s.refuse_values:
            raise DeliveryRefused(f"{self.where}{which} refused the message "
                                  f"({s.success_field}={shown}) 短信网关拒绝发送")
        raise TransportError(f"{self.where}{which} did not send it ({s.success_field}="
                             f"{shown}); will retry 短信网关未发送，稍后重试")

    def close(self) -> None:
        self.http.close()
