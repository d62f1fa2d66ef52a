"""Real peers for the transport tests, started here and stopped afterwards: an HTTP(S)
receiver on loopback (webhook, WeCom robot, SMS gateway), a certificate authority made for the
run (TLS verification stays on), and RabbitMQ / NATS on this machine (skipped with a reason, or
failed under HC_REQUIRE_PEERS=1, when absent)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support import require_peer

from hc_notify.testing import Certs, Receiver, make_certs

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
NATS_URL = "nats://127.0.0.1:4222"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


# -- brokers on this machine ------------------------------------------------------------------


@pytest.fixture
def rabbitmq() -> Iterator[dict[str, str]]:
    """A fresh exchange and queue (bound to every routing key) on the local RabbitMQ; deleted
    afterwards."""
    if not port_open(5672):
        require_peer("rabbitmq", "nothing listens on 127.0.0.1:5672 (rabbitmq-server -detached)")
    import pika

    tag = uuid.uuid4().hex[:8]
    names = {"url": AMQP_URL, "exchange": f"hc-test-{tag}", "queue": f"hc-test-{tag}"}
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    ch = conn.channel()
    ch.exchange_declare(names["exchange"], "topic", durable=True)
    ch.queue_declare(names["queue"], durable=True)
    ch.queue_bind(names["queue"], names["exchange"], "#")
    conn.close()
    yield names
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    ch = conn.channel()
    ch.queue_delete(names["queue"])
    ch.exchange_delete(names["exchange"])
    conn.close()


def drain(queue: str) -> list[tuple[Any, bytes]]:
    """Every message in ``queue`` (properties, body), acknowledged."""
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    ch = conn.channel()
    out = []
    while True:
        method, props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            break
        out.append((props, body))
    conn.close()
    return out


@pytest.fixture
def amqp_drain() -> Callable[[str], list[tuple[Any, bytes]]]:
    return drain


@pytest.fixture
def nats_server() -> str:
    if not port_open(4222):
        require_peer("nats", "nothing listens on 127.0.0.1:4222 (nats-server -js)")
    return NATS_URL
