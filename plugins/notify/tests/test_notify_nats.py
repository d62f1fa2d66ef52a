"""NATS JetStream as a stream consumer sees it, on the local nats-server: every event is in the
stream once, with ``Nats-Msg-Id`` = the event id; a repeat within the duplicate window is
acknowledged as a duplicate and stored once; no stream or no server means retry."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import nats
import pytest
from hospital_complaints.testing import complaint_draft, make_app

from hc_notify.plugins import nats as nats_plugin

pytestmark = pytest.mark.peer("nats")


async def _stream_messages(url: str, stream: str) -> list[Any]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    info = await js.stream_info(stream)
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        out.append(await js.get_msg(stream, seq))
    await nc.close()
    return out


async def _delete_stream(url: str, stream: str) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.delete_stream(stream)
    await nc.close()


@pytest.fixture
def stream(nats_server: str) -> Iterator[dict[str, str]]:
    tag = uuid.uuid4().hex[:8]
    names = {"url": nats_server, "stream": f"HC_TEST_{tag}", "subject": f"hc_test_{tag}.{{type}}"}
    yield names
    asyncio.run(_delete_stream(nats_server, names["stream"]))


def app_with(names: dict[str, str], **settings: Any) -> Any:
    section = {"servers": names["url"], "subject": names["subject"],
               "stream": names["stream"], "timeout_s": 5, **settings}
    return make_app(nats_plugin, plugin_settings={"notify_nats": section})


def deliver(app: Any) -> Any:
    return app.worker(jobs={"deliver"}).run(once=True)


def test_each_event_is_stored_in_the_stream_with_its_id(stream: dict[str, str]) -> None:
    app = app_with(stream)
    ref = app.complaints.register(complaint_draft(), actor="clerk").reference
    try:
        assert deliver(app).delivered == 2
    finally:
        app.notifications.notifiers["nats"].close()
    stored = asyncio.run(_stream_messages(stream["url"], stream["stream"]))
    events = app.complaints.history(ref)
    assert [m.headers["Nats-Msg-Id"] for m in stored] == [e.event_id for e in events]
    assert [m.subject for m in stored] == [stream["subject"].replace("{type}", e.type)
                                           for e in events]
    body = json.loads(stored[0].data)
    assert body["id"] == events[0].event_id and "13812345678" not in stored[0].data.decode()


def test_a_repeat_is_acknowledged_as_a_duplicate_and_stored_once(
        stream: dict[str, str]) -> None:
    app = app_with(stream, event_types="complaint_registered")
    app.complaints.register(complaint_draft(), actor="clerk")
    notifier = app.notifications.notifiers["nats"]
    try:
        assert deliver(app).delivered == 1
        # the worker died after sending, before recording: the row is sent again
        row = app.notifications.deliveries()[0]
        delivery = app.notifications._deliveries([row])[row.id]
        notifier.deliver(delivery)
        assert notifier.duplicates == 1
    finally:
        notifier.close()
    assert len(asyncio.run(_stream_messages(stream["url"], stream["stream"]))) == 1


def test_a_subject_no_stream_takes_is_retried(stream: dict[str, str]) -> None:
    app = app_with(stream, stream="", subject=f"hc_nostream_{uuid.uuid4().hex[:6]}.{{type}}")
    app.complaints.register(complaint_draft(), actor="clerk")
    try:
        assert deliver(app).retried == 1
    finally:
        app.notifications.notifiers["nats"].close()
    assert "no JetStream stream" in (app.notifications.deliveries()[0].last_error or "")


def test_a_server_that_is_down_means_retry() -> None:
    app = make_app(nats_plugin, plugin_settings={"notify_nats": {
        "servers": "nats://127.0.0.1:9", "timeout_s": 1}})
    app.complaints.register(complaint_draft(), actor="clerk")
    try:
        assert deliver(app).retried == 1
    finally:
        app.notifications.notifiers["nats"].close()
    assert "cannot connect to nats://127.0.0.1:9" in (
        app.notifications.deliveries()[0].last_error or "")
