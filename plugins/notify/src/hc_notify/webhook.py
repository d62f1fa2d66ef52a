"""Webhooks signed per the Standard Webhooks specification.

Each attempt POSTs ``delivery.as_json()`` with ``webhook-id`` (the event id: the receiver's
idempotency key, the same on every attempt), ``webhook-timestamp`` (this attempt's Unix time)
and ``webhook-signature`` (one ``v1,<base64 HMAC-SHA256>`` per configured secret). The answer
decides: 2xx delivered; 408, 429, 5xx, a timeout or no connection retried; any other answer
(a 4xx, a redirect) refused, which makes a dead letter at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from hospital_complaints.plugin_api import Delivery

from .base import body_of, http_outcome, safe_url
from .http import HttpSender
from .settings import WebhookSettings
from .signing import decode_secret, sign


class WebhookNotifier:
    """A notifier POSTing signed JSON to one URL."""

    def __init__(self, settings: WebhookSettings,
                 clock: Callable[[], float] = time.time) -> None:
        assert settings.url is not None
        self.settings = settings
        self.id = settings.id
        self.url = settings.url
        self.description = f"webhook to {safe_url(settings.url)} (Standard Webhooks signed)"
        self.event_types = settings.event_types
        self.max_attempts = settings.max_attempts
        self._keys = [decode_secret(s.get_secret_value()) for s in settings.secrets]
        self._headers = {k: v.get_secret_value() for k, v in settings.headers.items()}
        self._clock = clock
        self.http = HttpSender(timeout_s=settings.timeout_s, ca_bundle=settings.ca_bundle)

    def keys(self, now_s: float) -> list[bytes]:
        """The keys that sign now: all of them, or after ``rotation_ends`` the first only."""
        ends = self.settings.rotation_ends
        if ends is not None and datetime.fromtimestamp(now_s, UTC) >= ends:
            return self._keys[:1]
        return self._keys

    def deliver(self, delivery: Delivery) -> None:
        body = body_of(delivery)
        now = self._clock()
        headers = dict(self._headers)
        headers.update(sign(self.keys(now), delivery.id, int(now), body))
        headers["Content-Type"] = "application/json; charset=utf-8"
        answer = self.http.send("POST", self.url, body, headers)
        http_outcome(answer.status, safe_url(self.url))

    def close(self) -> None:
        self.http.close()
