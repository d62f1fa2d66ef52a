"""hospital-complaints-notify: the notification transports of hospital-complaints.

Six plugins, one entry point each, every one idle until its settings section is configured:

- ``notify_webhook``: JSON POSTed and signed per Standard Webhooks, with secret rotation;
- ``notify_email``: e-mail over SMTP with STARTTLS, zh/en text and HTML from templates;
- ``notify_amqp``: RabbitMQ with publisher confirms, persistent messages;
- ``notify_nats``: NATS JetStream, acknowledged by the stream, de-duplicated by message id;
- ``notify_wecom``: a WeCom (企业微信) group robot, markdown or text;
- ``notify_sms``: an SMS gateway's HTTP API described as a template.

Each sends ``delivery.id`` (the event id) as its idempotency key, returns only when the
receiver confirmed, raises ``DeliveryRefused`` when a retry cannot help and any other error
to be retried (docs/notify-transports.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hospital_complaints.plugin_api import lazy_exports

if TYPE_CHECKING:
    from .base import TransportError, safe_url
    from .signing import new_secret, sign

#: public name -> (module, attribute): imported on first use, so that loading a transport's
#: plugin module (the command line's start) does not import the transports' code
_WHERE: dict[str, tuple[str, str]] = {
    "TransportError": (".base", "TransportError"),
    "safe_url": (".base", "safe_url"),
    "new_secret": (".signing", "new_secret"),
    "sign": (".signing", "sign"),
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())



__all__ = ["TransportError", "new_secret", "safe_url", "sign"]
