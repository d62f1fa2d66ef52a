"""NATS JetStream: each delivery is published to ``hospital_complaints.<type>`` (configurable)
with the header ``Nats-Msg-Id`` = the event id, and :meth:`NatsNotifier.deliver` returns only
when the stream acknowledged it (``PubAck``). Within the stream's duplicate window (two
minutes by default) JetStream drops a repeat of the same id and says so (``duplicate``), which
counts as delivered: the stream has it.

nats-py is asynchronous; the notifier runs its own event loop in a background thread and keeps
one connection, which nats-py re-establishes by itself. No stream, no ack within the timeout,
or no connection: :class:`TransportError`, retried.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ssl
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit

import nats
import nats.errors
import nats.js.errors
from hospital_complaints.plugin_api import Delivery
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from .base import TransportError, body_of
from .settings import NatsSettings

T = TypeVar("T")


def _server(url: str) -> str:
    parts = urlsplit(url if "://" in url else f"nats://{url}")
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 4222}"


class NatsNotifier:
    def __init__(self, settings: NatsSettings) -> None:
        self.settings = settings
        self.id = settings.id
        self.where = ", ".join(_server(s) for s in settings.servers)
        self.description = f"NATS JetStream at {self.where} (publish acks)"
        self.event_types = settings.event_types
        self.max_attempts = settings.max_attempts
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._lock = threading.Lock()
        self.acks: int = 0
        self.duplicates: int = 0

    # -- the loop and the connection ---------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name=f"hc-notify-{self.id}",
                                      daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TransportError(f"{self.where} did not acknowledge within "
                                 f"{self.settings.timeout_s:g} s 消息流确认超时") from None

    async def _connect(self) -> JetStreamContext:
        if self._nc is not None and not self._nc.is_closed and self._js is not None:
            return self._js
        s = self.settings
        options: dict[str, Any] = {
            "servers": list(s.servers), "connect_timeout": s.timeout_s,
            "allow_reconnect": True, "max_reconnect_attempts": -1,
            "reconnect_time_wait": 1, "error_cb": self._quiet, "name": "hospital-complaints"}
        if s.token is not None:
            options["token"] = s.token.get_secret_value()
        if s.user is not None:
            options["user"] = s.user
            options["password"] = s.password.get_secret_value() if s.password else ""
        if s.ca_bundle is not None or any(x.startswith("tls://") for x in s.servers):
            options["tls"] = ssl.create_default_context(
                cafile=str(s.ca_bundle) if s.ca_bundle else None)
        try:
            nc = await asyncio.wait_for(nats.connect(**options), s.timeout_s)
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            raise TransportError(f"cannot connect to {self.where} ({type(exc).__name__}) "
                                 "无法连接消息流服务器") from None
        js = nc.jetstream(timeout=s.timeout_s)
        if s.stream:
            await self._ensure_stream(js, s.stream)
        self._nc, self._js = nc, js
        return js

    async def _ensure_stream(self, js: JetStreamContext, name: str) -> None:
        try:
            await js.stream_info(name)
        except nats.js.errors.NotFoundError:
            prefix = self.settings.subject.split("{type}")[0].rstrip(".")
            await js.add_stream(name=name, subjects=[f"{prefix}.>" if prefix else ">"])

    async def _quiet(self, exc: Exception) -> None:
        """nats-py reports connection trouble here; a failed publish is what counts."""

    async def _publish(self, subject: str, body: bytes, headers: dict[str, str]) -> Any:
        js = await self._connect()
        return await js.publish(subject, body, timeout=self.settings.timeout_s,
                                headers=headers)

    # -- delivering ------------------------------------------------------------------------------

    def subject(self, delivery: Delivery) -> str:
        return self.settings.subject.replace("{type}", delivery.type)

    def deliver(self, delivery: Delivery) -> None:
        headers = {"Nats-Msg-Id": delivery.id, "Hc-Event-Type": delivery.type,
                   "Hc-Subject": delivery.subject, "Content-Type": "application/json"}
        subject = self.subject(delivery)
        with self._lock:
            try:
                ack = self._run(self._publish(subject, body_of(delivery), headers),
                                self.settings.timeout_s * 2 + 1)
            except nats.js.errors.NoStreamResponseError:
                raise TransportError(f"no JetStream stream at {self.where} takes subject "
                                     f"{subject!r} (create one, or set the stream setting) "
                                     "没有接收该主题的消息流") from None
            except nats.js.errors.APIError as exc:
                raise TransportError(f"{self.where} refused the publish "
                                     f"({getattr(exc, 'code', '?')} "
                                     f"{str(getattr(exc, 'description', ''))[:120]}) "
                                     "消息流拒绝") from None
            except (TimeoutError, nats.errors.TimeoutError):
                raise TransportError(f"{self.where} did not acknowledge within "
                                     f"{self.settings.timeout_s:g} s 消息流确认超时") from None
            except (nats.errors.Error, OSError) as exc:
                self._drop()
                raise TransportError(f"{self.where}: {type(exc).__name__} "
                                     "消息流发送失败") from None
        self.acks += 1
        if ack.duplicate:
            self.duplicates += 1

    def _drop(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and self._loop is not None and not nc.is_closed:
            asyncio.run_coroutine_threadsafe(nc.close(), self._loop)

    def close(self) -> None:
        """Close the connection and stop the loop (tests; a worker simply exits)."""
        nc, loop = self._nc, self._loop
        self._nc = self._js = None
        if loop is None:
            return
        if nc is not None and not nc.is_closed:
            # the connection is going away either way
            with contextlib.suppress(concurrent.futures.TimeoutError, nats.errors.Error,
                                     OSError):
                asyncio.run_coroutine_threadsafe(nc.close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        loop.close()
        self._loop = self._thread = None
