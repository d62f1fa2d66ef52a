"""RabbitMQ (AMQP 0-9-1) with publisher confirms.

Each delivery is published persistent (``delivery_mode=2``) to the configured exchange with
``message_id`` = the event id (the consumer's idempotency key), ``type`` = the event type, and
``mandatory`` set, and :meth:`AmqpNotifier.deliver` returns only after the broker confirmed it
(``basic.ack``): for a durable queue, that is after the message is written to disk. A nack, a
message no queue takes (returned), or a lost connection raises :class:`TransportError` and the
dispatcher retries it. The connection is opened on the first delivery and kept; a broken one
is dropped and opened again, once, within the same delivery.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from typing import Any

import pika
import pika.exceptions
from hospital_complaints.plugin_api import Delivery

from .base import TransportError, body_of
from .settings import AmqpSettings

_BROKEN = (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError,
           pika.exceptions.StreamLostError, ConnectionError, OSError)


def _where(params: pika.URLParameters) -> str:
    vhost = params.virtual_host
    return f"amqp://{params.host}:{params.port}/{'' if vhost == '/' else vhost}"


def _explain(exc: BaseException) -> str:
    """The broker's own reason (``404 NOT_FOUND - no exchange 'x'``), else the error's type."""
    code = getattr(exc, "reply_code", None)
    text = str(getattr(exc, "reply_text", "") or "")[:200]
    if code is not None:
        return f"the broker closed the channel: {code} {text}"
    return f"connection lost ({type(exc).__name__})"


class AmqpNotifier:
    """A notifier publishing to one RabbitMQ exchange with confirms."""

    def __init__(self, settings: AmqpSettings) -> None:
        assert settings.url is not None
        self.settings = settings
        self.id = settings.id
        self._params = pika.URLParameters(settings.url.get_secret_value())
        self._params.socket_timeout = settings.timeout_s
        self._params.blocked_connection_timeout = settings.timeout_s
        self._params.connection_attempts = 1
        self._params.heartbeat = settings.heartbeat_s
        if settings.url.get_secret_value().startswith("amqps://"):
            context = ssl.create_default_context(
                cafile=str(settings.ca_bundle) if settings.ca_bundle else None)
            self._params.ssl_options = pika.SSLOptions(context, self._params.host)
        self.where = _where(self._params)
        self.description = (f"AMQP exchange {settings.exchange!r} at {self.where} "
                            "(publisher confirms)")
        self.event_types = settings.event_types
        self.max_attempts = settings.max_attempts
        self._conn: Any = None
        self._channel: Any = None
        self._used = 0.0
        self._lock = threading.Lock()

    # -- the connection --------------------------------------------------------------------------

    def _open(self) -> Any:
        if self._channel is not None and self._channel.is_open and self._conn.is_open:
            if time.monotonic() - self._used > max(1.0, self.settings.heartbeat_s / 2):
                self._conn.process_data_events(time_limit=0)  # heartbeats of an idle link
            return self._channel
        self.close()
        try:
            conn = pika.BlockingConnection(self._params)
        except _BROKEN as exc:
            raise TransportError(f"cannot connect to {self.where} ({type(exc).__name__}) "
                                 "无法连接消息队列") from None
        channel = conn.channel()
        channel.confirm_delivery()
        if self.settings.declare:
            channel.exchange_declare(self.settings.exchange, self.settings.exchange_type,
                                     durable=True)
        self._conn, self._channel = conn, channel
        return channel

    def close(self) -> None:
        conn, self._conn, self._channel = self._conn, None, None
        if conn is not None and conn.is_open:
            with contextlib.suppress(*_BROKEN):  # already gone: nothing to release
                conn.close()

    # -- publishing ------------------------------------------------------------------------------

    def properties(self, delivery: Delivery) -> pika.BasicProperties:
        return pika.BasicProperties(
            message_id=delivery.id, type=delivery.type, delivery_mode=2,
            content_type="application/json", content_encoding="utf-8",
            timestamp=int(delivery.at.timestamp()), app_id="hospital-complaints",
            headers={"hc-subject": delivery.subject, "hc-attempt": delivery.attempt})

    def routing_key(self, delivery: Delivery) -> str:
        return self.settings.routing_key.replace("{type}", delivery.type)

    def deliver(self, delivery: Delivery) -> None:
        body = body_of(delivery)
        props = self.properties(delivery)
        key = self.routing_key(delivery)
        with self._lock:
            for attempt in (1, 2):
                try:
                    channel = self._open()
                    channel.basic_publish(self.settings.exchange, key, body, props,
                                          mandatory=self.settings.mandatory)
                except pika.exceptions.UnroutableError:
                    raise TransportError(
                        f"no queue at {self.where} takes routing key {key!r} of exchange "
                        f"{self.settings.exchange!r} (bind one, or narrow event_types) "
                        "没有队列接收该消息") from None
                except pika.exceptions.NackError:
                    raise TransportError(f"{self.where} did not confirm the message (nack) "
                                         "消息队列未确认") from None
                except TransportError:
                    raise
                except _BROKEN as exc:
                    self.close()
                    if attempt == 2:
                        raise TransportError(f"{self.where}: {_explain(exc)} "
                                             "与消息队列的连接中断") from None
                    continue
                self._used = time.monotonic()
                return
